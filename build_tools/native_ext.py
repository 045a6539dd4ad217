"""The Rust crates as native Python extensions (`gea_tokenizer`, `gea_vector`), built with maturin.

Each is built with rustup's host toolchain from its PyO3 binding crate in `rust_core/wasm` (the
same core crates as the wasm modules) and installed into the running virtual environment. Each
is skipped when the installed build came from the same sources: a stamp per extension holds the
sha256 of every file that goes into it.
"""

import hashlib
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from build_tools.errors import BuildError
from build_tools.paths import RUST_WORKSPACE
from build_tools.toolchain import require_tool, run


@dataclass(frozen=True)
class NativeExtension:
    module: str  # the Python module (and wheel) name
    binding: str  # the PyO3 crate's folder in the workspace
    crates: tuple[str, ...]  # every workspace crate it is built from, the binding included


EXTENSIONS = (
    NativeExtension("gea_tokenizer", "tokenizer-py", ("checksum", "tokenizer", "tokenizer-py")),
    NativeExtension("gea_vector", "vector-py", ("checksum", "vector", "vector-py")),
)


def source_digest(ext: NativeExtension = EXTENSIONS[0], workspace: Path = RUST_WORKSPACE) -> str:
    digest = hashlib.sha256()
    files = [workspace / "Cargo.lock", workspace / "Cargo.toml"]
    for crate in ext.crates:
        files += sorted(p for p in (workspace / crate).rglob("*") if p.is_file())
    for f in files:
        digest.update(f.relative_to(workspace).as_posix().encode() + b"\0")
        digest.update(f.read_bytes())
    return digest.hexdigest()


def stamp_path(ext: NativeExtension = EXTENSIONS[0]) -> Path:
    return Path(sys.prefix) / f".{ext.module}.sha256"


def ensure_extension(ext: NativeExtension, force: bool = False) -> bool:
    """Build and install one extension unless it is current; returns whether it was built."""
    want = source_digest(ext)
    stamp = stamp_path(ext)
    if not force and stamp.is_file() and stamp.read_text().strip() == want:
        return False
    maturin = Path(sys.prefix) / "bin" / "maturin"
    if not maturin.is_file():
        raise BuildError(f"{maturin} is missing: run `make setup` (maturin is in requirements.txt)")
    require_tool("cargo")
    with tempfile.TemporaryDirectory(prefix="gea-wheel-") as tmp:
        run(
            [
                maturin,
                "build",
                "--release",
                "--locked",
                "--manifest-path",
                RUST_WORKSPACE / ext.binding / "Cargo.toml",
                "--interpreter",
                sys.executable,
                "--out",
                tmp,
            ],
            what=f"maturin build ({ext.module})",
        )
        wheels = sorted(Path(tmp).glob(f"{ext.module}-*.whl"))
        if len(wheels) != 1:
            raise BuildError(f"maturin wrote {len(wheels)} wheels, expected one: {wheels}")
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "--no-deps",
                "--force-reinstall",
                wheels[0],
            ],
            what=f"pip install {ext.module}",
        )
    stamp.write_text(want + "\n")
    return True


def ensure_native_extensions(force: bool = False) -> dict[str, bool]:
    """Every extension, in order; maps each module name to whether it was built."""
    return {ext.module: ensure_extension(ext, force=force) for ext in EXTENSIONS}
