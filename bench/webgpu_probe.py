"""onnxruntime-web 1.30 WebGPU (and WASM) execution provider on the project's decoder graphs.

A correctness/viability probe, not a speed benchmark: in headless Chromium, WebGPU is
SwiftShader (a CPU emulation of a GPU), so its timings say nothing about a real GPU.

Serves bench/webgpu_probe/ (a page + one ES module), onnxruntime-web's dist/ and the model
files from one loopback origin with the project's own request handler
(build_tools.serve.AppHandler: COOP/COEP, strict CSP), then drives /usr/bin/chromium with
Playwright. For each graph (`decoder-exact.onnx`, `decoder-int4.onnx`, external data passed
with the session option `externalData`) and each execution provider (`webgpu` and `wasm` from
`ort.webgpu.min.mjs`, `wasm-cpu-build`: the `wasm` EP of `ort.wasm.min.mjs`) it
creates an InferenceSession in a fresh browser context, feeds "Water boils at a temperature of"
(BOS + 6 ids) with an empty KV cache, reads `logits` [1, 1, 262144], then runs `--steps` greedy
tokens through the KV cache (present.* fed back as past_key_values.*). It reports session
creation time, run times, the argmax id and greedy ids, and max |logits_web - logits_native|
against Python onnxruntime (CPU) on the same file and feeds: as shipped (MatMulNBits
accuracy_level 4: int8 activations natively) and with accuracy_level forced to 0 in memory
(what onnxruntime-web computes). Console lines of the session log that mention CPU fallback
are kept.

Exit code 1 when any session fails or any argmax is not 236743 (" ", the start of " 100"); in
onnxruntime-web 1.30 the `wasm` EP of the WebGPU bundle has no kernel for our 8-bit
GatherBlockQuantized, so the default run exits 1. Needs `make model` and `npm ci`.
Usage: .venv/bin/python bench/webgpu_probe.py [--graphs exact int4] [--eps webgpu wasm]
       [--steps 4] [--json out.json]
"""

import argparse
import base64
import json
import os
import platform
import re
import subprocess
import sys
import threading
import time
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from build_tools.chromium import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402
from build_tools.paths import NODE_MODULES  # noqa: E402
from build_tools.serve import AppHandler  # noqa: E402
from build_tools.site import Mount  # noqa: E402

MODEL_DIR = ROOT / "models_cache" / "gemma-3-270m"
ORT_WEB = NODE_MODULES / "onnxruntime-web"
MOUNTS = (
    Mount("/bench/", ROOT / "bench" / "webgpu_probe"),
    Mount("/ort/", ORT_WEB / "dist"),
    Mount("/models/", MODEL_DIR, (".onnx", ".onnx.data")),
)
PROMPT_IDS = [2, 17390, 104264, 657, 496, 4022, 529]  # <bos>Water boils at a temperature of
EXPECTED_FIRST = 236743  # " " (the first piece of " 100")
LAYERS, KV_HEADS, HEAD_DIM = 18, 1, 256
FALLBACK_RE = re.compile(r"fallback|fall back|CPUExecutionProvider|assigned to|not supported", re.I)


class ProbeHandler(AppHandler):
    """The project's handler (same security headers) over the probe's mounts."""

    quiet = True
    mounts = MOUNTS


