"""Candidate text renders offline: Markdown, highlighted code, readable math, nothing remote."""

from prefdesk.ui.content import tex_to_html, to_html


def test_math_keeps_fraction_grouping_and_scripts():
    assert tex_to_html(r"\frac{r(1+r)^n}{(1+r)^n-1}") == "(r(1+r)<sup>n</sup>)/((1+r)<sup>n</sup>-1)"
    assert tex_to_html(r"\sum_{k=1}^{10} k") == "∑<sub>k=1</sub><sup>10</sup> k"
    assert "√(2)" in tex_to_html(r"5\sqrt{2}")


def test_dollar_amounts_are_not_math_and_html_is_escaped():
    out = to_html("It costs $5 and $10. <script>alert(1)</script> ![x](http://example.com/a.png)")
    assert "$5 and $10" in out and "<script>" not in out and "&lt;script&gt;" in out
    assert "<img" not in out and "[image not loaded]" in out


def test_code_blocks_are_highlighted_inline_styles_only():
    out = to_html("```python\nfor x in range(3):\n    print(x)\n```")
    assert "<pre" in out and "style=" in out and "<link" not in out


def test_the_browser_never_loads_a_resource(qtbot):
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QTextDocument

    from prefdesk.ui.views.base import OfflineBrowser

    browser = OfflineBrowser()
    qtbot.addWidget(browser)
    assert browser.loadResource(QTextDocument.ImageResource, QUrl("http://example.com/x.png")) is None
    assert not browser.openLinks() and not browser.openExternalLinks()
