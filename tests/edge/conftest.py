"""Fixtures of the edge worker tests: the bundle built from the real artifacts (wasm modules,
the default model's vocabulary, the corpus index) into a temporary folder, and real workerd
processes serving it on free loopback ports."""

import http.client
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from build_tools.edge_build import (
    EdgeSettings,
    build_edge,
    hash_key,
    new_key,
    process_memory,
    running_workerd,
)
from build_tools.paths import WEB_BUILD

ALLOWED_ORIGIN = "https://app.example"
MAX_BODY = 65_536


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.raw)


@dataclass
class Edge:
    url: str
    pid: int
    log: Path
    keys: list[str]
    idle_rss: int  # workerd's resident memory serving this worker before its first request

    @property
    def key(self) -> str:
        return self.keys[0]

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        host, _, port = self.url.removeprefix("http://").partition(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        try:
            conn.request(method, path, body=body, headers=dict(headers or {}))
            resp = conn.getresponse()
            return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def post(
        self, path: str, doc: object, key: str | None = "", headers: Mapping[str, str] | None = None
    ) -> Reply:
        """POST `doc` as JSON with this edge's first key (`key=None`: no key at all)."""
        h = {"content-type": "application/json"}
        if key is not None:
            h["authorization"] = f"Bearer {key or self.key}"
        body = json.dumps(doc, ensure_ascii=False).encode()
        return self.request("POST", path, body, {**h, **(headers or {})})


@pytest.fixture(scope="session")
def edge_bundle(
    default_model: Path, default_index: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    wasm = WEB_BUILD / "wasm"
    assert (wasm / "manifest.json").is_file(), f"{wasm} is missing: run `make build`"
    out = tmp_path_factory.mktemp("edge") / "build"
    return build_edge(out, model_dir=default_model, log=lambda _: None)


def _serve(bundle: Path, tmp: Path, **settings: Any) -> Iterator[Edge]:
    keys = [new_key(), new_key()]
    log = tmp / "workerd.log"
    with log.open("wb") as sink:
        config = EdgeSettings(
            key_hashes=tuple(hash_key(k) for k in keys),
            allowed_origins=(ALLOWED_ORIGIN,),
            max_body_bytes=MAX_BODY,
            **settings,
        )
        with running_workerd(config, build=bundle, log=sink) as (url, proc):
            yield Edge(url, proc.pid, log, keys, process_memory(proc.pid)["VmRSS"])


@pytest.fixture(scope="session")
def edge(edge_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    """Generous rate limits: the load test goes through this one."""
    yield from _serve(
        edge_bundle,
        tmp_path_factory.mktemp("edge-main"),
        rate_limit_per_minute=10_000_000,
        rate_limit_burst=1_000_000,
    )


@pytest.fixture(scope="session")
def edge_limited(edge_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Edge]:
    """5 requests at once per key, then one every 10 s."""
    yield from _serve(
        edge_bundle,
        tmp_path_factory.mktemp("edge-limited"),
        rate_limit_per_minute=6,
        rate_limit_burst=5,
    )
