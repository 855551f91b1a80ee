"""Render candidate text (Markdown, highlighted code, $math$) to HTML, offline.

Qt's rich text has no MathML, so TeX becomes Unicode with <sup>/<sub> and explicit parentheses around
fraction parts: `\\frac{a+b}{2}` shows as (a+b)/2, `x^{10}` as x with a raised 10. Raw HTML in the text
is escaped and images are never loaded.
"""

from __future__ import annotations

import html
import re
import threading

import functools

# TeX eats the space after a macro (`\\leq y` -> "≤y"); `{}` ends the macro and keeps the space. Named
# operators (\\sin, \\log, ...) always get one: `\\sin x` and `\\sin\\theta` read "sin x", "sin θ".
_MACRO_SPACE = re.compile(r"(\\[A-Za-z]+)(\s+)")
_OPERATORS = re.compile(r"\\(arcsin|arccos|arctan|sinh|cosh|tanh|sin|cos|tan|cot|sec|csc|log|ln|lg|exp|lim|max|min|"
                        r"sup|inf|det|deg|arg|dim|ker|gcd|Pr)(?![A-Za-z^_])\s*")
_MATH = re.compile(r"\$\$(.+?)\$\$|(?<![\\$])\$(?!\s)([^$\n]+?)(?<!\s)\$", re.S)
_LOCAL = threading.local()  # a Markdown instance is not thread-safe: one a thread (long texts render in a worker)
CODE_STYLES = {False: "default", True: "monokai"}  # Pygments styles whose colours read on a light / dark page


def _markdown(dark: bool, line_breaks: bool):
    """Markdown with fenced, highlighted code and tables; with `line_breaks`, single line breaks are kept
    (a model's plain-text answer stays as written; a document wrapped at 100 columns does not want them)."""
    key = f"md_{int(dark)}_{int(line_breaks)}"
    if not hasattr(_LOCAL, key):
        import markdown  # on the first text with syntax in it: plain answers never need it (desk start-up)

        setattr(_LOCAL, key, markdown.Markdown(
            extensions=["fenced_code", "codehilite", "tables", *(["nl2br"] if line_breaks else [])],
            extension_configs={"codehilite": {"noclasses": True, "guess_lang": False, "pygments_style": CODE_STYLES[dark]}}))
    return getattr(_LOCAL, key)


@functools.cache
def _tex():
    from pylatexenc.latex2text import LatexNodes2Text  # built on the first formula shown

    return LatexNodes2Text(math_mode="text")


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
    tex = _MACRO_SPACE.sub(r"\1{}\2", _OPERATORS.sub(lambda m: f"\\{m.group(1)}{{}} ", tex)).rstrip()
    try:
        text = _tex().latex_to_text(_structure(tex))
    except Exception:  # never fail a render on odd TeX: show it as written
        return html.escape(tex)
    text = html.escape(text)
    for marker, tag in ((SUP, "<sup>"), (SUP_END, "</sup>"), (SUB, "<sub>"), (SUB_END, "</sub>")):
        text = text.replace(marker, tag)
    return text


def _math(match: re.Match) -> str:
    display, inline = match.group(1), match.group(2)
    body = tex_to_html(display if display is not None else inline)
    style = "font-family: serif; font-style: italic"  # the palette's text colour: readable light or dark
    if display is not None:
        return f'<div style="{style}; text-align: center; margin: 6px">{body}</div>'
    return f'<span style="{style}">{body}</span>'


# Anything Markdown, math or HTML could read as syntax; a text with none of it is plain paragraphs
_SYNTAX = re.compile(r"[*_`#\[\]<>!|~\\$&]|^ {0,3}([-+=]|\d+[.)])|^ {4}|\t| \n|^\s*$\n?\Z", re.M)
_PARAGRAPHS = re.compile(r"\n(?:[ ]*\n)+")


def _plain(text: str, line_breaks: bool) -> str | None:
    """What Markdown gives for a text with no syntax in it (most answers a desk shows), in a tenth of the time
    (`tests/test_content.py` holds the two to the same output); None when the text has any syntax."""
    if _SYNTAX.search(text) or not text.strip():
        return None
    joint = "<br />\n" if line_breaks else "\n"
    return "\n".join(f"<p>{html.escape(p.lstrip(' '), quote=False).replace(chr(10), joint)}</p>"
                      for p in _PARAGRAPHS.split(text.strip("\n")) if p.strip())


# A pane lays out at most this many characters of a text: Qt lays a document out whole, and an endless imported
# line (a prompt read from /dev/zero) took 2.2 GB and aborted the desk. The rest is one key away (W: whole texts).
SHOWN_MOST = 200_000
DISPLAY_LINE = 10_000  # the whole-text viewer breaks longer lines for display (one huge block is laid out at once)


def cut_for_display(text: str, most: int = SHOWN_MOST) -> str:
    """The text as a pane shows it: whole, or its first `most` characters and a marker saying what is left out;
    a line over `DISPLAY_LINE` characters broken (Qt shapes a line whole: one of 200,000 took seconds)."""
    if len(text) <= most:
        return display_lines(text)
    return (display_lines(text[:most]) + f"\n\n[… cut here for the screen: the text has {len(text):,} characters, the first "
            f"{most:,} are shown. Press W to read the whole text.]")


def display_lines(text: str, width: int = DISPLAY_LINE) -> str:
    """The text with each line longer than `width` broken every `width` characters (for display only)."""
    if len(text) <= width:
        return text
    return "\n".join(line if len(line) <= width else "\n".join(line[i:i + width] for i in range(0, len(line), width))
                     for line in text.split("\n"))


def to_html(text: str, dark: bool = False, line_breaks: bool = True) -> str:
    """Markdown -> HTML; raw HTML in the text is escaped, links shown but never fetched. `dark` picks code
    colours for a dark page; `line_breaks` keeps single line breaks (answers) or joins them (documents)."""
    plain = _plain(text, line_breaks)
    if plain is not None:
        return plain
    md = _markdown(dark, line_breaks)
    md.reset()
    body = md.convert(_MATH.sub(_math, text.replace("<", "&lt;")))
    return re.sub(r"<img[^>]*>", "[image not loaded]", body)
