"""Render candidate text (Markdown with code and $math$) to HTML offline; nothing remote is ever loaded."""

from __future__ import annotations

import html
import re

import markdown
from pygments.formatters import HtmlFormatter

_MATH = re.compile(r"\$\$(.+?)\$\$|\$(?!\s)([^$\n]+?)\$", re.S)
_MD = markdown.Markdown(extensions=["fenced_code", "codehilite", "tables"],
                        extension_configs={"codehilite": {"noclasses": True, "guess_lang": False}})
CODE_CSS = HtmlFormatter().get_style_defs(".codehilite")


def _math(match: re.Match) -> str:
    from latex2mathml.converter import convert

    display, inline = match.group(1), match.group(2)
    tex = display if display is not None else inline
    try:
        # Qt's rich text has no MathML; keep the TeX readable, set in a math style
        convert(tex)
        return f'<span style="font-family: serif; font-style: italic; color: #1f3a5f">{html.escape(tex)}</span>'
    except Exception:
        return html.escape(match.group(0))


def to_html(text: str) -> str:
    """Markdown -> HTML; raw HTML in the text is escaped, links shown but never fetched."""
    _MD.reset()
    safe = text.replace("<", "&lt;")
    body = _MD.convert(_MATH.sub(_math, safe))
    return re.sub(r"<img[^>]*>", "[image not loaded]", body)
