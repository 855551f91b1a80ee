"""Frozen dataset versions: the exact set of current labels that went into a dataset, with the aggregation
policy, filters, layer weights and quotas that chose them, and a manifest to read a release by.

A version stores its label ids (sorted, zlib-compressed text: ids, not rowids, which VACUUM may renumber)
and each label's layer, so what it holds never changes: labels that arrive later, an item promoted to gold
later, a rater's role changed later, none of it reaches an existing version. It freezes too what its export
reads besides the labels (`frozen`): each item's number of candidates and gold answer (a rewrite or merge
may add a candidate, a lead may promote an item to gold later), and a reliability policy's decisions (they
depend on the gold answers and source trust of the day). `prefdesk export --version` reads exactly these,
so its files are the same byte for byte whenever it runs.

Layers (a label is in the first that fits): `gold` (on a gold item), `expert` (an expert's or a reviewer's
label, or an arbitration decision), `online` (online feedback), `weak` (a model judge or a rule), `main`
(everything else: annotators, imports). A layer's weight multiplies the weight of the rows its labels
make; weight 0 leaves the layer out.
"""

from __future__ import annotations

import functools
import hashlib
import json
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from prefdesk.domain.key_values import pairs
from prefdesk.store.ids import utc_now
from prefdesk.store.project import Project, ProjectError
from prefdesk.store.rows import ROLE_AT_LABEL, rows_in
from prefdesk.store.votes import SUPERSEDED

LAYERS = ("gold", "expert", "online", "weak", "main")
FILTER_KEYS = ("scenario", "risk_level", "bucket")
_LAYER_SQL = f"""
    CASE WHEN i.is_gold = 1 THEN 'gold'
         WHEN {ROLE_AT_LABEL} IN ('expert', 'reviewer') OR l.source = 'arbitration' THEN 'expert'
         WHEN l.source = 'online-feedback' THEN 'online'
         WHEN l.source IN ('model-judge', 'rule') THEN 'weak'
         ELSE 'main' END
"""


@dataclass
class Version:
    name: str
    created_at: str
    parent: str | None
    aggregate: str
    filters: dict[str, list[str]]
    layers: dict[str, float]
    quotas: dict[str, int]
    manifest: dict
    label_layers: dict[str, str] = field(repr=False)  # label id -> layer
    # {"items": {item id: [candidates, is_gold, gold_answer]}, "decisions": {item id: [verdict, weight]} or None};
    # None for a version made before PrefDesk froze them
    frozen: dict | None = field(default=None, repr=False)

    @functools.cached_property
    def label_ids(self) -> frozenset[str]:
        return frozenset(self.label_layers)


def parse_filters(given: list[str] | None) -> dict[str, list[str]]:
    """["scenario=medical|legal", "risk_level=high"] -> {"scenario": ["medical", "legal"], "risk_level": ["high"]}
    (`domain.key_values`)."""
    out: dict[str, list[str]] = {}
    for key, values in pairs(given, "--where", "KEY=VALUE[|VALUE...]", FILTER_KEYS, ProjectError):
        if not values:
            raise ProjectError(f"--where {key}=: give a value (VALUE|VALUE for several)")
        out[key] = [v.strip() for v in values.split("|")]
    return out


def parse_layers(parts: list[str] | None) -> dict[str, float]:
    """["weak=0.3", "online=0"] -> every layer's weight (1 unless named)."""
    layers = dict.fromkeys(LAYERS, 1.0)
    for name, weight in pairs(parts, "--layer", "LAYER=WEIGHT", LAYERS, ProjectError):
        part = f"{name}={weight}"
        try:
            value = float(weight)
        except ValueError:
            raise ProjectError(f"--layer {part!r}: the weight is not a number") from None
        if not 0 <= value <= 100:
            raise ProjectError(f"--layer {part!r}: expected a weight from 0 to 100")
        layers[name] = value
    return layers


