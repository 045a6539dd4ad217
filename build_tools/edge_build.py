"""`python -m build_tools edge build|serve|key`: the edge worker (edge/) on local workerd.

`build` copies what the worker bundles into edge/build/ (git-ignored), each file read through
its manifest and checked against its sha256 first:

- wasm/     tokenizer_bg.wasm + tokenizer.js, vector_bg.wasm + vector.js (web/build/wasm/)
- data/     analyzer.json (the Unicode tables of Python's BM25 analyzer) and meta.json (what was
            built from what, and the size and sha256 of every asset), bundled as modules
- assets/   tokenizer.gtok (the default model's vocabulary), passages.json and dense.idx (the
            corpus index), bm25.json (the index's BM25 with Python's idf of every term in front
            of its postings): loaded at run time from bound storage (the ASSETS binding), each
            checked against meta.json
- manifest.json over all of it.

`serve` writes config.capnp (the worker, its bundled modules, its settings as bindings, the
assets as a read-only disk service, a socket on 127.0.0.1:8787) and runs workerd on it. `key`
makes a new API key and prints its SHA-256, the form the worker stores. docs/EDGE.md describes
the API, the settings and deployment.
"""

import argparse
import asyncio
import concurrent.futures
import gzip
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from build_tools.errors import BuildError
from build_tools.manifest import read_manifest, sha256_file, write_manifest
from build_tools.paths import MODELS_CACHE, NODE_MODULES, ROOT, WEB_BUILD

EDGE_DIR = ROOT / "edge"
EDGE_SRC = EDGE_DIR / "src"
EDGE_BUILD = EDGE_DIR / "build"
DEV_KEY_FILE = EDGE_DIR / ".dev-key"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
COMPATIBILITY_DATE = "2025-09-01"
BUNDLE_FORMAT = 1
INDEX_ID = "corpus-index"
WASM_FILES = ("tokenizer.js", "tokenizer_bg.wasm", "vector.js", "vector_bg.wasm")
INDEX_FILES = ("index.json", "passages.json", "bm25.json", "dense.idx")
# Cloudflare Workers' limits the bundle and the isolate are measured against.
CLOUDFLARE_BUNDLE_LIMIT = 10 * 1024 * 1024  # compressed, paid plan
CLOUDFLARE_MEMORY_LIMIT = 128 * 1024 * 1024  # per isolate
KEY_PREFIX = "gea_"
# Assets are stored in parts: one response for the whole 9.6 MB vocabulary costs workerd ~3x its
# size in transient buffers (measured), and memory is the tight limit (128 MB per isolate).
ASSET_PART_SIZE = 1 << 20
# V8's heap capped as on Cloudflare, where an isolate has 128 MB in all: old space 64 MB (the
# wasm memories, ~49 MB, come on top) and 1 MB semi-spaces. Uncapped, V8 grows the heap lazily
# under load (measured: 244 MB resident after 20,000 requests, 166 MB capped, same throughput),
# and workerd's memory would say nothing about what the worker needs; capped, a worker that
# needed more would fail here as it would there.
LOCAL_V8_FLAGS = ("--max-old-space-size=64", "--max-semi-space-size=1")
_MODULE_KINDS = {".js": "esModule", ".wasm": "wasm", ".json": "json"}


# --- files, read through their manifests -----------------------------------------------------


def verified_files(folder: Path, names: Sequence[str]) -> dict[str, Path]:
    """`names` in `folder`, each listed in its manifest.json and matching its size and sha256."""
    doc = read_manifest(folder)
    raw = doc.get("files")
    if not isinstance(raw, list):
        raise BuildError(f"manifest in {folder} has no file list")
    listed = {str(item["path"]): item for item in raw}
    out: dict[str, Path] = {}
    for name in names:
        entry = listed.get(name)
        if entry is None:
            raise BuildError(f"{folder} lacks {name} in its manifest: rebuild it")
        path = folder / name
        if not path.is_file():
            raise BuildError(f"{name} is listed in the manifest of {folder} but missing")
        if path.stat().st_size != int(entry["size"]) or sha256_file(path) != entry["sha256"]:
            raise BuildError(f"{name} in {folder} does not match its manifest (size/sha256)")
        out[name] = path
    return out


