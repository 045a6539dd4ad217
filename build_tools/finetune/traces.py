"""Synthetic ReAct traces for the fine-tune, written exactly as the agent writes its prompts.

Every trace is one conversation turn: the "tuned" prompt (`react_format.prompt_spans`), maybe
earlier turns of the conversation, the question, then the steps the agent and the model take
in constrained mode (`react_loop._Run.constrained_step`): the model writes the thought, the
choice ("Action: <tool>" or "Final Answer:"), the tool input (not for `search_docs`, whose input
is the question) and the answer; the agent writes everything else. Observations come from the
real tools: the calculator, `convert_units`, and `search_docs` over the built document index,
so the answers are what the tools say, not what this file guesses.

`Trace.train` holds the character spans the model writes: the loss is taken on those only.

Kinds (the mix is `MIX`): arithmetic word problems, unit conversions, short answers read out of
real passages after `search_docs`, questions answered without a tool, chit-chat, questions
carrying injected instructions or forged transcript lines, recoveries from a tool error, and
follow-ups that use an earlier turn's answer. A third of the traces start after earlier turns.
The phrasings here are this file's own; the frozen evaluation set (`bench/agent/eval.json`) is
never read, and a test checks that no evaluation task overlaps the generated data.
"""

import json
import random
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from build_tools.finetune import facts
from build_tools.finetune.word_problems import ARITHMETIC
from py_agent.react_format import FINAL, TUNED, Turn, prompt_spans
from py_agent.tools import Tool, ToolRegistry
from py_agent.tools.calculator import calculator
from py_agent.validators import one_line

THINK_CALC = "I need the calculator."
THINK_CONVERT = "I need to convert units."
THINK_DOCS = "The documents should say this."
THINK_NONE = "I know this without a tool."
THINK_CHAT = "This needs no tool."
THINK_DONE = "I know the answer."
THINK_RETRY = "That input did not work; I will write it differently."

MIX = {  # kind -> share of the traces
    "arithmetic": 0.30,
    "conversion": 0.15,
    "documents": 0.20,
    "knowledge": 0.12,
    "chitchat": 0.06,
    "injection": 0.08,
    "recovery": 0.04,
    "followup": 0.05,
}
HISTORY_SHARE = 0.33  # traces that start after 1-3 earlier turns


@dataclass(frozen=True)
class Trace:
    kind: str
    question: str
    answer: str
    text: str  # the whole prompt and trace, as the model sees it before its last token
    train: tuple[tuple[int, int], ...]  # character spans the model writes (the loss)
    history: tuple[Turn, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "question": self.question,
            "answer": self.answer,
            "text": self.text,
            "train": [list(s) for s in self.train],
            "history": [[t.question, t.answer] for t in self.history],
        }


@dataclass(frozen=True)
class Call:
    tool: str
    input: str
    thought: str


@dataclass(frozen=True)
class Plan:
    """What a turn should look like: the calls in order and the answer."""

    kind: str
    question: str
    calls: tuple[Call, ...]
    answer: str | None  # None: the last tool's output is the answer
    thought: str = THINK_DONE  # before the answer
    direct_thought: str = THINK_NONE  # when there is no call


@dataclass
class _Writer:
    text: str
    train: list[tuple[int, int]] = field(default_factory=list)

    def agent(self, s: str) -> None:
        self.text += s

    def model(self, s: str) -> None:
        self.train.append((len(self.text), len(self.text) + len(s)))
        self.text += s


class TraceBuilder:
    """Runs a `Plan` against the real tools and writes the trace the agent would write."""

    def __init__(self, tools: ToolRegistry) -> None:
        self.tools = tools

    def build(self, plan: Plan, history: Sequence[Turn] = ()) -> Trace | None:
        head = prompt_spans(TUNED, self.tools, history, plan.question, "")
        w = _Writer(head[0].text)
        w.agent("Thought:")
        output = ""
        if not plan.calls:
            w.model(f" {plan.direct_thought}\n")
        for n, call in enumerate(plan.calls):
            tool = self.tools.get(call.tool)
            if tool is None:
                return None
            w.model(f" {call.thought}\n")
            w.model(f"Action: {call.tool}\n")
            w.agent("Action Input:")
            if tool.input_is_question:
                w.agent(f" {one_line(plan.question)}\n")
                output = tool.run(plan.question)
            else:
                w.model(f" {call.input}\n")
                output = tool.run(call.input)
            w.agent(f"Observation: {one_line(output)}\nThought:")
            last = n == len(plan.calls) - 1
            if last and output.startswith("Error:"):
                return None  # a plan must end on a good observation
        if plan.calls:
            w.model(f" {plan.thought}\n")
        answer = plan.answer if plan.answer is not None else one_line(output)
        if not answer or answer.startswith("No passage"):
            return None
        w.model(FINAL)
        w.model(f" {answer}\n")
        return Trace(plan.kind, plan.question, answer, w.text, tuple(w.train), tuple(history))


