"""The dataset card of an export folder: a `README.md` whose YAML header is the Hugging Face convention for a
dataset folder, so `datasets.load_dataset(folder)` and TRL's own scripts (`trl reward --dataset_name folder`)
read the data files it names and nothing else (without it, `manifest.json` is read as rows and the load fails).

The header lists one config per format in the folder (`preference`, `stepwise`, ...; the training format the
default) with its splits (`train`, and `test` where the export was split by prompt), Parquet where it was
written, else JSON Lines; the license the lead set (`prefdesk config --set license=...`); the size category.
The prose says where the data came from: project, version, aggregation policy, guideline versions, label
counts by source and rater role, what was left out and why, and each field's meaning.

`dataset_info.features` is left out on purpose: the free-form dictionaries (`meta`, `chosen_meta`, `dims`)
have keys that vary from row to row, and declared features make `datasets` cast every block to them, so a key
missing from the declaration fails the load. `datasets` infers the types; the fields are described below.
"""

from __future__ import annotations

import json

from prefdesk.formats.export_rewardbench import FIELDS as REWARDBENCH_FIELDS

CARD_FILE = "README.md"
DEFAULT_ORDER = ("preference", "unpaired", "stepwise", "scalar", "fine_grained", "rewardbench", "rewardbench_2", "seed",
                 "labels")  # the first present
_SIZES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"),
          (10_000_000, "1M<n<10M"), (100_000_000, "10M<n<100M"))

FIELDS = {
    "preference": [
        ("prompt", "string, or chat messages with --conversational", "the prompt the answers were given to"),
        ("chosen", "string or messages", "the answer people preferred"),
        ("rejected", "string or messages", "the answer they did not"),
        ("margin", "float", "how strongly: the aggregated strength of the verdict"),
        ("weight", "float", "the row's weight under the aggregation policy (and a version's layer weights)"),
        ("dims", "dict: dimension -> +1 / 0 / -1", "per-dimension verdicts, +1 when the chosen answer is better"),
        ("reason_tags", "list of strings", "the reasons raters ticked"),
        ("rationales", "list of strings", "what raters wrote"),
        ("chosen_meta", "dict or null", "how the chosen answer was made (model, sampling parameters, seed)"),
        ("rejected_meta", "dict or null", "the same for the rejected answer"),
        ("meta", "dict", "the item's scenario, risk level, bucket, source and import metadata"),
        ("label_ids", "list of strings", "the project's labels behind the row"),
    ],
    "stepwise": [
        ("prompt", "string", "the problem"),
        ("completions", "list of strings", "the solution's steps, cut after the first wrong step"),
        ("labels", "list of booleans", "each step correct (rated +1 or 0) or not (-1)"),
        ("meta", "dict", "the ratings as given (+1 / 0 / -1), the final-answer verdict, replacement steps"),
        ("label_ids", "list of strings", "the project's labels behind the row"),
    ],
    "scalar": [("prompt", "string", "the prompt"), ("response", "string", "the rated answer"),
               ("score", "float", "the aggregated rating on the project's scale"),
               ("dims", "dict: dimension -> float", "aggregated per-dimension ratings"),
               ("rationales", "list of strings", "what raters wrote"), ("meta", "dict", "item metadata"),
               ("label_ids", "list of strings", "the project's labels behind the row")],
    "seed": [("type", "string", "the record's shape: pairwise, pairwise_multi_dim, ranking, process"),
             ("prompt", "string", "the prompt"),
             ("winner / loser / candidates / judgement / response / score / steps", "by shape",
              "the item and its verdict as PrefDesk imports them (export, then import, round-trips)"),
             ("meta", "dict", "item metadata")],
    "unpaired": [("prompt", "string, or chat messages with --conversational", "the prompt"),
                 ("completion", "string or messages", "one answer"),
                 ("label", "bool", "desirable (true: the chosen side of a pair) or undesirable (false: the rejected side)"),
                 ("side", "string", "the side of the pair the row came from: chosen or rejected"),
                 ("weight", "float", "the pair's weight under the aggregation policy"),
                 ("meta", "dict", "item metadata"),
                 ("label_ids", "list of strings", "the project's labels behind the row")],
    "fine_grained": [("prompt", "string", "the prompt"), ("response", "string", "the answer the spans are in"),
                     ("candidate", "int", "the answer's position in the item"),
                     ("errors", "list of {start, end, text, label, comment}",
                      "the marked spans: character offsets into `response`, what they cover, their label and comment"),
                     ("corrected", "string or null", "the rater's rewrite of this answer, when there is one"),
                     ("meta", "dict", "item metadata"), ("label_ids", "list of strings", "the label behind the row")],
    "labels": [("item", "dict", "the item: prompt, candidates with how each was made, steps, gold"),
               ("label", "dict", "one label as stored: payload, rater, session, time spent, guideline version, "
                                 "display order, source, round, what it supersedes")],
}
FIELDS.update(REWARDBENCH_FIELDS)


def size_category(rows: int) -> str:
    return next((name for bound, name in _SIZES if rows < bound), "n>100M")


