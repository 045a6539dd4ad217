"""The wasm-bindgen CLI, at exactly the version of the `wasm-bindgen` crate in Cargo.lock.

No registry ships it as a binary, so it is built from crates.io with rustup's host toolchain
once per version and kept in the user cache.
"""

import re
import shutil
import sys
import tempfile
from pathlib import Path

from build_tools.errors import BuildError
from build_tools.paths import RUST_WORKSPACE, cache_dir
from build_tools.toolchain import require_tool, run

_LOCK_ENTRY = re.compile(r'\[\[package\]\]\nname = "wasm-bindgen"\nversion = "([^"]+)"')


def locked_version(lock_file: Path = RUST_WORKSPACE / "Cargo.lock") -> str:
    try:
        text = lock_file.read_text()
    except FileNotFoundError as exc:
        raise BuildError(f"{lock_file} is missing: it pins the wasm-bindgen version") from exc
    match = _LOCK_ENTRY.search(text)
    if match is None:
        raise BuildError(f"{lock_file} has no `wasm-bindgen` package entry")
    return match.group(1)


def cli_path(version: str) -> Path:
    return cache_dir() / "tools" / f"wasm-bindgen-cli-{version}" / "bin" / "wasm-bindgen"


def installed_version(binary: Path) -> str | None:
    if not binary.is_file():
        return None
    out = run([binary, "--version"], what="wasm-bindgen --version", capture=True)
    return out.split()[-1] if out.strip() else None


def ensure_cli() -> Path:
    """Path of a wasm-bindgen CLI matching Cargo.lock; builds it (minutes) when missing."""
    version = locked_version()
    binary = cli_path(version)
    if installed_version(binary) == version:
        return binary
    cargo = require_tool("cargo")
    root = binary.parent.parent
    root.parent.mkdir(parents=True, exist_ok=True)
    print(f"building wasm-bindgen-cli {version} from crates.io (several minutes, once)", flush=True)
    with tempfile.TemporaryDirectory(dir=root.parent, prefix=".build-") as tmp:
        staged = Path(tmp) / "root"
        cmd: list[str | Path] = [cargo, "install", "--quiet", "wasm-bindgen-cli"]
        cmd += ["--version", f"={version}", "--root", staged]
        try:
            run([*cmd, "--locked"], what="cargo install wasm-bindgen-cli --locked", capture=True)
        except BuildError as exc:
            # The crate's own lock can name a dependency version that the registry no longer
            # serves (seen: webpki-roots 1.0.11); resolve afresh, loudly.
            print(f"note: {str(exc).splitlines()[0]}; retrying without --locked", file=sys.stderr)
            run(cmd, what="cargo install wasm-bindgen-cli", capture=True)
        if root.exists():
            shutil.rmtree(root)
        staged.rename(root)
    if installed_version(binary) != version:
        raise BuildError(f"wasm-bindgen-cli {version} did not install at {binary}")
    return binary
