"""Start-up of the app in headless Chromium: cold (first visit: download + verify + start),
cached (reload, model files from OPFS) and offline (server stopped, everything from the
service worker and the caches), each followed by one question, with its time to first token.

    .venv/bin/python bench/app_start.py [--runs 3] [--json PATH]

Each run uses a fresh browser profile and a fresh server on a loopback port. Times are from the
navigation (ready_ms: the page says "Ready") and from pressing Enter (first_token_ms: the first
streamed token of the answer; answer_ms: the whole answer). The answer's own statistics give
the prefill and decode speeds on the WASM backend. A benchmark, not a test: it prints a JSON
summary (medians and min-max over runs) and writes it to --json.
"""

import argparse
import json
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from build_tools.chromium import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402
from build_tools.serve import make_server, url_of  # noqa: E402

QUESTION = "What is 12 * 12?"
VISITS = ("cold", "cached", "offline")


# The app's CSP forbids evaluating strings in the page: wait on the DOM with locators.
def _ready(page: Page) -> float:
    status = page.locator("#status")
    expect(status).not_to_have_attribute("data-state", "loading", timeout=600_000)
    if status.get_attribute("data-state") != "ready":
        raise RuntimeError(f"the app did not start: {status.text_content()}")
    return float(page.locator("body").get_attribute("data-ready-ms") or "nan")


def _warm(page: Page) -> float:
    """The worker's warm-up after "ready" (the instructions into the decoder's cache), in ms. A
    user typing the question hides it; the question is asked after it, as after typing."""
    body = page.locator("body")
    expect(body).to_have_attribute("data-warm-ms", re.compile(r"^\d+$"), timeout=120_000)
    return float(body.get_attribute("data-warm-ms") or "nan")


def _ask(page: Page) -> dict[str, Any]:
    before = page.locator("li.assistant").count()
    page.fill("#question", QUESTION)
    t0 = time.monotonic()
    page.keyboard.press("Enter")
    message = page.locator("li.assistant").nth(before)
    expect(message.locator(".answer[data-state=done], .answer[data-state=error]")).to_have_count(
        1, timeout=600_000
    )
    answer_ms = (time.monotonic() - t0) * 1000
    stats = message.locator(".stats").text_content() or ""
    return {
        "answer": message.locator(".answer").text_content(),
        "first_token_ms": float(message.get_attribute("data-first-token-ms") or "nan"),
        "answer_ms": answer_ms,
        "stats": stats,
        "prefill_tok_s": _number_after(stats, "prefill "),
        "decode_tok_s": _number_after(stats, "decode "),
    }


def _number_after(text: str, label: str) -> float:
    if label not in text:
        return float("nan")
    return float(text.split(label, 1)[1].split(" ", 1)[0])


def one_run() -> dict[str, dict[str, Any]]:
    server = make_server(port=0, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
        )
        page = context.pages[0] if context.pages else context.new_page()
        for visit in VISITS:
            if visit == "cold":
                page.goto(url_of(server))
            else:
                if visit == "offline":
                    server.shutdown()
                    server.server_close()
                page.reload()
            ready_ms = _ready(page)
            warm_ms = _warm(page)
            load_ms = float(page.locator("body").get_attribute("data-load-ms") or "nan")
            stages = json.loads(page.locator("body").get_attribute("data-load-stages") or "{}")
            out[visit] = {
                "ready_ms": ready_ms,
                "warm_ms": warm_ms,
                "worker_load_ms": load_ms,
                "stages_ms": stages,
                **_ask(page),
            }
            if visit == "cold":  # the service worker must control the page before going offline
                page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
        context.close()
    return out


def summarize(runs: list[dict[str, dict[str, Any]]]) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for visit in VISITS:
        rows = [r[visit] for r in runs]
        summary[visit] = {}
        for key in (
            "ready_ms",
            "warm_ms",
            "first_token_ms",
            "answer_ms",
            "prefill_tok_s",
            "decode_tok_s",
        ):
            values = [float(r[key]) for r in rows]
            summary[visit][key] = {
                "median": statistics.median(values),
                "min": min(values),
                "max": max(values),
            }
        summary[visit]["answers"] = [r["answer"] for r in rows]
    return summary


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    runs = [one_run() for _ in range(args.runs)]
    doc = {"question": QUESTION, "runs": runs, "summary": summarize(runs)}
    text = json.dumps(doc, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    print(json.dumps(doc["summary"], indent=2))
    for run in runs:
        print(json.dumps({v: run[v]["stages_ms"] for v in VISITS}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
