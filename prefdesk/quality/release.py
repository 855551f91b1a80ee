"""The release report of an evaluation (issue 21) as one self-contained HTML page: no script, no remote resource
(it opens offline and can be mailed). Regressions first, each with example pairs the policy lost; then every
dimension and group, people's arena verdicts, the leaderboard, and what produced the policy (its run, the dataset
version it trained on, the eval set's hash, the judge, the sampling)."""

from __future__ import annotations

import json
from html import escape

from prefdesk.quality.arena import evaluation_report
from prefdesk.quality.html import _fmt
from prefdesk.quality.winrate import MIN_FOR_VERDICT
from prefdesk.store import prompts as pool
from prefdesk.store import runs as store_runs
from prefdesk.store.project import Project

W = 220
EXAMPLES = 2  # pairs shown per regression


def _interval(s: dict) -> str:
    """The win rate as a dot on 0..1 with its interval as a line and a tick at 1/2; red for a regression."""
    x = lambda v: 4 + v * (W - 8)  # noqa: E731
    colour = "#d55e00" if s["regression"] else "#0072b2"
    low, high = s["interval"]
    return (f'<svg width="{W}" height="14" role="img"><rect x="4" y="6" width="{W - 8}" height="2" fill="#ddd"/>'
            f'<line x1="{x(0.5):.1f}" x2="{x(0.5):.1f}" y1="0" y2="14" stroke="#333"/>'
            f'<line x1="{x(low):.1f}" x2="{x(high):.1f}" y1="7" y2="7" stroke="{colour}" stroke-width="3"/>'
            f'<circle cx="{x(s["win_rate"]):.1f}" cy="7" r="4" fill="{colour}"/></svg>')


def _mark(s: dict) -> str:
    return ("<b class=bad>regression</b>" if s["regression"] else
            f"<span class=muted>too few to call (under {MIN_FOR_VERDICT})</span>" if s.get("too_few") else "")


def _row(dim: str, where: str, s: dict) -> str:
    return (f"<tr><td>{escape(dim)}</td><td>{escape(where)}</td><td>{s['n']}</td><td>{s['win_rate']:.3f}</td>"
            f"<td>[{s['interval'][0]:.3f}, {s['interval'][1]:.3f}]</td><td>{_interval(s)}</td>"
            f"<td>{_fmt(s.get('length_controlled_win_rate'))}</td><td>{s['mean_length']['policy']:.0f}</td>"
            f"<td>{s['mean_length']['reference']:.0f}</td><td>{_mark(s)}</td></tr>")


def _examples(report: dict, regression: str, prompts: dict, mine: dict, theirs: dict) -> str:
    dim, where = regression.split(" ", 1)
    group, _, value = where.partition("=")
    lost = [r for r in report["per_prompt"] if (r["outcomes"] or {}).get(dim) == 0.0
            and (where == "all" or (r.get(group) or "(none)") == value)][:EXAMPLES]
    return "".join(f"<div class=pair><p class=prompt>{escape(prompts.get(r['prompt_id'], ''))}</p>"
                   f"<div class=side><h4>policy (lost)</h4><pre>{escape(mine.get(r['prompt_id'], ''))}</pre></div>"
                   f"<div class=side><h4>reference</h4><pre>{escape(theirs.get(r['prompt_id'], ''))}</pre></div></div>"
                   for r in lost) or "<p>No lost pair to show (the losses are ties).</p>"


def provenance(project: Project, report: dict) -> list[tuple[str, str]]:
    """What produced the policy, as (field, value) rows: the eval set, judge, sampling, runs, and for a policy
    that is a run of the project, the dataset version it trained on, its base model and hyper-parameters."""
    rows = [("eval set", f"{report['evalset']} (sha256 {report['evalset_sha256'][:16]})"),
            ("judge", report["judge"]), ("sampling", json.dumps(report["sampling"])),
            ("answers", f"policy run {report['policy_run']}, reference run {report['reference_run']}"),
            ("reference", report["reference"]), ("policy", report["policy"])]
    if report["models"]["policy"].startswith("run:"):
        run = store_runs.run(project, report["policy"])
        rows += [("policy run", f"{run.kind} run {run.id}, {run.started_at[:16]}"),
                 ("trained on", f"dataset {run.dataset}" + (f" ({json.dumps(run.dataset_manifest)[:300]})"
                                                            if run.dataset_manifest else "")),
                 ("base model", str(run.spec.get("base_model", ""))),
                 ("hyper-parameters", json.dumps(run.spec.get("hyper", {})))]
    return rows


