"""Where things live: the repository's folders and the per-user cache of built tools."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUST_WORKSPACE = ROOT / "rust_core" / "wasm"
WEB_DIR = ROOT / "web"
# Generated web assets (wasm modules, bindings, PyScript config); git-ignored.
WEB_BUILD = WEB_DIR / "build"
NODE_MODULES = ROOT / "node_modules"
PY_AGENT = ROOT / "py_agent"
MODELS_CACHE = ROOT / "models_cache"


def cache_dir() -> Path:
    """Tools that take minutes to build (wasm-bindgen CLI, wasm32 std) are kept per user.

    Outside the checkout so that a fresh clone on the same machine reuses them; override with
    GEA_CACHE_DIR.
    """
    override = os.environ.get("GEA_CACHE_DIR")
    if override:
        return Path(override)
    return Path.home() / ".cache" / "gemma-edge-agent"