def parse_quotas(parts: list[str] | None) -> dict[str, int]:
    """["easy=1000"] -> at most 1000 items from bucket "easy"."""
    out = {}
    for bucket, n in pairs(parts, "--quota", "BUCKET=N", error=ProjectError):
        if not n.isdigit():
            raise ProjectError(f"--quota {bucket}={n}: expected BUCKET=N, N a whole number of items")
        out[bucket] = int(n)
    return out


def create(project: Project, name: str, *, parent: str | None = None, aggregate: str = "majority",
           filters: dict[str, list[str]] | None = None, layers: dict[str, float] | None = None,
           quotas: dict[str, int] | None = None, decide=None) -> Version:
    """Freeze the project's current labels that pass the filters, layers and quotas as version `name`.
    `decide(version)`: a reliability policy's decisions on its labels, {item id: (verdict, weight)}, frozen
    with it (the caller passes `quality.reliability.frozen_decisions`: the store does not aggregate)."""
    from prefdesk.domain.policies import POLICY_NAMES

    name = name.strip()
    if not name:
        raise ProjectError("a version needs a name")
    if project.conn.execute("SELECT 1 FROM versions WHERE name = ?", (name,)).fetchone():
        raise ProjectError(f"version {name!r} exists already; a version is never rewritten, name the new one")
    if parent is not None and not project.conn.execute("SELECT 1 FROM versions WHERE name = ?", (parent,)).fetchone():
        raise ProjectError(f"no version {parent!r} to be the parent")
    if aggregate not in POLICY_NAMES:
        raise ProjectError(f"unknown aggregation {aggregate!r}; choose one of {', '.join(POLICY_NAMES)}")
    filters, quotas = filters or {}, quotas or {}
    layers = {**dict.fromkeys(LAYERS, 1.0), **(layers or {})}
    # an evaluation's arena items are never training data (`jobs.arena`)
    where, args = [f"l.id NOT IN ({SUPERSEDED})", "i.eval_run IS NULL"], []
    for key, values in filters.items():
        if key not in FILTER_KEYS:
            raise ProjectError(f"unknown filter {key!r}; known: {', '.join(FILTER_KEYS)}")
        where.append(f"i.{key} IN ({', '.join('?' * len(values))})")
        args += values
    rows = project.conn.execute(
        f"SELECT l.id, l.item_id, i.bucket, {_LAYER_SQL} FROM labels l JOIN items i ON i.id = l.item_id "
        f"JOIN raters r ON r.id = l.rater_id WHERE {' AND '.join(where)}", args).fetchall()
    kept_items = _quota_items({(item, bucket) for _, item, bucket, _ in rows}, quotas)
    label_layers = {lid: layer for lid, item, _, layer in rows if item in kept_items and layers[layer] > 0}
    if not label_layers:
        raise ProjectError("no labels pass these filters, layers and quotas: nothing to freeze")
    version = Version(name, utc_now(), parent, aggregate, filters, layers, quotas, {}, label_layers)
    version.manifest = manifest(project, version)
    version.frozen = {"items": _item_states(project, {item for lid, item, _, _ in rows if lid in label_layers}),
                      "decisions": decide(version) if decide is not None else None}
    with project.transaction() as conn:
        conn.execute("INSERT INTO versions (name, created_at, parent, aggregate, filters, layers, quotas, labels, "
                     "manifest, frozen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     (name, version.created_at, parent, aggregate, json.dumps(filters), json.dumps(layers),
                      json.dumps(quotas), _pack(label_layers), json.dumps(version.manifest),
                      zlib.compress(json.dumps(version.frozen, sort_keys=True).encode(), 6)))
    return version


def _item_states(project: Project, item_ids: set[str]) -> dict[str, list]:
    """Item id -> [number of candidates, is_gold, gold answer (JSON text or None)] now."""
    return {item_id: [n, is_gold, gold] for item_id, n, is_gold, gold in rows_in(
        project.conn, "SELECT id, json_array_length(candidates), is_gold, gold_answer FROM items WHERE id IN ({marks})",
        sorted(item_ids))}


