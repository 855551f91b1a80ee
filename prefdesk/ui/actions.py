"""The one action registry: each action declares its name, scope, default keys, help text, handler and
argument in one place, as a decorator on the handler (qutebrowser's `cmdutils.register`).

Scopes: a label kind (`pairwise`, `ranking`, `scalar`, `process`: the handler is a method of that view),
`global` (a method of the desk window), or a panel (`items`, `arbitration`: a method of that panel's
window). Only the current view's actions and the global ones listen, so `1` can mean "left better" in the
pairwise view and "score 1" in the scalar view; in a panel's window its own actions listen, and the desk's
menu commands with Ctrl/Alt. Menus, the cheat sheet, remapping and every key hint on screen are built from
this registry and the live bindings.

Keys are matched by `key_name`, which names a key press the way a real keyboard produces it: Shift+2
on a US layout arrives as `@` with Shift held, so symbols are named without the Shift (`@`, `!`, `+`,
`?`) and letters, digits and named keys with it (`Shift+T`, `Shift+Left`).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QKeyCombination, QSettings, Qt
from PySide6.QtGui import QKeySequence

GLOBAL = "global"
VIEW_SCOPES = ("pairwise", "ranking", "scalar", "process")
PANEL_SCOPES = ("items", "arbitration")
SCOPES = (*VIEW_SCOPES, GLOBAL, *PANEL_SCOPES)
NO_ARG = object()


@dataclass(frozen=True)
class ActionSpec:
    name: str
    scope: str
    keys: tuple[str, ...]
    help: str
    handler: Callable
    arg: object = NO_ARG
    menu: str | None = None  # the menu it is listed in (None: the scope's menu)
    repeat: bool = False  # whether a held key repeats it (moving, scrolling); verdicts never repeat
    order: int = 0

    def run(self, target: object) -> object:
        return self.handler(target) if self.arg is NO_ARG else self.handler(target, self.arg)


_REGISTERED: list[ActionSpec] = []
_counter = itertools.count()


def action(name: str, scope: str, keys: tuple[str, ...] | str, help: str, *, arg: object = NO_ARG,
           menu: str | None = None, repeat: bool = False) -> Callable[[Callable], Callable]:
    """Register the decorated function as the handler of an action (stack several for several arguments)."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")
    order = next(_counter)  # taken when the decorator line runs: top to bottom, as declared
    keys = (keys,) if isinstance(keys, str) else tuple(keys)

    def register(fn: Callable) -> Callable:
        if any(a.name == name for a in _REGISTERED):
            raise ValueError(f"action {name!r} declared twice")
        _REGISTERED.append(ActionSpec(name, scope, keys, help, fn, arg, menu, repeat, order))
        return fn

    return register


@functools.cache
def all_actions() -> tuple[ActionSpec, ...]:
    """Every action, in declaration order. The registry imports none of the modules that declare actions (as
    qutebrowser's does not): the desk window's module imports them all before anything reads it. A scope without
    an action means one of them was not imported; that is refused rather than a cheat sheet or keymap short."""
    missing = [scope for scope in SCOPES if not any(a.scope == scope for a in _REGISTERED)]
    if missing:
        raise RuntimeError(f"no actions declared for {', '.join(missing)}: import prefdesk.ui.desk.window first")
    return tuple(sorted(_REGISTERED, key=lambda a: a.order))


def by_name() -> dict[str, ActionSpec]:
    return {a.name: a for a in all_actions()}


# -- key names ---------------------------------------------------------------------------------------
_SHIFT = Qt.ShiftModifier.value
_MODS = _SHIFT | Qt.ControlModifier.value | Qt.AltModifier.value | Qt.MetaModifier.value
_IGNORED = {k.value for k in (Qt.Key_Shift, Qt.Key_Control, Qt.Key_Alt, Qt.Key_Meta, Qt.Key_AltGr, Qt.Key_unknown)} | {0}


def _int(value) -> int:
    return value.value if hasattr(value, "value") else int(value)


def key_name(key: int, modifiers: Qt.KeyboardModifier, text: str = "") -> str:
    """The portable name of a key press ("@", "Shift+Left", "Ctrl+Z"); "" for a lone modifier."""
    key = _int(key)
    if key in _IGNORED:
        return ""
    mods = _int(modifiers) & _MODS  # the keypad flag dropped: keypad 1 is 1
    if key == Qt.Key_Backtab.value:
        key, mods = Qt.Key_Tab.value, mods | _SHIFT
    if mods & _SHIFT and _is_symbol(key, text):
        mods &= ~_SHIFT
    return QKeySequence(QKeyCombination(Qt.KeyboardModifier(mods), Qt.Key(key))).toString(QKeySequence.PortableText)


