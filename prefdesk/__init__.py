"""PrefDesk: collect LLM preference data and turn it into training signals."""

__version__ = "0.1.0"
