"""Fuzzing the importers: mutations of every fixture file (a value replaced by something nasty, a byte
flipped, a line cut), in JSONL, a JSON array and CSV. Whatever the file, an import either lands or is
refused with `file:line: field: problem` and the project unchanged; `--skip-bad` never crashes either.
PREFDESK_FUZZ_N sets the number of cases (default 1500, derandomized so CI runs the same ones)."""

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prefdesk.formats.errors import ImportRefused
from prefdesk.formats.importer import import_file
from prefdesk.store.project import Project

FIXTURES = Path(__file__).parent / "fixtures"
SOURCES = sorted(p for p in FIXTURES.glob("*.jsonl") if p.stat().st_size < 2_000_000)
NASTY = [
    "[" * 400 + "]" * 400, '{"a":' * 400 + "1" + "}" * 400, '"\\ud800"', '"x\\udfff"', "123456789012345678901234567890",
    "-98765432109876543210", "NaN", "Infinity", "1e400", "[]", "{}", "null", "true", "false", '""', '"   "', '[["x"]]',
    '{"role": ["user"], "content": 1}', '[{"role": {"a": 1}, "content": "x"}]', '"A"', "-1", "0", "1.5", "2",
    '"<img src=\\"/dev/zero\\">"', '["A", "B"]', '{"overall_winner": ["A"]}', '"N/A"', '"nan"', '"1e999"',
]
CASES = int(os.environ.get("PREFDESK_FUZZ_N", "1500"))


def paths_of(value, prefix=()):
    """Every path to a value inside a record (dict keys and list indexes)."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths_of(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:4]):
            yield from paths_of(v, (*prefix, i))


def replaced(record, path, token):
    if not path:
        return token
    out = dict(record) if isinstance(record, dict) else list(record)
    out[path[0]] = replaced(out[path[0]], path[1:], token)
    return out


@st.composite
def mutated_file(draw):
    source = draw(st.sampled_from(SOURCES))
    lines = [line for line in source.read_text(encoding="utf-8").splitlines() if line.strip()][:6]
    target = draw(st.integers(0, len(lines) - 1))
    how = draw(st.sampled_from(["value", "value", "value", "bytes", "cut"]))
    data = [line.encode() for line in lines]
    if how == "value":
        record = json.loads(lines[target])
        path = draw(st.sampled_from(list(paths_of(record))))
        text = json.dumps(replaced(record, path, "\0NASTY\0"))
        data[target] = text.replace('"\\u0000NASTY\\u0000"', draw(st.sampled_from(NASTY))).encode()
    elif how == "bytes":
        at = draw(st.integers(0, max(0, len(data[target]) - 1)))
        byte = draw(st.sampled_from([b"\xff", b"\xc3", b"\x00", b"\"", b"}", b"\\", b"\n"]))
        data[target] = data[target][:at] + byte + data[target][at + 1:]
    else:
        data[target] = data[target][: draw(st.integers(0, len(data[target])))]
    shape = draw(st.sampled_from(["jsonl", "jsonl", "json", "csv"]))
    return shape, data, draw(st.booleans())


def as_file(folder, n, shape, data):
    path = folder / f"case{n}.{shape}"
    if shape == "jsonl":
        path.write_bytes(b"\n".join(data) + b"\n")
    elif shape == "json":
        path.write_bytes(b"[" + b",\n".join(data) + b"]")
    else:  # the record's keys as columns, JSON-looking cells for lists and objects (as a CSV export makes them)
        import csv
        import io

        rows = []
        for d in data:
            try:
                rows.append(json.loads(d))
            except (ValueError, RecursionError):
                rows.append({"junk": d.decode("utf-8", "replace")})
        rows = [r if isinstance(r, dict) else {"junk": str(r)} for r in rows]
        keys = list(dict.fromkeys(k for r in rows for k in r))
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(keys)
        for r in rows:
            writer.writerow([v if isinstance(v, str) else json.dumps(v) if k in r else "" for k, v in
                             ((k, r.get(k, "")) for k in keys)])
        path.write_text(out.getvalue(), encoding="utf-8", errors="surrogatepass")
    return path


@pytest.mark.filterwarnings("ignore")
def test_fuzzed_imports_land_or_are_refused_with_their_place_and_never_crash(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    project = Project.create(folder / "fuzz.prefdesk")
    counter = iter(range(10**9))
    outcomes = {"landed": 0, "refused": 0}

    @settings(max_examples=CASES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(mutated_file())
    def case(example):
        shape, data, skip_bad = example
        path = as_file(folder, next(counter), shape, data)
        before = project.conn.execute("SELECT (SELECT COUNT(*) FROM items), (SELECT COUNT(*) FROM labels)").fetchone()
        try:
            import_file(project, path, skip_bad=skip_bad)
            outcomes["landed"] += 1
        except ImportRefused as exc:
            outcomes["refused"] += 1
            after = project.conn.execute("SELECT (SELECT COUNT(*) FROM items), (SELECT COUNT(*) FROM labels)").fetchone()
            assert after == before, "a refused import changed the project"
            for error in exc.errors:
                assert error.path == str(path) and error.message
                assert error.line > 0 or "holds no records" in error.message, str(error)
        assert project.conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    try:
        case()
    finally:
        project.close()
    print(f"\nfuzz: {CASES} cases, {outcomes}")
    assert outcomes["refused"] > CASES // 10 and outcomes["landed"] > CASES // 10
