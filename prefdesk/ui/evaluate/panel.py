"""The Evaluate panel (Project › Evaluate, Ctrl+Shift+E): is the trained policy better than the model it started
from, on which dimensions and in which buckets, before it ships (issue 21)?

- Evaluate: a policy (a finished DPO run, or a model folder) against its reference folder on a frozen eval set,
  judged by a finished reward run or an LLM judge, with an optional blind arena for people. It runs as
  `jobs.evaluate.evaluate` in a project operation off the GUI thread (the generation and judge jobs are
  subprocesses: the desk never imports torch), and announces RUNS and ITEMS (the arena's pairs).
- Results: each finished evaluation, regressions first and in red; people's arena verdicts as they come in; the
  release report saved as one HTML page.
- Leaderboard: every evaluated model, Bradley-Terry scores per dimension with intervals, the Pareto front.
The panel listens to the one change signal (RUNS, LABELS: arena votes) and calls no other panel.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QHeaderView, QLabel,
                               QLineEdit, QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QTabWidget,
                               QVBoxLayout, QWidget)

from prefdesk.jobs.runtime import runtime_problems
from prefdesk.store import evalsets
from prefdesk.store import runs as store_runs
from prefdesk.ui.forms import browse_row, compact, fit_to_screen
from prefdesk.ui.operations import Change
from prefdesk.ui.worker import describe
from training.gen_spec import model_folder_problems
from training.protocol import RunStatus

FOLDER = "folder"  # the policy combo's entry for a model folder
REGRESSION = QColor("#f4c7c3")


def _evaluate(path: Path, choices: dict, python: str | None) -> dict:
    """The evaluation, on a connection of its own (an operation off the GUI thread)."""
    from prefdesk.jobs.evaluate import evaluate
    from prefdesk.store.project import Project

    with Project.open(path) as project:
        return evaluate(project, choices["policy"], choices["reference"], choices["evalset"], choices["judge_run"],
                        judge_model=choices["judge_model"], arena=choices["arena"], temperature=choices["temperature"],
                        max_new_tokens=choices["max_new_tokens"], seed=choices["seed"], python=python)


def _read(path: Path, run_id: str | None, source: str) -> tuple[dict | None, dict]:
    """(the evaluation's report with the arena's votes so far, the leaderboard), off the GUI thread."""
    from prefdesk.quality.arena import evaluation_report
    from prefdesk.quality.leaderboard import leaderboard
    from prefdesk.store.project import Project

    with Project.open(path) as project:
        return (evaluation_report(project, run_id) if run_id else None), leaderboard(project, source)


def _verdict(s: dict) -> str:
    return "regression" if s["regression"] else "too few to call" if s.get("too_few") else ""


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QTableWidget.NoEditTriggers)
    table.verticalHeader().hide()
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def _fill(table: QTableWidget, rows: list[list[str]], marked: list[bool]) -> None:
    table.setRowCount(len(rows))
    for r, (row, bad) in enumerate(zip(rows, marked)):
        for c, text in enumerate(row):
            cell = QTableWidgetItem(text)
            if bad:
                cell.setBackground(QBrush(REGRESSION))
                cell.setForeground(QBrush(QColor("#000000")))
            table.setItem(r, c, cell)


class EvaluatePanel(QWidget):
    def __init__(self, desk) -> None:
        super().__init__(desk, Qt.Window)
        self.desk = desk
        self.setWindowTitle(f"Evaluate — {desk.project.path.name}")
        self.busy = self.filled = False
        self.report: dict | None = None
        self.tabs = QTabWidget()
        self.tabs.addTab(self._form(), "&Evaluate")
        self.tabs.addTab(self._results(), "Res&ults")
        self.tabs.addTab(self._leaderboard(), "&Leaderboard")
        QHBoxLayout(self).addWidget(self.tabs)
        fit_to_screen(self, 1100, 700)
        self._refresh()
        desk.ops.changed.connect(self._changed)

    # -- the form -----------------------------------------------------------------------------------
    def _form(self) -> QWidget:
        page = QWidget()
        form = QFormLayout(page)
        self.policy = QComboBox()
        self.policy.addItem("a model folder", FOLDER)
        self.policy_folder = QLineEdit()
        self.policy_folder.setPlaceholderText("the policy's folder (a causal LM)")
        self.reference = QLineEdit()
        self.reference.setPlaceholderText("the model it started from (a causal LM folder)")
        self.evalset = QComboBox()
        self.evalset.setPlaceholderText("no eval set yet: prefdesk evalset create")
        self.judge_run = QComboBox()
        self.judge_run.addItem("an LLM judge (a model folder)", None)
        self.judge_model = QLineEdit()
        self.judge_model.setPlaceholderText("the LLM judge's folder, asked in both orders")
        self.arena = QSpinBox()
        self.arena.setRange(0, 2000)
        self.max_new = QSpinBox()
        self.max_new.setRange(1, 8192)
        self.max_new.setValue(256)
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(0.0, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setValue(0.7)
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        for text, widget in (("&Policy", self.policy), ("Policy &folder", self.policy_folder),
                             ("&Reference", self.reference), ("Eval &set", self.evalset), ("&Judge", self.judge_run),
                             ("Judge &model", self.judge_model), ("&Arena pairs for people", self.arena),
                             ("Max &new tokens", self.max_new), ("Sampling &temperature", self.temperature),
                             ("See&d", self.seed)):
            label = QLabel(text)
            label.setBuddy(widget)  # Alt+letter reaches the field, also where the row is a path with Browse…
            form.addRow(label, browse_row(widget, lambda cur, t=text: QFileDialog.getExistingDirectory(
                self, t.replace("&", ""), cur)) if isinstance(widget, QLineEdit) else widget)
        self.start_button = QPushButton("E&valuate")
        self.start_button.clicked.connect(self.start)
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        self.problems.setTextFormat(Qt.PlainText)
        self.status = QLabel()  # what the last evaluation did; the problems above say what stops the next one
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.PlainText)
        form.addRow(self.start_button)
        form.addRow(self.problems)
        form.addRow(self.status)
        for box in (self.policy, self.evalset, self.judge_run):
            compact(box)
            box.currentIndexChanged.connect(self.check)
        for edit in (self.policy_folder, self.reference, self.judge_model):
            edit.textChanged.connect(self.check)
        return page

    def choices(self) -> dict:
        policy = self.policy.currentData()
        return {"policy": self.policy_folder.text().strip() if policy == FOLDER else policy,
                "reference": self.reference.text().strip(), "evalset": self.evalset.currentData(),
                "judge_run": self.judge_run.currentData(),
                "judge_model": None if self.judge_run.currentData() else self.judge_model.text().strip(),
                "arena": self.arena.value(), "max_new_tokens": self.max_new.value(),
                "temperature": round(self.temperature.value(), 4), "seed": self.seed.value()}

    def check(self) -> list[str]:
        c = self.choices()
        self.policy_folder.setEnabled(self.policy.currentData() == FOLDER)
        self.judge_model.setEnabled(c["judge_run"] is None)
        problems = []
        if self.policy.currentData() == FOLDER:
            problems += [f"policy: {p}" for p in model_folder_problems(c["policy"])] if c["policy"] else \
                ["choose the policy: a finished DPO run, or a model folder"]
        problems += [f"reference: {p}" for p in model_folder_problems(c["reference"])] if c["reference"] else \
            ["choose the reference model's folder"]
        if c["evalset"] is None:
            problems.append("freeze an eval set first (prefdesk evalset create)")
        if c["judge_run"] is None:
            problems += [f"judge: {p}" for p in model_folder_problems(c["judge_model"])] if c["judge_model"] else \
                ["choose a judge: a finished reward run, or an LLM judge's folder"]
        problems += runtime_problems(self.desk.train_python())
        self.problems.setText("\n".join(f"• {p}" for p in problems))
        self.start_button.setEnabled(not problems and not self.busy)
        return problems + (["evaluating…"] if self.busy else [])

    def start(self) -> None:
        if self.check():
            return
        self.busy = True
        self.check()
        self.status.setText("Evaluating: both models answer the eval set with the same seeds, then the judge reads "
                            "every pair. This takes a while; the desk stays yours.")
        choices, path, python = self.choices(), self.desk.project.path, self.desk.train_python()
        self.desk.ops.run(lambda: _evaluate(path, choices, python), Change.RUNS | Change.ITEMS, self._done, self._failed)

    def _done(self, report: dict) -> None:
        self.busy = False
        self.check()
        regressions = report["regressions"]
        self.status.setText(f"Done: evaluation {report['run'][-8:]}, "
                              + (f"{len(regressions)} regressions: {', '.join(regressions)}" if regressions
                                 else "no regression")
                              + (f"; {report['arena']['items']} arena pairs wait for people" if report.get("arena") else ""))
        self.shown_run = report["run"]
        self._load()
        self.tabs.setCurrentIndex(1)

    def _failed(self, exc: Exception) -> None:
        self.busy = False
        self.check()
        self.status.setText(f"The evaluation did not run: {describe(exc)}")

    # -- results and leaderboard --------------------------------------------------------------------
    def _results(self) -> QWidget:
        page = QWidget()
        column = QVBoxLayout(page)
        self.evaluation = QComboBox()
        self.evaluation.setPlaceholderText("no evaluation yet")
        self.evaluation.currentIndexChanged.connect(self._pick)
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.PlainText)
        self.results = _table(["dimension", "where", "prompts", "win rate", "95% interval", "verdict", "LC win rate",
                               "policy length", "reference length"])
        self.arena_table = _table(["dimension (people)", "votes", "win rate", "95% interval", "verdict"])
        self.save_button = QPushButton("&Save the release report…")
        self.save_button.clicked.connect(lambda: self.save_report())
        self.shown_run: str | None = None
        for widget in (self.evaluation, self.summary, self.results, self.arena_table, self.save_button):
            column.addWidget(widget)
        column.setStretch(2, 3)
        column.setStretch(3, 1)
        return page

    def _leaderboard(self) -> QWidget:
        page = QWidget()
        column = QVBoxLayout(page)
        self.source = QComboBox()
        for label, value in (("judges and people", "all"), ("judges only", "judge"), ("people only", "people")):
            self.source.addItem(f"Comparisons: {label}", value)
        self.source.currentIndexChanged.connect(lambda: self._load())
        self.board_note = QLabel()
        self.board_note.setWordWrap(True)
        self.board = _table(["model"])
        for widget in (self.source, self.board_note, self.board):
            column.addWidget(widget)
        return page

    def _changed(self, change: Change) -> None:
        if change & (Change.RUNS | Change.PROJECT):
            self._refresh()
        elif change & Change.LABELS and self.report and self.report.get("arena"):
            self._load()  # people's arena votes

    def _refresh(self) -> None:
        project = self.desk.project
        runs = store_runs.runs(project)
        keep = self.policy.currentData(), self.judge_run.currentData(), self.evalset.currentData()
        for box, entries in (
                (self.policy, [(f"DPO run {r.id[-8:]} ({r.started_at[:16]})", r.id) for r in reversed(runs)
                               if r.kind in ("dpo", "kto") and r.status == RunStatus.FINISHED]),
                (self.judge_run, [(f"reward run {r.id[-8:]} ({r.started_at[:16]})", r.id) for r in reversed(runs)
                                  if r.kind in ("reward", "reward-dims") and r.status == RunStatus.FINISHED]),
                (self.evalset, [(f"{e.name} ({len(e.prompt_ids)} prompts)", e.name) for e in evalsets.listing(project)])):
            box.blockSignals(True)
            while box.count() > (0 if box is self.evalset else 1):
                box.removeItem(box.count() - 1)
            for label, value in entries:
                box.addItem(label, value)
            box.blockSignals(False)
        for box, value in zip((self.policy, self.judge_run, self.evalset), keep):
            i = box.findData(value) if self.filled else -1  # first: the newest run, else what the lead chose
            box.setCurrentIndex(i if i >= 0 else (1 if box.count() > 1 and box is not self.evalset else 0))
        self.filled = True
        done = [r for r in reversed(runs) if r.kind == "evaluate" and r.status == RunStatus.FINISHED]
        self.evaluation.blockSignals(True)
        self.evaluation.clear()
        for r in done:
            rep = r.report or {}
            self.evaluation.addItem(f"{Path(str(rep.get('policy', ''))).name} against "
                                    f"{Path(str(rep.get('reference', ''))).name} on {rep.get('evalset')} "
                                    f"({r.started_at[:16]}, {len(rep.get('regressions', []))} regressions)", r.id)
        i = self.evaluation.findData(self.shown_run)
        self.evaluation.setCurrentIndex(i if i >= 0 else 0 if done else -1)
        self.evaluation.blockSignals(False)
        self.check()
        self._pick()

    def _pick(self) -> None:
        self.shown_run = self.evaluation.currentData()
        self._load()

    def _load(self) -> None:
        path, run_id, source = self.desk.project.path, self.shown_run, self.source.currentData()
        self.desk.ops.run(lambda: _read(path, run_id, source), Change(0), self._show)

    def _show(self, got: tuple[dict | None, dict]) -> None:
        self.report, board = got
        self.save_button.setEnabled(self.report is not None)
        rows, marked = [], []
        if self.report:
            r = self.report
            self.summary.setText(f"{r['policy']} against {r['reference']} on eval set {r['evalset']}, judged by "
                                 f"{r['judge']}. " + (f"{len(r['regressions'])} regressions, first below and in red."
                                                      if r["regressions"] else "No regression."))
            for dim, groups in r["results"].items():
                for where, s in groups.items():
                    lc = s.get("length_controlled_win_rate")
                    rows.append([dim, where, str(s["n"]), f"{s['win_rate']:.3f}",
                                 f"[{s['interval'][0]:.3f}, {s['interval'][1]:.3f}]", _verdict(s),
                                 "–" if lc is None else f"{lc:.3f}", f"{s['mean_length']['policy']:.0f}",
                                 f"{s['mean_length']['reference']:.0f}"])
                    marked.append(s["regression"])
            order = sorted(range(len(rows)), key=lambda k: not marked[k])
            rows, marked = [rows[k] for k in order], [marked[k] for k in order]
        else:
            self.summary.setText("No evaluation yet: run one on the Evaluate page.")
        _fill(self.results, rows, marked)
        arena = (self.report or {}).get("arena") or {}
        dims = arena.get("dims", {})
        _fill(self.arena_table, [[d, str(v["votes"]), f"{v['win_rate']:.3f}",
                                  f"[{v['interval'][0]:.3f}, {v['interval'][1]:.3f}]",
                                  _verdict(v)] for d, v in dims.items()],
              [v["regression"] for v in dims.values()])
        self.arena_table.setVisible(bool(dims))
        if arena:
            agree = arena.get("judge_agreement") or {}
            self.summary.setText(self.summary.text() + f" Arena: {arena['items']} blind pairs, {arena.get('voted', 0)} "
                                 "with people's votes" + (f"; the judge agrees with people on {agree['agreement']:.0%} "
                                                          f"of {agree['pairs']}." if agree.get("pairs") else ".")
                                 + (f" At equal length and markdown (style control) the policy wins "
                                    f"{arena['style_controlled']['win_rate']:.0%} of people's votes."
                                    if arena.get("style_controlled") else ""))
        self._show_board(board)

    def _show_board(self, board: dict) -> None:
        dims = list(board["dims"])
        styled = board.get("style_controlled", {}).get("overall", {})

        def cell(scores: dict, model: str) -> str:
            s = scores.get(model)
            return f"{s['score']:.0f} [{s['low']:.0f}, {s['high']:.0f}]" if s else "–"
        self.board.setColumnCount(len(dims) + 3)
        self.board.setHorizontalHeaderLabels(["model", *dims, "overall, style\ncontrolled", "Pareto front"])
        _fill(self.board, [[m["name"], *(cell(board["dims"][d], m["model"]) for d in dims), cell(styled, m["model"]),
                            "yes" if m["pareto"] else "no"] for m in board["models"]], [False] * len(board["models"]))
        length = board.get("style", {}).get("overall", {}).get("length")
        self.board_note.setText("Bradley-Terry scores on the Elo scale (1000 the mean) with 95% bootstrap intervals, "
                                "from every evaluation's comparisons. Style controlled: the same with the answers' "
                                "length and markdown fitted beside the models (people's clear verdicts count double)"
                                + (f"; longer answers win {length:+.0f} Elo per unit of length difference"
                                   if length is not None else "") + ". On the Pareto front: no other model scores "
                                "higher on every dimension." if board["models"] else
                                "Fewer than two models evaluated: no leaderboard yet.")

    def save_report(self, path: str | None = None) -> str | None:
        """Write the shown evaluation's release report (one HTML page) to `path`, or where the user chooses."""
        if self.report is None:
            return None
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Release report", f"release-{self.report['run'][-8:]}.html",
                                                  "HTML (*.html)")
            if not path:
                return None
        from prefdesk.quality.leaderboard import leaderboard
        from prefdesk.quality.release import release_html
        from prefdesk.store.connection import refuse_project_file

        project = self.desk.project
        refuse_project_file(path, project.path)
        Path(path).write_text(release_html(project, self.report["run"], leaderboard(project, self.source.currentData())),
                              encoding="utf-8")
        self.summary.setText(f"Release report written: {path}")
        return path
