"""`python -m training judge SPEC`: an LLM judge over pairs, in both orders, K samples each, parsed strictly.

SPEC (JSON): model, pairs (JSON lines: key and the judge's full text in either order, `texts: {AB, BA}`, AB
with the pair's A as answer 1), output_dir, samples (K), temperature, seed, max_new_tokens, device, batch_size.
Every pair is asked twice, with the answers in either order, K times each (K = 1 at temperature 0: greedy). A reply counts only if its last
non-empty line is exactly `Verdict: 1`, `Verdict: 2` or `Verdict: tie`; any other reply is counted as
unreadable and never made a verdict. Out: one line a pair in `output_dir/verdicts.jsonl` with every reading,
in the pair's own terms (A = its first answer).
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path

from training.protocol import STOP_FILE, emit

VERDICT_LINE = re.compile(r"^verdict\s*:\s*(1|2|tie)$", re.IGNORECASE)
FILE = "verdicts.jsonl"


def parse(reply: str) -> str | None:
    """'1', '2' or 'tie' from the reply's last non-empty line; None when that line is anything else."""
    lines = [line.strip() for line in reply.strip().splitlines() if line.strip()]
    m = VERDICT_LINE.match(lines[-1]) if lines else None
    return m.group(1) if m else None


def combine(ab: list[str | None], ba: list[str | None]) -> dict:
    """The pair's verdict from its readings: `ab` with the pair's A shown first, `ba` with it second (already
    mapped back to the pair's terms, A / B / tie). The two orders' majorities disagreeing make a tie at low
    confidence; confidence = the share of readable readings that give the verdict. No readable reading: none."""
    readable_ab, readable_ba = [v for v in ab if v], [v for v in ba if v]
    out = {"unreadable": sum(v is None for v in ab + ba), "readings": len(ab) + len(ba)}
    if not readable_ab or not readable_ba:
        return {**out, "verdict": None}
    top_ab = Counter(readable_ab).most_common(1)[0][0]
    top_ba = Counter(readable_ba).most_common(1)[0][0]
    readable = readable_ab + readable_ba
    if top_ab != top_ba:  # the judge's answer depends on the order: position bias, not a preference
        return {**out, "verdict": "tie", "confidence": round(min(readable.count(top_ab), readable.count(top_ba))
                                                               / len(readable), 4), "consistent": False,
                "orders": {"AB": top_ab, "BA": top_ba}}
    return {**out, "verdict": top_ab, "confidence": round(readable.count(top_ab) / len(readable), 4),
            "consistent": True, "orders": {"AB": top_ab, "BA": top_ba}}


_BACK = {"1": "B", "2": "A", "tie": "tie"}  # BA order: the judge's first answer is the pair's B
_AS_IS = {"1": "A", "2": "B", "tie": "tie"}


def _backend(spec: dict, stop):
    """(the judge's backend, its device): the local model, or the model on an OpenAI-compatible server."""
    if spec.get("backend") == "openai":
        from training.openai_backend import OpenAIBackend

        return OpenAIBackend(spec["url"], spec["model"], timeout_s=float(spec.get("timeout_s", 600.0)), stop=stop,
                             token_env=spec.get("token_env")), "server"
    import torch

    from training.sampling import TransformersBackend

    device = spec.get("device", "auto")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return TransformersBackend(spec["model"], None, device, stop=stop), device


def run_judge(spec: dict) -> int:
    from training.sampling import Cancelled, over_context, sample_seed

    out_dir = Path(spec["output_dir"])
    out_dir.mkdir(parents=True, exist_ok=True)
    pairs = [json.loads(line) for line in open(spec["pairs"], encoding="utf-8") if line.strip()]
    backend, device = _backend(spec, lambda: (out_dir / STOP_FILE).exists())
    k, temperature = int(spec.get("samples", 1)), float(spec.get("temperature", 0.0))
    emit("started", **{"pairs": len(pairs), "device": device, **backend.identity(), "model": spec["model"]})
    rows = []  # (pair index, order, sample) -> the text the judge reads
    for i, pair in enumerate(pairs):
        for order in ("AB", "BA"):
            text = pair["texts"][order]
            rendered, special, _ = backend.render([{"role": "user", "content": text}] if backend.template else text)
            for j in range(k):
                rows.append((i, order, rendered, special, sample_seed(int(spec.get("seed", 0)), pair.get("seed_key") or pair["key"], j,
                                                                      0 if order == "AB" else 1)))
    max_new = int(spec.get("max_new_tokens", 64))
    asked = rows[::k]  # each (pair, order) once: its K readings read the same text
    if device != "server" and (too_long := over_context(  # a server's context is its own: it refuses a long one itself
            backend, [(f"pair {pairs[r[0]]['key']} ({r[1]})", r[2], r[3]) for r in asked], max_new)):
        emit("failed", error=too_long, hint="leave those items out of the judge (--where) or use a judge model with a "
                                            "longer context")
        return 1
    rows.sort(key=lambda r: len(r[2]))
    replies: dict[tuple[int, str], list[str | None]] = {}
    raw: dict[tuple[int, str], list[str]] = {}
    started, batch = time.monotonic(), int(spec.get("batch_size", 8))
    for start in range(0, len(rows), batch):
        if (out_dir / STOP_FILE).exists():
            emit("cancelled", step=start)
            return 3
        chunk = rows[start:start + batch]
        try:  # a cancel ends the batch at the next token
            got = backend.sample([(r[2], r[3], r[4]) for r in chunk], temperature, 1.0, max_new)
        except Cancelled:
            emit("cancelled", step=start)
            return 3
        for r, g in zip(chunk, got):
            reading = parse(g.text)
            mapped = (_AS_IS if r[1] == "AB" else _BACK)[reading] if reading else None
            replies.setdefault((r[0], r[1]), []).append(mapped)
            raw.setdefault((r[0], r[1]), []).append(g.text[-200:])
        emit("progress", step=start + len(chunk), total_steps=len(rows),
             eta_s=round((time.monotonic() - started) / (start + len(chunk)) * (len(rows) - start - len(chunk)), 1))
    unreadable = 0
    with open(out_dir / FILE, "w", encoding="utf-8") as f:
        for i, pair in enumerate(pairs):
            result = combine(replies.get((i, "AB"), []), replies.get((i, "BA"), []))
            unreadable += result["unreadable"]
            f.write(json.dumps({"key": pair["key"], **result, "tails": raw.get((i, "AB"), [])[:1]}) + "\n")
    report = {"pairs": len(pairs), "readings": len(rows), "unreadable": unreadable, "verdicts": str(out_dir / FILE),
              "seconds": round(time.monotonic() - started, 2)}
    (out_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    emit("finished", output_dir=str(out_dir), report=report, report_path=str(out_dir / "report.json"))
    return 0
