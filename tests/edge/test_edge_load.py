"""A bounded load test of the edge worker from a local client (2,000 mixed requests over 16
keep-alive connections; `bench/edge_load.py` runs the full 20,000 and records the numbers in
docs/benchmarks.md): no 5xx, every request answered 200, the worker's memory under Cloudflare's
128 MB isolate limit, the bundle under the 10 MB compressed limit.

The worker's memory is workerd's peak resident memory minus what the same process held before
the worker's first request (the runtime itself, ~55-60 MB here, is shared by every isolate on
Cloudflare and not counted against one); its wasm memories, which the health endpoint reports,
are part of it."""

from pathlib import Path

import numpy as np

from build_tools.corpus_index import INDEX_ID, load_embeddings
from build_tools.edge_build import (
    CLOUDFLARE_BUNDLE_LIMIT,
    CLOUDFLARE_MEMORY_LIMIT,
    bundle_size,
    load_test,
    mixed_calls,
    process_memory,
)
from build_tools.paths import MODELS_CACHE
from tests.edge.conftest import Edge

REQUESTS = 2_000
CONCURRENCY = 16


def test_load_has_no_server_errors_and_stays_in_memory(edge: Edge) -> None:
    embeddings = load_embeddings(MODELS_CACHE / INDEX_ID)
    vectors = [[float(v) for v in embeddings[i]] for i in range(0, 200, 10)]
    queries = ["install packages", "network configuration", "sudo", "Debian release", "ssh keys"]
    result = load_test(edge.url, edge.key, mixed_calls(REQUESTS, queries, vectors), CONCURRENCY)
    assert result.statuses == {200: REQUESTS}
    assert result.server_errors == 0
    assert len(result.latencies_ms) == REQUESTS
    assert result.percentile(50) <= result.percentile(99)
    memory = process_memory(edge.pid)
    worker = memory["VmHWM"] - edge.idle_rss
    assert worker < CLOUDFLARE_MEMORY_LIMIT, (memory, edge.idle_rss)
    wasm = edge.request("GET", "/v1/health").json["wasm_memory_bytes"]
    assert set(wasm) == {"tokenizer", "vector"}
    assert sum(wasm.values()) < worker


def test_bundle_fits_cloudflares_compressed_limit(edge_bundle: Path) -> None:
    size = bundle_size(edge_bundle)
    assert size.gzip < CLOUDFLARE_BUNDLE_LIMIT
    assert size.fits
    assert size.raw > size.gzip > 50_000  # code + the two wasm modules
    # Even with the vocabulary and the index bundled as modules, it would fit.
    assert size.assets_raw > size.assets_gzip > 1_000_000
    assert size.fits_all_bundled


def test_vectors_are_unit_length() -> None:
    embeddings = load_embeddings(MODELS_CACHE / INDEX_ID)
    assert np.allclose(np.linalg.norm(embeddings[:10], axis=1), 1.0, atol=1e-3)
