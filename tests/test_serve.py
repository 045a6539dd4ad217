"""The local server, over real HTTP on loopback."""

import http.client
from pathlib import Path
from urllib.parse import urlparse

import pytest

from build_tools.serve import CSP, content_type
from build_tools.site import MOUNTS, Mount, resolve


def fetch(server_url: str, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    u = urlparse(server_url)
    conn = http.client.HTTPConnection(u.hostname or "", u.port, timeout=10)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_index_is_served_with_isolation_and_csp(server_url: str) -> None:
    status, headers, body = fetch(server_url, "/")
    assert status == 200
    assert b"<title>Gemma Edge Agent</title>" in body
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert headers["cross-origin-embedder-policy"] == "require-corp"
    assert headers["cross-origin-resource-policy"] == "same-origin"
    assert headers["content-security-policy"] == CSP
    assert headers["x-content-type-options"] == "nosniff"


def test_csp_names_no_remote_origin() -> None:
    for directive in CSP.split(";"):
        for source in directive.split()[1:]:
            assert source in {"'self'", "'none'", "'wasm-unsafe-eval'", "blob:", "data:"}, source
    assert "'unsafe-eval'" not in CSP  # no script from strings
    assert "'unsafe-inline'" not in CSP


@pytest.mark.parametrize(
    ("path", "mime"),
    [
        ("/build/wasm/vector_bg.wasm", "application/wasm"),
        ("/build/wasm/vector.js", "text/javascript; charset=utf-8"),
        ("/pyodide/pyodide.mjs", "text/javascript; charset=utf-8"),
        ("/build/py_agent.zip", "application/zip"),
        ("/build/precache.json", "application/json"),
        ("/manifest.webmanifest", "application/manifest+json"),
        ("/icon-192.png", "image/png"),
        ("/icon.svg", "image/svg+xml"),
    ],
)
def test_mime_types(server_url: str, path: str, mime: str) -> None:
    status, headers, body = fetch(server_url, path)
    assert status == 200, path
    assert headers["content-type"] == mime
    assert int(headers["content-length"]) == len(body) > 0


def test_head_has_headers_and_no_body(server_url: str) -> None:
    status, headers, body = fetch(server_url, "/build/wasm/vector_bg.wasm", "HEAD")
    assert status == 200
    assert int(headers["content-length"]) > 0
    assert body == b""


@pytest.mark.parametrize(
    "path",
    [
        "/missing.html",
        "/../pyproject.toml",
        "/%2e%2e/pyproject.toml",
        "/py_agent/../build_tools/serve.py",
        "/py_agent/__init__.py",
        "/models/sources/gemma-3-270m-q4_k_m.gguf",
        "/models/gemma-3-270m/../../pyproject.toml",
        "/.gitignore",
        "/build/wasm/.hidden",
        "/pyodide/..%2f..%2fpackage.json",
    ],
)
def test_unknown_and_escaping_paths_are_404(server_url: str, path: str) -> None:
    status, headers, _ = fetch(server_url, path)
    assert status == 404
    assert headers["cross-origin-resource-policy"] == "same-origin"


def test_writes_are_refused(server_url: str) -> None:
    status, _, body = fetch(server_url, "/index.html", "POST")
    assert status == 405
    assert body.startswith(b"405")


def test_py_agent_mount_serves_only_python(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "secret.txt").write_text("no\n")
    mounts = (Mount("/p/", tmp_path, (".py",)),)
    assert resolve("/p/a.py", mounts) == tmp_path / "a.py"
    assert resolve("/p/a.py?v=1", mounts) == tmp_path / "a.py"
    assert resolve("/p/secret.txt", mounts) is None
    assert resolve("/elsewhere/a.py", mounts) is None


def test_symlink_out_of_a_mount_is_refused(tmp_path: Path) -> None:
    inside = tmp_path / "site"
    inside.mkdir()
    (tmp_path / "outside.txt").write_text("secret")
    (inside / "link.txt").symlink_to(tmp_path / "outside.txt")
    assert resolve("/link.txt", (Mount("/", inside),)) is None


def test_directory_path_serves_its_index() -> None:
    assert resolve("/", MOUNTS) == resolve("/index.html", MOUNTS) is not None


def test_content_type_fallbacks() -> None:
    assert content_type(Path("x.WASM")) == "application/wasm"
    assert content_type(Path("x.gif")) == "image/gif"
    assert content_type(Path("x.unknownext")) == "application/octet-stream"
