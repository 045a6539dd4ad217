"""Local static server for the app: cross-origin isolated, strict CSP, loopback only."""

import mimetypes
import shutil
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from build_tools.site import MOUNTS, Mount, resolve

# Nothing may come from a remote origin, and no script is made from a string (no 'unsafe-eval'):
# Pyodide, onnxruntime-web and the Rust modules only compile wasm ('wasm-unsafe-eval'); styles
# come from app.css only.
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "img-src 'self' data: blob:",
        "style-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)

SECURITY_HEADERS = {
    # Cross-origin isolation: SharedArrayBuffer, so wasm threads.
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".wasm": "application/wasm",
    ".py": "text/x-python; charset=utf-8",
    ".ts": "text/plain; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/markdown; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".zip": "application/zip",
    ".whl": "application/zip",
    ".tar": "application/x-tar",
    ".onnx": "application/octet-stream",
    ".bin": "application/octet-stream",
}


def content_type(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in MIME_TYPES:
        return MIME_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


class AppHandler(BaseHTTPRequestHandler):
    server_version = "GemmaEdgeAgent"
    sys_version = ""
    quiet = False
    mounts: tuple[Mount, ...] = MOUNTS  # benchmarks serve their own pages over the same handler
    # Benchmarks may serve a peer under other headers (a subclass's copy); the app never does.
    security_headers: ClassVar[dict[str, str]] = SECURITY_HEADERS

    def _send_security_headers(self) -> None:
        for name, value in self.security_headers.items():
            self.send_header(name, value)

    def _error(self, status: HTTPStatus) -> None:
        body = f"{status.value} {status.phrase}\n".encode()
        self.send_response(status)
        self._send_security_headers()
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _serve(self, send_body: bool) -> None:
        path = resolve(self.path, self.mounts)
        if path is None:
            self._error(HTTPStatus.NOT_FOUND)
            return
        size = path.stat().st_size
        self.send_response(HTTPStatus.OK)
        self._send_security_headers()
        self.send_header("Content-Type", content_type(path))
        self.send_header("Content-Length", str(size))
        # Development server: always revalidate; the service worker owns offline caching.
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if send_body:
            with path.open("rb") as f:
                shutil.copyfileobj(f, self.wfile)

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _not_allowed(self) -> None:
        self._error(HTTPStatus.METHOD_NOT_ALLOWED)

    do_POST = do_PUT = do_DELETE = do_PATCH = _not_allowed  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        if not self.quiet:
            super().log_message(format, *args)


def make_server(
    host: str = "127.0.0.1", port: int = 8000, quiet: bool = False
) -> ThreadingHTTPServer:
    handler = type("Handler", (AppHandler,), {"quiet": quiet})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def url_of(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host!s}:{port}/"
