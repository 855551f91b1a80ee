"""Render candidate text (Markdown, highlighted code, $math$) to HTML, offline.

Qt's rich text has no MathML, so TeX becomes Unicode with <sup>/<sub> and explicit parentheses around
fraction parts: `\\frac{a+b}{2}` shows as (a+b)/2, `x^{10}` as x with a raised 10. Raw HTML in the text
is escaped and images are never loaded.
"""

from __future__ import annotations

import html
import re
import threading

import markdown
from pylatexenc.latex2text import LatexNodes2Text

_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?!\s)([^$\n]+?)(?<!\s)\$", re.S)
_LOCAL = threading.local()  # a Markdown instance is not thread-safe: one a thread (long texts render in a worker)


def _markdown() -> markdown.Markdown:
    if not hasattr(_LOCAL, "md"):
        _LOCAL.md = markdown.Markdown(extensions=["fenced_code", "codehilite", "tables"],
                                      extension_configs={"codehilite": {"noclasses": True, "guess_lang": False}})
    return _LOCAL.md
_TEX = LatexNodes2Text(math_mode="text")
SUP, SUP_END, SUB, SUB_END = "\ue000", "\ue001", "\ue002", "\ue003"


def _group(tex: str, start: int) -> tuple[str, int]:
    """The argument starting at `start`: a {braced group} or one character; returns (text, end)."""
    if start < len(tex) and tex[start] == "{":
        depth = 0
        for i in range(start, len(tex)):
            depth += {"{": 1, "}": -1}.get(tex[i], 0)
            if depth == 0:
                return tex[start + 1:i], i + 1
    if start < len(tex) and tex[start] == "\\":
        m = re.match(r"\\[A-Za-z]+", tex[start:])
        if m:
            return m.group(0), start + len(m.group(0))
    return tex[start:start + 1], start + 1


def _structure(tex: str) -> str:
    """\\frac, \\sqrt, ^ and _ become markers and parentheses that survive the symbol pass."""
    out, i = [], 0
    while i < len(tex):
        if tex.startswith(("\\frac", "\\dfrac", "\\tfrac"), i):
            i = tex.index("frac", i) + 4
            num, i = _group(tex, i)
            den, i = _group(tex, i)
            wrap = lambda s: _structure(s) if len(s.strip()) <= 1 or s.strip().isalnum() else f"({_structure(s)})"  # noqa: E731
            out.append(f"{wrap(num)}/{wrap(den)}")
        elif tex.startswith("\\sqrt", i) and not tex[i + 5:i + 6].isalpha():
            arg, i = _group(tex, i + 5)
            out.append(f"√({_structure(arg)})")
        elif tex[i] in "^_":
            a, b = (SUP, SUP_END) if tex[i] == "^" else (SUB, SUB_END)
            arg, i = _group(tex, i + 1)
            out.append(f"{a}{_structure(arg)}{b}")
        else:
            out.append(tex[i])
            i += 1
    return "".join(out)


def tex_to_html(tex: str) -> str:
    """A readable HTML rendering of a TeX formula (symbols as Unicode, scripts raised and lowered)."""
    try:
        text = _TEX.latex_to_text(_structure(tex))
    except Exception:  # never fail a render on odd TeX: show it as written
        return html.escape(tex)
    text = html.escape(text)
    for marker, tag in ((SUP, "<sup>"), (SUP_END, "</sup>"), (SUB, "<sub>"), (SUB_END, "</sub>")):
        text = text.replace(marker, tag)
    return text


def _math(match: re.Match) -> str:
    display, inline = match.group(1), match.group(2)
    body = tex_to_html(display if display is not None else inline)
    style = "font-family: serif; font-style: italic; color: #1a365d"
    if display is not None:
        return f'<div style="{style}; text-align: center; margin: 6px">{body}</div>'
    return f'<span style="{style}">{body}</span>'


def to_html(text: str) -> str:
    """Markdown -> HTML; raw HTML in the text is escaped, links shown but never fetched."""
    md = _markdown()
    md.reset()
    body = md.convert(_MATH.sub(_math, text.replace("<", "&lt;")))
    return re.sub(r"<img[^>]*>", "[image not loaded]", body)
