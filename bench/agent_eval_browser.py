"""The agent on the frozen evaluation set, asked on the page: the app's own WASM path in Chromium.

    .venv/bin/python bench/agent_eval_browser.py [--limit N] [--stride K] [--conversation]
        [--timeout S] [--built-zip] [--json PATH]

The browser counterpart of bench/agent_eval.py: every K-th task of bench/agent/eval.json
(`--stride`, default 5: 35 of the 175, every category, in file order; then `--limit`) is typed
into the real page, served by the project's server on a loopback port and opened in headless
Chromium with a fresh profile, so the answer comes from Pyodide running py_agent in the worker on
the Rust WASM decoder with the page's default settings (constrained decoding, greedy). By default
each task starts a new conversation (the page's Settings > "New conversation", then its warm-up);
`--conversation` asks them one after another in one conversation instead (run the script twice
for both). Each answer (`li.assistant .answer`) and the tools of its trace are graded by
bench/agent/grader.py (strict, with the old lenient rule beside it) and summarized as
bench/agent_eval.py does; `seconds` runs from pressing Enter to the finished answer, after the
warm-up. The page's py_agent is a fresh zip of this checkout's py_agent/ (served from a
temporary copy of web/build/, which is left alone) unless `--built-zip` serves web/build's own.
Not a test: a benchmark; needs the app built (web/build/, models_cache/).
"""

import argparse
import json
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from playwright.sync_api import Locator, Page, expect, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

# bench/agent/grader.py as a module of the namespace package `agent` (bench/ on the path), which
# mypy finds too; agent_eval puts bench/agent/ itself on the path for its own `import grader`.
from agent import grader  # noqa: E402
from agent_eval import summarize  # noqa: E402

from build_tools.chromium import CHROMIUM, CHROMIUM_FLAGS  # noqa: E402
from build_tools.paths import PY_AGENT, WEB_BUILD  # noqa: E402
from build_tools.serve import AppHandler, make_server, url_of  # noqa: E402
from build_tools.site import MOUNTS, Mount  # noqa: E402
from build_tools.web_assets import write_py_agent_zip  # noqa: E402
from py_agent.react_format import prompt_format_of  # noqa: E402

EVAL = ROOT / "bench" / "agent" / "eval.json"
LOAD_TIMEOUT_MS = 600_000
WARM_TIMEOUT_MS = 180_000
FINISHED = ".answer[data-state=done], .answer[data-state=error], .answer[data-state=cancelled]"
_STATS = re.compile(
    r"(?P<steps>\d+) steps? · (?P<generated>\d+) tokens generated, (?P<read>\d+) read · "
    r"(?P<seconds>[\d.]+) s · decode (?P<decode>[\d.]+) tok/s, prefill (?P<prefill>[\d.]+) tok/s"
)


def pick(tasks: list[dict[str, Any]], stride: int, limit: int) -> list[dict[str, Any]]:
    """Every `stride`-th task in file order, then the first `limit` of those (0: all)."""
    chosen = tasks[:: max(stride, 1)]
    return chosen[:limit] if limit else chosen


def start_server(built_zip: bool, tmp: Path) -> ThreadingHTTPServer:
    """The project's server with the app's mounts; /build/ from a copy carrying a fresh
    py_agent.zip of this checkout unless `built_zip`."""
    mounts: tuple[Mount, ...] = MOUNTS
    if not built_zip:
        build = tmp / "build"
        shutil.copytree(WEB_BUILD, build)
        write_py_agent_zip(build, PY_AGENT)
        mounts = (Mount("/build/", build), *MOUNTS)
    server = make_server(port=0, quiet=True)
    server.RequestHandlerClass = type("Handler", (AppHandler,), {"mounts": mounts, "quiet": True})
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:  # loopback only
        return json.loads(response.read())


