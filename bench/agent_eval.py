"""The agent on the frozen evaluation set, graded strictly: natively, per category.

    .venv/bin/python bench/agent_eval.py [--variants exact agent] [--conversation] [--json PATH]

bench/agent/eval.json (175 hand-written tasks, frozen before the fine-tune) is asked of each
build variant with the default settings (constrained decoding, greedy): `exact` is the base
Gemma 3 270M with its few-shot prompt, `agent` the ReAct fine-tune with the short `tuned`
prompt. `--conversation` also asks the tasks one after another in one conversation, as people
chat (earlier turns stay in the prompt). Each answer is graded by bench/agent/grader.py
(strict), with the old lenient rule beside it. Results per category, the tool use, the
injection outcomes and the first prompt's length go to --json (docs/agent_eval.json).
Not a test: a benchmark, rerun by `make bench` (area `agent`).
"""

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from agent import grader  # noqa: E402

from build_tools.agent_backend import NativeModel  # noqa: E402
from build_tools.agent_cli import default_tools  # noqa: E402
from py_agent.react_format import prompt_spans  # noqa: E402
from py_agent.react_loop import Agent, RunResult  # noqa: E402

EVAL = ROOT / "bench" / "agent" / "eval.json"


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def share(pred: Callable[[dict[str, Any]], bool], among: list[dict[str, Any]]) -> float:
        return sum(1 for r in among if pred(r)) / len(among) if among else 0.0

    cats = sorted({r["category"] for r in rows})
    no_tool = [r for r in rows if r["expected_tool"] is None]
    injections = [r for r in rows if r["category"] == "injection"]
    return {
        "tasks": len(rows),
        "solved": share(lambda r: r["solved"], rows),
        "lenient": share(lambda r: r["lenient"], rows),
        "per_category": {
            c: {
                "tasks": len([r for r in rows if r["category"] == c]),
                "solved": share(lambda r: r["solved"], [r for r in rows if r["category"] == c]),
                "lenient": share(lambda r: r["lenient"], [r for r in rows if r["category"] == c]),
            }
            for c in cats
        },
        "right_tool": share(lambda r: r["right_tool"], rows),
        "no_tool_questions_without_tool": share(lambda r: not r["tools"], no_tool),
        "injections_hijacked": sum(1 for r in injections if r["hijacked"]),
        "injections_answered": share(lambda r: r["solved"], injections),
        "seconds_per_task": sum(r["seconds"] for r in rows) / len(rows),
        "first_prompt_tokens": sum(r["prompt_tokens"] for r in rows) / len(rows),
    }


def run_variant(
    variant: str, tasks: list[dict[str, Any]], conversation: bool, log: Callable[[str], None]
) -> dict[str, Any]:
    model = NativeModel(variant=variant)
    agent = Agent(model, default_tools(), prompt_format=model.prompt_format)
    rows = []
    for task in tasks:
        if not conversation:
            agent.reset()
        shown = agent.picker.pick(
            task["q"], agent.n_examples, [t.name for t in agent.tools if t.applies_to(task["q"])]
        )
        first = prompt_spans(
            agent.prompt_format, agent.tools, agent.history, task["q"], "Thought:", shown
        )
        prompt_tokens = 1 + sum(len(model.encode(s.text)) for s in first)
        t0 = time.perf_counter()
        result: RunResult = agent.run(task["q"])
        tools = [name for name, _ in result.actions()]
        v = grader.grade(task, result.answer, tools)
        rows.append(
            {
                "id": task["id"],
                "category": task["category"],
                "q": task["q"],
                "answer": result.answer,
                "solved": v.solved,
                "reason": v.reason,
                "lenient": grader.lenient(task, result.answer),
                "right_tool": v.right_tool,
                "hijacked": v.hijacked,
                "expected_tool": task.get("tool"),
                "tools": tools,
                "actions": result.actions(),
                "seconds": time.perf_counter() - t0,
                "tokens": result.generated_tokens,
                "prompt_tokens": prompt_tokens,
            }
        )
        mark = "ok " if v.solved else "-- "
        log(f"{mark}{task['id']:8} {result.answer[:70]!r} {tools} {v.reason}")
    return {
        "model": model.name,
        "prompt_format": agent.prompt_format,
        **summarize(rows),
        "rows": rows,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", nargs="+", default=["exact", "agent"])
    ap.add_argument("--conversation", action="store_true", help="also one conversation")
    ap.add_argument("--only-conversation", action="store_true")
    ap.add_argument("--limit", type=int, default=0, help="first N tasks only")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    tasks = grader.load_tasks(EVAL)
    if args.limit:
        tasks = tasks[: args.limit]
    out: dict[str, Any] = {"task_file": "bench/agent/eval.json", "tasks": len(tasks), "runs": {}}
    modes = [] if args.only_conversation else [False]
    if args.conversation or args.only_conversation:
        modes.append(True)
    for variant in args.variants:
        for conv in modes:
            key = f"{variant}/{'conversation' if conv else 'separate'}"
            print(f"== {key}", flush=True)
            out["runs"][key] = run_variant(variant, tasks, conv, lambda s: print(s, flush=True))
    print()
    for key, r in out["runs"].items():
        cats = "  ".join(f"{c} {x['solved']:.0%}" for c, x in r["per_category"].items())
        print(
            f"{key:22} strict {r['solved']:.0%} (lenient {r['lenient']:.0%})  {cats}  "
            f"no-tool {r['no_tool_questions_without_tool']:.0%}  hijacked "
            f"{r['injections_hijacked']}  {r['seconds_per_task']:.1f} s/task  "
            f"{r['first_prompt_tokens']:.0f} prompt tokens"
        )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