def _quota_items(items: set[tuple[str, str | None]], quotas: dict[str, int]) -> set[str]:
    """Every item, but at most quotas[bucket] of a bucket, chosen by a hash of the id (the same every time)."""
    by_bucket: dict[str | None, list[str]] = defaultdict(list)
    for item, bucket in items:
        by_bucket[bucket].append(item)
    kept = set()
    for bucket, ids in by_bucket.items():
        if bucket in quotas:
            ids = sorted(ids, key=lambda i: hashlib.sha1(i.encode()).hexdigest())[:quotas[bucket]]
        kept.update(ids)
    return kept


def _pack(label_layers: dict[str, str]) -> bytes:
    text = "\n".join(f"{lid}\t{LAYERS.index(layer)}" for lid, layer in sorted(label_layers.items()))
    return zlib.compress(text.encode(), 6)


def _unpack(blob: bytes) -> dict[str, str]:
    out = {}
    for line in zlib.decompress(blob).decode().splitlines():
        lid, _, layer = line.partition("\t")
        out[lid] = LAYERS[int(layer)]
    return out


def labels_digest(label_ids) -> str:
    return hashlib.sha256("\n".join(sorted(label_ids)).encode()).hexdigest()


def manifest(project: Project, version: Version) -> dict:
    """What a lead reads a release by: counts by kind, source, rater, bucket, scenario, risk level,
    guideline version and layer; items; per-dimension win rates; the digest of the label ids."""
    counts: dict[str, Counter] = defaultdict(Counter)
    items: set[str] = set()
    wins: dict[str, Counter] = defaultdict(Counter)
    for lid, item, kind, source, rater, bucket, scenario, risk, guideline, dims in _described(project, version.label_ids):
        items.add(item)
        for key, value in (("kind", kind), ("source", source), ("rater", rater), ("bucket", bucket),
                           ("scenario", scenario), ("risk_level", risk), ("guideline_version", guideline),
                           ("layer", version.label_layers[lid])):
            counts[key][value if value is not None else "(none)"] += 1
        for dim, verdict in (json.loads(dims) if dims else {}).items():
            wins[dim][verdict] += 1
    return {
        "name": version.name, "created_at": version.created_at, "parent": version.parent,
        "aggregate": version.aggregate, "filters": version.filters, "layers": version.layers, "quotas": version.quotas,
        "labels": len(version.label_ids), "items": len(items), "labels_sha256": labels_digest(version.label_ids),
        "counts": {k: dict(sorted(v.items())) for k, v in sorted(counts.items())},
        "dimension_win_rates": {dim: {v: n / sum(c.values()) for v, n in sorted(c.items())} for dim, c in sorted(wins.items())},
    }


def _described(project: Project, label_ids) -> list[tuple]:
    """Each label's id, item, kind, source, rater, item bucket/scenario/risk, guideline version and dims."""
    conn = project.conn
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS version_ids (id TEXT PRIMARY KEY) WITHOUT ROWID")
    conn.execute("DELETE FROM temp.version_ids")
    conn.executemany("INSERT INTO temp.version_ids VALUES (?)", ((i,) for i in label_ids))
    try:
        return conn.execute(
            "SELECT l.id, l.item_id, l.kind, l.source, r.name, i.bucket, i.scenario, i.risk_level, l.guideline_version, "
            "CASE WHEN l.kind = 'pairwise' THEN NULLIF(json_extract(l.payload, '$.dims'), '{}') END "
            "FROM temp.version_ids v JOIN labels l ON l.id = v.id JOIN items i ON i.id = l.item_id "
            "JOIN raters r ON r.id = l.rater_id").fetchall()
    finally:
        conn.execute("DELETE FROM temp.version_ids")


def get(project: Project, name: str) -> Version:
    row = project.conn.execute("SELECT name, created_at, parent, aggregate, filters, layers, quotas, labels, manifest, "
                               "frozen FROM versions WHERE name = ?", (name,)).fetchone()
    if row is None:
        known = ", ".join(v["name"] for v in listing(project)) or "none yet"
        raise ProjectError(f"no version {name!r} in {project.path.name} (versions: {known})")
    return Version(row[0], row[1], row[2], row[3], json.loads(row[4]), json.loads(row[5]), json.loads(row[6]),
                   json.loads(row[8]), _unpack(row[7]), json.loads(zlib.decompress(row[9])) if row[9] else None)