def _configs(files: dict) -> list[dict]:
    """One config per format: its splits, each the Parquet file where one was written, else the JSONL file. Its
    description holds the files' SHA-256: `datasets` keys its cache on the card's configs and not on the files,
    so without it a folder exported again (same name, new labels) loads the old rows from the cache."""
    by_format: dict[str, dict[str, str]] = {}
    for name, entry in sorted(files.items()):
        stem, split = entry.get("config"), entry.get("split", "train")
        if stem is None:  # written by an earlier PrefDesk: its one file, the train split
            stem = name.rsplit(".", 1)[0]
        chosen = by_format.setdefault(stem, {})
        if split not in chosen or name.endswith(".parquet"):
            chosen[split] = name
    order = sorted(by_format, key=lambda s: DEFAULT_ORDER.index(s) if s in DEFAULT_ORDER else len(DEFAULT_ORDER))
    configs = []
    for k, stem in enumerate(order):
        splits = sorted(by_format[stem], key=lambda s: s != "train")
        configs.append({"config_name": stem, **({"default": True} if k == 0 else {}),
                        "data_files": [{"split": split, "path": by_format[stem][split]} for split in splits],
                        "description": "SHA-256 of the data files: " + ", ".join(
                            f"{by_format[stem][split]} {files[by_format[stem][split]].get('sha256', 'unknown')}"
                            for split in splits)})
    return configs


def _yaml(header: dict) -> str:
    """The header as YAML: every scalar quoted as JSON (a JSON string is a valid YAML scalar)."""
    lines = []

    def emit(value, indent: str, first_prefix: str | None = None) -> None:
        for k, (key, v) in enumerate(value.items()):
            prefix = first_prefix if k == 0 and first_prefix is not None else indent
            if isinstance(v, list):
                lines.append(f"{prefix}{key}:")
                for entry in v:
                    if isinstance(entry, dict):
                        emit(entry, indent + "  ", indent + "- ")
                    else:
                        lines.append(f"{indent}- {json.dumps(entry)}")
            else:
                lines.append(f"{prefix}{key}: {json.dumps(v)}")

    emit(header, "")
    return "\n".join(lines)


def dataset_card(manifest: dict, project_name: str, title: str, license_id: str, breakdown: dict) -> str:
    """The README.md of an export folder described by `manifest` (formats.export); `breakdown`: label counts by
    guideline version, source and rater role of the export just written (store.snapshot.label_breakdown)."""
    files = manifest["files"]
    configs = _configs(files)
    rows = sum(e.get("rows", 0) for name, e in files.items() if name.endswith(".jsonl"))  # each row once
    header = {"configs": configs, "license": license_id, "size_categories": [size_category(rows)],
              "tags": ["preference", "rlhf", "prefdesk"], "pretty_name": title}
    version = manifest.get("version")
    table = "\n".join(f"| `{name}` | {entry.get('config', name.rsplit('.', 1)[0])} | {entry.get('split', 'train')} | "
                      f"{entry.get('rows', '')} | {', '.join(f'{n} {why}' for why, n in entry.get('left_out', {}).items()) or '—'} |"
                      for name, entry in sorted(files.items()))
    nulls = "".join(f"\n\nIn `{name}`, {', '.join(f'`{f}`' for f in entry['empty_dicts_as_null'])} is an empty "
                    "dictionary in every row, which Parquet cannot hold: it reads as null there (`{}` in the JSONL)."
                    for name, entry in sorted(files.items()) if entry.get("empty_dicts_as_null"))
    fields = "\n\n".join(f"**{c['config_name']}**\n\n| field | type | meaning |\n|---|---|---|\n" +
                         "\n".join(f"| `{f}` | {t} | {m} |" for f, t, m in FIELDS.get(c["config_name"], []))
                         for c in configs)

    def counts(key: str) -> str:
        return ", ".join(f"{'none recorded' if k is None else k}: {n}" for k, n in breakdown.get(key, {}).items()) or "—"

    provenance = [
        ("project", project_name),
        ("dataset version", f"{version} (frozen: the files are the same byte for byte on every export)" if version
         else "none: the project's labels when the export ran"),
        ("created", manifest.get("created_at", "—")), ("made by", f"PrefDesk {manifest.get('app_version', '')}".strip()),
        ("aggregation policy", manifest.get("aggregation", "—")),
        ("guideline versions of the labels", counts("guideline_version")),
        ("labels by source", counts("source")),
        ("labels by layer (frozen with the version: gold, expert, online, weak, main)", counts("layer"))
        if "layer" in breakdown else ("labels by rater role", counts("rater_role")),
        ("test split", f"{manifest['test_fraction']:.0%} of the prompts, by a hash of the prompt: no prompt is in "
                       "both splits" + ("" if any(e.get("split") == "test" for e in files.values()) else
                                        "; no prompt fell in it, so there is none")
         if manifest.get("test_fraction") else "none (train only)"),
        ("license", license_id + (" (not set: `prefdesk config -p P --set license='\"cc-by-4.0\"'`)"
                                  if license_id == "other" else "")),
    ]
    first = configs[0]["config_name"] if configs else "preference"
    one_file = next((name for name in sorted(files) if name.endswith(".jsonl")), "preference.jsonl")
    return f"""---
{_yaml(header)}
---

# {title}

Preference data labelled with PrefDesk, in the formats TRL's trainers read. Load it with

```python
from datasets import load_dataset
data = load_dataset("path/to/this/folder")  # the {first} config; name="stepwise" etc. for another
```

or train on it with TRL's own scripts: `trl reward --dataset_name path/to/this/folder ...`. The files can
also be read one by one: `load_dataset("json", data_files="path/to/this/folder/{one_file}")`.
`manifest.json` beside them holds each file's SHA-256, counts, and what was left out.

## Provenance

{chr(10).join(f"- **{k}**: {v}" for k, v in provenance)}

## Files and splits

| file | config | split | rows | left out (why) |
|---|---|---|---|---|
{table}{nulls}

## Fields

{fields}
"""
