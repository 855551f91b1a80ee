"""Light, dark or the system's palette, chosen in Preferences (QSettings `theme`).

Widgets take their colours from the palette (style sheets say `palette(base)`, never a hex colour for
text or a page), so a dark system palette, or the Dark choice, gives light text on dark pages everywhere.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("system", "light", "dark")


def _palette(dark: bool) -> QPalette:
    p = QPalette()
    if dark:
        colours = {QPalette.Window: "#1f2329", QPalette.WindowText: "#e6e8eb", QPalette.Base: "#16191d",
                   QPalette.AlternateBase: "#262b31", QPalette.Text: "#e6e8eb", QPalette.Button: "#2a2f36",
                   QPalette.ButtonText: "#e6e8eb", QPalette.Highlight: "#3b82f6", QPalette.HighlightedText: "#ffffff",
                   QPalette.ToolTipBase: "#262b31", QPalette.ToolTipText: "#e6e8eb", QPalette.PlaceholderText: "#8a939e",
                   QPalette.Mid: "#3a414a", QPalette.Dark: "#0f1114", QPalette.Light: "#3a414a", QPalette.Link: "#7ab4ff"}
    else:
        colours = {QPalette.Window: "#f4f5f7", QPalette.WindowText: "#1f2933", QPalette.Base: "#ffffff",
                   QPalette.AlternateBase: "#eef1f5", QPalette.Text: "#1f2933", QPalette.Button: "#eceef1",
                   QPalette.ButtonText: "#1f2933", QPalette.Highlight: "#2563eb", QPalette.HighlightedText: "#ffffff",
                   QPalette.ToolTipBase: "#ffffff", QPalette.ToolTipText: "#1f2933", QPalette.PlaceholderText: "#7b8794",
                   QPalette.Mid: "#c9ced6", QPalette.Dark: "#9aa5b1", QPalette.Light: "#ffffff", QPalette.Link: "#1d4ed8"}
    for role, colour in colours.items():
        p.setColor(role, QColor(colour))
    for role in (QPalette.Text, QPalette.WindowText, QPalette.ButtonText):  # a disabled button must look it
        p.setColor(QPalette.Disabled, role, QColor("#6b7280" if dark else "#a0a8b3"))
    return p


_system_palette: QPalette | None = None


def apply_theme(name: str | None = None) -> str:
    """Apply a theme (default: the saved one) and return its name."""
    global _system_palette
    app = QApplication.instance()
    name = name or str(QSettings().value("theme", "system"))
    if name not in THEMES:
        name = "system"
    if _system_palette is None:
        _system_palette = QPalette(app.palette())
    app.setStyle("Fusion")  # the same look on every platform, and one that follows the palette fully
    app.setPalette(_system_palette if name == "system" else _palette(name == "dark"))
    # a widget with a style sheet keeps the palette it was polished with: set each sheet again so it is
    # polished with the new one (else a switch to Dark left captions dark on dark until a restart)
    for widget in app.allWidgets():
        if widget.styleSheet():
            widget.setStyleSheet(widget.styleSheet())
    return name


def is_dark() -> bool:
    """Whether the palette in force is dark (text lighter than the page)."""
    p = QApplication.instance().palette()
    return p.color(QPalette.Text).lightness() > p.color(QPalette.Base).lightness()
