"""A reward model's held-out figures (`quality.rm_eval`'s report) as people read them: rows of figures (what
`prefdesk rm-eval` prints and the Train panel shows), text, and one self-contained HTML page."""

from __future__ import annotations

import html


def _value(b: dict) -> str:
    return "-" if not b["n"] else f"{b['accuracy']:.1%} [{b['low']:.1%}, {b['high']:.1%}] of {b['n']}"


def figures(report: dict) -> list[tuple[str, str]]:
    """The report as (figure, value) rows: what `text` prints and the Train panel shows."""
    out = [("held-out decided pairs", str(report["pairs"])),
           ("left out: trained on", str(report["trained_on_left_out"])),
           ("left out: not decided", ", ".join(f"{k} {v}" for k, v in report["excluded"].items()) or "none"),
           ("accuracy", _value(report["accuracy"]))]
    for group, blocks in report["by"].items():
        out += [(f"{group}: {k}", _value(b)) for k, b in blocks.items()]
    length = report["length"]
    out += [(f"length: {k}", _value(b)) for k, b in length["by_difference"].items()]
    if length["prefers_longer"] is not None:
        out.append(("prefers the longer answer", f"{length['prefers_longer']:.0%} of {length['pairs_of_unequal_length']}"
                                                 f" (always the longer: {length['always_longer_accuracy']:.0%} right)"))
    m = report["margin"]
    if m:
        out.append(("margin (chosen - rejected)", f"median {m['median']:+.3f}, p5 {m['p5']:+.3f}, p95 {m['p95']:+.3f}, "
                                                  f"{m['negative']} negative"))
    bo4 = report["best_of_4"]
    out.append(("best-of-4 (chance 25%)", _value(bo4["accuracy"]) if bo4["sets"] else "no sets"))
    out += [(f"best-of-4: {k}", _value(b)) for k, b in bo4["by_subset"].items()]
    return out


def text(report: dict) -> str:
    head = f"run {report['run']} ({report['kind']})"
    return "\n".join([head] + [f"  {name:<34} {value}" for name, value in figures(report)])


def page(report: dict) -> str:
    """The report as one self-contained HTML page (no scripts, nothing fetched)."""
    def cells(b: dict) -> str:
        if b["accuracy"] is None:
            return f"<td>{b['n']}</td><td>–</td><td></td>"
        return f"<td>{b['n']}</td><td>{b['accuracy']:.1%}</td><td>{b['low']:.1%} – {b['high']:.1%}</td>"

    def rows(blocks: dict) -> str:
        return "".join(f"<tr><td>{html.escape(str(k))}</td>{cells(b)}</tr>" for k, b in blocks.items())
    sections = [("Overall", {"all pairs": report["accuracy"]})] + [(f"By {g}", b) for g, b in report["by"].items()]
    sections += [("By length difference", report["length"]["by_difference"]),
                 ("Best-of-4 (chance 25%)", {"all": report["best_of_4"]["accuracy"], **report["best_of_4"]["by_subset"]})]
    body = "".join(f"<h2>{html.escape(title)}</h2><table><tr><th></th><th>pairs</th><th>accuracy</th>"
                   f"<th>95% interval</th></tr>{rows(blocks)}</table>" for title, blocks in sections)
    return (f"<!doctype html><meta charset=utf-8><title>Reward model {html.escape(report['run'])}</title>"
            "<style>body{font:14px sans-serif;margin:2em}td,th{padding:2px 10px;text-align:right}"
            "td:first-child{text-align:left}</style>"
            f"<h1>Reward model {html.escape(report['run'])}</h1><pre>{html.escape(text(report))}</pre>{body}")
