"""Vector search in headless Chromium: ours (vector.wasm) beside hnswlib-wasm, voy-search, plain JS.

    .venv/bin/python bench/vector_browser.py --data DIR [--runs 3] [--json PATH]
        [--ef 16,32,64,128,256] [--peer-ef 16,32,50,64,100,128,256] [--m 16]
        [--ef-construction 200] [--queries N] [--skip voy,int8,flat]

The page (bench/vector/) runs the same harness as bench/vector_search.mjs in Node
(bench/vector/harness.mjs) on the same vectors (DIR from bench/vector_data.py --out DIR): our
`HnswIndex` (f32, int8) and `FlatIndex`, `hnswlib-wasm` and `voy-search` (npm devDependencies,
served from node_modules) and a plain-JS brute force; QPS (one thread, one query at a time,
k = 10), recall@10 against the exact top 10, build time, wasm heap (a page has no process RSS:
RSS growth is null) and ours ÷ the best peer at the same recall. Prints the same table as the
Node script. Needs `make build`, `npm ci`. Not a test: results go to docs/benchmarks.md.
"""

import argparse
import json
import subprocess
import sys
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from build_tools.chromium import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402
from build_tools.paths import NODE_MODULES, WEB_DIR  # noqa: E402
from build_tools.serve import CSP, SECURITY_HEADERS, AppHandler  # noqa: E402
from build_tools.site import Mount  # noqa: E402

# hnswlib-wasm is Emscripten embind, which builds its method invokers with `new Function`, so
# under the app's CSP (no 'unsafe-eval') it fails to load. Only this benchmark page, which serves
# that peer, adds 'unsafe-eval'; the app itself never gets it (build_tools/serve.py).
BENCH_CSP = CSP.replace(
    "script-src 'self' 'wasm-unsafe-eval'", "script-src 'self' 'wasm-unsafe-eval' 'unsafe-eval'"
)
assert BENCH_CSP != CSP
BENCH_HEADERS = {**SECURITY_HEADERS, "Content-Security-Policy": BENCH_CSP}


def make_handler(data_dir: Path) -> type[AppHandler]:
    class BenchHandler(AppHandler):
        quiet = True
        security_headers: ClassVar[dict[str, str]] = BENCH_HEADERS
        mounts = (
            Mount("/bench/", ROOT / "bench" / "vector"),
            Mount("/data/", data_dir, (".f32", ".json")),
            Mount("/nm/hnswlib-wasm/", NODE_MODULES / "hnswlib-wasm"),
            Mount("/nm/voy-search/", NODE_MODULES / "voy-search"),
            Mount("/", WEB_DIR),
        )

    return BenchHandler


def efs(s: str) -> list[int]:
    return [int(v) for v in s.split(",") if v]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="from bench/vector_data.py --out")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ef", type=efs, default=efs("16,32,64,128,256"), help="ours")
    ap.add_argument("--peer-ef", type=efs, default=efs("16,32,50,64,100,128,256"))
    ap.add_argument("--m", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--queries", type=int, help="use the first N queries only")
    ap.add_argument("--skip", default="", help="comma-separated: voy, int8, flat")
    ap.add_argument("--json", type=Path)
    ap.add_argument(
        "--timeout", type=float, default=3600, help="seconds for the whole run in the page (3600)"
    )
    args = ap.parse_args()
    if not (args.data / "vectors.json").is_file():
        ap.error(f"{args.data}/vectors.json missing: run bench/vector_data.py --out {args.data}")

    from playwright.sync_api import sync_playwright

    chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(args.data.resolve()))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    opts = {
        "dataUrl": "/data/",
        "runs": args.runs,
        "ourEfs": args.ef,
        "peerEfs": args.peer_ef,
        "m": args.m,
        "efConstruction": args.ef_construction,
        "maxQueries": args.queries,
        "skip": [s for s in args.skip.split(",") if s],
    }
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
            )
            page = browser.new_page()
            page.on("console", lambda m: print("page:", m.text, file=sys.stderr, flush=True))
            page.on("pageerror", lambda e: print("page error:", e, file=sys.stderr, flush=True))
            page.goto(url + "bench/index.html")
            page.wait_for_function("window.benchReady === true", timeout=60_000)
            # The run takes minutes and page.evaluate has no timeout of its own: start it, then
            # wait (with a deadline) for its result or its error.
            page.evaluate(
                """(o) => {
                    window.runVectorBench(o).then(
                        (r) => { window.vectorResult = r; },
                        (e) => { window.vectorError = String((e && e.stack) || e); });
                }""",
                opts,
            )
            page.wait_for_function(
                # a function, not an expression: polling an expression would eval() it in the
                # page, which the CSP forbids
                "() => window.vectorResult !== undefined || window.vectorError !== undefined",
                timeout=args.timeout * 1000,
                polling=500,
            )
            error = page.evaluate("() => window.vectorError")
            if error:
                print(f"the page failed: {error}", file=sys.stderr)
                return 1
            out: dict[str, Any] = page.evaluate("() => window.vectorResult")
            browser.close()
    finally:
        server.shutdown()
    report: dict[str, Any] = out["report"]
    report["environment"]["chromium"] = chromium.strip()
    print(chromium.strip())
    print("\n".join(out["lines"]))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
