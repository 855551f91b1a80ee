"""Candidate text renders offline: Markdown, highlighted code, readable math, nothing remote."""

from prefdesk.ui.desk.content import tex_to_html, to_html


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

    from prefdesk.ui.desk.views.base import OfflineBrowser

    browser = OfflineBrowser()
    qtbot.addWidget(browser)
    assert browser.loadResource(QTextDocument.ImageResource, QUrl("http://example.com/x.png")) is None
    assert not browser.openLinks() and not browser.openExternalLinks()


def test_plain_text_takes_the_fast_path_and_renders_exactly_as_markdown_would():
    """Most answers have no Markdown in them: they skip the parser (a tenth of the time per item shown), and
    must come out byte for byte as the parser gives them, on the real HH, UltraFeedback and HelpSteer2 rows."""
    import json
    from pathlib import Path

    from prefdesk.ui.desk import content

    fixtures = Path(__file__).parent / "fixtures"
    texts = [v for name in ("hh_rlhf_harmless_200.jsonl", "hh_rlhf_20.jsonl", "ultrafeedback.jsonl", "helpsteer2.jsonl")
             for line in (fixtures / name).read_text().splitlines() for v in json.loads(line).values()
             if isinstance(v, str)]
    texts += ["Hello\n\nworld  ", "  indented\nline", "x\n\n\n y", " \n lead", "a\n    b", "1990. was a year", "a -- b"]
    fast = 0
    for text in texts:
        for line_breaks in (True, False):
            plain = content._plain(text, line_breaks)
            md = content._markdown(False, line_breaks)
            md.reset()
            if plain is not None:
                fast += 1
                assert plain == md.convert(text.replace("<", "&lt;")), text
    assert fast > 400  # most of them are plain
    for syntax in ("**bold**", "- a\n- b", "1. one", "`code`", "$x^2$", "<b>x</b>", "a | b\n--|--\n1 | 2", "# Title"):
        assert content._plain(syntax, True) is None
