"""The real wasm build path: Debian rustc + sysroot + wasm-bindgen CLI + wasm-opt."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from build_tools import wasm_bindgen_cli, wasm_sysroot
from build_tools.errors import BuildError
from build_tools.manifest import verify_manifest
from build_tools.wasm_build import MODULES, build_wasm


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wasm(tmp_path_factory.mktemp("wasm") / "out")


def test_build_writes_each_module_with_binding_and_manifest(built: Path) -> None:
    for module in MODULES:
        for suffix in ("_bg.wasm", ".js", ".d.ts"):
            assert (built / f"{module.out_name}{suffix}").is_file()
    listed = {e.path for e in verify_manifest(built)}
    assert "vector_bg.wasm" in listed
    assert "vector.js" in listed
    assert {"gemma_bg.wasm", "gemma.js"} <= listed


def test_wasm_uses_simd128_instructions(built: Path) -> None:
    objdump = shutil.which("wasm-objdump")
    assert objdump, "wasm-objdump (Debian package wabt) is required"
    listing = subprocess.run(
        [objdump, "-d", str(built / "vector_bg.wasm")], capture_output=True, text=True, check=True
    ).stdout
    assert len(re.findall(r"f32x4\.mul", listing)) >= 2
    assert "v128.load" in listing
    # The int8 LM-head scan: integer dot products, no relaxed-SIMD instruction.
    assert len(re.findall(r"i32x4\.dot_i16x8_s", listing)) >= 4
    assert "relaxed" not in listing


def test_binding_exports_the_kernel(built: Path) -> None:
    typings = (built / "vector.d.ts").read_text()
    for name in ("dot", "dotScalar", "dotLanes", "simd128Enabled"):
        assert re.search(rf"export function {name}\(", typings), name
    assert re.search(r"export class Q8Matrix \{", typings)
    assert re.search(r"constructor\(rows: number, cols: number, q: Int8Array", typings)
    for method in ("topK", "topKLanes", "topKScalar", "topKExact"):
        assert re.search(rf"\b{method}\(h: Float32Array[^)]*\): TopKResult;", typings), method
    for method in ("scores", "scoresLanes", "scoresScalar", "scoresExact"):
        assert re.search(rf"\b{method}\(h: Float32Array[^)]*\): Float32Array;", typings), method
    assert re.search(r"export class TopKResult \{", typings)
    assert re.search(r"readonly ids: Uint32Array;", typings)
    assert re.search(r"readonly scores: Float32Array;", typings)


def test_gemma_decoder_uses_simd128_gemvs(built: Path) -> None:
    objdump = shutil.which("wasm-objdump")
    assert objdump, "wasm-objdump (Debian package wabt) is required"
    listing = subprocess.run(
        [objdump, "-d", str(built / "gemma_bg.wasm")], capture_output=True, text=True, check=True
    ).stdout
    # q8 and q4o GEMVs: widened weights times f32x4 activations; the 4-bit nibble interleave.
    assert len(re.findall(r"f32x4\.convert_i32x4_s", listing)) >= 8
    assert len(re.findall(r"f32x4\.mul", listing)) >= 8
    assert "i8x16.shuffle" in listing
    assert "v128.load64_zero" in listing
    # The LM head's int8 top-k scan from gea-vector.
    assert "i32x4.dot_i16x8_s" in listing
    assert "relaxed" not in listing


def test_gemma_binding_exports_the_decoder(built: Path) -> None:
    typings = (built / "gemma.d.ts").read_text()
    assert re.search(r"export class GemmaDecoder \{", typings)
    assert re.search(r"static fromBytes\(bytes: Uint8Array[^)]*\): GemmaDecoder;", typings)
    assert re.search(r"\breset\(\): void;", typings)
    assert re.search(r"\bprefill\(tokens: Uint32Array[^)]*\): Float32Array;", typings)
    assert re.search(r"\badvance\(tokens: Uint32Array[^)]*\): void;", typings)
    assert re.search(r"\bstep\(token: number\): Float32Array;", typings)
    assert re.search(r"\btopK\(k: number\): TopKResult;", typings)
    assert re.search(r"\bint8Activations: boolean;", typings)
    for getter in ("pastLength", "vocabSize", "family"):
        assert re.search(rf"readonly {getter}: number;", typings), getter
    assert re.search(r"export class TopKResult \{", typings)
    for name in ("gemvQ8", "gemvQ4o", "simd128Enabled"):
        assert re.search(rf"export function {name}\(", typings), name


def test_sysroot_is_reused_when_rustc_is_unchanged() -> None:
    first = wasm_sysroot.ensure_sysroot()
    assert (first / wasm_sysroot.COMPLETE_MARK).is_file()
    assert wasm_sysroot.ensure_sysroot() == first
    assert any((first / "lib/rustlib/wasm32-unknown-unknown/lib").glob("libstd-*.rlib"))


def test_sysroot_key_depends_on_the_compiler() -> None:
    assert wasm_sysroot.sysroot_path("rustc 1.0") != wasm_sysroot.sysroot_path("rustc 1.1")


def test_missing_std_sources_are_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def fake_run(cmd: object, **kwargs: object) -> str:
        return str(tmp_path) + "\n"

    monkeypatch.setattr(wasm_sysroot, "run", fake_run)
    with pytest.raises(BuildError, match="apt-get install rust-web-src"):
        wasm_sysroot.rust_library_source()


def test_bindgen_cli_matches_the_lock() -> None:
    version = wasm_bindgen_cli.locked_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    binary = wasm_bindgen_cli.ensure_cli()
    assert wasm_bindgen_cli.installed_version(binary) == version


def test_lock_problems_are_clear(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="is missing: it pins the wasm-bindgen version"):
        wasm_bindgen_cli.locked_version(tmp_path / "Cargo.lock")
    lock = tmp_path / "Cargo.lock"
    lock.write_text('[[package]]\nname = "other"\nversion = "1.0.0"\n')
    with pytest.raises(BuildError, match="no `wasm-bindgen` package entry"):
        wasm_bindgen_cli.locked_version(lock)


def test_absent_cli_has_no_version(tmp_path: Path) -> None:
    assert wasm_bindgen_cli.installed_version(tmp_path / "wasm-bindgen") is None
