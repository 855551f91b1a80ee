"""One convention for every KEY=VALUE option (`domain.key_values`): several words after the flag, and the flag
repeatable. Read from the real parser (every option whose metavar is KEY=VALUE-shaped, in every command), then
through the commands a lead runs, reading back what each form stored."""

import argparse
import json

import pytest

from desktools import write_jsonl
from prefdesk.cli import build_parser
from prefdesk.domain import LabelKind
from prefdesk.domain.key_values import pairs, words

# the options the issue names, and the rest that take KEY=VALUE words: the walk below must find at least these
EXPECTED = {("import", "--set-meta"), ("import", "--map"), ("items", "--where"), ("version create", "--where"),
            ("version create", "--layer"), ("version create", "--quota"), ("split", "--where"), ("config", "--set"),
            ("judge", "--where"), ("generate", "--quota"), ("evalset create", "--quota"), ("feedback backflow", "--where")}


def _commands(parser: argparse.ArgumentParser, path=()):
    """(command words, its parser) for every command and sub-command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield (*path, name), sub
                yield from _commands(sub, (*path, name))


def _minimal(sub: argparse.ArgumentParser) -> list[str]:
    """The fewest words that command parses with: each required positional and option given once."""
    argv, options = [], []
    for action in sub._actions:
        if isinstance(action, (argparse._SubParsersAction, argparse._HelpAction)):
            continue
        value = str(next(iter(action.choices))) if action.choices else "1"
        if not action.option_strings and action.nargs not in ("?", "*"):
            argv.append(value)
        elif action.option_strings and action.required:
            options += [action.option_strings[0], value]
    return argv + options


def key_value_options():
    for path, sub in _commands(build_parser()):
        for action in sub._actions:
            if action.option_strings and "=" in str(action.metavar or ""):
                yield path, sub, action


def test_every_key_value_option_takes_several_words_and_repeats():
    found = set()
    for path, sub, action in key_value_options():
        flag = action.option_strings[0]
        found.add((" ".join(path), flag))
        base = [*path, *_minimal(sub)]
        several = build_parser().parse_args([*base, flag, "a=1", "b=2", flag, "c=3"])
        repeated = build_parser().parse_args([*base, flag, "a=1", flag, "b=2", flag, "c=3"])
        assert getattr(several, action.dest) == getattr(repeated, action.dest) == ["a=1", "b=2", "c=3"], (path, flag)
        assert build_parser().parse_args(base).__dict__[action.dest] in ([], None), (path, flag)
    assert EXPECTED <= found, EXPECTED - found


def test_pairs_name_the_flag_and_the_word_and_refuse_the_old_comma_form():
    assert pairs(["a=1", " b = x|y "], "--where") == [("a", "1"), ("b", "x|y")]
    assert pairs(["bucket=a,b"], "--where") == [("bucket", "a,b")]  # a comma inside a value is the value's
    for given, needle in ((["a"], "--where 'a': expected KEY=VALUE"), (["=1"], "expected KEY=VALUE"),
                          (["mood=sad"], "with KEY one of scenario, bucket"),
                          (["scenario=a|b,bucket=c"], "its own word: --where scenario=a|b bucket=c")):
        with pytest.raises(ValueError, match=None) as exc:
            pairs(given, "--where", keys=("scenario", "bucket"))
        assert needle in str(exc.value), (given, exc.value)
    assert pairs(['reason_tags=["a","b=c"]'], "--set", "KEY=JSON", joined=False) == [("reason_tags", '["a","b=c"]')]
    assert words('scenario=medical bucket="long form"', "Where") == ["scenario=medical", "bucket=long form"]
    with pytest.raises(ValueError, match="Where"):
        words('bucket="open', "Where")


def _read(project, sql):
    return project.conn.execute(sql).fetchall()


def test_both_forms_store_the_same_through_the_commands(project, tmp_path, cli):
    records = [{"prompt": f"q{i}", "response_a": f"a{i}", "response_b": f"b{i}", "scenario": "med" if i < 2 else "code",
                "bucket": "easy" if i % 2 == 0 else "hard"} for i in range(4)]
    one = write_jsonl(tmp_path, records[:2], "one.jsonl")
    two = write_jsonl(tmp_path, records[2:], "two.jsonl")
    assert cli("import", one, "-p", project.path, "--set-meta", "risk_level=high", "priority=2")[0] == 0
    assert cli("import", two, "-p", project.path, "--set-meta", "risk_level=high", "--set-meta", "priority=2")[0] == 0
    assert set(_read(project, "SELECT risk_level, priority FROM items")) == {("high", 2.0)}
    edits = _read(project, "SELECT by, field, new FROM item_edits")
    assert sorted((by, field, new) for by, field, new in edits) == sorted(
        (f"import of {f}", field, new) for f in ("one.jsonl", "two.jsonl") for _ in range(2)
        for field, new in (("priority", "2.0"), ("risk_level", "high")))  # two items a file, two fields an item
    # items set --where: two conditions after one flag, then the flag twice: the same items
    code, out, err = cli("items", "set", "bucket=b1", "-p", project.path, "--where", "scenario=med", "bucket=easy")
    assert code == 0 and out.startswith("1 items changed"), err
    code, out, err = cli("items", "set", "bucket=b2", "-p", project.path, "--where", "scenario=code",
                         "--where", "bucket=easy")
    assert code == 0 and out.startswith("1 items changed"), err
    assert sorted(_read(project, "SELECT prompt, bucket FROM items")) == [
        ("q0", "b1"), ("q1", "hard"), ("q2", "b2"), ("q3", "hard")]
    # version create: --where, --layer and --quota in both forms freeze the same labels
    ann = project.ensure_rater("ann")
    for (item,) in _read(project, "SELECT id FROM items"):
        project.commit_label(item, ann, LabelKind.PAIRWISE, {"verdict": "A"})
    for name, args in (("several", ["--where", "scenario=med|code", "bucket=b1|b2|hard", "--layer", "weak=0", "online=0",
                                    "--quota", "hard=1", "b1=1"]),
                       ("repeated", ["--where", "scenario=med|code", "--where", "bucket=b1|b2|hard", "--layer", "weak=0",
                                     "--layer", "online=0", "--quota", "hard=1", "--quota", "b1=1"])):
        code, _, err = cli("version", "create", "-p", project.path, name, *args, "--json")
        assert code == 0, err
    from prefdesk.store import versions

    a, b = versions.get(project, "several"), versions.get(project, "repeated")
    assert a.label_ids == b.label_ids and len(a.label_ids) == 3 and a.filters == b.filters
    # config --set: two settings after one flag, or the flag twice
    assert cli("config", "-p", project.path, "--set", "overlap=3", 'reason_tags=["too long"]')[0] == 0
    first = json.loads(cli("config", "-p", project.path)[1])
    assert cli("config", "-p", project.path, "--set", "overlap=2", "--set", 'reason_tags=["unsafe"]')[0] == 0
    second = json.loads(cli("config", "-p", project.path)[1])
    assert (first["overlap"], first["reason_tags"], second["overlap"], second["reason_tags"]) == (
        3, ["too long"], 2, ["unsafe"])


def test_a_column_mapping_in_either_form_imports_the_same_csv(project, tmp_path, cli, fixtures):
    import shutil

    csv = tmp_path / "pairs.csv"
    shutil.copy(fixtures / "pairs.csv", csv)
    code, _, err = cli("import", csv, "-p", project.path, "--format", "unlabelled",
                       "--map", "prompt=question", "response_a=left", "response_b=right")
    assert code == 0, err
    code, _, err = cli("import", csv, "-p", project.path, "--format", "unlabelled",
                       "--map", "prompt=question", "--map", "response_a=left", "--map", "response_b=right")
    assert code == 0, err
    assert project.count("items") == 2  # the same two items: the second import adds none
    code, _, err = cli("import", csv, "-p", project.path, "--format", "unlabelled",
                       "--map", "prompt=question,response_a=left,response_b=right")
    assert code == 2 and "give each TARGET=COLUMN its own word: --map prompt=question response_a=left" in err


def test_the_desks_boxes_read_key_value_words_as_the_command_line_does(qtbot):
    """The New version dialog's Where box, typed into: words as a shell splits them (a quoted value keeps its
    space); the old comma form is refused with the same message as the CLI's."""
    from PySide6.QtWidgets import QWidget

    from prefdesk.store.project import ProjectError
    from prefdesk.ui.versions.panel import NewVersionDialog

    parent = QWidget()
    qtbot.addWidget(parent)
    dialog = NewVersionDialog(parent, ["r1"])
    qtbot.keyClicks(dialog.name, "r2")
    qtbot.keyClicks(dialog.where, 'scenario=med|code bucket="long form"')
    assert dialog.options()["filters"] == {"scenario": ["med", "code"], "bucket": ["long form"]}
    dialog.where.clear()
    qtbot.keyClicks(dialog.where, "scenario=med,bucket=easy")
    with pytest.raises(ProjectError, match="its own word: --where scenario=med bucket=easy"):
        dialog.options()