def model_info(base: str, page: Page) -> dict[str, Any]:
    """What the page runs: the model.json it read (through the same server), its default
    variant, and what the page itself shows (backend badge, ready status)."""
    app = _get_json(base + "build/app.json")
    doc = _get_json(base + app["model"].lstrip("/") + "model.json")
    variant = doc.get("default_variant")
    status = page.locator("#status").text_content() or ""
    shown = re.match(r"Ready: (.+?) on ", status)
    return {
        "model_id": doc.get("model_id"),
        "variant": variant,
        "prompt_format": prompt_format_of(doc),
        "wasm_weights": doc.get("variants", {}).get(variant, {}).get("wasm_weights"),
        "page_model": shown.group(1) if shown else None,
        "backend": page.locator("#backend").text_content(),
        "status": status,
    }


# The app's CSP forbids evaluating strings in the page: wait on the DOM with locators.
def wait_ready(page: Page) -> None:
    status = page.locator("#status")
    expect(status).not_to_have_attribute("data-state", "loading", timeout=LOAD_TIMEOUT_MS)
    if status.get_attribute("data-state") != "ready":
        raise RuntimeError(f"the app did not start: {status.text_content()}")


def wait_warm(page: Page) -> None:
    """The worker's warm-up (the instructions into the decoder's cache) after "ready" or a new
    conversation: a question sent earlier would wait behind it and count its time."""
    expect(page.locator("body")).to_have_attribute(
        "data-warm-ms", re.compile(r"^\d+$"), timeout=WARM_TIMEOUT_MS
    )


def new_conversation(page: Page) -> None:
    """Settings > "New conversation": the page empties the list and the worker forgets the
    history, then warms up again. The page shows no sign of the reset itself, and the warm-up
    sets the same body attribute as the first one: cleared here, it says when it is over."""
    page.locator("body").evaluate("b => { delete b.dataset.warmMs; }")
    page.click("#open-settings")
    page.click("#new-chat")
    expect(page.locator("#settings")).not_to_be_visible()
    expect(page.locator("#messages li")).to_have_count(0)
    wait_warm(page)


def _stats(text: str) -> dict[str, float | None]:
    m = _STATS.search(text)
    keys = ("steps", "generated", "read", "seconds", "decode", "prefill")
    names = (
        "steps",
        "generated_tokens",
        "prefill_tokens",
        "page_seconds",
        "decode_tok_s",
        "prefill_tok_s",
    )
    return {n: (float(m.group(k)) if m else None) for k, n in zip(keys, names, strict=True)}


