"""build_tools/edge_build.py without workerd: the CLI's key command and settings, manifest
checks on every input, the analyzer tables, asset parts, config.capnp."""

import argparse
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from build_tools import cli, edge_build
from build_tools.edge_build import (
    EdgeSettings,
    analyzer_tables,
    build_edge,
    hash_key,
    settings_from_args,
    verified_files,
    write_config,
    write_parts,
)
from build_tools.errors import BuildError
from build_tools.manifest import write_manifest


def test_key_command_prints_a_key_and_its_digest(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["edge", "key"]) == 0
    out = dict(line.split(maxsplit=1) for line in capsys.readouterr().out.splitlines())
    assert out["key:"].startswith("gea_")
    assert len(out["key:"]) > 40
    assert out["sha256:"] == hashlib.sha256(out["key:"].encode()).hexdigest()


def _args(**kw: object) -> argparse.Namespace:
    base: dict[str, object] = {
        "key_hash": [],
        "origin": [],
        "allow_anonymous": False,
        "rate_limit": 600,
        "burst": 60,
        "max_body": 1000,
    }
    return argparse.Namespace(**{**base, **kw})


def test_settings_from_flags_env_and_the_dev_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GEA_EDGE_KEY_HASHES", raising=False)
    h1, h2 = hash_key("one"), hash_key("two")
    s = settings_from_args(_args(key_hash=[h1.upper()], origin=["https://a.example"]))
    assert s.key_hashes == (h1,)
    assert s.bindings()["ALLOWED_ORIGINS"] == "https://a.example"
    assert s.bindings()["MAX_BODY_BYTES"] == "1000"
    monkeypatch.setenv("GEA_EDGE_KEY_HASHES", f"{h1},{h2}")
    assert settings_from_args(_args()).key_hashes == (h1, h2)
    monkeypatch.delenv("GEA_EDGE_KEY_HASHES")
    dev = tmp_path / ".dev-key"
    monkeypatch.setattr(edge_build, "DEV_KEY_FILE", dev)
    s = settings_from_args(_args())
    key = dev.read_text().strip()
    assert s.key_hashes == (hash_key(key),)
    assert dev.stat().st_mode & 0o077 == 0
    assert key not in capsys.readouterr().out  # the path is printed, not the key
    assert settings_from_args(_args()).key_hashes == (hash_key(key),)  # reused
    assert settings_from_args(_args(allow_anonymous=True)).require_api_key is False


def test_inputs_are_checked_against_their_manifest(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"abc")
    write_manifest(tmp_path, "test")
    assert verified_files(tmp_path, ["a.bin"]) == {"a.bin": tmp_path / "a.bin"}
    with pytest.raises(BuildError, match=r"lacks b\.bin"):
        verified_files(tmp_path, ["b.bin"])
    (tmp_path / "a.bin").write_bytes(b"abd")
    with pytest.raises(BuildError, match="does not match"):
        verified_files(tmp_path, ["a.bin"])
    (tmp_path / "a.bin").unlink()
    with pytest.raises(BuildError, match="missing"):
        verified_files(tmp_path, ["a.bin"])


def test_build_names_what_is_missing(tmp_path: Path, default_model: Path) -> None:
    with pytest.raises(BuildError, match="no document index"):
        build_edge(tmp_path / "out", model_dir=default_model, index_dir=tmp_path / "nope")
    with pytest.raises(BuildError, match="not built"):
        build_edge(tmp_path / "out", model_dir=tmp_path / "no-model")
    with pytest.raises(BuildError, match="not built"):
        write_config(EdgeSettings(require_api_key=False), build=tmp_path)


def test_asset_parts(tmp_path: Path) -> None:
    data = bytes(range(256)) * 10
    spec = write_parts(data, tmp_path / "x", part_size=1000)
    assert [p["size"] for p in spec["parts"]] == [1000, 1000, 560]
    assert b"".join((tmp_path / "x" / str(i)).read_bytes() for i in range(3)) == data
    assert spec["sha256"] == hashlib.sha256(data).hexdigest()
    assert write_parts(b"", tmp_path / "empty")["parts"] == [
        {"size": 0, "sha256": hashlib.sha256(b"").hexdigest()}
    ]


def test_analyzer_tables_follow_python() -> None:
    tables = analyzer_tables()

    def within(ranges: list[list[int]], ch: str) -> bool:
        return any(lo <= ord(ch) <= hi for lo, hi in ranges)

    assert within(tables["word"], "a")
    assert within(tables["word"], "é")
    assert within(tables["word"], "٣")  # Arabic-Indic digit three
    assert not within(tables["word"], "_")
    assert not within(tables["word"], "\u0301")  # combining accent: not \\w in Python
    assert within(tables["digits"], "٣")
    assert not within(tables["digits"], "a")
    assert tables["casefold"]["ß"] == "ss"
    assert tables["casefold"]["ς"] == "σ"  # noqa: RUF001
    assert "a" not in tables["casefold"]


def test_config_embeds_every_module(edge_bundle: Path, tmp_path: Path) -> None:
    build = tmp_path / "build"
    shutil.copytree(edge_bundle, build)
    config = write_config(
        EdgeSettings(key_hashes=(hash_key("k"),), allowed_origins=("http://localhost:8000",)),
        build=build,
        port=9999,
    ).read_text()
    assert '"127.0.0.1:9999"' in config
    assert '(name = "src/index.js", esModule = embed' in config
    assert (
        '(name = "build/wasm/tokenizer_bg.wasm", wasm = embed "wasm/tokenizer_bg.wasm")' in config
    )
    assert '(name = "build/data/meta.json", json = embed "data/meta.json")' in config
    assert "tokenizer.gtok" not in config  # an asset, not a module
    assert hash_key("k") in config
    assert config.index("src/index.js") < config.index("src/auth.js")  # main module first
    meta = json.loads((build / "data" / "meta.json").read_text())
    assert sum(p["size"] for p in meta["assets"]["tokenizer.gtok"]["parts"]) > 5_000_000
