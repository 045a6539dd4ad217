"""The wasm32 standard library, built from Debian's rust-web-src (rustup cannot add targets here).

The result is a sysroot folder keyed by `rustc -V` and the codegen flags, so it is rebuilt only
when the compiler changes.
"""

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

from build_tools.errors import BuildError
from build_tools.paths import cache_dir
from build_tools.toolchain import DEBIAN_CARGO, DEBIAN_RUSTC, require_tool, run

TARGET = "wasm32-unknown-unknown"
HOST = "x86_64-unknown-linux-gnu"
# embed-bitcode lets the crates' `lto = true` see into std.
STD_RUSTFLAGS = "-Ctarget-feature=+simd128 -Cembed-bitcode=yes"
LINKER = "wasm-ld-22"
COMPLETE_MARK = ".complete"

_DUMMY_MANIFEST = """[package]
name = "gea-sysroot-dummy"
version = "0.0.0"
edition = "2021"

[profile.release]
panic = "abort"
"""


def rustc_version() -> str:
    require_tool(str(DEBIAN_RUSTC))
    return run([DEBIAN_RUSTC, "-V"], what="rustc -V", capture=True).strip()


def sysroot_path(version: str) -> Path:
    key = hashlib.sha256(f"{version}\n{STD_RUSTFLAGS}".encode()).hexdigest()[:16]
    return cache_dir() / "wasm32-sysroot" / key


def rust_library_source() -> Path:
    host_sysroot = Path(
        run(
            [DEBIAN_RUSTC, "--print", "sysroot"], what="rustc --print sysroot", capture=True
        ).strip()
    )
    library = host_sysroot / "lib" / "rustlib" / "src" / "rust" / "library"
    if not (library / "vendor").is_dir():
        raise BuildError(
            f"the Rust standard library sources were not found at {library}: "
            "install them with `apt-get install rust-web-src` (or run `make setup`)"
        )
    return library


def ensure_sysroot() -> Path:
    """Path of a sysroot holding a SIMD128 wasm32 std for Debian's rustc; builds it if missing."""
    version = rustc_version()
    dest = sysroot_path(version)
    if (dest / COMPLETE_MARK).is_file():
        return dest
    require_tool(str(DEBIAN_CARGO))
    require_tool(LINKER)
    library = rust_library_source()
    host_libs = library.parents[2] / HOST
    print(f"building the wasm32 standard library for {version} (about a minute)", flush=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".build-") as tmp:
        work = Path(tmp)
        crate = work / "dummy"
        (crate / "src").mkdir(parents=True)
        (crate / "Cargo.toml").write_text(_DUMMY_MANIFEST)
        (crate / "src" / "lib.rs").write_text("#![no_std]\n")
        env = dict(os.environ)
        env.update(
            RUSTC=str(DEBIAN_RUSTC),
            RUSTC_BOOTSTRAP="1",
            CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS=STD_RUSTFLAGS,
            CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=LINKER,
            CARGO_TARGET_DIR=str(work / "target"),
        )
        run(
            [
                DEBIAN_CARGO,
                "build",
                "--quiet",
                "--release",
                "--target",
                TARGET,
                "-Zbuild-std=std,panic_abort",
                "--config",
                'source.crates-io.replace-with="rust-std-vendor"',
                "--config",
                f'source.rust-std-vendor.directory="{library / "vendor"}"',
            ],
            what="building the wasm32 standard library",
            cwd=crate,
            env=env,
            capture=True,
        )
        staged = work / "sysroot"
        lib_dir = staged / "lib" / "rustlib" / TARGET / "lib"
        lib_dir.mkdir(parents=True)
        deps = work / "target" / TARGET / "release" / "deps"
        for rlib in deps.glob("*.rlib"):
            if not rlib.name.startswith("libgea_sysroot_dummy"):
                shutil.copy2(rlib, lib_dir / rlib.name)
        if not any(lib_dir.glob("libstd-*.rlib")):
            raise BuildError(f"the wasm32 std build produced no libstd in {deps}")
        # Proc-macro crates are loaded from the sysroot's host folder.
        (staged / "lib" / "rustlib" / HOST).symlink_to(host_libs)
        (staged / COMPLETE_MARK).write_text(version + "\n")
        if dest.exists():
            shutil.rmtree(dest)
        staged.rename(dest)
    return dest
