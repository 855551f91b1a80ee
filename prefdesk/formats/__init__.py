"""Streaming importers and exporters of public preference-data formats."""
