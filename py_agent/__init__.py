"""Gemma Edge Agent's pure-Python agent: standard library only, so it runs in Pyodide unchanged."""

__version__ = "0.1.0"
