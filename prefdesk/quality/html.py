"""The quality report as one self-contained HTML page: tables and inline SVG bars, no script, no remote
resource (it opens offline, and can be mailed)."""

from __future__ import annotations

from html import escape

BAR_W = 160


def _fmt(value) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else escape(str(value))


def _bar(value: float | None, flagged: bool = False) -> str:
    """A bar of 0..1 with a tick at 0.5 (the no-bias line), red when the rater is flagged."""
    if value is None:
        return ""
    colour = "#d55e00" if flagged else "#0072b2"
    return (f'<svg width="{BAR_W}" height="12" role="img"><rect width="{BAR_W}" height="12" fill="#eee"/>'
            f'<rect width="{value * BAR_W:.1f}" height="12" fill="{colour}"/>'
            f'<line x1="{BAR_W / 2}" x2="{BAR_W / 2}" y1="0" y2="12" stroke="#333"/></svg> {value:.3f}')


COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9")  # as the desk's charts
DASHES = ("", "6 3", "2 3")


def _drift_svg(drift: dict, field: str = "agreement_with_consensus", width: int = 640, height: int = 200) -> str:
    """Each rater's figure by week as lines (y 0..1), with a legend: drift, without a script."""
    weeks = sorted({p["week"] for d in drift.values() for p in d["by_week"] if p[field] is not None})
    if not weeks:
        return "<p>No weekly figures yet.</p>"
    left, bottom, top = 40, 30, 10
    x = {w: left + (width - left - 20) * (k + 0.5) / len(weeks) for k, w in enumerate(weeks)}
    y = lambda v: top + (height - top - bottom) * (1 - v)  # noqa: E731
    parts = [f'<line x1="{left}" x2="{width}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>'
             f'<text x="4" y="{y(v) + 4:.1f}" font-size="11">{v:.1f}</text>' for v in (0, 0.25, 0.5, 0.75, 1)]
    parts += [f'<text x="{x[w]:.1f}" y="{height - 8}" font-size="11" text-anchor="middle">{w}</text>' for w in weeks]
    legend = []
    for i, (name, d) in enumerate(drift.items()):
        points = [(x[p["week"]], y(p[field])) for p in d["by_week"] if p[field] is not None]
        colour, dash = COLOURS[i % len(COLOURS)], DASHES[i // len(COLOURS) % len(DASHES)]
        if points:
            parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}" '
                         f'points="{" ".join(f"{a:.1f},{b:.1f}" for a, b in points)}"/>')
        legend.append(f'<span style="color:{colour}">━</span> {escape(name)}')
    return (f'<svg width="{width}" height="{height}" role="img">{"".join(parts)}</svg>'
            f'<p>{" &nbsp; ".join(legend)}</p>')


def _pareto_html(pareto: dict[str, list[dict]] | None) -> str:
    """Per version, the multi-head reward runs' per-dimension accuracy, the frontier marked."""
    if not pareto:
        return "<p>No finished multi-head reward runs on a dataset version yet.</p>"
    parts = []
    for version, points in pareto.items():
        dims = sorted({d for p in points for d in p["accuracy"]})
        head = "".join(f"<th>{escape(d)}</th>" for d in dims)
        rows = "".join(
            f"<tr><td>{escape(p['run'][-8:])}</td>" + "".join(f"<td>{_bar(p['accuracy'][d])}</td>" for d in dims)
            + f"<td>{'<b>yes</b>' if p['frontier'] else 'no'}</td>"
            f"<td>{escape(', '.join(r[-8:] for r in p['dominated_by']))}</td></tr>" for p in points)
        parts.append(f"<h3>Version {escape(version)}</h3><table><tr><th>run</th>{head}<th>on the frontier</th>"
                     f"<th>beaten by</th></tr>{rows}</table>")
    return "".join(parts)


