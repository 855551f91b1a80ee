"""A simulated team of raters with known accuracy, written in the `labels` exchange format (issue 12):
honest raters of different accuracy, one who picks the side shown left when unsure (position bias), one who
picks the longer answer when unsure (length bias), one who drifts (right often in the first week, less
each week after); gold items; a second round on a share of each rater's items; the truly better answer
longer more often than not; four weeks of labelling; one rater who states a confidence that means
something (higher when right)."""

import json
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

HONEST = {"ana": 0.95, "ben": 0.90, "cai": 0.85, "dee": 0.80, "eli": 0.75, "fay": 0.70}
DRIFTS = {"eli": (0.92, 0.58)}  # accuracy at the start and at the end of the four weeks
START = datetime(2026, 10, 5, tzinfo=timezone.utc)  # a Monday
WEEKS = 4
BIASED = {"lefty": ("left", 0.60, 0.85), "longo": ("longer", 0.60, 0.85)}  # (bias, how often unsure, accuracy when sure)


def simulate(path: Path, n_items: int = 1500, per_item: int = 3, gold_share: float = 0.05,
             round2_share: float = 0.10, longer_better: float = 0.65, seed: int = 7) -> dict:
    """Write the team's labels to `path`; returns the truth: each rater's true accuracy, and for each prompt
    the truly better answer."""
    rng = random.Random(seed)
    raters = list(HONEST) + list(BIASED)
    truth, correct, total, lines = {}, {r: 0 for r in raters}, {r: 0 for r in raters}, []
    for i in range(n_items):
        better = rng.choice("AB")
        short, long_ = "short answer " + str(i), "a much longer and more detailed answer " * 3 + str(i)
        better_longer = rng.random() < longer_better
        a, b = ((long_, short) if better_longer else (short, long_)) if better == "A" else \
               ((short, long_) if better_longer else (long_, short))
        longer = "A" if len(a) > len(b) else "B"
        truth[f"question {i}"] = a if better == "A" else b  # the prompt -> the truly better answer
        gold = rng.random() < gold_share
        item = {"id": f"sim-{i}", "kind": "pairwise", "prompt": f"question {i}", "candidates": [a, b],
                "meta": {"scenario": rng.choice(["medical", "coding", "chat"])}, "gold": {"verdict": better} if gold else None}
        for rater in rng.sample(raters, per_item):
            for round_ in (1, 2) if rng.random() < round2_share else (1,):
                order = [0, 1] if rng.random() < 0.5 else [1, 0]
                progress = i / n_items
                verdict = _verdict(rng, rater, better, longer, "AB"[order[0]], progress)
                correct[rater] += verdict == better
                total[rater] += 1
                at = START + timedelta(weeks=WEEKS * progress, hours=24 * (round_ - 1))
                confidence = None
                if rater == "ana":  # states a confidence that tracks being right
                    confidence = round(rng.uniform(0.8, 1.0) if verdict == better else rng.uniform(0.5, 0.7), 2)
                lines.append({"item": item, "label": {
                    "kind": "pairwise", "payload": {"verdict": verdict, "strength": "clear", "dims": {}},
                    "rater": {"name": rater, "role": "annotator"}, "round": round_, "display_order": order,
                    "duration_ms": rng.randint(3000, 30000), "source": "human", "confidence": confidence,
                    "created_at": at.isoformat(timespec="milliseconds").replace("+00:00", "Z")}})
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return {"accuracy": {r: correct[r] / total[r] for r in raters}, "truth": truth, "biased": set(BIASED)}


def _verdict(rng, rater, better, longer, left, progress: float) -> str:
    worse = "B" if better == "A" else "A"
    if rater in DRIFTS:
        start, end = DRIFTS[rater]
        return better if rng.random() < start + (end - start) * progress else worse
    if rater in HONEST:
        return better if rng.random() < HONEST[rater] else worse
    bias, unsure, accuracy = BIASED[rater]
    if rng.random() < unsure:
        return left if bias == "left" else longer
    return better if rng.random() < accuracy else worse
