"""`python -m py_agent`: the native CLI, which lives in build_tools (it needs the native engine;
py_agent itself imports only the standard library so that it runs in Pyodide)."""

import importlib
import sys

try:
    cli = importlib.import_module("build_tools.agent_cli")
except ImportError as exc:  # e.g. py_agent copied somewhere without the build tools
    sys.exit(f"python -m py_agent needs the project's build_tools (native engine): {exc}")
sys.exit(cli.main())