def quality_html(report: dict, title: str, pareto: dict[str, list[dict]] | None = None) -> str:
    agreement = report["agreement"]
    rows = []
    for name, r in report["raters"].items():
        rows.append(
            f"<tr><td>{escape(name)}</td><td>{escape(r.get('role') or '')}</td><td>{r['labels']}</td>"
            f"<td>{_fmt(r['gold_accuracy'])}</td><td>{_fmt(r['estimated_accuracy'])}</td>"
            f"<td>{_fmt(r['agreement_with_consensus'])}</td>"
            f"<td>{_bar(r['left_rate'], r['position_bias'])}{' <b>position bias</b>' if r['position_bias'] else ''}</td>"
            f"<td>{_bar(r['longer_rate'], r['length_bias'])}{' <b>length bias</b>' if r['length_bias'] else ''}</td>"
            f"<td>{_fmt(r['flip_rate'])}</td><td>{_fmt(r['median_ms'] and r['median_ms'] / 1000)}</td>"
            f"<td>{r['too_fast']}</td></tr>")
    pairs = "".join(f"<tr><td>{escape(pair)}</td><td>{_fmt(v['kappa'])}</td><td>{v['items']}</td></tr>"
                    for pair, v in agreement["cohen_kappa"].items())
    scenarios = "".join(f"<tr><td>{escape(s)}</td><td>{v['items']}</td><td>{v['labels']}</td>"
                        f"<td>{_fmt(v['percent_agreement'])}</td><td>{_fmt(v['flip_rate'])}</td></tr>"
                        for s, v in report["by_scenario"].items())
    dims = "".join(f"<tr><td>{escape(d)}</td><td>{v['n']}</td><td>{_bar(v['A_rate'])}</td><td>{_bar(v['B_rate'])}</td>"
                   f"<td>{_fmt(v['tie_rate'])}</td><td>{_fmt(v['matches_overall'])}</td></tr>"
                   for d, v in report["by_dimension"].items())
    sources = "".join(f"<tr><td>{escape(name)}</td><td>{v['labels']}</td><td>{_fmt(v['agreement_with_consensus'])}</td>"
                      f"<td>{_fmt(v['gold_accuracy'])}</td><td>{_fmt(v['trust'])}</td></tr>"
                      for name, v in report["by_source"].items())
    arbitration = report["arbitration"]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em;color:#222}} table{{border-collapse:collapse;margin:1em 0}}
td,th{{border:1px solid #ccc;padding:3px 8px;text-align:left}} th{{background:#f3f3f3}} svg{{vertical-align:middle}}</style>
</head><body>
<h1>{escape(title)}</h1>
<p>{report['labels']} pairwise labels on {report['items_labelled']} items; {report['disputed_items']} items disputed.
Agreement {_fmt(agreement['percent'])} · Fleiss' kappa {_fmt(agreement['fleiss_kappa'])} ·
Krippendorff's alpha {_fmt(agreement['krippendorff_alpha'])} · flip rate {_fmt(report['flip_rate'])}.
{arbitration['waiting']} items wait for arbitration ({arbitration['high_risk']} high-risk, {arbitration['gold_misses']}
gold misses); {arbitration['decided']} decided.</p>
<h2>Raters</h2>
<p>Left rate: how often the side shown on the left won (display order is random, so 0.5 is no bias). Longer
rate: how often the longer answer was chosen; a rater is flagged for length bias only when their disagreements
with the others lean to the longer answer more than their items explain.</p>
<table><tr><th>rater</th><th>role</th><th>labels</th><th>gold acc.</th><th>estimated acc.</th><th>agrees with others</th>
<th>left rate</th><th>longer rate</th><th>flip rate</th><th>median s</th><th>too fast</th></tr>
{''.join(rows)}</table>
<h2>Drift: agreement with the others by week</h2>{_drift_svg(report["drift"])}
<h2>Drift: gold accuracy by week</h2>{_drift_svg(report["drift"], "gold_accuracy")}
<h2>Sources</h2><table><tr><th>source</th><th>labels</th><th>agrees with others</th><th>gold acc.</th><th>trust</th></tr>
{sources}</table>
<h2>Cohen's kappa per pair</h2><table><tr><th>raters</th><th>kappa</th><th>items</th></tr>{pairs}</table>
<h2>By scenario</h2><table><tr><th>scenario</th><th>items</th><th>labels</th><th>agreement</th><th>flip rate</th></tr>
{scenarios}</table>
<h2>Reward runs per dimension (Pareto)</h2>
<p>A run is on the frontier when no other run on the same dataset version is at least as accurate on every
dimension and more accurate on one.</p>{_pareto_html(pareto)}
<h2>By dimension</h2><table><tr><th>dimension</th><th>verdicts</th><th>A wins</th><th>B wins</th><th>tie</th>
<th>matches overall</th></tr>{dims}</table>
</body></html>
"""