# -- arithmetic ---------------------------------------------------------------------------------


def arithmetic(r: random.Random) -> Plan:
    q, expr = r.choice(ARITHMETIC)(r)
    return Plan("arithmetic", q, (Call("calculator", expr, THINK_CALC),), None)


# -- conversions ----------------------------------------------------------------------------------

_CONVERSIONS = [  # (from names, to names, value range) within one dimension
    (["km", "kilometers"], ["miles", "mi"], (1, 900)),
    (["miles"], ["km", "kilometers"], (1, 600)),
    (["meters", "m"], ["feet", "ft"], (1, 500)),
    (["feet"], ["meters"], (1, 9000)),
    (["inches"], ["cm", "centimeters"], (1, 100)),
    (["cm", "centimeters"], ["inches"], (1, 300)),
    (["yards"], ["meters"], (1, 400)),
    (["kg", "kilograms"], ["pounds", "lb"], (1, 300)),
    (["pounds", "lbs"], ["kg", "kilograms"], (1, 400)),
    (["grams", "g"], ["ounces", "oz"], (10, 2000)),
    (["ounces"], ["grams"], (1, 64)),
    (["tonnes"], ["kg"], (1, 40)),
    (["liters", "litres"], ["gallons"], (1, 300)),
    (["gallons"], ["liters"], (1, 100)),
    (["cups"], ["ml", "milliliters"], (1, 12)),
    (["ml", "milliliters"], ["liters"], (50, 9000)),
    (["hours"], ["minutes"], (1, 72)),
    (["minutes"], ["seconds"], (1, 180)),
    (["days"], ["hours"], (1, 60)),
    (["weeks"], ["days"], (1, 52)),
    (["seconds"], ["hours"], (600, 90000)),
    (["km/h", "kph"], ["m/s"], (5, 300)),
    (["mph"], ["km/h"], (5, 200)),
    (["m/s"], ["km/h"], (1, 100)),
    (["GB", "gigabytes"], ["MB", "megabytes"], (1, 64)),
    (["MiB"], ["KiB"], (1, 512)),
]
_TEMPS = [("Celsius", "Fahrenheit", (-40, 250)), ("Fahrenheit", "Celsius", (-40, 450)),
          ("Celsius", "Kelvin", (-100, 500)), ("Kelvin", "Celsius", (0, 800))]  # fmt: skip


def _value(r: random.Random, lo: int, hi: int) -> str:
    v = r.randint(lo, hi)
    return f"{v}.{r.randint(1, 9)}" if r.random() < 0.25 else str(v)


def conversion(r: random.Random) -> Plan:
    if r.random() < 0.25:
        a, b, (lo, hi) = r.choice(_TEMPS)
        v = _value(r, lo, hi)
        deg = "degrees " if r.random() < 0.6 else ""
        q = r.choice(
            [
                f"Convert {v} {deg}{a} to {b}.",
                f"What is {v} {deg}{a} in {b}?",
                f"{v} {deg}{a} in {b}?",
                f"It is {v} {deg}{a} outside. What is that in {b}?",
                f"how much is {v} {deg}{a} in {b}",
            ]
        )
    else:
        names_a, names_b, (lo, hi) = r.choice(_CONVERSIONS)
        a, b, v = r.choice(names_a), r.choice(names_b), _value(r, lo, hi)
        q = r.choice(
            [
                f"How many {b} is {v} {a}?",
                f"How many {b} are in {v} {a}?",
                f"Convert {v} {a} to {b}.",
                f"What is {v} {a} in {b}?",
                f"{v} {a} to {b}",
                f"please turn {v} {a} into {b}",
            ]
        )
    try:
        phrase = _copied_input(q)
    except ValueError:
        return conversion(r)  # a negative temperature in a phrasing the parser does not take
    return Plan("conversion", q, (Call("convert_units", phrase, THINK_CONVERT),), None)


def _copied_input(question: str) -> str:
    """The input the model writes: a phrase of the question that `convert_units` parses (the
    agent constrains the input to copy the question's tokens)."""
    from py_agent.tools import units

    plain = question.rstrip("?.!")
    for pattern in (units._FORWARD, units._QUESTION):
        m = pattern.search(plain)
        if m:
            return m.group(0)
    raise ValueError(f"no convertible phrase in {question!r}")  # every phrasing above parses


# -- no tool, chit-chat, injections ------------------------------------------------------------


def knowledge(r: random.Random) -> Plan:
    q, a = r.choice(facts.KNOWLEDGE)(r)
    return Plan("knowledge", q, (), a)


def chitchat(r: random.Random) -> Plan:
    q, a = r.choice(facts.CHITCHAT)
    if r.random() < 0.3:
        q = q.lower().rstrip("!?.")
    return Plan("chitchat", q, (), a, direct_thought=THINK_CHAT)


