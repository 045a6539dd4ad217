"""The agent's overhead per step: time the ReAct loop spends outside the model, on the task set.

    .venv/bin/python bench/agent_overhead.py [--limit N] [--runs 3] [--json PATH]

Runs the first `--limit` tasks of bench/agent/tasks.json (all 33 by default) with the default
agent (constrained decoding, grounded answers, examples picked per question) on the native
model (onnxruntime CPU, the build's default variant), `--runs` times. Every onnxruntime session
run of the decoder is timed, so each task's wall time splits into

- model: the decoder's forward passes (prefill chunks and decode steps);
- outside the model: everything else (prompt building, tokenization, the constraint masks,
  sampling, parsing, the tools themselves: calculator, unit conversion, document search).

Reported per task and in total: outside-the-model milliseconds per agent step (one model call
of the loop: a Thought/Action or the answer), per forward pass, and as a share of the wall time;
median and min-max over runs. Not a test: results go to docs/benchmarks.md via bench/run.py.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from build_tools.agent_backend import NativeModel  # noqa: E402
from build_tools.agent_cli import default_tools  # noqa: E402
from py_agent.react_loop import Agent  # noqa: E402

TASKS = ROOT / "bench" / "agent" / "tasks.json"


class Clock:
    """Accumulates the time spent in wrapped calls."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def wrap(self, fn: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0
                self.calls += 1

        return timed


def stats(xs: list[float]) -> dict[str, float]:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=0, help="first N tasks only (0: all)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    tasks = json.loads(TASKS.read_text())
    if args.limit:
        tasks = tasks[: args.limit]

    model = NativeModel()
    forward = Clock()  # onnxruntime session runs: the model proper
    session = model.decoder._session
    session.run_with_ort_values = forward.wrap(session.run_with_ort_values)
    calls = Clock()  # the agent's calls into the model (its steps)
    model.complete = calls.wrap(model.complete)  # type: ignore[method-assign]
    agent = Agent(model, default_tools(), prompt_format=model.prompt_format)

    per_run: list[dict[str, float]] = []
    rows: list[dict[str, Any]] = []
    for run in range(args.runs):
        total = {"wall_s": 0.0, "model_s": 0.0, "steps": 0, "forwards": 0, "tokens": 0}
        for task in tasks:
            agent.reset()
            f0, c0, fn0, cn0 = forward.seconds, calls.seconds, forward.calls, calls.calls
            t0 = time.perf_counter()
            result = agent.run(task["q"])
            wall = time.perf_counter() - t0
            row = {
                "q": task["q"],
                "run": run,
                "wall_s": wall,
                "model_s": forward.seconds - f0,
                "in_complete_s": calls.seconds - c0,
                "steps": calls.calls - cn0,
                "forwards": forward.calls - fn0,
                "tokens": result.generated_tokens,
                "answer": result.answer,
            }
            rows.append(row)
            for key in ("wall_s", "model_s", "steps", "forwards", "tokens"):
                total[key] += row[key]
        outside = total["wall_s"] - total["model_s"]
        per_run.append(
            {
                **total,
                "outside_s": outside,
                "outside_ms_per_step": 1e3 * outside / max(total["steps"], 1),
                "outside_ms_per_forward": 1e3 * outside / max(total["forwards"], 1),
                "outside_share": outside / total["wall_s"],
                "model_ms_per_forward": 1e3 * total["model_s"] / max(total["forwards"], 1),
                "wall_s_per_task": total["wall_s"] / len(tasks),
            }
        )
        r = per_run[-1]
        print(
            f"run {run + 1}: {len(tasks)} tasks in {r['wall_s']:.1f} s, model {r['model_s']:.1f} s,"
            f" outside {r['outside_s']:.2f} s ({r['outside_share']:.1%});"
            f" {r['outside_ms_per_step']:.1f} ms outside per step ({total['steps']} steps),"
            f" {r['outside_ms_per_forward']:.2f} ms per forward pass ({total['forwards']})",
            flush=True,
        )
    keys = [
        "outside_ms_per_step",
        "outside_ms_per_forward",
        "outside_share",
        "model_ms_per_forward",
        "wall_s_per_task",
    ]
    summary = {k: stats([r[k] for r in per_run]) for k in keys}
    out = {
        "model": model.name,
        "tasks": len(tasks),
        "runs": args.runs,
        "steps_per_run": per_run[0]["steps"],
        "forwards_per_run": per_run[0]["forwards"],
        "summary": summary,
        "per_run": per_run,
        "rows": rows,
    }
    s = summary
    print(
        f"outside the model: {s['outside_ms_per_step']['median']:.1f} ms per step,"
        f" {s['outside_ms_per_forward']['median']:.2f} ms per forward pass,"
        f" {s['outside_share']['median']:.1%} of the wall time (median of {args.runs})"
    )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
