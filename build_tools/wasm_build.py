"""Rust wasm crates -> optimised `.wasm` + wasm-bindgen JS/TS bindings in web/build/wasm/."""

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from build_tools.errors import BuildError
from build_tools.manifest import write_manifest
from build_tools.paths import RUST_WORKSPACE, WEB_BUILD
from build_tools.toolchain import DEBIAN_CARGO, DEBIAN_RUSTC, require_tool, run
from build_tools.wasm_bindgen_cli import ensure_cli, locked_version
from build_tools.wasm_sysroot import LINKER, TARGET, ensure_sysroot

WASM_OUT = WEB_BUILD / "wasm"
# binaryen 108 predates some feature names in rustc's target_features section: enable all.
WASM_OPT_FLAGS = ("-O3", "-all")


@dataclass(frozen=True)
class WasmModule:
    package: str  # Cargo package of the binding crate
    lib_name: str  # its [lib] name, so the .wasm that cargo writes
    out_name: str  # module name in web/build/wasm/


MODULES = (
    WasmModule("gea-vector-wasm", "vector", "vector"),
    WasmModule("gea-gemma-wasm", "gemma", "gemma"),
    WasmModule("gea-tokenizer-wasm", "tokenizer", "tokenizer"),
)


def package_args() -> list[str]:
    """`-p <package>` for every wasm module's binding crate (build and clippy use the same set)."""
    return [arg for m in MODULES for arg in ("-p", m.package)]


def cargo_env(sysroot: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        RUSTC=str(DEBIAN_RUSTC),
        CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=LINKER,
        CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS=(
            f"--sysroot {sysroot} -C target-feature=+simd128"
        ),
        # Debian's cargo and rustup's must not share artifacts built by different compilers.
        CARGO_TARGET_DIR=str(RUST_WORKSPACE / "target" / "debian-wasm"),
    )
    return env


def build_wasm(out_dir: Path = WASM_OUT) -> Path:
    """Build every wasm module; replaces `out_dir` only when all of them succeeded."""
    sysroot = ensure_sysroot()
    bindgen = ensure_cli()
    wasm_opt = require_tool("wasm-opt")
    env = cargo_env(sysroot)
    run(
        [DEBIAN_CARGO, "build", "--release", "--locked", "--target", TARGET, *package_args()],
        what="cargo build (wasm32)",
        cwd=RUST_WORKSPACE,
        env=env,
    )
    release = Path(env["CARGO_TARGET_DIR"]) / TARGET / "release"
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=".wasm-") as tmp:
        staged = Path(tmp) / "out"
        staged.mkdir()
        for module in MODULES:
            raw = release / f"{module.lib_name}.wasm"
            if not raw.is_file():
                raise BuildError(f"cargo reported success but {raw} is missing")
            # Optimise before wasm-bindgen: binaryen 108 run on wasm-bindgen's output re-points
            # the `__wbindgen_externrefs` export at the funcref table, and the module then
            # fails to initialise.
            optimised = Path(tmp) / f"{module.out_name}.opt.wasm"
            run(
                [wasm_opt, *WASM_OPT_FLAGS, raw, "-o", optimised],
                what=f"wasm-opt {module.out_name}",
                capture=True,
            )
            bindgen_cmd: list[str | Path] = [bindgen, "--target", "web", "--out-dir", staged]
            run(
                [*bindgen_cmd, "--out-name", module.out_name, optimised],
                what=f"wasm-bindgen {module.out_name}",
                capture=True,
            )
        write_manifest(staged, "wasm-modules", {"wasm_bindgen": locked_version()})
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staged.rename(out_dir)
    return out_dir


def clippy_wasm() -> None:
    """`cargo clippy -D warnings` for the wasm32 target, so the SIMD128 code is linted too.

    Only the wasm modules and the workspace crates they use: the PyO3 binding is not for wasm32.
    """
    env = cargo_env(ensure_sysroot())
    # Debian's clippy-driver must be found before rustup's shims.
    env["PATH"] = f"/usr/bin{os.pathsep}{env.get('PATH', '')}"
    lints = ["--", "-D", "warnings"]
    run(
        [DEBIAN_CARGO, "clippy", "--locked", "--target", TARGET, "--lib", *package_args(), *lints],
        what="cargo clippy (wasm32)",
        cwd=RUST_WORKSPACE,
        env=env,
    )
