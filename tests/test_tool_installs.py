"""The install paths of the cached tools, driven by stand-in `cargo` programs.

The real paths run on every fresh machine during setup; these tests pin down the logic around
them (fallback, staging, atomic rename, clear failures) without minutes of compiling.
"""

import os
import stat
from pathlib import Path

import pytest

from build_tools import wasm_bindgen_cli, wasm_sysroot
from build_tools.errors import BuildError


def write_script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


FAKE_BINDGEN_INSTALL = """
# args: install --quiet wasm-bindgen-cli --version =V --root DIR [--locked]
for last; do :; done
if [ "$last" = "--locked" ] && [ -n "$FAIL_LOCKED" ]; then
  echo "error: failed to select a version for webpki-roots" >&2; exit 101
fi
root=$7; version=${5#=}
mkdir -p "$root/bin"
out="$root/bin/wasm-bindgen"
printf '#!/bin/sh\\necho "wasm-bindgen %s"\\n' "${FAKE_VERSION:-$version}" > "$out"
chmod +x "$root/bin/wasm-bindgen"
"""


@pytest.fixture
def fake_cargo_on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    write_script(bin_dir / "cargo", FAKE_BINDGEN_INSTALL)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("GEA_CACHE_DIR", str(tmp_path / "cache"))
    return bin_dir


def test_cli_installs_into_the_cache(fake_cargo_on_path: Path) -> None:
    binary = wasm_bindgen_cli.ensure_cli()
    assert binary.is_relative_to(fake_cargo_on_path.parent / "cache")
    assert wasm_bindgen_cli.installed_version(binary) == wasm_bindgen_cli.locked_version()
    # A second call finds it and does not reinstall.
    (fake_cargo_on_path / "cargo").unlink()
    assert wasm_bindgen_cli.ensure_cli() == binary


def test_cli_falls_back_when_the_crate_lock_is_unsatisfiable(
    fake_cargo_on_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FAIL_LOCKED", "1")
    binary = wasm_bindgen_cli.ensure_cli()
    assert binary.is_file()
    assert "retrying without --locked" in capsys.readouterr().err


def test_cli_with_the_wrong_version_is_an_error(
    fake_cargo_on_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_VERSION", "0.0.1")
    with pytest.raises(BuildError, match="did not install"):
        wasm_bindgen_cli.ensure_cli()


FAKE_STD_BUILD = """
deps="$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/deps"
mkdir -p "$deps"
[ -n "$NO_STD" ] || touch "$deps/libstd-abc.rlib" "$deps/libcore-abc.rlib"
touch "$deps/libgea_sysroot_dummy-abc.rlib"
"""


@pytest.fixture
def fake_debian_rust(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    host = tmp_path / "rust"
    library = host / "lib/rustlib/src/rust/library"
    (library / "vendor").mkdir(parents=True)
    (host / "lib/rustlib/x86_64-unknown-linux-gnu").mkdir(parents=True)
    rustc = write_script(
        tmp_path / "rustc",
        f'[ "$1" = "-V" ] && echo "rustc 9.9.9 (fake)" || echo "{host}"\n',
    )
    cargo = write_script(tmp_path / "cargo", FAKE_STD_BUILD)
    monkeypatch.setattr(wasm_sysroot, "DEBIAN_RUSTC", rustc)
    monkeypatch.setattr(wasm_sysroot, "DEBIAN_CARGO", cargo)
    monkeypatch.setattr(wasm_sysroot, "LINKER", "sh")
    monkeypatch.setenv("GEA_CACHE_DIR", str(tmp_path / "cache"))
    return host


def test_sysroot_is_staged_then_marked_complete(fake_debian_rust: Path) -> None:
    sysroot = wasm_sysroot.ensure_sysroot()
    libs = sorted(p.name for p in (sysroot / "lib/rustlib/wasm32-unknown-unknown/lib").iterdir())
    assert libs == ["libcore-abc.rlib", "libstd-abc.rlib"]
    host_link = sysroot / "lib/rustlib/x86_64-unknown-linux-gnu"
    assert host_link.resolve() == (fake_debian_rust / "lib/rustlib/x86_64-unknown-linux-gnu")
    assert (sysroot / wasm_sysroot.COMPLETE_MARK).read_text() == "rustc 9.9.9 (fake)\n"
    assert not list(sysroot.parent.glob(".build-*"))


def test_sysroot_without_std_is_an_error_and_leaves_nothing(
    fake_debian_rust: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_STD", "1")
    with pytest.raises(BuildError, match="produced no libstd"):
        wasm_sysroot.ensure_sysroot()
    dest = wasm_sysroot.sysroot_path("rustc 9.9.9 (fake)")
    assert not dest.exists()
    assert not list(dest.parent.glob(".build-*"))
