"""The desk on a real X11 screen (Xvfb) with real key events from xdotool, one item of each label kind.

Offscreen Qt hides focus and shortcut problems (an ambiguous shortcut, a key taken by a text pane), so
these keys go through the X server as a keyboard's would. Skipped where Xvfb or xdotool is missing;
`.ci/run` installs both.
"""

import ctypes.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from desktools import write_jsonl
from prefdesk.formats.importer import import_file
from prefdesk.store.project import Project

pytestmark = pytest.mark.skipif(
    not (shutil.which("Xvfb") and shutil.which("xdotool") and ctypes.util.find_library("xcb-cursor")),
    reason="Xvfb, xdotool or Qt's xcb libraries are not installed (.ci/run installs them)")
SCRIPT = Path(__file__).with_name("x11_session.py")


def xvfb(size: str):
    """A fresh Xvfb screen of that size; yields its DISPLAY name."""
    number = 90 + os.getpid() % 500
    while Path(f"/tmp/.X11-unix/X{number}").exists():
        number += 1
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", f"{size}x24", "-nolisten", "tcp"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        assert server.poll() is None and time.monotonic() < deadline, "Xvfb did not start"
        time.sleep(0.05)
    yield f":{number}"
    server.terminate()
    server.wait(5)


@pytest.fixture
def x_display(tmp_path):
    yield from xvfb("1600x1000")


@pytest.fixture
def x_display_hidpi(tmp_path):
    """A 2560x1600 screen: a HiDPI laptop's, 1280x800 at scale 2."""
    yield from xvfb("2560x1600")