def listing(project: Project) -> list[dict]:
    """Every version's manifest, oldest first."""
    return [json.loads(m) for (m,) in project.conn.execute("SELECT manifest FROM versions ORDER BY created_at, name")]


def diff(project: Project, a: str, b: str) -> dict:
    """What changed from version a to version b, as a lead explains a release."""
    va, vb = get(project, a), get(project, b)
    added, removed = vb.label_ids - va.label_ids, va.label_ids - vb.label_ids
    items_a = {row[1] for row in _described(project, va.label_ids)}
    items_b = {row[1] for row in _described(project, vb.label_ids)}
    ma, mb = va.manifest, vb.manifest

    def shares(manifest: dict, key: str) -> dict[str, float]:
        counts = manifest["counts"].get(key, {})
        total = sum(counts.values()) or 1
        return {k: n / total for k, n in counts.items()}

    def changes(key: str) -> dict[str, dict]:
        ca, cb = ma["counts"].get(key, {}), mb["counts"].get(key, {})
        sa, sb = shares(ma, key), shares(mb, key)
        return {k: {"a": ca.get(k, 0), "b": cb.get(k, 0), "share_a": round(sa.get(k, 0.0), 4),
                    "share_b": round(sb.get(k, 0.0), 4)} for k in sorted(set(ca) | set(cb)) if ca.get(k) != cb.get(k)}

    dims = sorted(set(ma["dimension_win_rates"]) | set(mb["dimension_win_rates"]))
    win_shift = {}
    for dim in dims:
        ra, rb = ma["dimension_win_rates"].get(dim, {}), mb["dimension_win_rates"].get(dim, {})
        win_shift[dim] = {v: round(rb.get(v, 0.0) - ra.get(v, 0.0), 4) for v in sorted(set(ra) | set(rb))}
    raters_a, raters_b = set(ma["counts"].get("rater", {})), set(mb["counts"].get("rater", {}))
    return {
        "a": a, "b": b, "labels_a": len(va.label_ids), "labels_b": len(vb.label_ids),
        "labels_added": len(added), "labels_removed": len(removed),
        "items_added": len(items_b - items_a), "items_removed": len(items_a - items_b),
        "aggregate": {"a": va.aggregate, "b": vb.aggregate}, "layers": {"a": va.layers, "b": vb.layers},
        "sources": changes("source"), "guideline_versions": changes("guideline_version"),
        "buckets": changes("bucket"), "scenarios": changes("scenario"), "risk_levels": changes("risk_level"),
        "raters": changes("rater"), "raters_added": sorted(raters_b - raters_a),
        "raters_removed": sorted(raters_a - raters_b), "dimension_win_rate_shift": win_shift,
    }


def diff_text(d: dict) -> str:
    """A diff as lines a lead reads (`prefdesk version diff`, the Versions panel)."""
    lines = [f"{d['a']} -> {d['b']}: labels {d['labels_a']} -> {d['labels_b']} (+{d['labels_added']} "
             f"-{d['labels_removed']}); items +{d['items_added']} -{d['items_removed']}"]
    for key in ("sources", "guideline_versions", "scenarios", "buckets", "risk_levels", "raters"):
        for name, c in d[key].items():
            lines.append(f"  {key[:-1]} {name}: {c['a']} -> {c['b']} labels (share {c['share_a']:.1%} -> {c['share_b']:.1%})")
    for dim, shift in d["dimension_win_rate_shift"].items():
        moved = ", ".join(f"{v} {x:+.1%}" for v, x in shift.items() if x)
        if moved:
            lines.append(f"  dimension {dim}: win rates {moved}")
    if d["raters_added"] or d["raters_removed"]:
        lines.append(f"  raters added: {', '.join(d['raters_added']) or '-'}; removed: {', '.join(d['raters_removed']) or '-'}")
    return "\n".join(lines)