def model_vocab(model_dir: Path) -> tuple[Path, str]:
    """The model's `.gtok` vocabulary (through model.json and the manifest) and the model id."""
    if not model_dir.is_dir():
        raise BuildError(f"model {model_dir.name} is not built: run `make model`")
    doc = json.loads(verified_files(model_dir, ["model.json"])["model.json"].read_text())
    vocab = doc.get("tokenizer", {}).get("vocab")
    if not isinstance(vocab, str):
        raise BuildError(f"{model_dir} has no tokenizer vocabulary: rebuild the model")
    return verified_files(model_dir, [vocab])[vocab], model_dir.name


# --- what the worker needs that only Python knows --------------------------------------------


def _ranges(codepoints: Sequence[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for cp in codepoints:
        if out and out[-1][1] == cp - 1:
            out[-1][1] = cp
        else:
            out.append([cp, cp])
    return out


def analyzer_tables() -> dict[str, Any]:
    """The Unicode behaviour of py_agent.retrieval.bm25.analyze, as data for the worker.

    `word`: code point ranges of the regex class `[^\\W_]` (Python's, not JavaScript's),
    `digits`: those for which `str.isdigit()` holds (the 1-character tokens kept),
    `casefold`: every code point whose `str.casefold()` differs from itself. NFKC itself is
    the runtime's `String.prototype.normalize`.
    """
    from py_agent.retrieval import bm25

    pattern = bm25._TOKEN
    word: list[int] = []
    digits: list[int] = []
    fold: dict[str, str] = {}
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        if pattern.fullmatch(ch):
            word.append(cp)
            if ch.isdigit():
                digits.append(cp)
        folded = ch.casefold()
        if folded != ch:
            fold[ch] = folded
    return {
        "unicode": unicodedata.unidata_version,
        "pattern": pattern.pattern,
        "word": _ranges(word),
        "digits": _ranges(digits),
        "casefold": fold,
    }


def edge_bm25(doc: dict[str, Any]) -> dict[str, Any]:
    """bm25.json with Python's idf in front of each term's postings and Python's average
    passage length, so that the worker recomputes no float differently."""
    from py_agent.retrieval import Bm25Index

    index = Bm25Index.from_json(doc)
    lengths = index.doc_lengths
    return {
        "format": 1,
        "k1": index.k1,
        "b": index.b,
        "avg_len": (sum(lengths) / len(lengths) or 1.0) if lengths else 1.0,
        "doc_ids": index.doc_ids,
        "doc_lengths": lengths,
        "terms": {
            term: [index.idf(term), *(n for pair in plist for n in pair)]
            for term, plist in sorted(index.postings.items())
        },
    }


def write_parts(data: bytes, folder: Path, part_size: int = ASSET_PART_SIZE) -> dict[str, Any]:
    """`data` as folder/0, folder/1, ... of at most `part_size` bytes; returns what the worker
    checks: the whole size and sha256, and each part's."""
    folder.mkdir(parents=True)
    parts = []
    for i, at in enumerate(range(0, max(len(data), 1), part_size)):
        chunk = data[at : at + part_size]
        (folder / str(i)).write_bytes(chunk)
        parts.append({"size": len(chunk), "sha256": hashlib.sha256(chunk).hexdigest()})
    return {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "parts": parts}


# --- build -----------------------------------------------------------------------------------


def build_edge(
    out: Path = EDGE_BUILD,
    *,
    model_dir: Path | None = None,
    index_dir: Path = MODELS_CACHE / INDEX_ID,
    wasm_dir: Path = WEB_BUILD / "wasm",
    log: Callable[[str], None] = print,
) -> Path:
    """Stage the bundle's generated half in a temporary folder, then rename it to `out`."""
    from build_tools.default_model import MODEL_ID

    wasm = verified_files(wasm_dir, WASM_FILES)
    vocab, model_id = model_vocab(model_dir or MODELS_CACHE / MODEL_ID)
    if not index_dir.is_dir():
        raise BuildError(f"no document index at {index_dir}: run `make index`")
    index = verified_files(index_dir, INDEX_FILES)
    index_doc = json.loads(index["index.json"].read_text())
    passages = json.loads(index["passages.json"].read_text())["passages"]
    if [p["id"] for p in passages] != list(range(len(passages))):
        raise BuildError(f"{index_dir}/passages.json: passage ids are not their rows")
    rows, dim = index_doc["embeddings"]["shape"]
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.") as tmp:
        staged = Path(tmp) / out.name
        assets = staged / "assets"
        for sub in ("wasm", "data", "assets"):
            (staged / sub).mkdir(parents=True)
        for name, path in wasm.items():
            shutil.copyfile(path, staged / "wasm" / name)
        bm25 = edge_bm25(json.loads(index["bm25.json"].read_text()))
        asset_specs = {
            "tokenizer.gtok": write_parts(vocab.read_bytes(), assets / "tokenizer.gtok"),
            "dense.idx": write_parts(index["dense.idx"].read_bytes(), assets / "dense.idx"),
            "passages.json": write_parts(
                index["passages.json"].read_bytes(), assets / "passages.json"
            ),
            "bm25.json": write_parts(
                json.dumps(bm25, ensure_ascii=False).encode(), assets / "bm25.json"
            ),
        }
        tables = analyzer_tables()
        (staged / "data" / "analyzer.json").write_text(json.dumps(tables, ensure_ascii=False))
        meta = {
            "version": BUNDLE_FORMAT,
            "model": model_id,
            "passages": rows,
            "dim": dim,
            "index_key": index_doc.get("key"),
            "unicode": tables["unicode"],
            "assets": asset_specs,
        }
        (staged / "data" / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        write_manifest(staged, "edge-bundle", {"model": model_id, "passages": rows})
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        if out.exists():
            out.rename(old)
        staged.rename(out)
        if old.exists():
            shutil.rmtree(old)
    log(f"edge bundle: {out} ({rows} passages, model {model_id})")
    return out


def bundle_modules(build: Path = EDGE_BUILD, src: Path = EDGE_SRC) -> list[tuple[str, Path]]:
    """(module name, file) of everything the worker bundles; the main module first. Names
    mirror the layout under edge/, so that the sources' `../build/...` imports resolve the same
    in workerd and in wrangler."""
    sources = sorted(src.glob("*.js"), key=lambda p: (p.name != "index.js", p.name))
    if not sources or sources[0].name != "index.js":
        raise BuildError(f"{src} has no index.js")
    generated = sorted(
        p for sub in ("wasm", "data") for p in (build / sub).glob("*") if p.is_file()
    )
    out = [(f"src/{p.name}", p) for p in sources]
    out += [(f"build/{p.relative_to(build).as_posix()}", p) for p in sorted(generated)]
    return out


@dataclass(frozen=True)
class BundleSize:
    """Bytes of the worker bundle (code, wasm, small data modules) and of its assets; `gzip`:
    each file gzipped at level 9, summed (Cloudflare's 10 MB limit is on the compressed
    bundle; assets count separately, 25 MiB per file)."""

    raw: int
    gzip: int
    assets_raw: int
    assets_gzip: int

    @property
    def fits(self) -> bool:
        return self.gzip <= CLOUDFLARE_BUNDLE_LIMIT

    @property
    def fits_all_bundled(self) -> bool:
        """Whether the worker would fit even with its assets bundled as modules."""
        return self.gzip + self.assets_gzip <= CLOUDFLARE_BUNDLE_LIMIT


def _sizes(paths: Sequence[Path]) -> tuple[int, int]:
    raw = packed = 0
    for path in paths:
        data = path.read_bytes()
        raw += len(data)
        packed += len(gzip.compress(data, compresslevel=9, mtime=0))
    return raw, packed


def bundle_size(build: Path = EDGE_BUILD, src: Path = EDGE_SRC) -> BundleSize:
    raw, packed = _sizes([path for _, path in bundle_modules(build, src)])
    assets_raw, assets_packed = _sizes(
        sorted(p for p in (build / "assets").rglob("*") if p.is_file())
    )
    return BundleSize(raw, packed, assets_raw, assets_packed)


# --- settings, keys, config.capnp ------------------------------------------------------------


def hash_key(key: str) -> str:
    """What the worker stores of an API key: the SHA-256 of its UTF-8 bytes, hex."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A new API key: 256 random bits, URL-safe."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


_HEX64 = re.compile(r"[0-9a-f]{64}")
_ORIGIN = re.compile(r"https?://[^/\s*]+")


@dataclass(frozen=True)
class EdgeSettings:
    """The worker's settings (text bindings; `key_hashes` is the secret API_KEY_HASHES)."""

    key_hashes: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    require_api_key: bool = True
    rate_limit_per_minute: int = 600
    rate_limit_burst: int = 60
    max_body_bytes: int = 262_144
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for h in self.key_hashes:
            if not _HEX64.fullmatch(h):
                raise BuildError(f"{h!r} is not a SHA-256 hex digest (64 lowercase hex digits)")
        for origin in self.allowed_origins:
            if not _ORIGIN.fullmatch(origin):
                raise BuildError(f"{origin!r} is not an origin (scheme://host[:port], no '*')")
        for name in ("rate_limit_per_minute", "rate_limit_burst", "max_body_bytes"):
            if getattr(self, name) <= 0:
                raise BuildError(f"{name} must be positive")
        if self.require_api_key and not self.key_hashes:
            raise BuildError("API keys are required but none is configured (--key-hash)")

    def bindings(self) -> dict[str, str]:
        return {
            "API_KEY_HASHES": ",".join(self.key_hashes),
            "ALLOWED_ORIGINS": ",".join(self.allowed_origins),
            "REQUIRE_API_KEY": "true" if self.require_api_key else "false",
            "RATE_LIMIT_PER_MINUTE": str(self.rate_limit_per_minute),
            "RATE_LIMIT_BURST": str(self.rate_limit_burst),
            "MAX_BODY_BYTES": str(self.max_body_bytes),
            **self.extra,
        }


def _capnp_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid Cap'n Proto text literal


def write_config(
    settings: EdgeSettings,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    build: Path = EDGE_BUILD,
    src: Path = EDGE_SRC,
    v8_flags: Sequence[str] = LOCAL_V8_FLAGS,
) -> Path:
    """build/config.capnp: the worker with every bundled module embedded, its settings as
    bindings, one HTTP socket. Readable by its owner only (it holds the key digests)."""
    if not (build / "manifest.json").is_file():
        raise BuildError(f"{build} is not built: run `python -m build_tools edge build`")
    modules = []
    for name, path in bundle_modules(build, src):
        kind = _MODULE_KINDS.get(path.suffix, "data")
        rel = os.path.relpath(path, build)
        modules.append(f"    (name = {_capnp_string(name)}, {kind} = embed {_capnp_string(rel)}),")
    bindings = [
        f"    (name = {_capnp_string(k)}, text = {_capnp_string(v)}),"
        for k, v in settings.bindings().items()
    ]
    text = "\n".join(
        [
            "# Generated by `python -m build_tools edge serve`: do not edit.",
            'using Workerd = import "/workerd/workerd.capnp";',
            "",
            "const config :Workerd.Config = (",
            "  services = [",
            '    (name = "gea-edge", worker = .worker),',
            '    (name = "assets", disk = (path = '
            f"{_capnp_string(str((build / 'assets').resolve()))}, writable = false)),",
            "  ],",
            f"  v8Flags = [{', '.join(map(_capnp_string, v8_flags))}],",
            "  sockets = [(",
            '    name = "http",',
            f"    address = {_capnp_string(f'{host}:{port}')},",
            "    http = (),",
            '    service = "gea-edge",',
            "  )],",
            ");",
            "",
            "const worker :Workerd.Worker = (",
            "  modules = [",
            *modules,
            "  ],",
            "  bindings = [",
            '    (name = "ASSETS", service = "assets"),',
            *bindings,
            "  ],",
            f'  compatibilityDate = "{COMPATIBILITY_DATE}",',
            ");",
            "",
        ]
    )
    out = build / "config.capnp"
    out.touch(mode=0o600)
    out.chmod(0o600)
    out.write_text(text)
    return out


# --- running workerd -------------------------------------------------------------------------


def workerd_binary() -> Path:
    for candidate in (NODE_MODULES / ".bin" / "workerd", NODE_MODULES / "workerd/bin/workerd"):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise BuildError("workerd is not installed (npm package `workerd`): run `make setup`")


def free_port(host: str = DEFAULT_HOST) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


def wait_ready(url: str, proc: subprocess.Popen[bytes] | None, timeout: float = 30.0) -> None:
    """Poll GET {url}/v1/health until it answers 200 (or the process exits)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BuildError(f"workerd exited with status {proc.returncode} before serving")
        try:
            with urllib.request.urlopen(f"{url}/v1/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.05)
    raise BuildError(f"workerd did not answer on {url} within {timeout:.0f} s")


@contextmanager
def running_workerd(
    settings: EdgeSettings,
    *,
    build: Path = EDGE_BUILD,
    host: str = DEFAULT_HOST,
    port: int | None = None,
    log: IO[bytes] | int | None = subprocess.DEVNULL,
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """workerd serving the built bundle on a free loopback port: (base URL, process)."""
    port = port or free_port(host)
    config = write_config(settings, host=host, port=port, build=build)
    proc = subprocess.Popen(
        [workerd_binary(), "serve", config.name],
        cwd=build,
        stdout=log,
        stderr=subprocess.STDOUT if log is not None else None,
    )
    url = f"http://{host}:{port}"
    try:
        wait_ready(url, proc)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def process_memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in bytes (Linux /proc)."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0]) * 1024
    return out


# --- load test -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadResult:
    requests: int
    concurrency: int
    seconds: float
    statuses: dict[int, int]
    latencies_ms: list[float]
    by_path: dict[str, list[float]] = field(default_factory=dict)

    def percentile(self, q: float, path: str | None = None) -> float:
        ordered = sorted(self.latencies_ms if path is None else self.by_path[path])
        return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))]

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def _request_bytes(host: str, path: str, key: str, body: bytes) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
        elif name.strip().lower() == "transfer-encoding" and "chunked" in value.lower():
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await reader.readexactly(size + 2)
                if size == 0:
                    return status
    await reader.readexactly(length)
    return status


async def _load(
    host: str, port: int, key: str, calls: Sequence[tuple[str, bytes]], concurrency: int
) -> tuple[float, dict[int, int], list[float], dict[str, list[float]]]:
    statuses: dict[int, int] = {}
    latencies: list[float] = []
    by_path: dict[str, list[float]] = {}
    next_call = iter(range(len(calls)))

    async def client() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for i in next_call:
                path, body = calls[i]
                start = time.perf_counter()
                writer.write(_request_bytes(host, path, key, body))
                status = await _read_response(reader)
                ms = (time.perf_counter() - start) * 1000
                latencies.append(ms)
                by_path.setdefault(path, []).append(ms)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return time.perf_counter() - start, statuses, latencies, by_path


def load_test(
    url: str, key: str, calls: Sequence[tuple[str, bytes]], concurrency: int = 16
) -> LoadResult:
    """POST every (path, JSON body) of `calls` over `concurrency` keep-alive connections."""
    host, _, port = url.removeprefix("http://").partition(":")
    # On a thread of its own: the caller's thread may already run an event loop (Playwright's
    # sync API does, in the same pytest session), and asyncio.run refuses to nest.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        seconds, statuses, latencies, by_path = pool.submit(
            asyncio.run, _load(host, int(port), key, calls, concurrency)
        ).result()
    return LoadResult(len(calls), concurrency, seconds, statuses, latencies, by_path)


def mixed_calls(
    n: int, queries: Sequence[str], vectors: Sequence[list[float]]
) -> list[tuple[str, bytes]]:
    """n requests over every endpoint: search (BM25 and hybrid), tokenize, count, detokenize."""
    out: list[tuple[str, bytes]] = []
    for i in range(n):
        q = queries[i % len(queries)]
        kind = i % 5
        if kind == 0:
            out.append(("/v1/search", json.dumps({"query": q, "k": 5}).encode()))
        elif kind == 1:
            body = {"query": q, "k": 5, "vector": vectors[i % len(vectors)]}
            out.append(("/v1/search", json.dumps(body).encode()))
        elif kind == 2:
            out.append(("/v1/tokenize", json.dumps({"text": q}).encode()))
        elif kind == 3:
            out.append(("/v1/count_tokens", json.dumps({"text": q * 4}).encode()))
        else:
            ids = [2, *range(1000 + i % 500, 1020 + i % 500)]
            out.append(("/v1/detokenize", json.dumps({"ids": ids}).encode()))
    return out


# --- command line ----------------------------------------------------------------------------


def dev_key(path: Path | None = None) -> str:
    """The local development key (created on first use, readable by its owner only)."""
    path = path or DEV_KEY_FILE
    if not path.is_file():
        path.touch(mode=0o600)
        path.write_text(new_key() + "\n")
    return path.read_text().strip()


def settings_from_args(args: argparse.Namespace) -> EdgeSettings:
    hashes = [*args.key_hash, *os.environ.get("GEA_EDGE_KEY_HASHES", "").replace(",", " ").split()]
    if not hashes and not args.allow_anonymous:
        hashes = [hash_key(dev_key())]
        print(f"API key: none given, using the development key in {DEV_KEY_FILE}")
    return EdgeSettings(
        key_hashes=tuple(h.lower() for h in hashes),
        allowed_origins=tuple(args.origin),
        require_api_key=not args.allow_anonymous,
        rate_limit_per_minute=args.rate_limit,
        rate_limit_burst=args.burst,
        max_body_bytes=args.max_body,
    )


def _cmd(args: argparse.Namespace) -> None:
    if args.edge_command == "key":
        key = new_key()
        print(f"key:    {key}\nsha256: {hash_key(key)}")
        return
    if args.edge_command == "build" or not args.no_build:
        build_edge()
        size = bundle_size()
        print(
            f"worker bundle: {size.raw / 1e6:.2f} MB, {size.gzip / 1e6:.2f} MB gzipped "
            f"(Cloudflare's limit: {CLOUDFLARE_BUNDLE_LIMIT / 2**20:.0f} MiB compressed); "
            f"assets: {size.assets_raw / 1e6:.2f} MB, {size.assets_gzip / 1e6:.2f} MB gzipped"
        )
    if args.edge_command == "serve":
        settings = settings_from_args(args)
        config = write_config(settings, host=args.host, port=args.port)
        print(f"edge worker on http://{args.host}:{args.port}/v1/  (Ctrl+C stops)", flush=True)
        # workerd replaces this process, so that signals (Ctrl+C, kill) reach it directly.
        binary = workerd_binary()
        os.chdir(config.parent)
        os.execv(binary, [str(binary), "serve", config.name])


def register_cli(sub: Any) -> None:
    """The `edge` subcommand of `python -m build_tools`."""
    edge = sub.add_parser("edge", help="build / serve the edge worker on local workerd")
    cmds = edge.add_subparsers(dest="edge_command", required=True)
    cmds.add_parser("build", help="bundle wasm, vocabulary and index into edge/build/")
    cmds.add_parser("key", help="print a new API key and its SHA-256 (what the worker stores)")
    serve = cmds.add_parser("serve", help="build, write config.capnp and run workerd")
    serve.add_argument("--host", default=DEFAULT_HOST)
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--no-build", action="store_true", help="serve the existing bundle")
    serve.add_argument(
        "--key-hash",
        action="append",
        default=[],
        help="SHA-256 hex of a valid API key (repeatable; also GEA_EDGE_KEY_HASHES)",
    )
    serve.add_argument(
        "--origin", action="append", default=[], help="allowed CORS origin (repeatable)"
    )
    serve.add_argument("--allow-anonymous", action="store_true", help="no API key required")
    serve.add_argument("--rate-limit", type=int, default=600, help="requests per minute per key")
    serve.add_argument("--burst", type=int, default=60, help="requests at once per key")
    serve.add_argument("--max-body", type=int, default=262_144, help="request body bytes")
    edge.set_defaults(func=_cmd)


if __name__ == "__main__":  # pragma: no cover
    sys.exit("use `python -m build_tools edge ...`")
