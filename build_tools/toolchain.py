"""Finding the external tools the build needs, with errors that say how to install them."""

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from build_tools.errors import BuildError

# Debian's rustc-web builds wasm32; rustup's shims come first in PATH and must not be used.
DEBIAN_RUSTC = Path("/usr/bin/rustc")
DEBIAN_CARGO = Path("/usr/bin/cargo")

# tool -> Debian package that provides it
APT_PROVIDERS: dict[str, str] = {
    "/usr/bin/rustc": "rustc-web",
    "/usr/bin/cargo": "cargo-web",
    "/usr/bin/clippy-driver": "rust-web-clippy",
    "wasm-ld-22": "lld-22",
    "wasm-opt": "binaryen",
    "wasm-objdump": "wabt",
    "chromium": "chromium",
    "node": "nodejs",
}


def require_tool(name: str) -> Path:
    """Absolute path of `name` (a command or an absolute path), or a BuildError naming it."""
    found = shutil.which(name)
    if found is None:
        package = APT_PROVIDERS.get(name)
        hint = (
            f"install it with `apt-get install {package}` (or run `make setup`)"
            if package
            else "install it (or run `make setup`)"
        )
        raise BuildError(f"required tool `{name}` was not found: {hint}")
    return Path(found)


def run(
    cmd: Sequence[str | Path],
    *,
    what: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    capture: bool = False,
) -> str:
    """Run a command; on failure raise a BuildError naming the step, with its output's tail."""
    args = [str(c) for c in cmd]
    try:
        proc = subprocess.run(
            args,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            text=True,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.PIPE if capture else None,
            check=False,
        )
    except FileNotFoundError as exc:
        raise BuildError(f"{what}: cannot run `{args[0]}`: {exc.strerror}") from exc
    if proc.returncode != 0:
        tail = ""
        if capture:
            lines = (proc.stdout + proc.stderr).strip().splitlines()[-25:]
            tail = "\n" + "\n".join(lines)
        raise BuildError(f"{what} failed (exit {proc.returncode}): {' '.join(args)}{tail}")
    return proc.stdout if capture else ""