def _int_or_none(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _tools(message: Locator) -> tuple[list[str], list[str]]:
    actions = message.locator(".steps li[data-kind=action]").all()
    tools = [a.get_attribute("data-tool") or "" for a in actions]
    texts = [(a.text_content() or "").removeprefix("Action: ") for a in actions]
    return tools, texts


def ask(page: Page, question: str, timeout_s: float) -> dict[str, Any]:
    """Types the question, presses Enter and waits for the finished answer; past `timeout_s`
    the page's Stop button ends the run (its answer is then "cancelled")."""
    before = page.locator("li.assistant").count()
    page.fill("#question", question)
    t0 = time.monotonic()
    page.keyboard.press("Enter")
    message = page.locator("li.assistant").nth(before)
    timed_out = False
    try:
        expect(message.locator(FINISHED)).to_have_count(1, timeout=timeout_s * 1000)
    except AssertionError:
        timed_out = True
        page.click("#stop")
        expect(message.locator(FINISHED)).to_have_count(1, timeout=120_000)
    seconds = time.monotonic() - t0
    answer = message.locator(".answer")
    tools, actions = _tools(message)
    stats = message.locator(".stats").text_content() or ""
    return {
        "answer": answer.text_content() or "",
        "state": answer.get_attribute("data-state"),
        "timed_out": timed_out,
        "tools": tools,
        "actions": actions,
        "sources": message.locator(".sources li").all_text_contents(),
        "seconds": seconds,
        "first_token_ms": _int_or_none(message.get_attribute("data-first-token-ms")),
        "stats": stats,
        **_stats(stats),
    }


def run(
    tasks: list[dict[str, Any]],
    conversation: bool,
    built_zip: bool,
    timeout_s: float,
    log: Callable[[str], None],
) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    page_errors: list[str] = []
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        server = start_server(built_zip, Path(tmp))
        context = p.chromium.launch_persistent_context(
            str(Path(tmp) / "profile"), executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.on("pageerror", lambda e: page_errors.append(str(e)))
            page.on("console", lambda m: page_errors.append(m.text) if m.type == "error" else None)
            t0 = time.monotonic()
            page.goto(url_of(server))
            wait_ready(page)
            wait_warm(page)
            start_s = time.monotonic() - t0
            info = model_info(url_of(server), page)
            log(f"page ready and warm in {start_s:.1f} s: {info['status']}")
            for i, task in enumerate(tasks):
                if not conversation and i > 0:
                    new_conversation(page)
                got = ask(page, task["q"], timeout_s)
                v = grader.grade(task, got["answer"], got["tools"])
                reason = f"timed out; {v.reason}" if got["timed_out"] and v.reason else v.reason
                row = {
                    "id": task["id"],
                    "category": task["category"],
                    "q": task["q"],
                    "answer": got["answer"],
                    "solved": v.solved,
                    "reason": reason,
                    "lenient": grader.lenient(task, got["answer"]),
                    "right_tool": v.right_tool,
                    "hijacked": v.hijacked,
                    "expected_tool": task.get("tool"),
                    **{k: got[k] for k in got if k != "answer"},
                }
                rows.append(row)
                mark = "ok " if v.solved else "-- "
                log(
                    f"{mark}{task['id']:8} {got['answer'][:70]!r} {got['tools']} {reason}"
                    f"  ({got['seconds']:.1f} s, {got['state']})"
                )
        finally:
            context.close()
            server.shutdown()
            server.server_close()
    # agent_eval.summarize averages the first prompt's length, which the page does not show
    # (after the warm-up it reads only what follows the instructions): reported as None.
    summary = summarize([{**r, "prompt_tokens": 0} for r in rows])
    summary["first_prompt_tokens"] = None
    read = [r["prefill_tokens"] for r in rows if r["prefill_tokens"] is not None]
    generated = [r["generated_tokens"] for r in rows if r["generated_tokens"] is not None]
    summary["prefill_tokens_per_task"] = sum(read) / len(read) if read else None
    summary["generated_tokens_per_task"] = sum(generated) / len(generated) if generated else None
    return {
        "model": info,
        "mode": "conversation" if conversation else "separate",
        "py_agent": "web/build/py_agent.zip" if built_zip else "checkout (fresh zip)",
        "page_start_seconds": start_s,
        **summary,
        "page_errors": page_errors,
        "rows": rows,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--stride", type=int, default=5, help="every K-th task (1: all 175)")
    ap.add_argument("--limit", type=int, default=0, help="then the first N of those only")
    ap.add_argument("--conversation", action="store_true", help="one conversation, not separate")
    ap.add_argument("--timeout", type=float, default=240.0, help="seconds per answer")
    ap.add_argument("--built-zip", action="store_true", help="web/build's py_agent.zip as is")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    tasks = pick(grader.load_tasks(EVAL), args.stride, args.limit)
    mode = "conversation" if args.conversation else "separate"
    print(f"== browser/{mode}: {len(tasks)} tasks (stride {args.stride})", flush=True)
    r = run(tasks, args.conversation, args.built_zip, args.timeout, lambda s: print(s, flush=True))
    out = {
        "task_file": "bench/agent/eval.json",
        "stride": args.stride,
        "limit": args.limit,
        "task_ids": [t["id"] for t in tasks],
        **r,
    }
    cats = "  ".join(f"{c} {x['solved']:.0%}" for c, x in r["per_category"].items())
    model = r["model"]
    print()
    print(
        f"browser/{mode} {model['model_id']}/{model['variant']} ({model['prompt_format']}, "
        f"{model['backend']})  strict {r['solved']:.0%} (lenient {r['lenient']:.0%})  {cats}  "
        f"no-tool {r['no_tool_questions_without_tool']:.0%}  right tool {r['right_tool']:.0%}  "
        f"hijacked {r['injections_hijacked']}  {r['seconds_per_task']:.1f} s/task"
    )
    if r["page_errors"]:
        print(f"page errors: {r['page_errors']}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
