"""Model judges (RLAIF) as a weak layer beside people: an LLM judge run as a job, or a finished reward run.

Both write pairwise labels of source `model-judge` by a rater named for the judge's identity, with a rationale
and a confidence; never on gold items, never counted as a rater of the item (`store.overlap.NOT_VOTES`), never
shown to annotators (reviewers see them as they see model scores), and outranked by any human label in every
export (`store.snapshot`). An item judged again by the same judge gets a superseding label only if it changed.

- LLM judge: the judge template (stored and versioned in the project, like the guidelines; the default one
  quotes the guidelines in force and the dimensions) is filled for each pair in both orders; the job asks each
  K times and reads replies strictly (`training.judge`): an unreadable reply is counted and reported, never a
  verdict; the two orders disagreeing make a tie at low confidence.
- Reward-model judge: a finished reward run's scores (scored first if they are not there yet); the verdict is
  the score gap's sign, the confidence the Bradley-Terry probability sigmoid(|gap|); per dimension too for a
  multi-head run.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prefdesk.domain import LabelKind, LabelSource, RaterRole
from prefdesk.jobs.runtime import training_command
from prefdesk.jobs.train import follow
from prefdesk.store import runs as store_runs
from prefdesk.store.ids import utc_now, uuid7
from prefdesk.store.project import Project, ProjectError
from prefdesk.store.runs import run_folder
from training.gen_spec import folder_hash, model_folder_problems
from training.protocol import RunStatus

DEFAULT_TEMPLATE = """You judge two answers to the same prompt for a team. Their guidelines (version {guideline_version}):

{guidelines}

What matters: {dimensions}.

Prompt:
{prompt}

Answer 1:
{answer_1}

Answer 2:
{answer_2}

Which answer is better under the guidelines? Say why in a sentence or two, then end with one line that is
exactly "Verdict: 1", "Verdict: 2" or "Verdict: tie"."""
FIELDS = ("guidelines", "guideline_version", "dimensions", "prompt", "answer_1", "answer_2")


@dataclass
class JudgeReport:
    judge: str
    pairs: int = 0
    labels: int = 0
    unchanged: int = 0
    no_verdict: int = 0  # pairs whose every reading in one order was unreadable
    unreadable: int = 0  # replies that could not be read
    held_back: int = 0  # items the routing kept from people
    gold: int = 0  # gold items judged (for the judge's gold accuracy, not labelled)

    def summary(self) -> str:
        return (f"{self.judge}: {self.pairs} pairs judged ({self.gold} gold, not labelled), {self.labels} labels "
                f"written ({self.unchanged} unchanged), "
                f"{self.no_verdict} without a verdict; {self.unreadable} unreadable replies; "
                f"{self.held_back} items held back from people")


def add_template(project: Project, name: str, version: str, text: str) -> None:
    """A judge template version; its placeholders are checked ({prompt}, {answer_1}, {answer_2} are required)."""
    import string

    used = {f for _, f, _, _ in string.Formatter().parse(text) if f}
    missing = {"prompt", "answer_1", "answer_2"} - used
    if missing or used - set(FIELDS):
        raise ProjectError(f"judge template {name}: needs {{prompt}}, {{answer_1}}, {{answer_2}}"
                           f"{'; missing ' + ', '.join(sorted(missing)) if missing else ''}"
                           f"{'; unknown ' + ', '.join(sorted(used - set(FIELDS))) if used - set(FIELDS) else ''}")
    with project.transaction() as conn:
        if conn.execute("SELECT 1 FROM judge_templates WHERE name = ? AND version = ?", (name, version)).fetchone():
            raise ProjectError(f"judge template {name} already has a version {version}; name a new version")
        conn.execute("INSERT INTO judge_templates VALUES (?, ?, ?, ?)", (name, version, text, utc_now()))


def template(project: Project, name: str = "default") -> tuple[str, str]:
    """(version, text) of a template's newest version; the built-in default is stored as default v1 on first use."""
    row = project.conn.execute("SELECT version, text FROM judge_templates WHERE name = ? ORDER BY created_at DESC, "
                               "rowid DESC LIMIT 1", (name,)).fetchone()
    if row is None and name == "default":
        add_template(project, "default", "v1", DEFAULT_TEMPLATE)
        return "v1", DEFAULT_TEMPLATE
    if row is None:
        raise ProjectError(f"no judge template named {name!r} (add one with prefdesk judge-template)")
    return row


