"""`python -m py_agent` (or `python -m build_tools agent`): ask the agent natively (CPython +
onnxruntime) and watch its trace.

    python -m py_agent "What is 347 * 29?"      # one question
    python -m py_agent                          # interactive chat (Ctrl+D ends)
    python -m py_agent --free "..."             # without constrained decoding

Needs the built model (`make model`), the document index (`make index`) and the native
extensions (`make native`). It lives in build_tools because it wires py_agent (standard
library only, runs in Pyodide) to the native engine.
"""

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import TextIO

from py_agent.events import Event
from py_agent.react_loop import Agent, Budget
from py_agent.tools import ToolRegistry
from py_agent.tools.builtin import builtin_tools
from py_agent.validators import InputError

_LABELS = {"thought": "Thought", "action": "Action", "observation": "Observation"}


def default_tools(with_docs: bool = True) -> ToolRegistry:
    """calculator, convert_units, datetime, and search_docs over the built corpus index."""
    if not with_docs:
        return builtin_tools()
    from build_tools.docs_search import open_docs_search
    from build_tools.errors import BuildError

    try:
        return builtin_tools(open_docs_search())
    except BuildError as exc:
        print(f"[note] search_docs is off: {exc}", file=sys.stderr)
        return builtin_tools()


def renderer(out: TextIO, show_tokens: bool) -> Callable[[Event], None]:
    def render(event: Event) -> None:
        if event.kind == "token":
            if show_tokens:
                out.write(event.text)
                out.flush()
            return
        if event.kind == "step":
            return
        if show_tokens:
            out.write("\n")
        if event.kind == "answer":
            out.write(f"Answer: {event.text}\n")
        elif event.kind == "error":
            out.write(f"[error] {event.text}\n")
        else:
            out.write(f"  {_LABELS[event.kind]}: {event.text}\n")
        out.flush()

    return render


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    ap = argparse.ArgumentParser(prog="python -m py_agent", description=__doc__.splitlines()[0])
    ap.add_argument("question", nargs="?", help="ask once; without it, chat interactively")
    ap.add_argument("--free", action="store_true", help="no constrained decoding")
    ap.add_argument("--tokens", action="store_true", help="stream the model's tokens too")
    ap.add_argument("--variant", help="decoder variant (default: the model's default)")
    ap.add_argument("--max-steps", type=int, default=5)
    ap.add_argument("--no-docs", action="store_true", help="without the search_docs tool")
    args = ap.parse_args(argv)

    from build_tools.agent_backend import NativeModel

    model = NativeModel(variant=args.variant)
    agent = Agent(
        model,
        default_tools(with_docs=not args.no_docs),
        prompt_format=model.prompt_format,
        constrained=not args.free,
        budget=Budget(max_steps=args.max_steps),
    )
    render = renderer(out, args.tokens)
    questions = [args.question] if args.question else _interactive(out)
    for q in questions:
        try:
            agent.run(q, on_event=render)
        except InputError as exc:
            out.write(f"[input] {exc}\n")
    return 0


def _interactive(out: TextIO) -> Iterator[str]:
    out.write("Ask a question (Ctrl+D to quit).\n")
    while True:
        try:
            line = input("> ")
        except EOFError:
            out.write("\n")
            return
        if line.strip():
            yield line
