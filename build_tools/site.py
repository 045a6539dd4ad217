"""What the app's URL space is made of: URL prefixes mapped onto folders of the checkout.

Served as is by the local server (and listed for the service worker by web_assets).
"""

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

from build_tools.paths import MODELS_CACHE, NODE_MODULES, WEB_DIR


@dataclass(frozen=True)
class Mount:
    prefix: str  # URL path prefix, starting and ending with "/"
    folder: Path
    suffixes: tuple[str, ...] = ()  # when set, only files with these suffixes are served


# /models/ is models_cache/: the built models and the document index. The page may read their
# manifests, configs, weights, tokenizer, ONNX graphs (WebGPU), index tables and licenses; never
# the sources (GGUF) or temporary files.
MODEL_SUFFIXES = (
    *(".json", ".bin", ".gtok", ".onnx", ".data"),
    *(".idx", ".f32", ".html", ".md", ".txt"),
)

MOUNTS = (
    Mount("/pyodide/", NODE_MODULES / "pyodide"),
    Mount("/ort/", NODE_MODULES / "onnxruntime-web" / "dist"),
    Mount("/models/", MODELS_CACHE, MODEL_SUFFIXES),
    Mount("/", WEB_DIR),
)


def resolve(url_path: str, mounts: tuple[Mount, ...] = MOUNTS) -> Path | None:
    """The file that `url_path` names, or None: never outside a mount, never a dotfile."""
    path = unquote(url_path.split("?", 1)[0].split("#", 1)[0])
    if path.endswith("/"):
        path += "index.html"
    for mount in mounts:
        if not path.startswith(mount.prefix):
            continue
        rel = path[len(mount.prefix) :]
        parts = rel.split("/")
        if any(p in ("", ".", "..") or p.startswith(".") or "\\" in p or "\0" in p for p in parts):
            return None
        if mount.suffixes and not rel.endswith(mount.suffixes):
            return None
        candidate = mount.folder.joinpath(*parts)
        try:
            inside = candidate.resolve().is_relative_to(mount.folder.resolve())
        except OSError:
            return None
        return candidate if inside and candidate.is_file() else None
    return None