def pairs(project: Project, where: dict[str, list[str]] | None = None) -> list[tuple[str, str, str, str, str | None, str | None]]:
    """(item id, prompt, answer A, answer B, risk level, gold verdict) of the pairwise items to judge. A gold
    item is judged for the judge's gold accuracy (`judge_gold`), never labelled."""
    sql = ("SELECT id, prompt, json_extract(candidates, '$[0].text'), json_extract(candidates, '$[1].text'), "
           "risk_level, CASE WHEN is_gold = 1 THEN json_extract(gold_answer, '$.verdict') END FROM items "
           "WHERE kind = 'pairwise' AND json_array_length(candidates) >= 2 AND eval_run IS NULL")
    args: list[str] = []
    for column, values in (where or {}).items():
        if column not in ("scenario", "risk_level", "bucket"):
            raise ProjectError(f"--where {column}: one of scenario, risk_level, bucket")
        sql += f" AND {column} IN ({', '.join('?' * len(values))})"
        args += values
    return project.conn.execute(sql + " ORDER BY id", args).fetchall()


def identity_of(model: str, template_name: str, version: str) -> str:
    """The rater name of an LLM judge: its model's config hash and the template version it read."""
    return f"judge:{folder_hash(model, ('config.json',))[:12]}:{template_name}@{version}"


def ask(project: Project, model: str, todo: list[tuple[str, str, str, str]], *, template_name: str = "default",
        samples: int = 1, temperature: float = 0.0, seed: int = 0, max_new_tokens: int = 96, device: str = "auto",
        python: str | None = None, on_event: Callable[[dict], None] | None = None,
        server: dict | None = None) -> tuple[str, list[dict]]:
    """The LLM judge job on (key, prompt, answer A, answer B) pairs, each asked in both orders K times, recorded
    as a run of kind `judge`: (the judge's identity, one verdict a pair in the pair's terms, `training.judge`).
    `server`: the judge is `model` on an OpenAI-compatible server ({url, allow_remote, token_env, timeout_s})."""
    if server is not None:
        from training.gen_spec import server_problems, url_problems

        problems = url_problems(server.get("url"), server.get("allow_remote", False)) + server_problems(
            server.get("token_env"), server.get("timeout_s", 600.0))
    else:
        problems = model_folder_problems(model)
    if problems:
        raise ProjectError("; ".join(problems))
    if samples < 1 or (samples > 1 and temperature <= 0):
        raise ProjectError("--samples K > 1 needs --temperature > 0 (K greedy readings are one reading K times)")
    version, text = template(project, template_name)
    identity = (f"judge:server:{model}:{template_name}@{version}" if server is not None
                else identity_of(model, template_name, version))
    guideline_version, guidelines = project.guidelines()
    fill = {"guidelines": guidelines.strip(), "guideline_version": guideline_version,
            "dimensions": ", ".join(project.settings["dimensions"])}
    run_id = uuid7()
    folder = run_folder(project, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "pairs.jsonl", "w", encoding="utf-8") as f:
        for key, prompt, a, b in todo:
            texts = {"AB": text.format(**fill, prompt=prompt, answer_1=a, answer_2=b),
                     "BA": text.format(**fill, prompt=prompt, answer_1=b, answer_2=a)}
            seed_key = hashlib.sha256(json.dumps([prompt, a, b]).encode()).hexdigest()  # the same pair, the same seeds
            f.write(json.dumps({"key": key, "seed_key": seed_key, "texts": texts}, ensure_ascii=False) + "\n")
    spec = {"model": model if server is not None else str(Path(model).resolve()), "pairs": str(folder / "pairs.jsonl"),
            "output_dir": str(folder / "model"), "samples": samples, "temperature": temperature, "seed": seed,
            "max_new_tokens": max_new_tokens, "device": device,
            **({"backend": "openai", **server} if server is not None else {})}
    (folder / "job.json").write_text(json.dumps(spec, indent=2) + "\n")
    store_runs.start_run(project, "judge", {**spec, "judge": identity, "template": [template_name, version]},
                         str(folder / "pairs.jsonl"), {"pairs": len(todo)}, run_id)
    done = follow(project, run_id, [*training_command(python), "judge", str(folder / "job.json")], folder, on_event)
    if done.status != RunStatus.FINISHED:
        raise RuntimeError(f"judge run {run_id} {done.status.value}: {(done.report or {}).get('error', '')}")
    return identity, [json.loads(line) for line in (folder / "model" / "verdicts.jsonl").read_text().splitlines() if line]


