"""The agent's task set on the real model: how many questions the default Gemma 3 270M answers.

    .venv/bin/python bench/agent_tasks.py [--modes constrained free] [--json PATH]

33 tasks (bench/agent/tasks.json): arithmetic that needs the calculator, unit conversions,
questions about the shipped documents (search_docs), general questions that need no tool, a
few multi-step ones and the date. A task is solved when the final answer contains one of its
expected strings; the tool used is recorded too. Greedy decoding, so a run is deterministic.
Not a test (tests/test_agent_real.py runs a few end to end): results go to docs/AGENT.md.
"""

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from build_tools.agent_backend import NativeModel  # noqa: E402
from build_tools.agent_cli import default_tools  # noqa: E402
from py_agent.react_format import prompt_spans  # noqa: E402
from py_agent.react_loop import Agent  # noqa: E402

TASKS = ROOT / "bench" / "agent" / "tasks.json"
_NUM = re.compile(r"-?\d+(?:,\d{3})*(?:\.\d+)?")


def solves(answer: str, expected: list[str]) -> bool:
    """Numbers compare as numbers (within 1%, so 26.097 matches 26.1 but 6000 not 60); words
    as whole words, case-insensitively."""
    numbers = [float(x.replace(",", "")) for x in _NUM.findall(answer)]
    for e in expected:
        if _NUM.fullmatch(e):
            want = float(e.replace(",", ""))
            if any(abs(n - want) <= 0.01 * max(abs(want), 1e-9) for n in numbers):
                return True
        elif re.search(rf"(?<!\w){re.escape(e)}(?!\w)", answer, re.IGNORECASE):
            return True
    return False


MODES = {  # name -> (constrained decoding, grounded answers, examples picked per question)
    "constrained": (True, True, True),
    "constrained-ungrounded": (True, False, True),
    "free": (False, False, True),
    "free-fixed-examples": (False, False, False),
}


def run_mode(
    model: NativeModel, mode: str, tasks: list[dict[str, Any]], examples: int = 3
) -> dict[str, Any]:
    constrained, grounded, dynamic = MODES[mode]
    agent = Agent(
        model,
        default_tools(),
        prompt_format=model.prompt_format,
        constrained=constrained,
        ground_answers=grounded,
        examples=examples,
    )
    if not dynamic:  # the same examples for every question (the first of each kind)
        fixed = agent.picker.pick("", agent.n_examples)
        agent.picker.pick = lambda _q, _k=0, _tools=None: fixed  # type: ignore[method-assign]
    rows = []
    for task in tasks:
        agent.reset()
        offered = [t.name for t in agent.tools if t.applies_to(task["q"])]
        shown = agent.picker.pick(task["q"], agent.n_examples, offered)
        first = prompt_spans(agent.prompt_format, agent.tools, [], task["q"], "Thought:", shown)
        prompt_tokens = 1 + sum(len(model.encode(span.text)) for span in first)
        t0 = time.perf_counter()
        result = agent.run(task["q"])
        tools = [name for name, _ in result.actions()]
        solved = solves(result.answer, task["expect"])
        rows.append(
            {
                "q": task["q"],
                "answer": result.answer,
                "solved": solved,
                "right_tool": (task["tool"] in tools) if task["tool"] else not tools,
                "actions": result.actions(),
                "observations": [e.text for e in result.events if e.kind == "observation"],
                "seconds": time.perf_counter() - t0,
                "tokens": result.generated_tokens,
                "prompt_tokens": prompt_tokens,  # the first step's prompt: the first-token cost
            }
        )
        mark = "ok " if solved else "-- "
        print(f"{mark}{task['q'][:60]:60} -> {result.answer[:60]!r} {tools}", flush=True)
    n = len(rows)
    return {
        "solved": sum(r["solved"] for r in rows) / n,
        "right_tool": sum(r["right_tool"] for r in rows) / n,
        "seconds_per_task": sum(r["seconds"] for r in rows) / n,
        "prompt_tokens": sum(r["prompt_tokens"] for r in rows) / n,
        "rows": rows,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    ap.add_argument("--json", type=Path)
    ap.add_argument("--examples", type=int, default=3, help="worked examples per prompt (3)")
    ap.add_argument("--limit", type=int, default=0, help="first N tasks only")
    ap.add_argument(
        "--tasks",
        type=Path,
        default=TASKS,
        help="task file (default bench/agent/tasks.json; bench/agent/heldout.json: 20 tasks "
        "written before the last round of agent changes and never tuned on)",
    )
    args = ap.parse_args()
    tasks = json.loads(args.tasks.read_text())
    if args.limit:
        tasks = tasks[: args.limit]
    model = NativeModel()
    out: dict[str, Any] = {
        "model": model.name,
        "task_file": args.tasks.name,
        "tasks": len(tasks),
    }
    for mode in args.modes:
        print(f"== {mode}")
        out[mode] = run_mode(model, mode, tasks, args.examples)
    print()
    for mode in args.modes:
        r = out[mode]
        print(
            f"{mode:12} solved {r['solved']:.0%}  right tool {r['right_tool']:.0%}  "
            f"{r['seconds_per_task']:.1f} s/task  {r['prompt_tokens']:.0f} prompt tokens"
        )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
