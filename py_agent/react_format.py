"""The ReAct transcript: how prompts are written and how the model's steps are read back.

Two prompt formats, chosen by the model's manifest (`prompt_format`):
- "completion" for base models (the default Gemma 3 270M is one): a tool list and worked
  examples, then "Question: … / Thought:" to be continued;
- "chat" for instruction-tuned models: the same instructions inside Gemma's
  `<start_of_turn>user … <end_of_turn><start_of_turn>model` turn, the trace in the model turn.

`parse_step` reads a freely generated step (unconstrained decoding) and says what is wrong with
it in words the model can act on.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from py_agent.llm import Span
from py_agent.tools import Tool, ToolRegistry

FINAL = "Final Answer:"
ACTION = "Action:"
ACTION_INPUT = "Action Input:"
OBSERVATION = "Observation:"

# Worked examples for the built-in tools; only those whose tool is registered are shown, plus
# the no-tool one. Balanced so that no tool is always "the last example's" (a small model
# copies the nearest example).
_EXAMPLES: tuple[tuple[str | None, str], ...] = (
    (
        "calculator",
        "Question: What is 347 * 29?\nThought: I need to multiply two numbers.\n"
        "Action: calculator\nAction Input: 347 * 29\nObservation: 10063\n"
        "Thought: I know the answer.\nFinal Answer: 347 * 29 = 10063.",
    ),
    (
        "convert_units",
        "Question: How many miles is 42 km?\nThought: I need to convert kilometres to miles.\n"
        'Action: convert_units\nAction Input: {"value": 42, "from_unit": "km", "to_unit": "mi"}\n'
        "Observation: 26.097590 mi\nThought: I know the answer.\nFinal Answer: 42 km is about "
        "26.1 miles.",
    ),
    (
        "search_docs",
        "Question: Which port does the app listen on by default?\nThought: The documents should "
        "say this.\nAction: search_docs\nAction Input: default port of the app\nObservation: [1] "
        "(README.md) `make run` serves the app at http://127.0.0.1:8000.\nThought: I know the "
        "answer.\nFinal Answer: It listens on port 8000 [1].",
    ),
    (
        None,
        "Question: What is the capital of France?\nThought: I know this without a tool.\n"
        "Final Answer: Paris.",
    ),
    (
        "calculator",
        "Question: What is 15% of 860?\nThought: 15% of 860 is 0.15 * 860.\nAction: calculator\n"
        "Action Input: 0.15 * 860\nObservation: 129\nThought: I know the answer.\n"
        "Final Answer: 15% of 860 is 129.",
    ),
    (
        "datetime",
        "Question: What day of the week is it today?\nThought: I need the current date.\n"
        "Action: datetime\nAction Input: {}\nObservation: Tuesday 2026-03-03 09:12 (UTC+0000)\n"
        "Thought: I know the answer.\nFinal Answer: Today is Tuesday.",
    ),
)


def instructions(tools: ToolRegistry) -> str:
    lines = ["Answer the question. You can use these tools:"]
    for t in tools:
        lines.append(f"- {t.signature()}: {t.description}")
    names = ", ".join(tools.names)
    lines += [
        "",
        "Use this format:",
        "Question: the question",
        "Thought: what to do next",
        f"Action: one of [{names}]",
        "Action Input: the input for the tool",
        "Observation: the result of the tool",
        "(Thought, Action, Action Input and Observation can repeat)",
        "Thought: I know the answer.",
        "Final Answer: the answer",
        "",
    ]
    return "\n".join(lines)


def examples(tools: ToolRegistry) -> str:
    shown = [text for name, text in _EXAMPLES if name is None or tools.get(name) is not None]
    return "\n\n".join(shown) + "\n\n"


@dataclass(frozen=True)
class Turn:
    question: str
    answer: str


def prompt_spans(
    fmt: str,
    tools: ToolRegistry,
    history: Sequence[Turn],
    question: str,
    trace: str,
) -> list[Span]:
    """The whole prompt: instructions, examples, earlier turns, this question and its trace so
    far. Untrusted text (questions, answers, the trace with its observations) is never a
    control span."""
    past = "".join(f"Question: {t.question}\nFinal Answer: {t.answer}\n\n" for t in history)
    head = instructions(tools) + "\n" + examples(tools)
    if fmt == "chat":
        return [
            Span("<start_of_turn>", control=True),
            Span("user\n" + head + past + f"Question: {question}"),
            Span("<end_of_turn>", control=True),
            Span("\n"),
            Span("<start_of_turn>", control=True),
            Span("model\n" + trace),
        ]
    if fmt != "completion":
        raise ValueError(f"unknown prompt format {fmt!r}: 'completion' or 'chat'")
    return [Span(head + past + f"Question: {question}\n" + trace)]


@dataclass(frozen=True)
class Step:
    thought: str = ""
    action: str | None = None
    action_input: str | None = None
    final_answer: str | None = None
    problem: str | None = None  # what is wrong, phrased for the model (then it is an observation)


_LINE = re.compile(r"^\s*(Thought|Action Input|Action|Final Answer|Observation)\s*:\s*(.*)$")


def parse_step(text: str, tools: ToolRegistry) -> Step:
    """Read one freely generated step (what follows "Thought:")."""
    thought_lines: list[str] = []
    fields: dict[str, str] = {}
    current = "Thought"
    for raw in text.splitlines():
        m = _LINE.match(raw)
        if m:
            key, value = m.group(1), m.group(2).strip()
            if key == "Observation":
                break  # the model imagining the result: ignore from here
            if key in fields and key != "Thought":
                break  # a second action or answer: keep the first
            current = key
            if key == "Thought":
                thought_lines.append(value)
            else:
                fields[key] = value
        elif current == "Thought":
            thought_lines.append(raw.strip())
        elif current in fields:
            fields[current] = (fields[current] + "\n" + raw).strip()
    thought = " ".join(x for x in thought_lines if x)
    action, answer = fields.get("Action"), fields.get("Final Answer")
    if action is not None and answer is not None:
        # Both: a small model often writes the answer it hopes for; the action comes first in
        # the format, so act, unless the action line is empty.
        if action:
            answer = None
        else:
            action = None
    if answer is not None:
        if not answer:
            return Step(thought, problem="The Final Answer was empty. Write the answer.")
        return Step(thought, final_answer=answer)
    if action is None:
        return Step(
            thought,
            problem="Write either an Action with an Action Input, or a Final Answer.",
        )
    name = action.strip().strip("`'\"[]()").split("(")[0].strip()
    tool = _find_tool(name, tools)
    if tool is None:
        return Step(
            thought,
            action=name,
            problem=f"There is no tool named {name!r}. Use one of: {', '.join(tools.names)}.",
        )
    if "Action Input" not in fields:
        inline = action[action.find("(") + 1 : action.rfind(")")] if "(" in action else None
        if inline:
            return Step(thought, action=tool.name, action_input=inline)
        if not any(p.required for p in tool.parameters):
            return Step(thought, action=tool.name, action_input="")
        return Step(
            thought,
            action=tool.name,
            problem=f"The Action Input is missing. {tool.name} takes {tool.signature()}.",
        )
    return Step(thought, action=tool.name, action_input=fields["Action Input"])


def _find_tool(name: str, tools: ToolRegistry) -> Tool | None:
    exact = tools.get(name)
    if exact is not None:
        return exact
    folded = {t.name.lower().replace("-", "_").replace(" ", "_"): t for t in tools}
    return folded.get(name.lower().replace("-", "_").replace(" ", "_"))
