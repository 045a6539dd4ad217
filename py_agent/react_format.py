"""The ReAct transcript: how prompts are written and how the model's steps are read back.

Two prompt formats, chosen by the model's manifest (`prompt_format`):
- "completion" for base models (the default Gemma 3 270M is one): a tool list and worked
  examples (chosen per question: `examples.ExamplePicker`), then "Question: … / Thought:" to be
  continued;
- "chat" for instruction-tuned models: the same instructions inside Gemma's
  `<start_of_turn>user … <end_of_turn><start_of_turn>model` turn, the trace in the model turn;
- "tuned" for a model fine-tuned on ReAct traces of these tools (the default 270M's `agent`
  variant, docs/AGENT_TASKS.md): one line of instructions and the tool list, no format
  description and no worked examples — the model learnt both — so the first prompt is short.

`parse_step` reads a freely generated step (unconstrained decoding) and says what is wrong with
it in words the model can act on.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from py_agent.examples import Example
from py_agent.llm import Span
from py_agent.tools import Tool, ToolRegistry
from py_agent.validators import MAX_USER_CHARS, one_line

FINAL = "Final Answer:"
ACTION = "Action:"
ACTION_INPUT = "Action Input:"
OBSERVATION = "Observation:"


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


TUNED = "tuned"


def tuned_instructions(tools: ToolRegistry) -> str:
    """What a fine-tuned model sees before the conversation (it must match its training data:
    `build_tools/finetune/traces.py` renders its prompts with `prompt_spans`)."""
    lines = ["Answer the question. Use a tool only when it helps. Tools:"]
    lines += [f"- {t.signature()}: {_gist(t.description)}" for t in tools]
    return "\n".join(lines) + "\n\n"


def _gist(description: str) -> str:
    """A tool description's first clause ("Convert a quantity between units"): the model learnt
    the tools' use from traces, so the examples and details only lengthen every prompt."""
    return re.split(r"[;.]\s|, e\.g\.|\.$", description.strip(), maxsplit=1)[0].strip()


def prompt_format_of(model_doc: Mapping[str, Any], variant: str | None = None) -> str:
    """The prompt a build's variant was made for: a fine-tuned variant says so itself
    ("tuned"); otherwise the model's ("completion" for base models, "chat" for -it ones)."""
    name = variant or model_doc.get("default_variant")
    entry = model_doc.get("variants", {}).get(name, {}) if isinstance(name, str) else {}
    return str(entry.get("prompt_format") or model_doc.get("prompt_format", "completion"))


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
    examples: Sequence[Example] = (),
) -> list[Span]:
    """The whole prompt: instructions, worked examples, earlier turns, this question and its
    trace so far. Untrusted text (questions, answers, the trace with its observations) is never
    a control span."""
    if fmt == TUNED:
        # On one line, so that nothing the user writes can start a line of the format.
        history = [Turn(one_line(t.question, MAX_USER_CHARS), t.answer) for t in history]
        question = one_line(question, MAX_USER_CHARS)
    past = "".join(f"Question: {t.question}\nFinal Answer: {t.answer}\n\n" for t in history)
    if fmt == TUNED:
        return [Span(tuned_instructions(tools) + past + f"Question: {question}\n" + trace)]
    shown = "".join(e.render() + "\n\n" for e in examples)
    head = instructions(tools) + "\n" + shown
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
        raise ValueError(f"unknown prompt format {fmt!r}: 'completion', 'chat' or 'tuned'")
    return [Span(head + past + f"Question: {question}\n" + trace)]


def fixed_prefix(fmt: str, tools: ToolRegistry) -> list[Span]:
    """The start that every prompt of these tools shares (the instructions, before the first
    example's or the question's "Question: "): a backend can run it ahead of the first question."""
    spans = prompt_spans(fmt, tools, [], "", "", ())
    last = max(i for i, s in enumerate(spans) if not s.control and "Question: " in s.text)
    text = spans[last].text
    return [*spans[:last], Span(text[: text.rindex("Question: ")])]


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
