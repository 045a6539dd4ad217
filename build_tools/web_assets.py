"""Generated web files other than wasm: py_agent as one zip for Pyodide, the app's configuration
(where the model and the index are), and the service worker's precache list."""

import hashlib
import json
import zipfile
from pathlib import Path

from build_tools.corpus_index import INDEX_ID
from build_tools.default_model import MODEL_ID as DEFAULT_MODEL_ID
from build_tools.embedder_export import EMBEDDER_ID
from build_tools.paths import NODE_MODULES, PY_AGENT, WEB_BUILD, WEB_DIR

PYODIDE_FILES = (
    "pyodide.mjs",
    "pyodide.asm.mjs",
    "pyodide.asm.wasm",
    "python_stdlib.zip",
    "pyodide-lock.json",
)
# The app shell: what the service worker keeps so the page reloads offline.
SHELL_FILES = (
    "index.html",
    "app.css",
    "app.js",
    "agent_worker.js",
    "engine.js",
    "engine_webgpu.js",
    "embedder.js",
    "documents.js",
    "model_store.js",
    "tokenizer.js",
    "manifest.webmanifest",
    "icon.svg",
    "icon-192.png",
    "icon-512.png",
)
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)  # fixed: the same sources give the same bytes and hash


def write_py_agent_zip(out_dir: Path = WEB_BUILD, package: Path = PY_AGENT) -> Path:
    """py_agent's modules as one zip that the page's Pyodide unpacks onto sys.path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "py_agent.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for source in sorted(package.rglob("*.py")):
            info = zipfile.ZipInfo(source.relative_to(package.parent).as_posix(), _ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, source.read_bytes())
    return path


def app_config(model_id: str = DEFAULT_MODEL_ID) -> dict[str, str]:
    """URLs the worker starts from; every file under them is read through a manifest.json."""
    return {
        "model": f"/models/{model_id}/",
        "index": f"/models/{INDEX_ID}/",
        "embedder": f"/models/{EMBEDDER_ID}/",
        "py_agent": "/build/py_agent.zip",
    }


def precache_urls(web: Path = WEB_DIR, node_modules: Path = NODE_MODULES) -> dict[str, Path]:
    """URL -> file for everything the app needs before the model: shell, wasm, Pyodide."""
    urls: dict[str, Path] = {"/": web / "index.html"}
    for name in SHELL_FILES:
        urls[f"/{name}"] = web / name
    for name in PYODIDE_FILES:
        urls[f"/pyodide/{name}"] = node_modules / "pyodide" / name
    build = web / "build"
    for path in sorted((build / "wasm").glob("*")):
        if path.suffix in (".js", ".wasm"):
            urls[f"/build/wasm/{path.name}"] = path
    for name in ("py_agent.zip", "app.json"):
        urls[f"/build/{name}"] = build / name
    return urls


def write_precache(out_dir: Path = WEB_BUILD, web: Path = WEB_DIR) -> Path:
    """precache.json: the URLs and a version that changes whenever any of their bytes do."""
    urls = precache_urls(web)
    missing = [str(p) for p in urls.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"cannot precache missing files: {', '.join(missing)}")
    digest = hashlib.sha256()
    for url, path in urls.items():
        digest.update(url.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    path = out_dir / "precache.json"
    doc = {"version": digest.hexdigest()[:16], "urls": list(urls)}
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


def write_web_assets(out_dir: Path = WEB_BUILD) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [write_py_agent_zip(out_dir)]
    config = out_dir / "app.json"
    config.write_text(json.dumps(app_config(), indent=2) + "\n")
    written.append(config)
    written.append(write_precache(out_dir, out_dir.parent))
    return written
