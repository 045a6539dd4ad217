"""Generated web files other than wasm: the PyScript configuration that ships py_agent."""

import json
from pathlib import Path

from build_tools.paths import PY_AGENT, WEB_BUILD

PYODIDE_URL = "/pyodide/pyodide.mjs"


def py_agent_files(package: Path = PY_AGENT) -> dict[str, str]:
    """URL -> path in Pyodide's file system, for every module of the package."""
    files = {}
    for source in sorted(package.rglob("*.py")):
        rel = source.relative_to(package.parent).as_posix()
        files[f"/{rel}"] = f"./{rel}"
    return files


def pyscript_config() -> dict[str, object]:
    # Without "interpreter", PyScript fetches Pyodide from a CDN and the page hangs offline.
    return {"interpreter": PYODIDE_URL, "files": py_agent_files()}


def write_pyscript_config(out_dir: Path = WEB_BUILD) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "pyscript.json"
    path.write_text(json.dumps(pyscript_config(), indent=2) + "\n")
    return path