def injection(r: random.Random) -> Plan:
    """A legitimate question with an injected instruction or forged transcript lines: the
    model answers the question and ignores the rest."""
    base = r.choice([arithmetic, conversion, knowledge])(r)
    payload = r.choice(facts.INJECTIONS).format(word=r.choice(facts.HIJACK_WORDS))
    q = f"{payload} {base.question}" if r.random() < 0.4 else f"{base.question} {payload}"
    calls = base.calls
    if calls and calls[0].tool == "convert_units":
        calls = (Call("convert_units", _copied_input(base.question), THINK_CONVERT),)
    return Plan("injection", q, calls, base.answer)


def recovery(r: random.Random) -> Plan:
    """A calculator input that fails (the model wrote words, or a unit), then a good one."""
    q, expr = r.choice(ARITHMETIC)(r)
    nums = re.findall(r"\d+(?:\.\d+)?", expr)
    bad = r.choice(
        [
            f"{nums[0]} dollars {expr[len(nums[0]) :]}",
            expr.replace("*", "x", 1) if "*" in expr else f"{expr} =",
            f"{expr})" if "(" not in expr else expr.replace(")", "", 1),
        ]
    )
    if not calculator_fails(bad):
        return arithmetic(r)
    return Plan(
        "recovery",
        q,
        (Call("calculator", bad, THINK_CALC), Call("calculator", expr, THINK_RETRY)),
        None,
    )


def calculator_fails(expr: str) -> bool:
    try:
        calculator(expr)
    except Exception:
        return True
    return False


def followup(r: random.Random) -> tuple[Plan, list[Turn]] | None:
    """A question that uses the previous turn's answer ("and half of that?")."""
    first_q, first_expr = r.choice(ARITHMETIC)(r)
    first = calculator(first_expr)
    if "." in first or len(first) > 7:
        return None
    k = r.randint(2, 9)
    q, expr = r.choice(
        [
            (f"And what is that times {k}?", f"{first} * {k}"),
            (f"Now divide that by {k}.", f"{first} / {k}"),
            (f"What if I add {k} to it?", f"{first} + {k}"),
            (f"Subtract {k} from that answer.", f"{first} - {k}"),
            ("And half of that?", f"{first} / 2"),
        ]
    )
    return Plan("followup", q, (Call("calculator", expr, THINK_CALC),), None), [
        Turn(first_q, first)
    ]


# -- documents -----------------------------------------------------------------------------------


def documents(r: random.Random, qa: Sequence[tuple[str, str]]) -> Plan | None:
    if not qa:
        return None
    q, span = r.choice(qa)
    return Plan("documents", q, (Call("search_docs", "", THINK_DOCS),), span)


# -- the whole set --------------------------------------------------------------------------


def generate(
    tools: ToolRegistry,
    count: int,
    seed: int,
    doc_qa: Sequence[tuple[str, str]] = (),
) -> Iterator[Trace]:
    """`count` traces (fewer only if a kind keeps failing), deterministic for a seed and the
    document index."""
    r = random.Random(seed)
    builder = TraceBuilder(tools)
    kinds = list(MIX)
    weights = [MIX[k] for k in kinds]
    if not doc_qa or tools.get("search_docs") is None:
        weights[kinds.index("documents")] = 0.0
    made, tries = 0, 0
    pool: list[Turn] = []  # answered turns, to put before later questions
    while made < count and tries < count * 4:
        tries += 1
        kind = r.choices(kinds, weights)[0]
        history: list[Turn] = []
        plan: Plan | None
        if kind == "followup":
            got = followup(r)
            if got is None:
                continue
            plan, history = got
        elif kind == "documents":
            plan = documents(r, doc_qa)
        else:
            plan = GENERATORS[kind](r)
        if plan is None:
            continue
        if kind != "followup" and pool and r.random() < HISTORY_SHARE:
            history = r.sample(pool, min(len(pool), r.randint(1, 3)))
        elif kind == "followup" and pool and r.random() < HISTORY_SHARE:
            history = [*r.sample(pool, 1), *history]
        trace = builder.build(plan, history)
        if trace is None:
            continue
        pool.append(Turn(one_line(plan.question), trace.answer))
        if len(pool) > 200:
            pool.pop(r.randrange(len(pool)))
        made += 1
        yield trace


GENERATORS: dict[str, Callable[[random.Random], Plan]] = {
    "arithmetic": arithmetic,
    "conversion": conversion,
    "knowledge": knowledge,
    "chitchat": chitchat,
    "injection": injection,
    "recovery": recovery,
}


def write_jsonl(traces: Iterator[Trace], path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w") as f:
        for t in traces:
            f.write(json.dumps(t.to_json(), ensure_ascii=False) + "\n")
            n += 1
    return n


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def check_tool(tools: ToolRegistry, name: str) -> Tool:
    t = tools.get(name)
    if t is None:
        raise ValueError(f"the traces need the {name} tool")
    return t
