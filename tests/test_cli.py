import json
from pathlib import Path

import pytest

from build_tools import cli, web_assets
from build_tools.paths import WEB_BUILD, cache_dir


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


def test_py_agent_zip_holds_every_module_and_is_reproducible(tmp_path: Path) -> None:
    import zipfile

    first = web_assets.write_py_agent_zip(tmp_path / "a").read_bytes()
    second = web_assets.write_py_agent_zip(tmp_path / "b")
    assert second.read_bytes() == first  # same sources, same bytes: the precache version is stable
    names = zipfile.ZipFile(second).namelist()
    assert "py_agent/browser_session.py" in names
    assert "py_agent/tools/calculator.py" in names
    assert all(n.startswith("py_agent/") and n.endswith(".py") for n in names)


def test_app_config_points_at_manifested_folders() -> None:
    config = web_assets.app_config("my-gemma")
    assert config == {
        "model": "/models/my-gemma/",
        "index": "/models/corpus-index/",
        "embedder": "/models/all-minilm-l6-v2/",
        "py_agent": "/build/py_agent.zip",
    }


def test_precache_lists_shell_pyodide_and_wasm_and_refuses_missing_files(tmp_path: Path) -> None:
    urls = web_assets.precache_urls()
    for url in ("/", "/app.js", "/agent_worker.js", "/pyodide/pyodide.asm.wasm", "/build/app.json"):
        assert url in urls
    assert "/sw.js" not in urls  # the browser fetches the service worker itself
    assert not any(u.startswith("/models/") for u in urls)  # model_store.js keeps those
    with pytest.raises(FileNotFoundError, match="cannot precache missing files"):
        web_assets.write_precache(tmp_path, tmp_path)


def test_cache_dir_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GEA_CACHE_DIR", str(tmp_path))
    assert cache_dir() == tmp_path
    monkeypatch.delenv("GEA_CACHE_DIR")
    assert cache_dir() == Path.home() / ".cache" / "gemma-edge-agent"


def test_build_command_builds_the_web_assets(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["build"]) == 0
    out = capsys.readouterr().out
    assert "wasm modules: " in out
    assert "web asset: " in out
    precache = json.loads((WEB_BUILD / "precache.json").read_text())
    assert len(precache["version"]) == 16
    assert "/build/wasm/gemma_bg.wasm" in precache["urls"]


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
