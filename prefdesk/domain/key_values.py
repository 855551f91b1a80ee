"""KEY=VALUE words: the one convention of every option and text box that takes them.

Each pair is its own word; an option takes several after the flag and may be given again, so
``--where scenario=medical risk_level=high`` and ``--where scenario=medical --where risk_level=high`` are the same.
Where an option says so, a value holds several alternatives with ``|`` (``scenario=medical|legal``). A box in the
desk reads its text as the shell would split it (quote a value that holds a space: ``bucket="long form"``).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable


def words(text: str | None, flag: str, error: type[Exception] = ValueError) -> list[str]:
    """A text box's KEY=VALUE words, split as a shell splits them."""
    try:
        return shlex.split(text or "")
    except ValueError as exc:  # an unclosed quote
        raise error(f"{flag} {text!r}: {exc}") from None


_JOINED = re.compile(r",\s*[A-Za-z_][\w.-]*=")  # "a,risk_level=high": a second pair after a comma


def pairs(given: Iterable[str] | None, flag: str, shape: str = "KEY=VALUE", keys: Iterable[str] | None = None,
          error: type[Exception] = ValueError, joined: bool = True) -> list[tuple[str, str]]:
    """(key, value) of each KEY=VALUE word, in order, stripped. A word without `=` or an empty key is refused naming
    the flag and the word; with `keys`, so is any other key. Two pairs joined by a comma in one word (the older form
    of `--where` and `--map`) are refused saying how to write them, unless `joined` is False (a JSON value)."""
    known = tuple(keys) if keys is not None else None
    name = shape.partition("=")[0]
    out = []
    for word in given or ():
        word = word.strip()
        if not word:
            continue
        key, eq, value = word.partition("=")
        key = key.strip()
        if not eq or not key or known is not None and key not in known:
            one_of = f" with {name} one of {', '.join(known)}" if known is not None else ""
            raise error(f"{flag} {word!r}: expected {shape}{one_of}")
        if joined and _JOINED.search(value):
            raise error(f"{flag} {word!r}: give each {shape} its own word: {flag} {' '.join(word.split(','))}")
        out.append((key, value.strip()))
    return out
