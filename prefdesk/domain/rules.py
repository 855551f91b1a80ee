"""Rule pre-filters: what a lead can say of an answer (or a prompt) without a person, checked on every item.

A rule is `{name, check, value, applies_to, where, action}`. Its check states what a good text satisfies; a rule
*hits* a text that fails it: `regex` (must match), `not_regex` (must not match), `min_chars`, `max_chars`,
`json_valid` (must parse as JSON), `json_schema` (must validate against the schema in `value`), `contains` (a
required statement), `not_contains` (forbidden content). `applies_to` is `answer` (each candidate, the default)
or `prompt`; `where` narrows the items by scenario / risk level / bucket. Actions: `flag` (a badge reviewers
see), `reject` (the answer loses: a rule-derived verdict) and `drop` (the item never reaches people).

Stdlib only but for `jsonschema`, imported when a `json_schema` rule is checked.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

CHECKS = ("regex", "not_regex", "min_chars", "max_chars", "json_valid", "json_schema", "contains", "not_contains")
ACTIONS = ("flag", "reject", "drop")
TARGETS = ("answer", "prompt")
WHERE = ("scenario", "risk_level", "bucket")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class RuleError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Rule:
    name: str
    check: str
    value: Any = None
    applies_to: str = "answer"
    where: dict[str, list[str]] = field(default_factory=dict)
    action: str = "flag"

    @property
    def rater_name(self) -> str:
        return f"rule:{self.name}"

    def applies(self, meta: dict[str, Any]) -> bool:
        """Whether the rule looks at an item with this scenario / risk level / bucket."""
        return all(meta.get(k) in values for k, values in self.where.items())

    def hit(self, text: str) -> str | None:
        """Why `text` fails the rule, or None when it passes."""
        v = self.value
        if self.check == "regex":
            return None if re.search(v, text) else f"does not match /{v}/"
        if self.check == "not_regex":
            m = re.search(v, text)
            return f"matches /{v}/ ({m.group(0)[:40]!r})" if m else None
        if self.check == "min_chars":
            return f"{len(text)} characters, fewer than {v}" if len(text) < v else None
        if self.check == "max_chars":
            return f"{len(text)} characters, more than {v}" if len(text) > v else None
        if self.check == "contains":
            return None if v.casefold() in text.casefold() else f"does not say {v!r}"
        if self.check == "not_contains":
            return f"says {v!r}" if v.casefold() in text.casefold() else None
        try:
            doc = json.loads(text)
        except ValueError as exc:
            return f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        if self.check == "json_schema":
            import jsonschema

            errors = sorted(jsonschema.Draft202012Validator(v).iter_errors(doc), key=lambda e: list(e.path))
            if errors:
                where = "/".join(str(p) for p in errors[0].path) or "(top)"
                return f"fails the schema at {where}: {errors[0].message[:120]}"
        return None


def parse_rule(raw: Any, at: str = "rules[0]") -> Rule:
    """One rule from its JSON, checked (a bad regex or schema is refused here, naming the field)."""
    if not isinstance(raw, dict):
        raise RuleError(at, "expected an object {name, check, value, applies_to, where, action}")
    unknown = sorted(set(raw) - {"name", "check", "value", "applies_to", "where", "action"})
    if unknown:
        raise RuleError(f"{at}.{unknown[0]}", "unknown field (known: name, check, value, applies_to, where, action)")
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise RuleError(f"{at}.name", f"expected a short name of letters, digits, _ . -, got {name!r}")
    check, value = raw.get("check"), raw.get("value")
    if check not in CHECKS:
        raise RuleError(f"{at}.check", f"expected one of {', '.join(CHECKS)}, got {check!r}")
    if check in ("regex", "not_regex"):
        if not isinstance(value, str):
            raise RuleError(f"{at}.value", "expected a regular expression")
        try:
            re.compile(value)
        except re.error as exc:
            raise RuleError(f"{at}.value", f"not a regular expression ({exc})") from None
    elif check in ("min_chars", "max_chars"):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise RuleError(f"{at}.value", f"expected a whole number of characters, got {value!r}")
    elif check in ("contains", "not_contains"):
        if not isinstance(value, str) or not value:
            raise RuleError(f"{at}.value", "expected the text to look for")
    elif check == "json_schema":
        import jsonschema

        try:
            jsonschema.Draft202012Validator.check_schema(value)
        except jsonschema.SchemaError as exc:
            raise RuleError(f"{at}.value", f"not a JSON schema ({exc.message})") from None
    elif value is not None:
        raise RuleError(f"{at}.value", "json_valid takes no value")
    applies_to = raw.get("applies_to", "answer")
    if applies_to not in TARGETS:
        raise RuleError(f"{at}.applies_to", f"expected one of {', '.join(TARGETS)}, got {applies_to!r}")
    action = raw.get("action", "flag")
    if action not in ACTIONS:
        raise RuleError(f"{at}.action", f"expected one of {', '.join(ACTIONS)}, got {action!r}")
    if action == "reject" and applies_to != "answer":
        raise RuleError(f"{at}.action", "reject makes an answer lose: it needs applies_to answer")
    where = raw.get("where") or {}
    if not isinstance(where, dict) or set(where) - set(WHERE):
        raise RuleError(f"{at}.where", f"expected an object of {', '.join(WHERE)}: value or [values]")
    where = {k: [v] if isinstance(v, str) else v for k, v in where.items()}
    if not all(isinstance(v, list) and v and all(isinstance(x, str) for x in v) for v in where.values()):
        raise RuleError(f"{at}.where", "each field takes a value or a list of values")
    return Rule(name, check, value, applies_to, where, action)


def parse_rules(raw: Any) -> list[Rule]:
    if not isinstance(raw, list):
        raise RuleError("rules", "expected a list of rules")
    rules = [parse_rule(r, f"rules[{i}]") for i, r in enumerate(raw)]
    names = [r.name for r in rules]
    if len(set(names)) != len(names):
        raise RuleError("rules", f"the name {next(n for n in names if names.count(n) > 1)!r} is used twice")
    return rules


def rules_version(rules: list[Rule]) -> str:
    """The rule set's version: a hash of its rules, so an item says exactly which set pre-filtered it."""
    text = json.dumps([asdict(r) for r in rules], sort_keys=True)
    return "rules-" + hashlib.sha256(text.encode()).hexdigest()[:12]