def _arena(arena: dict | None) -> str:
    if not arena:
        return "<p>No arena for this evaluation (<code>--arena N</code> makes one).</p>"
    rows = "".join(f"<tr><td>{escape(d)}</td><td>{v['votes']}</td><td>{v['win_rate']:.3f}</td>"
                   f"<td>[{v['interval'][0]:.3f}, {v['interval'][1]:.3f}]</td><td>{_interval({**v})}</td>"
                   f"<td>{_mark(v)}</td></tr>"
                   for d, v in arena.get("dims", {}).items())
    agree = arena.get("judge_agreement", {})
    return (f"<p>{arena['items']} blind pairs; {arena.get('voted', 0)} have people's votes. The judge agrees with "
            f"people's majority on {_fmt(agree.get('agreement'))} of {agree.get('pairs', 0)} pairs "
            f"(Cohen's kappa {_fmt(agree.get('kappa'))}).</p><table><tr><th>dimension</th><th>votes</th>"
            f"<th>human win rate</th><th>95% interval</th><th></th><th></th></tr>{rows}</table>")


def _board(board: dict | None) -> str:
    if not board or not board["models"]:
        return "<p>Fewer than two models evaluated: no leaderboard yet.</p>"
    dims = list(board["dims"])
    head = "".join(f"<th>{escape(d)}</th>" for d in dims)
    rows = "".join(
        f"<tr><td title='{escape(m['model'])}'>{escape(m['name'])}</td>"
        + "".join(f"<td>{board['dims'][d][m['model']]['score']:.0f} [{board['dims'][d][m['model']]['low']:.0f}, "
                  f"{board['dims'][d][m['model']]['high']:.0f}]</td>" if m['model'] in board['dims'][d] else "<td>–</td>"
                  for d in dims) + f"<td>{'<b>yes</b>' if m['pareto'] else 'no'}</td></tr>" for m in board["models"])
    return f"<table><tr><th>model</th>{head}<th>Pareto front</th></tr>{rows}</table>"


def release_html(project: Project, run_id: str, board: dict | None = None) -> str:
    """The release report of a finished evaluation, read from the project and its runs' answers."""
    report = evaluation_report(project, run_id)
    prompts = {p.id: p.prompt for p in pool.pool(project)}
    mine, theirs = store_runs.answers_of(project, report["policy_run"]), store_runs.answers_of(project, report["reference_run"])
    return render(report, prompts, mine, theirs, provenance(project, report), board)


def render(report: dict, prompts: dict[str, str], mine: dict[str, str], theirs: dict[str, str],
           produced_by: list[tuple[str, str]], board: dict | None = None) -> str:
    """The page: `report` as `jobs.evaluate` stores it, prompt texts and both models' answers by prompt id."""
    run_id = report.get("run", "")
    order = [(d, w, s) for d, groups in report["results"].items() for w, s in groups.items()]
    order.sort(key=lambda r: not r[2]["regression"])  # regressions first, the rest in the report's order
    regressions = report["regressions"]
    verdict = (f"<p class=bad><b>{len(regressions)} regression{'s' if len(regressions) != 1 else ''}</b>: "
               f"{escape(', '.join(regressions))}. Do not ship this policy without reading them.</p>" if regressions else
               "<p><b>No regression</b>: no dimension or group has its whole 95% interval below 1/2.</p>")
    examples = "".join(f"<h3>{escape(r)}</h3>{_examples(report, r, prompts, mine, theirs)}" for r in regressions)
    title = f"Release report: {report['models']['policy'].rsplit('/', 1)[-1]} against {report['reference'].rsplit('/', 1)[-1]}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em;color:#222;max-width:70em}}
table{{border-collapse:collapse;margin:1em 0}} td,th{{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}}
th{{background:#f3f3f3}} svg{{vertical-align:middle}} .bad{{color:#b00}} .muted{{color:#666}} .pair{{display:flex;flex-wrap:wrap;gap:1em;
border-top:1px solid #ccc;padding-top:.5em}} .prompt{{flex-basis:100%;font-weight:600;white-space:pre-wrap}}
.side{{flex:1;min-width:20em}} pre{{white-space:pre-wrap;background:#f7f7f7;padding:.5em}}</style>
</head><body>
<h1>{escape(title)}</h1>
<p>Evaluation run {escape(run_id)} on eval set {escape(report['evalset'])}; judged by {escape(report['judge'])}.
Win rate: the policy's share of prompts won against the reference, ties as 1/2, with a 95% bootstrap interval
(the dot and the line; the tick is 1/2). Length-controlled (LC): the win rate at equal answer length, from a logistic
fit on the length difference, as AlpacaEval's. A group whose whole interval lies below 1/2 is a regression; a group
of fewer than {MIN_FOR_VERDICT} prompts is shown but too few to call.
{report.get('no_verdict', 0)} prompts had no verdict from the judge and are left out.</p>
{verdict}
<table><tr><th>dimension</th><th>where</th><th>prompts</th><th>win rate</th><th>95% interval</th><th></th>
<th>LC win rate</th><th>policy length</th><th>reference length</th><th></th></tr>
{''.join(_row(d, w, s) for d, w, s in order)}</table>
<h2>Example pairs per regression</h2>{examples or '<p>None.</p>'}
<h2>People in the blind arena</h2>{_arena(report.get('arena'))}
<h2>Leaderboard (Bradley-Terry, Elo scale)</h2>{_board(board)}
<h2>What produced this policy</h2><table>{''.join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>"
                                                for k, v in produced_by)}</table>
</body></html>
"""