def test_one_item_of_each_kind_labelled_with_real_key_events(x_display, tmp_path):
    path = tmp_path / "x11.prefdesk"
    with Project.create(path) as project:
        project.set_settings({"gold_rate": 0.0, "overlap": 1})
        import_file(project, write_jsonl(tmp_path, [
            {"prompt": "pair", "response_a": "a", "response_b": "b", "priority": 4},
            {"prompt": "rank", "responses": ["x", "y", "z"], "priority": 3},
            {"prompt": "score", "response": "r", "priority": 2},
            {"prompt": "steps", "steps": ["s1", "s2"], "priority": 1},
        ]))
    keys = ["Tab", "Left", "Right", "space", "Escape", "ctrl+1", "shift+2",  # pairwise: dims, a tag, right clearly
            "3", "1", "Return",                                             # ranking: [3] > [1] > [2]
            "4",                                                            # scalar
            "plus", "minus", "c", "Return"]                                 # process: +1, -1, final correct
    env = {**os.environ, "DISPLAY": x_display, "QT_QPA_PLATFORM": "xcb", "QT_SCALE_FACTOR": "1"}
    shot = tmp_path / "x11.png"
    proc = subprocess.run([sys.executable, str(SCRIPT), str(path), "xana", str(shot), *keys], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Ambiguous shortcut" not in proc.stderr
    with Project.open(path) as project:
        rows = project.conn.execute(
            "SELECT i.prompt, l.payload, l.display_order FROM labels l JOIN items i ON i.id = l.item_id ORDER BY l.rowid")
        got = {prompt: (json.loads(payload), json.loads(order) if order else None) for prompt, payload, order in rows}
    pair, order = got["pair"]
    left, right = ("A", "B") if order[0] == 0 else ("B", "A")
    assert pair["verdict"] == right and pair["strength"] == "clear" and pair["reason_tags"] == ["factual error"]
    assert pair["dims"] == {"helpfulness": left, "correctness": right, "safety": "tie"}
    ranking, shown = got["rank"]
    assert ranking["order"] == [[shown[2]], [shown[0]], [shown[1]]]
    assert got["score"][0]["score"] == 4
    assert got["steps"][0]["ratings"] == [1, -1] and got["steps"][0]["final_correct"] is True
    assert shot.stat().st_size > 0


def test_at_scale_2_the_window_and_the_train_panel_fit_a_1600x1000_screen(x_display, tmp_path):
    path = tmp_path / "scale.prefdesk"
    with Project.create(path) as project:
        import_file(project, write_jsonl(tmp_path, [{"prompt": "q", "response_a": "a", "response_b": "b"}]))
    env = {**os.environ, "DISPLAY": x_display, "QT_QPA_PLATFORM": "xcb", "QT_SCALE_FACTOR": "2"}
    proc = subprocess.run([sys.executable, str(SCRIPT), str(path), "xana", str(tmp_path / "s2.png"), "ctrl+t"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "FITS True" in proc.stdout and "PANEL FITS train_panel True" in proc.stdout, proc.stdout
    assert (tmp_path / "s2-train.png").stat().st_size > 0


def test_a_reviewer_arbitrates_with_real_key_events_and_the_panel_fits_at_scale_2(x_display, tmp_path):
    """Digits choose the verdict until N opens the reason box; there a digit is text; Ctrl keys act anywhere."""
    from prefdesk.domain import LabelKind, RaterRole

    path = tmp_path / "arb.prefdesk"
    with Project.create(path) as project:
        import_file(project, write_jsonl(tmp_path, [{"prompt": "dose?", "response_a": "2 mg", "response_b": "20 mg"}]))
        (item_id,) = project.conn.execute("SELECT id FROM items").fetchone()
        for name, verdict in (("ann", "A"), ("bo", "B")):
            project.commit_label(item_id, project.ensure_rater(name), LabelKind.PAIRWISE, {"verdict": verdict})
        project.ensure_rater("rita", RaterRole.REVIEWER)
    keys = ["ctrl+shift+a", "focus:arbitration_panel", "1", "n", "type:the 2 mg dose is right", "Escape",
            "ctrl+Return", "ctrl+g"]
    env = {**os.environ, "DISPLAY": x_display, "QT_QPA_PLATFORM": "xcb", "QT_SCALE_FACTOR": "2"}
    proc = subprocess.run([sys.executable, str(SCRIPT), str(path), "rita", str(tmp_path / "arb.png"), *keys],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "PANEL FITS arbitration_panel True" in proc.stdout, proc.stdout
    with Project.open(path) as project:
        (payload, source, rater), = project.conn.execute(
            "SELECT l.payload, l.source, r.name FROM labels l JOIN raters r ON r.id = l.rater_id "
            "WHERE l.source = 'arbitration'").fetchall()
        gold = project.conn.execute("SELECT is_gold, gold_answer FROM items").fetchone()
    assert json.loads(payload)["verdict"] == "A" and json.loads(payload)["rationale"] == "the 2 mg dose is right"
    assert rater == "rita" and gold == (1, '{"verdict": "A"}')


def test_a_required_rationale_and_a_tie_of_the_last_two_places_with_real_key_events(x_display, tmp_path):
    """The verdict key moves the keys into the rationale box: what is typed there is stored as typed (no
    stray "n"); a ranking of four ties its last two places with `=`."""
    path = tmp_path / "x11.prefdesk"
    with Project.create(path) as project:
        project.set_settings({"gold_rate": 0.0, "overlap": 1, "rationale_required": "high-risk"})
        import_file(project, write_jsonl(tmp_path, [
            {"prompt": "I swallowed bleach", "response_a": "Call poison control now.", "response_b": "Make yourself vomit.",
             "risk_level": "high", "priority": 2},
            {"prompt": "rank four", "responses": ["w", "x", "y", "z"], "priority": 1},
        ]))
    keys = ["1", "type:Vomiting is dangerous here", "Escape", "1",
            "2", "1", "3", "equal", "4", "Return"]
    env = {**os.environ, "DISPLAY": x_display, "QT_QPA_PLATFORM": "xcb", "QT_SCALE_FACTOR": "1"}
    proc = subprocess.run([sys.executable, str(SCRIPT), str(path), "xana", str(tmp_path / "r.png"), *keys], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with Project.open(path) as project:
        rows = project.conn.execute(
            "SELECT i.prompt, l.payload, l.display_order FROM labels l JOIN items i ON i.id = l.item_id ORDER BY l.rowid")
        got = {prompt: (json.loads(payload), json.loads(order)) for prompt, payload, order in rows}
    assert got["I swallowed bleach"][0]["rationale"] == "Vomiting is dangerous here"
    ranking, shown = got["rank four"]
    assert ranking["order"] == [[shown[1]], [shown[0]], [shown[2], shown[3]]]


def test_the_items_window_searches_from_real_key_events_and_the_desks_commands_work_there(x_display, tmp_path):
    from prefdesk.domain import RaterRole

    path = tmp_path / "items.prefdesk"
    with Project.create(path) as project:
        import_file(project, write_jsonl(tmp_path, [
            {"prompt": "Name a zebra", "response_a": "Zed", "response_b": "Stripes"},
            {"prompt": "A haiku about rain", "response_a": "Cold rain", "response_b": "Leaves"},
            {"prompt": "What is 17 * 23?", "response_a": "391", "response_b": "401"}]))
        project.ensure_rater("lea", RaterRole.EXPERT)
    # typed into the search box, "1" is text (not a verdict), and Ctrl+Shift+Q (a desk command) opens Quality
    keys = ["ctrl+shift+i", "focus:items_panel", "ctrl+f", "type:zebra", "wait:900", "ctrl+shift+q", "wait:300"]
    env = {**os.environ, "DISPLAY": x_display, "QT_QPA_PLATFORM": "xcb", "QT_SCALE_FACTOR": "2"}
    proc = subprocess.run([sys.executable, str(SCRIPT), str(path), "lea", str(tmp_path / "items.png"), *keys],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ITEMS ROWS 1 'zebra'" in proc.stdout, proc.stdout
    assert "PANEL FITS items_panel True" in proc.stdout and "PANEL FITS quality_panel" in proc.stdout, proc.stdout
    with Project.open(path) as project:
        assert project.conn.execute("SELECT COUNT(*) FROM labels").fetchone()[0] == 0


def test_the_generate_panel_opens_and_takes_a_model_folder_from_real_key_events(x_display, tmp_path, tiny_lm):
    """Ctrl+Shift+G opens Project › Generate; Alt+M goes to the model folder field (its label's mnemonic), where
    the typed path is checked from the folder's files at once; at scale 2 the panel fits the screen."""
    from prefdesk.domain import RaterRole
    from prefdesk.formats.prompts import read_prompts
    from prefdesk.store import prompts as pool

    path = tmp_path / "gen.prefdesk"
    with Project.create(path) as project:
        pool.add(project, read_prompts(Path(__file__).parent / "fixtures" / "prompts-sample.jsonl")[0])
        project.ensure_rater("lea", RaterRole.REVIEWER)
    keys = ["ctrl+shift+g", "focus:generate_panel", "alt+m", f"type:{tiny_lm}", "wait:300"]
    env = {**os.environ, "DISPLAY": x_display, "QT_QPA_PLATFORM": "xcb", "QT_SCALE_FACTOR": "2"}
    proc = subprocess.run([sys.executable, str(SCRIPT), str(path), "lea", str(tmp_path / "gen.png"), *keys],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"GENERATE MODEL {tiny_lm!r} True" in proc.stdout and "LlamaForCausalLM" in proc.stdout, proc.stdout
    assert "PANEL FITS generate_panel True" in proc.stdout, proc.stdout


def test_the_evaluate_panel_takes_policy_reference_and_judge_folders_from_real_key_events(x_display, tmp_path,
                                                                                         tiny_lm):
    """Ctrl+Shift+E opens Project › Evaluate; Alt+F, Alt+R and Alt+M reach the policy, reference and LLM judge
    folders through their labels' mnemonics (each letter once in the window), the typed folders are checked at
    once and Evaluate can start; at scale 2 the panel fits the screen."""
    from prefdesk.cli import main
    from prefdesk.domain import RaterRole

    path = tmp_path / "eval.prefdesk"
    assert main(["new", str(path)]) == 0
    assert main(["prompts", "import", str(Path(__file__).parent / "fixtures" / "prompts-sample.jsonl"), "-p", str(path)]) == 0
    assert main(["evalset", "create", "general", "-p", str(path), "--from-pool", "--sample", "8"]) == 0
    with Project.open(path) as project:
        project.ensure_rater("lea", RaterRole.REVIEWER)
    keys = ["ctrl+shift+e", "focus:evaluate_panel", "alt+f", f"type:{tiny_lm}", "alt+r", f"type:{tiny_lm}",
            "alt+m", f"type:{tiny_lm}", "wait:300"]
    env = {**os.environ, "DISPLAY": x_display, "QT_QPA_PLATFORM": "xcb", "QT_SCALE_FACTOR": "2"}
    proc = subprocess.run([sys.executable, str(SCRIPT), str(path), "lea", str(tmp_path / "eval.png"), *keys],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"EVALUATE {tiny_lm!r} {tiny_lm!r} {tiny_lm!r} True ''" in proc.stdout, proc.stdout
    assert "PANEL FITS evaluate_panel True" in proc.stdout, proc.stdout


HH_LONGEST = 142  # the longest transcript of the shared HH rows: 4 human turns, 2,774 characters


@pytest.mark.parametrize("scale", ["1", "2"])
def test_a_rater_reads_a_whole_hh_dialogue_and_both_answers_by_keyboard_at_1280x800(request, tmp_path, scale):
    """The prompt opens at its latest turn; P gives PgUp/PgDn/Home/End to the prompt (its caption says so), Home
    reaches the first turn, P again gives them back to the answers, E enlarges the prompt and gives its room back.
    At scale 2 the window is 1280x800 of a 2560x1600 screen. The screenshots are kept for a person to look at."""
    display = request.getfixturevalue("x_display" if scale == "1" else "x_display_hidpi")
    rows = (Path(__file__).parent / "fixtures" / "hh_rlhf_harmless_200.jsonl").read_text().splitlines()
    path = tmp_path / "hh.prefdesk"
    with Project.create(path) as project:
        project.set_settings({"gold_rate": 0.0, "overlap": 1})
        source = tmp_path / "hh.jsonl"
        source.write_text(rows[HH_LONGEST] + "\n")
        import_file(project, source)
    keys = ["shot:opened", "p", "shot:prompt", "Home", "shot:prompt-top", "Next", "Next", "End", "shot:prompt-end",
            "p", "Next", "shot:answers", "e", "shot:expanded", "e", "shot:back", "2"]
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "QT_SCALE_FACTOR": scale, "X11_SIZE": "1280x800"}
    shot = tmp_path / f"hh-{scale}.png"
    proc = subprocess.run([sys.executable, str(SCRIPT), str(path), "xana", str(shot), *keys], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    keep = os.environ.get("PREFDESK_SHOTS")  # a folder to keep the screenshots in, to look at them
    if keep:
        for png in tmp_path.glob("hh-*.png"):
            shutil.copy(png, Path(keep) / png.name)
    scroll = {}
    for line in proc.stdout.splitlines():
        if line.startswith("SCROLL "):
            _, name, prompt, *panes, share = line.split()
            scroll[name] = ([tuple(map(int, p.split("/"))) for p in (prompt, *panes)], float(share.split("=")[1]))
    (prompt, left, right), share = scroll["opened"]
    assert prompt[1] > 0 and prompt[0] == prompt[1], "a long dialogue opens at its latest turn"
    assert left[0] == 0 and right[0] == 0
    assert scroll["prompt-top"][0][0][0] == 0 and scroll["prompt-top"][0][1][0] == 0, "Home scrolled the prompt only"
    end = scroll["prompt-end"][0][0]
    assert end[0] == end[1] > 0, "End reached the latest turn again"
    after = scroll["answers"][0]
    assert after[0][0] == after[0][1] and (after[1][0] > 0 or after[2][0] > 0 or max(left[1], right[1]) == 0)
    assert scroll["expanded"][1] >= 0.7 > share and abs(scroll["back"][1] - share) < 0.02
    assert 0.2 <= share <= 0.5, "the conversation gets a fair share of the height"
    with Project.open(path) as project:
        (payload, order), = project.conn.execute("SELECT payload, display_order FROM labels WHERE source = 'human'").fetchall()
    right_side = "AB"[json.loads(order)[1]]
    assert json.loads(payload)["verdict"] == right_side  # "2" still means right once the prompt was scrolled


def test_a_span_is_marked_with_real_key_events(x_display, tmp_path):
    """H opens the span dialog; Shift+Right selects characters, Alt+2 picks the label, Alt+A marks the span, Esc
    closes, and the verdict key stores it with the label: the offsets read back against the stored text."""
    path = tmp_path / "spans.prefdesk"
    wrong = "Take 2000 mg every four hours."
    with Project.create(path) as project:
        project.set_settings({"gold_rate": 0.0, "overlap": 1})
        import_file(project, write_jsonl(tmp_path, [{"prompt": "dose?", "response_a": wrong, "response_b": wrong + "!"}]))
    keys = ["h", "wait:400", "focus:span_dialog", *["Right"] * 5, *["shift+Right"] * 7, "alt+2", "alt+a", "wait:200",
            "Escape", "wait:300", "1"]
    env = {**os.environ, "DISPLAY": x_display, "QT_QPA_PLATFORM": "xcb", "QT_SCALE_FACTOR": "1"}
    proc = subprocess.run([sys.executable, str(SCRIPT), str(path), "xana", str(tmp_path / "spans.png"), *keys], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Ambiguous shortcut" not in proc.stderr
    with Project.open(path) as project:
        (payload, order), = project.conn.execute("SELECT payload, display_order FROM labels").fetchall()
    (span,) = json.loads(payload)["spans"]
    left = json.loads(order)[0]
    assert span["candidate"] == left and (span["start"], span["end"], span["text"]) == (5, 12, "2000 mg")
    assert span["label"] == "unsafe" and json.loads(payload)["verdict"] == "AB"[left]


def test_the_feedback_panel_opens_from_real_key_events_and_fits_at_scale_2(x_display, tmp_path):
    """Ctrl+Shift+F opens Project › Feedback on imported production feedback; the rate is chosen from the keyboard
    (Tab to the third box, Down); at scale 2 the panel fits a 1600x1000 screen."""
    from prefdesk.domain import RaterRole
    from prefdesk.feedback.importer import import_feedback

    path = tmp_path / "fb.prefdesk"
    with Project.create(path) as project:
        import_feedback(project, Path(__file__).parent / "fixtures" / "feedback" / "prefdesk-events.jsonl")
        project.ensure_rater("lea", RaterRole.REVIEWER)
    keys = ["ctrl+shift+f", "focus:feedback_panel", "wait:600", "Tab", "Tab", "Down", "wait:600"]
    env = {**os.environ, "DISPLAY": x_display, "QT_QPA_PLATFORM": "xcb", "QT_SCALE_FACTOR": "2"}
    proc = subprocess.run([sys.executable, str(SCRIPT), str(path), "lea", str(tmp_path / "fb.png"), *keys],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "FEEDBACK ROWS 8 'retry rate' 'per day'" in proc.stdout, proc.stdout
    assert "PANEL FITS feedback_panel True" in proc.stdout, proc.stdout
    assert (tmp_path / "fb-feedback.png").stat().st_size > 10_000
