"""Artifact manifests: every file a build writes, with its size and sha256.

Runtime code reads artifacts only through a manifest, and verifies them against it.
"""

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from build_tools.errors import BuildError

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    sha256: str


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(folder: Path, kind: str, extra: dict[str, object] | None = None) -> Path:
    """List every file under `folder` (except the manifest) in `folder/manifest.json`."""
    files = [
        FileEntry(
            p.relative_to(folder).as_posix(),
            p.stat().st_size,
            sha256_file(p),
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != MANIFEST_NAME
    ]
    doc: dict[str, object] = {
        "format": FORMAT_VERSION,
        "kind": kind,
        **(extra or {}),
        "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in files],
    }
    out = folder / MANIFEST_NAME
    out.write_text(json.dumps(doc, indent=2) + "\n")
    return out


def read_manifest(folder: Path) -> dict[str, object]:
    path = folder / MANIFEST_NAME
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise BuildError(f"no manifest at {path}: build it first") from exc
    except json.JSONDecodeError as exc:
        raise BuildError(f"manifest {path} is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_VERSION:
        raise BuildError(f"manifest {path} has an unsupported format (expected {FORMAT_VERSION})")
    return doc


def verify_manifest(folder: Path) -> list[FileEntry]:
    """Check every listed file's size and sha256; a BuildError names the first that differs."""
    doc = read_manifest(folder)
    raw = doc.get("files")
    if not isinstance(raw, list):
        raise BuildError(f"manifest in {folder} has no file list")
    entries = []
    for item in raw:
        entry = FileEntry(str(item["path"]), int(item["size"]), str(item["sha256"]))
        target = folder / entry.path
        if not target.is_file():
            raise BuildError(f"{entry.path} is listed in the manifest of {folder} but missing")
        if target.stat().st_size != entry.size or sha256_file(target) != entry.sha256:
            raise BuildError(f"{entry.path} in {folder} does not match its manifest (size/sha256)")
        entries.append(entry)
    return entries
