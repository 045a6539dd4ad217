"""Load test of the edge worker on local workerd (issue 8): latency, errors, memory, bundle size.

    .venv/bin/python bench/edge_load.py [--requests 20000] [--concurrency 16] [--runs 3]
                                        [--json PATH]

Builds the edge bundle (build_tools/edge_build.py) into a temporary folder from the built
artifacts (`make build model index`), starts workerd on a free loopback port with one fresh API
key and rate limits out of the way, warms every endpoint once, then per run sends `--requests`
mixed requests (search BM25 / hybrid with a 384-d vector, tokenize, count_tokens, detokenize in
turn; build_tools.edge_build.mixed_calls) over `--concurrency` keep-alive connections from an
asyncio client in this process, then `--sequential` of them one at a time (each endpoint's own
latency). Reports p50/p99/max latency, requests per second, every status
(a 5xx fails the run: exit code 1), workerd's resident memory (before the first request, peak
after the runs, and the difference: what the worker itself costs, against Cloudflare's 128 MB
per isolate), the wasm memories the worker reports, and the bundle's compressed size against
Cloudflare's 10 MB limit. Not a test: results go to docs/benchmarks.md ("Edge worker").
"""

import argparse
import json
import platform
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from build_tools.corpus_index import INDEX_ID, load_embeddings  # noqa: E402
from build_tools.edge_build import (  # noqa: E402
    CLOUDFLARE_BUNDLE_LIMIT,
    CLOUDFLARE_MEMORY_LIMIT,
    EdgeSettings,
    build_edge,
    bundle_size,
    hash_key,
    load_test,
    mixed_calls,
    new_key,
    process_memory,
    running_workerd,
)
from build_tools.paths import MODELS_CACHE  # noqa: E402

QUERIES = [
    "how do I list installed packages",
    "network configuration",
    "set up sudo",
    "Debian release codenames",
    "ssh keys",
    "edge worker API keys",
    "reciprocal rank fusion",
    "mount a USB stick",
]
MB = 2**20  # MiB, as Cloudflare counts its limits


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--requests", type=int, default=20_000)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--sequential", type=int, default=2_000, help="requests at concurrency 1")
    p.add_argument("--json", type=Path, help="write every number here")
    args = p.parse_args()

    embeddings = load_embeddings(MODELS_CACHE / INDEX_ID)
    vectors = [[float(v) for v in embeddings[i]] for i in range(0, len(embeddings), 37)]
    calls = mixed_calls(args.requests, QUERIES, vectors)
    key = new_key()
    settings = EdgeSettings(
        key_hashes=(hash_key(key),), rate_limit_per_minute=10**9, rate_limit_burst=10**9
    )
    with tempfile.TemporaryDirectory(prefix="gea-edge-bench-") as tmp:
        bundle = build_edge(Path(tmp) / "build", log=lambda _: None)
        size = bundle_size(bundle)
        with running_workerd(settings, build=bundle) as (url, proc):
            idle = process_memory(proc.pid)["VmRSS"]
            load_test(url, key, mixed_calls(10, QUERIES, vectors), 1)  # loads every asset
            loaded = process_memory(proc.pid)["VmRSS"]
            runs: list[dict[str, Any]] = []
            for _ in range(args.runs):
                r = load_test(url, key, calls, args.concurrency)
                runs.append(
                    {
                        "seconds": r.seconds,
                        "rps": r.rps,
                        "p50_ms": r.percentile(50),
                        "p99_ms": r.percentile(99),
                        "max_ms": max(r.latencies_ms),
                        "statuses": {str(k): v for k, v in sorted(r.statuses.items())},
                        "server_errors": r.server_errors,
                        "by_path": {
                            path: {
                                "p50_ms": r.percentile(50, path),
                                "p99_ms": r.percentile(99, path),
                            }
                            for path in sorted(r.by_path)
                        },
                    }
                )
                print(
                    f"{r.requests} requests, concurrency {r.concurrency}: {r.seconds:.2f} s, "
                    f"{r.rps:,.0f} req/s, p50 {r.percentile(50):.2f} ms, "
                    f"p99 {r.percentile(99):.2f} ms, statuses {dict(r.statuses)}",
                    flush=True,
                )
            # One connection, one request at a time: each endpoint's own time (at concurrency
            # 16 every endpoint mostly waits its turn in the single-threaded isolate).
            seq = load_test(url, key, calls[: args.sequential], 1)
            sequential = {
                path: {"p50_ms": seq.percentile(50, path), "p99_ms": seq.percentile(99, path)}
                for path in sorted(seq.by_path)
            }
            memory = process_memory(proc.pid)
            with urllib.request.urlopen(f"{url}/v1/health") as resp:
                wasm = json.loads(resp.read())["wasm_memory_bytes"]
    peak = memory["VmHWM"]
    doc: dict[str, Any] = {
        "requests": args.requests,
        "concurrency": args.concurrency,
        "runs": runs,
        "median": {
            name: statistics.median(float(run[name]) for run in runs)
            for name in ("rps", "p50_ms", "p99_ms", "max_ms")
        },
        "server_errors": sum(run["server_errors"] for run in runs),
        "sequential": {"requests": seq.requests, "rps": seq.rps, "by_path": sequential},
        "memory": {
            "idle_rss": idle,
            "loaded_rss": loaded,
            "peak_rss": peak,
            "worker": peak - idle,
            "wasm": wasm,
            "limit": CLOUDFLARE_MEMORY_LIMIT,
        },
        "bundle": {
            "raw": size.raw,
            "gzip": size.gzip,
            "assets_raw": size.assets_raw,
            "assets_gzip": size.assets_gzip,
            "limit": CLOUDFLARE_BUNDLE_LIMIT,
        },
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
    }
    med = doc["median"]
    print(
        f"median of {len(runs)}: {med['rps']:,.0f} req/s, p50 {med['p50_ms']:.2f} ms, "
        f"p99 {med['p99_ms']:.2f} ms, max {med['max_ms']:.1f} ms; 5xx: {doc['server_errors']}\n"
        f"workerd RSS: {idle / MB:.1f} MB before the first request, {loaded / MB:.1f} MB with "
        f"everything loaded, peak {peak / MB:.1f} MB; the worker: {(peak - idle) / MB:.1f} MB "
        f"(limit {CLOUDFLARE_MEMORY_LIMIT / MB:.0f} MB), of which wasm memory "
        + ", ".join(f"{k} {v / MB:.1f} MB" for k, v in wasm.items())
        + f"\nbundle: {size.raw / MB:.2f} MB, {size.gzip / MB:.3f} MB gzipped; assets "
        f"{size.assets_raw / MB:.2f} MB, {size.assets_gzip / MB:.2f} MB gzipped; all together "
        f"{(size.gzip + size.assets_gzip) / MB:.2f} MB of {CLOUDFLARE_BUNDLE_LIMIT / MB:.0f} MB"
    )
    print(f"one request at a time ({seq.requests} requests, {seq.rps:,.0f} req/s):")
    for path, t in sequential.items():
        print(f"  {path}: p50 {t['p50_ms']:.2f} ms, p99 {t['p99_ms']:.2f} ms")
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 1 if doc["server_errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