def llm_judge(project: Project, model: str, *, template_name: str = "default", samples: int = 1,
              temperature: float = 0.0, where: dict | None = None, seed: int = 0, max_new_tokens: int = 96,
              device: str = "auto", python: str | None = None,
              on_event: Callable[[dict], None] | None = None, server: dict | None = None) -> JudgeReport:
    todo = pairs(project, where)
    identity, verdicts = ask(project, model, [(item_id, prompt, a, b) for item_id, prompt, a, b, _, _ in todo],
                             template_name=template_name, samples=samples, temperature=temperature, seed=seed,
                             max_new_tokens=max_new_tokens, device=device, python=python, on_event=on_event,
                             server=server)
    report = JudgeReport(identity)
    known = {item_id: (risk, gold) for item_id, _, _, _, risk, gold in todo}
    with project.transaction():
        for v in verdicts:
            report.unreadable += v["unreadable"]
            if v["verdict"] is None:
                report.no_verdict += 1
                continue
            payload = {"verdict": v["verdict"], "rationale": f"{identity}: {v['readings'] - v['unreadable']} readings"
                       f" in both orders" + ("" if v.get("consistent") else ", the orders disagree (position bias)"),
                       "judge": {"orders": v["orders"], "readings": v["readings"], "unreadable": v["unreadable"]}}
            _store(project, identity, v["key"], payload, v["confidence"], *known[v["key"]], report)
        report.pairs = len(verdicts)
    return report


def rm_judge(project: Project, run_id: str, where: dict | None = None, python: str | None = None) -> JudgeReport:
    done = store_runs.run(project, run_id)
    if done.status != RunStatus.FINISHED or done.kind not in ("reward", "reward-dims"):
        raise ProjectError(f"run {run_id} is a {done.status.value} {done.kind} run; a reward judge needs a finished "
                           "reward run")
    todo = pairs(project, where)
    scored = {i for (i,) in project.conn.execute("SELECT DISTINCT item_id FROM scores WHERE run_id = ?", (run_id,))}
    if any(item_id not in scored for item_id, *_ in todo):
        from prefdesk.jobs import train

        train.score(project, run_id, python=python)
    identity = f"judge:rm:{run_id}:{folder_hash(done.model_dir, ('config.json',))[:12]}"
    report = JudgeReport(identity)
    rows: dict[str, dict[int, tuple[float, dict | None]]] = {}
    for item_id, position, score, dims in project.conn.execute(
            "SELECT item_id, position, score, dims FROM scores WHERE run_id = ?", (run_id,)):
        rows.setdefault(item_id, {})[position] = (score, json.loads(dims) if dims else None)
    with project.transaction():
        for item_id, _, _, _, risk, gold in todo:
            got = rows.get(item_id, {})
            if 0 not in got or 1 not in got:
                report.no_verdict += 1
                continue
            (sa, da), (sb, db) = got[0], got[1]
            gap = sa - sb
            payload = {"verdict": "A" if gap > 0 else "B" if gap < 0 else "tie",
                       "rationale": f"{identity}: reward {sa:.3f} against {sb:.3f}",
                       "judge": {"scores": [round(sa, 4), round(sb, 4)]}}
            if da and db:
                payload["dims"] = {d: "A" if da[d] > db[d] else "B" if da[d] < db[d] else "tie" for d in da if d in db}
            report.pairs += 1
            _store(project, identity, item_id, payload, round(1 / (1 + math.exp(-abs(gap))), 4), risk, gold, report)
    return report


def _store(project: Project, identity: str, item_id: str, payload: dict, confidence: float, risk: str | None,
           gold: str | None, report: JudgeReport) -> None:
    """The judge's label on an item (superseding its earlier one only if the verdict or confidence moved), and
    the routing: a confident judge's item skips people if the lead turned that on and its risk is not high.
    On a gold item: its verdict against the gold answer, in `judge_gold`, and no label."""
    judge = project.ensure_rater(identity, RaterRole.MODEL_JUDGE)
    if gold is not None:
        project.conn.execute("INSERT OR REPLACE INTO judge_gold VALUES (?, ?, ?, ?, ?)",
                             (judge.id, item_id, payload["verdict"], int(payload["verdict"] == gold), utc_now()))
        report.gold += 1
        return
    current = [lab for lab in project.labels(item_id) if lab.rater_id == judge.id]
    if current and current[-1].payload.get("verdict") == payload["verdict"] and current[-1].confidence == confidence:
        report.unchanged += 1
    else:
        project.commit_label(item_id, judge, LabelKind.PAIRWISE, payload, source=LabelSource.MODEL_JUDGE,
                             confidence=confidence, supersedes=current[-1] if current else None)
        report.labels += 1
    settings = project.settings
    if (settings["judge_skips_people"] and confidence >= settings["judge_skip_confidence"] and risk != "high"
            and payload["verdict"] in ("A", "B")):
        held = project.conn.execute("UPDATE items SET held_back = ?, open = 0 WHERE id = ? AND held_back IS NULL "
                                    "AND n_raters = 0", (identity, item_id)).rowcount
        report.held_back += held
