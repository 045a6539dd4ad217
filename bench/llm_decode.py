"""Gemma 3 270M decode in headless Chromium: the project's WASM decoder vs wllama, same page.

Serves bench/llm_decode/ (a page + one ES module per engine), web/build/wasm/, wllama's esm/
from node_modules and the model files from one loopback origin with the project's own request
handler (build_tools.serve.AppHandler: COOP/COEP, so wllama can use wasm threads; strict CSP),
then drives /usr/bin/chromium with Playwright. For each engine and thread count it loads the
model in a fresh browser context, checks that greedy decoding of "Water boils at a temperature
of" starts with " 100", runs one untimed warm-up, then `--runs` timed runs of a `--prompt`-token
prompt (BOS + English prose, the same ids for both engines) + `--steps` greedy tokens: time to
first token, prefill tok/s and decode tok/s (median, min-max).

Our decoder is single-threaded (one wasm instance on the page's main thread), so it runs once
and its row stands beside wllama at 1 and at 2 threads. wllama runs CPU only (n_gpu_layers 0),
on the source GGUF (Q4_K_M) that our weights-exact.bin is transcoded from exactly.

Needs `make build`, `make model` and `npm ci` (devDependency @wllama/wllama).
Usage: .venv/bin/python bench/llm_decode.py [--runs 3] [--threads 1 2] [--json out.json]
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from build_tools.chromium import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402
from build_tools.paths import NODE_MODULES, WEB_DIR  # noqa: E402
from build_tools.serve import AppHandler  # noqa: E402
from build_tools.site import Mount  # noqa: E402

DASH, TIMES = "\u2013", "\u00d7"
MODELS = ROOT / "models_cache"
WLLAMA = NODE_MODULES / "@wllama" / "wllama"
MOUNTS = (
    Mount("/bench/", ROOT / "bench" / "llm_decode"),
    Mount("/wllama/", WLLAMA / "esm"),
    Mount("/models/", MODELS, (".gguf", ".bin", ".json")),
    Mount("/", WEB_DIR),
)
WEIGHTS_URL = "/models/gemma-3-270m/weights-exact.bin"
GGUF_URL = "/models/sources/gemma-3-270m-q4_k_m.gguf"


class BenchHandler(AppHandler):
    """The project's handler (same security headers) over the bench's mounts."""

    quiet = True
    mounts = MOUNTS


# The speed prompt: plain prose, cut to `--prompt` tokens (BOS included) with the model's own
# tokenizer.json; our decoder gets the ids, wllama the text (it tokenizes the same way + BOS).
PROSE = (
    "The old lighthouse stood at the edge of the harbour for more than two hundred years. Every "
    "evening the keeper climbed the spiral staircase, trimmed the wick, polished the great lens "
    "and wrote the weather in a leather book: the direction of the wind, the height of the waves, "
    "the ships that passed and the ones that did not return. Fishermen said that the light could "
    "be seen from forty miles away on a clear night, and that its slow turning had the rhythm of "
    "a sleeping heart. When the electric beacon was installed, the keeper's family moved to the "
    "village, but the old man still walked to the cliff each night to watch the beam sweep across "
    "the water. Children from the school visited in spring to learn how the prisms bent the light, "
    "how the clockwork turned the lens, and why the foghorn sounded twice every minute in bad "
    "weather. A museum now keeps the leather books, and anyone can read the careful handwriting "
    "that recorded storms, shipwrecks, rescues, quiet summers and the first snow of each winter. "
    "Scientists have used the records to study how the climate of the coast changed over the "
    "centuries, comparing the keeper's notes with measurements taken by satellites and buoys. "
    "They found that the storms became stronger, the winters shorter, and the sea a little "
    "warmer, year after year, in a pattern that the keeper could not have seen from his tower."
)


def speed_prompt(length: int) -> tuple[list[int], str]:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(MODELS / "gemma-3-270m" / "tokenizer.json"))
    ids = tok.encode(PROSE).ids  # BOS first
    if len(ids) < length:
        raise SystemExit(f"--prompt {length}: the prose has only {len(ids)} tokens")
    ids = ids[:length]
    text = tok.decode(ids[1:], skip_special_tokens=False)
    if tok.encode(text).ids != ids:
        raise SystemExit("the cut prompt does not re-tokenize to the same ids")
    return ids, text


def stats(xs: list[float]) -> dict[str, float]:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def piece_decoder() -> Callable[[list[int]], str]:
    vocab = json.loads((MODELS / "gemma-3-270m" / "tokenizer.json").read_text())["model"]["vocab"]
    pieces = (
        {i: p for p, i in vocab.items()}
        if isinstance(vocab, dict)
        else dict(enumerate(v[0] for v in vocab))
    )
    return lambda ids: "".join(pieces.get(i, f"<{i}>") for i in ids).replace("\u2581", " ")


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ttft = [r["ttft_ms"] for r in runs]
    prefill = [1000 * r["prompt_tokens"] / r["prefill_ms"] for r in runs]
    decode = [1000 / r["decode_ms_per_token"] for r in runs]
    return {
        "ttft_ms": stats(ttft),
        "prefill_tok_s": stats(prefill),
        "decode_tok_s": stats(decode),
        "prompt_tokens": runs[0]["prompt_tokens"],
        "generated_tokens": runs[0]["generated_tokens"],
        "runs": runs,
    }


def bench_engine(
    browser: Any, base: str, engine: str, threads: int, args: argparse.Namespace
) -> dict[str, Any]:
    context = browser.new_context()
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    page.goto(base + "bench/index.html")
    page.wait_for_function("window.benchReady === true", timeout=60_000)
    isolated = page.evaluate("self.crossOriginIsolated")
    load_opts = (
        {"weightsUrl": WEIGHTS_URL}
        if engine == "ours"
        else {"ggufUrl": GGUF_URL, "threads": threads}
    )
    try:
        info = page.evaluate(f"(o) => window.bench.{engine}.load(o)", load_opts)
        check = page.evaluate(f"() => window.bench.{engine}.check({{steps: 8}})")
        if engine == "ours":
            check["text"] = piece_decoder()(check["ids"])
        ids, text = args.prompt_ids, args.prompt_text
        prompt = {"promptIds": ids} if engine == "ours" else {"promptText": text}
        warm = {"promptIds": ids[:16]} if engine == "ours" else {"promptText": text[:60]}
        page.evaluate(f"(o) => window.bench.{engine}.run(o)", {**warm, "steps": 4})  # warm-up
        runs = []
        for i in range(args.runs):
            r = page.evaluate(
                f"(o) => window.bench.{engine}.run(o)", {**prompt, "steps": args.steps}
            )
            if r["prompt_tokens"] != len(ids):
                raise RuntimeError(
                    f"{engine}: {r['prompt_tokens']} prompt tokens, expected {len(ids)}"
                )
            runs.append(r)
            print(
                f"  {engine} t={threads} run {i + 1}: ttft {r['ttft_ms']:.0f} ms,"
                f" prefill {r['prefill_ms']:.0f} ms ({r['prompt_tokens']} tok),"
                f" decode {r['decode_ms_per_token']:.2f} ms/token",
                flush=True,
            )
        if engine == "wllama":
            page.evaluate("() => window.bench.wllama.unload()")
    except Exception:
        print("\n".join(console[-30:]), file=sys.stderr)
        raise
    finally:
        context.close()
    remote = [
        u for u in requests if not u.startswith(base) and not u.startswith(("blob:", "data:"))
    ]
    if remote:
        raise RuntimeError(f"requests left the loopback origin: {remote[:5]}")
    return {
        "engine": engine,
        "threads_requested": threads,
        "cross_origin_isolated": isolated,
        "load": info,
        "check": check,
        **summarize(runs),
    }


def fmt(s: dict[str, float], digits: int = 1) -> str:
    return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}{DASH}{s['max']:.{digits}f})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--prompt", type=int, default=200, help="prompt tokens (BOS + prose)")
    ap.add_argument("--steps", type=int, default=64, help="greedy tokens generated")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="wllama thread counts")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    args.prompt_ids, args.prompt_text = speed_prompt(args.prompt)

    wllama_version = json.loads((WLLAMA / "package.json").read_text())["version"]
    chromium_version = subprocess.run(
        [CHROMIUM, "--version"], capture_output=True, text=True
    ).stdout.strip()
    server = ThreadingHTTPServer(("127.0.0.1", 0), BenchHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    results: list[dict[str, Any]] = []
    t_start = time.time()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
            )
            print(f"{chromium_version}; wllama {wllama_version}; {base}", flush=True)
            results.append(bench_engine(browser, base, "ours", 1, args))
            for t in args.threads:
                results.append(bench_engine(browser, base, "wllama", t, args))
            browser.close()
    finally:
        server.shutdown()

    ours = results[0]
    print()
    print(
        f"Gemma 3 270M, {args.prompt}-token prompt + {args.steps} greedy tokens,"
        f" median (min{DASH}max) of {args.runs}"
    )
    header = "| engine | threads | time to first token (ms) | prefill tok/s | decode tok/s |"
    print(header)
    print("|---|---|---|---|---|")
    for r in results:
        label = "ours (single-threaded)" if r["engine"] == "ours" else f"wllama {wllama_version}"
        threads = 1 if r["engine"] == "ours" else r["load"]["threads"]
        print(
            f"| {label} | {threads} | {fmt(r['ttft_ms'], 0)} | {fmt(r['prefill_tok_s'])}"
            f" | {fmt(r['decode_tok_s'])} |"
        )
    print()
    print("| ours ÷ wllama at | TTFT (lower is better) | prefill tok/s | decode tok/s |")
    print("|---|---|---|---|")
    ratios = {}
    for r in results[1:]:
        t = r["load"]["threads"]
        ratio = {
            "ttft": ours["ttft_ms"]["median"] / r["ttft_ms"]["median"],
            "prefill": ours["prefill_tok_s"]["median"] / r["prefill_tok_s"]["median"],
            "decode": ours["decode_tok_s"]["median"] / r["decode_tok_s"]["median"],
        }
        ratios[f"wllama_threads_{t}"] = ratio
        print(
            f"| {t} thread(s) | {ratio['ttft']:.2f}{TIMES} | {ratio['prefill']:.2f}{TIMES}"
            f" | {ratio['decode']:.2f}{TIMES} |"
        )
    print()
    ok = True
    for r in results:
        print(
            f"{r['engine']} t={r['threads_requested']}: greedy {r['check']['text']!r};"
            f" starts with ' 100': {r['check']['starts_with_100']}"
        )
        ok &= bool(r["check"]["starts_with_100"])
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": {
                        "cpus": os.cpu_count(),
                        "platform": platform.platform(),
                    },
                    "chromium": chromium_version,
                    "wllama_version": wllama_version,
                    "prompt_tokens": args.prompt,
                    "steps": args.steps,
                    "prompt_text": args.prompt_text,
                    "runs": args.runs,
                    "wall_s": time.time() - t_start,
                    "results": results,
                    "ratios_ours_over_wllama": ratios,
                },
                indent=2,
            )
            + "\n"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
