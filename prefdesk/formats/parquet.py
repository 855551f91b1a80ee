"""Parquet copies of an export's JSONL files (`export --parquet`): smaller, typed, what the Hub serves.

pyarrow infers the types from the whole file, as `datasets` does when it reads the JSONL. One thing Parquet
cannot hold is a dictionary with no keys in every row (a struct with no fields: e.g. `dims` where nobody gave a
per-dimension verdict); such a field is written as null and named in the manifest (`empty_dicts_as_null`), so a
reader knows `None` there means `{}`. Every other value reads back as the JSONL has it.
"""

from __future__ import annotations

from pathlib import Path


def _without_empty_structs(array, path: str, replaced: list[str]):
    """The array with every struct of no fields (at any depth) replaced by nulls; their paths into `replaced`."""
    import pyarrow as pa

    kind = array.type
    if pa.types.is_struct(kind):
        if kind.num_fields == 0:
            replaced.append(path)
            return pa.nulls(len(array))
        children = [_without_empty_structs(array.field(i), f"{path}.{kind.field(i).name}", replaced)
                    for i in range(kind.num_fields)]
        return pa.StructArray.from_arrays(children, names=[kind.field(i).name for i in range(kind.num_fields)],
                                          mask=array.is_null() if array.null_count else None)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        values = _without_empty_structs(array.values, f"{path}[]", replaced)
        if values.type == kind.value_type:
            return array
        build = pa.LargeListArray if pa.types.is_large_list(kind) else pa.ListArray
        return build.from_arrays(array.offsets, values, mask=array.is_null() if array.null_count else None)
    return array


def to_parquet(jsonl: Path, out: Path) -> tuple[int, list[str], str]:
    """Write a Parquet copy of a JSONL file (the rows and their order the same); (rows, the fields written as
    null because they are an empty dictionary in every row, the copy's sha256). A file whose rows disagree on a
    field's type is refused (ValueError), naming the file."""
    import hashlib

    import pyarrow as pa
    import pyarrow.json as paj
    import pyarrow.parquet as pq

    if jsonl.stat().st_size == 0:
        raise ValueError(f"--parquet: {jsonl.name} has no rows")
    try:
        table = paj.read_json(jsonl, read_options=paj.ReadOptions(block_size=64 << 20))
    except pa.ArrowInvalid as exc:  # a field of two types in different rows
        raise ValueError(f"--parquet: {jsonl.name}: {exc}") from exc
    replaced: list[str] = []
    columns = []
    for name, column in zip(table.column_names, table.columns):
        chunks = [_without_empty_structs(chunk, name, replaced) for chunk in column.chunks]
        columns.append(pa.chunked_array(chunks, type=chunks[0].type if chunks else column.type))
    table = pa.table(columns, names=table.column_names)
    pq.write_table(table, out, compression="zstd")
    with open(out, "rb") as f:  # an export's own new file in its staging folder
        digest = hashlib.file_digest(f, "sha256").hexdigest()
    return table.num_rows, sorted(set(replaced)), digest
