"""The Rust tokenizer as a native Python extension (`gea_tokenizer`), built with maturin.

Built with rustup's host toolchain from `rust_core/wasm/tokenizer-py` (the same core crate as the
wasm module) and installed into the running virtual environment. Skipped when the installed
build came from the same sources: a stamp holds the sha256 of every file that goes into it.
"""

import hashlib
import sys
import tempfile
from pathlib import Path

from build_tools.errors import BuildError
from build_tools.paths import RUST_WORKSPACE
from build_tools.toolchain import require_tool, run

CRATES = ("tokenizer", "tokenizer-py")
MODULE = "gea_tokenizer"


def source_digest(workspace: Path = RUST_WORKSPACE) -> str:
    digest = hashlib.sha256()
    files = [workspace / "Cargo.lock", workspace / "Cargo.toml"]
    for crate in CRATES:
        files += sorted(p for p in (workspace / crate).rglob("*") if p.is_file())
    for f in files:
        digest.update(f.relative_to(workspace).as_posix().encode() + b"\0")
        digest.update(f.read_bytes())
    return digest.hexdigest()


def stamp_path() -> Path:
    return Path(sys.prefix) / f".{MODULE}.sha256"


def ensure_native_extension(force: bool = False) -> bool:
    """Build and install the extension unless it is current; returns whether it was built."""
    want = source_digest()
    stamp = stamp_path()
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
                RUST_WORKSPACE / "tokenizer-py" / "Cargo.toml",
                "--interpreter",
                sys.executable,
                "--out",
                tmp,
            ],
            what="maturin build (gea_tokenizer)",
        )
        wheels = sorted(Path(tmp).glob(f"{MODULE}-*.whl"))
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
            what="pip install gea_tokenizer",
        )
    stamp.write_text(want + "\n")
    return True