def native_session(graph: Path, accuracy_level: int | None) -> Any:
    """Python onnxruntime (CPU) on the graph as shipped, or with every MatMulNBits'
    accuracy_level replaced in memory (external data still read from the model folder)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    if accuracy_level is None:
        return ort.InferenceSession(str(graph), so, providers=["CPUExecutionProvider"])
    import onnx

    m = onnx.load(str(graph), load_external_data=False)
    for node in m.graph.node:
        if node.op_type == "MatMulNBits":
            for a in node.attribute:
                if a.name == "accuracy_level":
                    a.i = accuracy_level
    so.add_session_config_entry(
        "session.model_external_initializers_file_folder_path", str(graph.parent)
    )
    return ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])


def native_run(sess: Any, steps: int) -> dict[str, Any]:
    def feeds(ids: list[int], past: dict[str, np.ndarray] | None, past_len: int) -> dict[str, Any]:
        n = len(ids)
        f = {
            "input_ids": np.array([ids], dtype=np.int64),
            "attention_mask": np.ones((1, past_len + n), dtype=np.int64),
            "position_ids": np.arange(past_len, past_len + n, dtype=np.int64)[None],
        }
        for layer in range(LAYERS):
            for kv in ("key", "value"):
                f[f"past_key_values.{layer}.{kv}"] = (
                    past[f"present.{layer}.{kv}"]
                    if past is not None
                    else np.zeros((1, KV_HEADS, 0, HEAD_DIM), np.float32)
                )
        return f

    names = [o.name for o in sess.get_outputs()]
    t0 = time.perf_counter()
    res = dict(zip(names, sess.run(None, feeds(PROMPT_IDS, None, 0)), strict=True))
    prefill_ms = 1000 * (time.perf_counter() - t0)
    logits0 = res["logits"].reshape(-1).copy()
    ids = [int(logits0.argmax())]
    past_len = len(PROMPT_IDS)
    for _ in range(steps):
        res = dict(zip(names, sess.run(None, feeds([ids[-1]], res, past_len)), strict=True))
        past_len += 1
        ids.append(int(res["logits"].reshape(-1).argmax()))
    return {"logits": logits0, "ids": ids, "prefill_ms": prefill_ms}


def probe(
    browser: Any, base: str, graph: str, ep: str, steps: int, timeout_ms: int
) -> dict[str, Any]:
    """`ep` is webgpu or wasm (both from ort.webgpu.min.mjs) or wasm-cpu-build (the
    `wasm` EP from ort.wasm.min.mjs, a different wasm binary)."""
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    out: dict[str, Any] = {"graph": graph, "ep": ep}
    try:
        query = "?ort=ort.wasm.min.mjs" if ep == "wasm-cpu-build" else ""
        page.goto(base + "bench/index.html" + query)
        page.wait_for_function("window.probeReady === true", timeout=60_000)
        out["cross_origin_isolated"] = page.evaluate("self.crossOriginIsolated")
        name = f"decoder-{graph}.onnx"
        out["load"] = page.evaluate(
            "(o) => window.probe.load(o)",
            {
                "model": f"/models/{name}",
                "data": f"/models/{name}.data",
                "dataName": f"{name}.data",
                "ep": "wasm" if ep == "wasm-cpu-build" else ep,
            },
        )
        print(f"  {graph}/{ep}: session {out['load']['create_ms']:.0f} ms", flush=True)
        r = page.evaluate("(o) => window.probe.run(o)", {"ids": PROMPT_IDS, "steps": steps})
        out["prefill_ms"] = r["prefill_ms"]
        out["step_ms"] = r["step_ms"]
        out["ids"] = r["ids"]
        out["logits"] = np.frombuffer(base64.b64decode(r["logits_b64"]), dtype=np.float32)
        print(
            f"  {graph}/{ep}: prompt run {r['prefill_ms']:.0f} ms, steps"
            f" {[round(x) for x in r['step_ms']]} ms, ids {r['ids']}",
            flush=True,
        )
    except Exception as e:  # a failure is a result here
        out["error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:500]}"
        print(f"  {graph}/{ep}: FAILED {out['error']}", flush=True)
        print("\n".join(c[:300] for c in console[-15:]), file=sys.stderr)
    finally:
        context.close()
    out["page_errors"] = errors
    out["console_lines"] = len(console)
    out["fallback_log"] = [c[:400] for c in console if FALLBACK_RE.search(c)][:200]
    # The verbose log names the CPU-placed nodes on the lines after this one.
    for i, c in enumerate(console):
        if "placed on [CPUExecutionProvider]" in c:
            out["cpu_nodes_log"] = [x[:300] for x in console[i : i + 40]]
            break
    out["console_tail"] = [c[:400] for c in console[-20:]]
    remote = [
        u for u in requests if not u.startswith(base) and not u.startswith(("blob:", "data:"))
    ]
    if remote:
        raise RuntimeError(f"requests left the loopback origin: {remote[:5]}")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--graphs", nargs="+", default=["exact", "int4"])
    ap.add_argument(
        "--eps",
        nargs="+",
        default=["webgpu", "wasm", "wasm-cpu-build"],
        help="webgpu / wasm from ort.webgpu.min.mjs; wasm-cpu-build: ort.wasm.min.mjs",
    )
    ap.add_argument("--steps", type=int, default=4, help="greedy steps through the KV cache")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per page call")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    t_start = time.time()
    native: dict[str, dict[str, Any]] = {}
    for graph in args.graphs:
        path = MODEL_DIR / f"decoder-{graph}.onnx"
        for level in (None, 0):
            key = f"{graph}/{'as_shipped' if level is None else 'level0'}"
            native[key] = native_run(native_session(path, level), args.steps)
            print(
                f"native {key}: argmax {native[key]['ids'][0]}, ids {native[key]['ids']},"
                f" prompt run {native[key]['prefill_ms']:.0f} ms",
                flush=True,
            )

    ort_version = json.loads((ORT_WEB / "package.json").read_text())["version"]
    chromium_version = subprocess.run(
        [CHROMIUM, "--version"], capture_output=True, text=True
    ).stdout.strip()
    server = ThreadingHTTPServer(("127.0.0.1", 0), ProbeHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    results: list[dict[str, Any]] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
            )
            print(f"{chromium_version}; onnxruntime-web {ort_version}; {base}", flush=True)
            for graph in args.graphs:
                for ep in args.eps:
                    results.append(probe(browser, base, graph, ep, args.steps, 1000 * args.timeout))
            browser.close()
    finally:
        server.shutdown()

    print()
    print(
        "| graph | EP | session (ms) | prompt run, 7 tok (ms) | step (ms, median) | argmax |"
        " max abs diff vs native as shipped | vs native level 0 | top-10 overlap (level 0) |"
        " greedy ids match level 0 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        g = r["graph"]
        if "error" in r:
            print(f"| {g} | {r['ep']} | failed: {r['error'][:120]} | | | | | | | |")
            continue
        d4 = float(np.abs(r["logits"] - native[f"{g}/as_shipped"]["logits"]).max())
        d0 = float(np.abs(r["logits"] - native[f"{g}/level0"]["logits"]).max())
        r["max_abs_diff_native_as_shipped"] = d4
        r["max_abs_diff_native_level0"] = d0
        r["argmax"] = r["ids"][0]
        ref = native[f"{g}/level0"]["logits"]
        r["native_level0_logits_abs_max"] = float(np.abs(ref).max())
        r["mean_abs_diff_native_level0"] = float(np.abs(r["logits"] - ref).mean())
        r["top10_overlap_native_level0"] = len(
            set(np.argsort(-r["logits"])[:10]) & set(np.argsort(-ref)[:10])
        )
        r["ids_match_native_level0"] = r["ids"] == native[f"{g}/level0"]["ids"]
        r["ids_match_native_as_shipped"] = r["ids"] == native[f"{g}/as_shipped"]["ids"]
        steps = sorted(r["step_ms"])
        med = steps[len(steps) // 2] if steps else float("nan")
        print(
            f"| {g} | {r['ep']} | {r['load']['create_ms']:.0f} | {r['prefill_ms']:.0f}"
            f" | {med:.0f} | {r['argmax']} | {d4:.3g} | {d0:.3g}"
            f" | {r['top10_overlap_native_level0']}/10 | {r['ids_match_native_level0']} |"
        )
    print()
    for k, v in native.items():
        print(f"native {k}: ids {v['ids']}")
    for r in results:
        if "ids" in r:
            print(f"{r['graph']}/{r['ep']}: ids {r['ids']}")
        for line in r.get("cpu_nodes_log", [])[1:16]:
            print(f"   {r['graph']}/{r['ep']} CPU: {line[:200]}")
        if r["fallback_log"]:
            print(f"{r['graph']}/{r['ep']}: {len(r['fallback_log'])} log lines on fallback/CPU:")
            for line in r["fallback_log"][:8]:
                print("   ", line[:200])

    if args.json:
        for r in results:
            r.pop("logits", None)
        args.json.write_text(
            json.dumps(
                {
                    "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
                    "chromium": chromium_version,
                    "onnxruntime_web": ort_version,
                    "prompt_ids": PROMPT_IDS,
                    "steps": args.steps,
                    "native": {
                        k: {"ids": v["ids"], "prompt_run_ms": v["prefill_ms"]}
                        for k, v in native.items()
                    },
                    "results": results,
                    "wall_s": time.time() - t_start,
                },
                indent=2,
            )
            + "\n"
        )
    ok = all("error" not in r and r["argmax"] == EXPECTED_FIRST for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
