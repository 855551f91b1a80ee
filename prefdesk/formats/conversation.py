"""Whole conversations and agent trajectories, rated turn by turn: TRL's conversational `messages` (with
`tool_calls` and `tool` messages, and a `tools` column, as TRL's tool-calling datasets have them).

Each assistant turn becomes a step of a process item, rated +1 / 0 / -1 by the process view's keys and exported
as TRL stepwise supervision. The messages before the first assistant turn are the prompt; the user turns between
assistant turns are each step's context (`state`). A step shows the assistant's text, each tool call with its
arguments as formatted JSON, and what the tool gave back. Arguments that are not JSON are shown as written and
flagged in the step and in the item's `tool_call_problems`. A conversation with no assistant turn is refused:
there is nothing to rate per turn. `--format conversation` reads an HH-RLHF row's chosen transcript the same way.
"""

from __future__ import annotations

import json

from prefdesk.domain import ItemKind, Step
from prefdesk.formats import fields as F
from prefdesk.formats.base import Converted, Format, item
from prefdesk.formats.errors import FieldError

ROLES = ("system", "user", "assistant", "tool")


def matches(rec: dict) -> bool:
    return isinstance(rec.get("messages"), list) and not {"prompt", "chosen", "rejected", "completions"} & rec.keys()


def _arguments(call: dict, where: str, problems: list[str]) -> str:
    """A tool call's arguments as indented JSON; text that is not JSON as written, with a problem noted."""
    args = call.get("arguments", {})
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except ValueError as exc:
            problems.append(f"{where}: the arguments of {call.get('name')!r} are not JSON ({exc.msg}, at {exc.pos})")
            return f"⚠ the arguments are not JSON; shown as written:\n\n```\n{args}\n```"
    return f"```json\n{json.dumps(args, indent=2, ensure_ascii=False)}\n```"


def _result(content: str) -> str:
    """What a tool gave back: JSON indented (a one-line JSON reply would run off the pane), other text as it is."""
    try:
        return f"```json\n{json.dumps(json.loads(content), indent=2, ensure_ascii=False)}\n```"
    except ValueError:
        return "\n".join(f"> {line}" for line in content.splitlines()) or "> (empty)"


def _call_text(raw, where: str, problems: list[str]) -> str:
    if not isinstance(raw, dict):
        raise FieldError(where, "expected a tool call object {type, function: {name, arguments}}")
    call = raw.get("function", raw)  # TRL and OpenAI wrap it in "function"; some files do not
    if not isinstance(call, dict) or not isinstance(call.get("name"), str):
        raise FieldError(f"{where}.function.name", "expected the tool's name")
    return f"**Tool call: `{call['name']}`**\n\n{_arguments(call, where, problems)}"


def _content(msg: dict, where: str) -> str:
    content = msg.get("content")
    if content is None:
        return ""
    if not isinstance(content, str):
        raise FieldError(f"{where}.content", "expected text")
    return content


def convert(rec: dict) -> Converted:
    if "messages" not in rec and isinstance(rec.get("chosen"), str):  # an HH transcript, `--format conversation`
        from prefdesk.formats.hh_rlhf import to_messages

        rest = {k: v for k, v in rec.items() if k not in ("chosen", "rejected")}
        rec = {"messages": to_messages(rec["chosen"]), **rest}
    msgs = F.listof(rec, "messages")
    problems: list[str] = []
    prompt: list[dict] = []
    steps: list[dict] = []  # {"state": [user texts], "parts": [text, ...]}
    context: list[str] = []
    for i, msg in enumerate(msgs):
        where = f"messages[{i}]"
        if not isinstance(msg, dict) or msg.get("role") not in ROLES:
            raise FieldError(f"{where}.role", f"expected one of {list(ROLES)}, got "
                             f"{msg.get('role') if isinstance(msg, dict) else msg!r}")
        role, content = msg["role"], _content(msg, where)
        if role == "assistant":
            calls = msg.get("tool_calls") or []
            if not isinstance(calls, list):
                raise FieldError(f"{where}.tool_calls", "expected a list")
            parts = [content] if content.strip() else []
            parts += [_call_text(c, f"{where}.tool_calls[{j}]", problems) for j, c in enumerate(calls)]
            if not parts:
                raise FieldError(where, "an assistant turn with neither text nor tool calls")
            steps.append({"state": context, "parts": parts})
            context = []
        elif role == "tool":
            if not steps:
                raise FieldError(where, "a tool result before any assistant turn called a tool")
            name = msg.get("name") or msg.get("tool_call_id") or "tool"
            steps[-1]["parts"].append(f"**Tool result (`{name}`):**\n\n{_result(content)}")
        elif not steps:
            prompt.append({"role": role, "content": content})
        else:
            context.append(f"{role.capitalize()}: {content}")
    if not steps:
        raise FieldError("messages", "the conversation has no assistant turn: there is nothing to rate per turn")
    if not prompt:
        raise FieldError("messages", "the conversation starts with an assistant turn: no prompt before it")
    meta = {**F.meta_of(rec, {"messages"}), "per_turn": True}  # every turn rated (`ProcessDraft.every_step`)
    if problems:
        meta["tool_call_problems"] = problems
    new = item(ItemKind.PROCESS, (F.render_messages(prompt), prompt), (), meta, source="conversation",
               steps=tuple(Step(n, "\n\n".join(s["parts"]), "\n\n".join(s["state"]) or None)
                           for n, s in enumerate(steps)))
    return [(new, [])]


FORMAT = Format("conversation", "whole conversations and agent trajectories (TRL messages, tool calls): each "
                "assistant turn a step rated +1/0/-1", matches, convert)
