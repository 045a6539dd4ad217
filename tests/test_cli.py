import json
from pathlib import Path

import pytest

from build_tools import cli, web_assets
from build_tools.paths import cache_dir


def test_doctor_lists_every_tool(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    for tool in ("wasm-opt", "chromium", "/usr/bin/rustc"):
        assert f"{tool}: /" in out


def test_doctor_failure_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert cli.main(["doctor"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: required tool `wasm-ld-22` was not found")


def test_serve_refuses_to_start_without_a_build(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("build_tools.site.resolve", lambda path: None)
    assert cli.main(["serve", "--port", "0"]) == 1
    assert "is not built: run `make build` first" in capsys.readouterr().err


def test_unknown_command_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(["frobnicate"])
    assert exc.value.code == 2


def test_pyscript_config_ships_py_agent_and_local_pyodide(tmp_path: Path) -> None:
    path = web_assets.write_pyscript_config(tmp_path)
    config = json.loads(path.read_text())
    assert config["interpreter"] == "/pyodide/pyodide.mjs"
    assert config["files"]["/py_agent/similarity.py"] == "./py_agent/similarity.py"
    assert config["files"]["/py_agent/__init__.py"] == "./py_agent/__init__.py"
    assert all(url.startswith("/py_agent/") for url in config["files"])


def test_cache_dir_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GEA_CACHE_DIR", str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.delenv("GEA_CACHE_DIR")
    assert cache_dir() == Path.home() / ".cache" / "gemma-edge-agent"


def test_build_command_builds_the_web_assets(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["build"]) == 0
    out = capsys.readouterr().out
    assert "wasm modules: " in out
    assert "PyScript config: " in out


def test_serve_prints_the_url_and_stops_on_interrupt(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted(self: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("http.server.ThreadingHTTPServer.serve_forever", interrupted)
    assert cli.main(["serve", "--port", "0", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "Gemma Edge Agent is served at http://127.0.0.1:" in out
    assert out.rstrip().endswith("stopped")


def test_clippy_wasm_lints_the_simd_code() -> None:
    # Real run: Debian's clippy over the wasm32 build, warnings are errors.
    assert cli.main(["clippy-wasm"]) == 0