def _is_symbol(key: int, text: str) -> bool:
    """A printable key that is neither a letter nor a digit: its Shift is already in the character."""
    ch = text if len(text) == 1 and text.isprintable() else (chr(key) if 0x20 < key < 0x7F else "")
    return bool(ch) and not ch.isalnum() and not ch.isspace()


def normalized(binding: str) -> str:
    """A binding as `key_name` would name the key press ("Shift+@" -> "@", "ctrl+z" -> "Ctrl+Z")."""
    seq = QKeySequence(binding)
    if seq.isEmpty():
        return ""
    combo = seq[0]
    return key_name(combo.key(), combo.keyboardModifiers())


@functools.cache
def key_label(binding: str) -> str:
    """A key as shown to people (native names: "Ctrl+Z", "←")."""
    special = {"Left": "←", "Right": "→", "Up": "↑", "Down": "↓", "Return": "Enter"}
    return special.get(binding, QKeySequence(binding).toString(QKeySequence.NativeText) or binding)


# -- bindings ----------------------------------------------------------------------------------------
Bindings = dict[str, tuple[str, ...]]


def default_bindings() -> Bindings:
    return {a.name: a.keys for a in all_actions()}


def load_bindings() -> Bindings:
    """The user's keys (QSettings), falling back to the registry's defaults."""
    settings = QSettings()
    out = {}
    for spec in all_actions():
        saved = settings.value(f"shortcuts/{spec.name}")
        out[spec.name] = tuple(saved) if isinstance(saved, list) else (saved,) if saved else spec.keys
    return out


def save_bindings(bindings: Bindings) -> None:
    settings = QSettings()
    defaults = default_bindings()
    for name, keys in bindings.items():
        if tuple(keys) == defaults[name]:
            settings.remove(f"shortcuts/{name}")
        else:
            settings.setValue(f"shortcuts/{name}", list(keys))


def conflicts(bindings: Bindings) -> list[tuple[str, str, str]]:
    """(key, action, other action) for every key bound twice where both could listen at once."""
    seen: dict[tuple[str, str], str] = {}
    found = []
    for spec in all_actions():
        for key in bindings.get(spec.name, spec.keys):
            name = normalized(key)
            scopes = [spec.scope] if spec.scope != GLOBAL else [*VIEW_SCOPES, GLOBAL]
            if spec.scope == GLOBAL and spec.menu and _is_command(name):  # a menu command works in the panels too
                scopes += PANEL_SCOPES
            for scope in scopes:
                # a panel hears only its own keys and the desk's menu commands (recorded under its scope)
                for probe in {(name, scope)} if scope in PANEL_SCOPES else {(name, scope), (name, GLOBAL)}:
                    other = seen.get(probe)
                    if other and other != spec.name:
                        found.append((key, spec.name, other))
                seen[(name, scope)] = spec.name
    return found


def _is_command(name: str) -> bool:
    """A key with Ctrl, Alt or Meta: a command, not typing."""
    return any(name.startswith(m) for m in ("Ctrl+", "Alt+", "Meta+"))


def keymaps(bindings: Bindings) -> dict[str | None, dict[str, ActionSpec]]:
    """For each scope (None: no item shown), key name -> the action that listens there: the scope's own
    actions, then the global ones (in a panel, only the global menu commands with Ctrl/Alt). Built once a
    binding change, not once a key."""
    named = [(spec, [normalized(k) for k in bindings.get(spec.name, spec.keys)]) for spec in all_actions()]
    out: dict[str | None, dict[str, ActionSpec]] = {}
    for scope in (*SCOPES, None):
        table: dict[str, ActionSpec] = {}
        for spec, keys in sorted(named, key=lambda n: n[0].scope == GLOBAL):  # the scope's own actions first
            if spec.scope == scope or spec.scope == GLOBAL and scope not in PANEL_SCOPES:
                for key in keys:
                    table.setdefault(key, spec)
            elif spec.scope == GLOBAL and spec.menu:
                for key in filter(_is_command, keys):
                    table.setdefault(key, spec)
        out[scope] = table
    return out


def keys_text(bindings: Bindings, name: str, most: int = 2, sep: str = "/") -> str:
    """The keys of an action as a hint shows them, from the live bindings ("1/←")."""
    return sep.join(key_label(k) for k in bindings.get(name, ())[:most]) or "—"
