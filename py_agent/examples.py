"""Worked examples for few-shot prompting, chosen per question.

A small base model copies the example nearest to the question: its tool, the shape of its
input, whether it answers directly. So instead of a fixed list, the agent shows the examples
most similar to the question (BM25 over the examples' questions), the most similar last, drawn
from this bank: every built-in tool in several phrasings, and questions that need no tool.
Only examples whose tool is registered are used. None of these is in a benchmark task set (two
that were, word for word, were replaced; `tests/agent/test_eval_overlap.py` checks the frozen
evaluation set against this file).
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from py_agent.retrieval.bm25 import Bm25Index


@dataclass(frozen=True)
class Example:
    tool: str | None
    question: str
    steps: tuple[tuple[str, str, str], ...]  # (thought, action input, observation) per call
    answer: str
    thought: str = "I know the answer."

    def render(self) -> str:
        lines = [f"Question: {self.question}"]
        tool = self.tool
        for thought, arg, obs in self.steps:
            lines += [f"Thought: {thought}", f"Action: {tool}", f"Action Input: {arg}"]
            lines.append(f"Observation: {obs}")
        lines += [f"Thought: {self.thought}", f"Final Answer: {self.answer}"]
        return "\n".join(lines)


def _calc(
    q: str, expr: str, out: str, answer: str, thought: str = "I need to compute this."
) -> Example:
    return Example("calculator", q, ((thought, expr, out),), answer)


def _conv(q: str, value: float, a: str, b: str, out: str, answer: str) -> Example:
    arg = f"{value:g} {a} to {b}"
    return Example("convert_units", q, (("I need to convert units.", arg, out),), answer)


def _none(q: str, answer: str) -> Example:
    return Example(None, q, (), answer, thought="I know this without a tool.")


def _docs(q: str, query: str, out: str, answer: str) -> Example:
    thought = "The documents should say this."
    return Example("search_docs", q, ((thought, query, out),), answer)


BANK: tuple[Example, ...] = (
    _calc("What is 418 * 23?", "418 * 23", "9614", "9614"),
    _calc("What is 4821 + 1379?", "4821 + 1379", "6200", "6200"),
    _calc("What is 950 - 487?", "950 - 487", "463", "463"),
    _calc("What is 84 divided by 7?", "84 / 7", "12", "12"),
    _calc("What is 3 to the power of 5?", "3 ** 5", "243", "243"),
    _calc("What is the square root of 81?", "sqrt(81)", "9", "9"),
    _calc("What is 35% of 640?", "35% of 640", "224", "224"),
    _calc("How much is 6 * 7 * 8?", "6 * 7 * 8", "336", "336"),
    _calc("If 5 tickets cost 12 dollars each, what is the total?", "5 * 12", "60", "60 dollars"),
    _calc("What is 9 * 9, minus 1?", "9 * 9 - 1", "80", "80"),
    _calc("A car drives 300 km in 4 hours. What is its average speed?", "300 / 4", "75", "75 km/h"),
    _conv("How many miles is 10 km?", 10, "km", "miles", "6.213712 miles", "6.213712 miles"),
    _conv(
        "How many kilograms is 20 pounds?",
        20,
        "pounds",
        "kilograms",
        "9.071847 kilograms",
        "9.071847 kilograms",
    ),
    _conv("How many pounds is 5 kg?", 5, "kg", "pounds", "11.023113 pounds", "11.023113 pounds"),
    _conv(
        "Convert 30 degrees Celsius to Fahrenheit.",
        30,
        "Celsius",
        "Fahrenheit",
        "86 Fahrenheit",
        "86 Fahrenheit",
    ),
    _conv(
        "Convert 50 degrees Fahrenheit to Celsius.",
        50,
        "Fahrenheit",
        "Celsius",
        "10 Celsius",
        "10 Celsius",
    ),
    _conv(
        "How many centimeters is 2 feet?",
        2,
        "feet",
        "centimeters",
        "60.96 centimeters",
        "60.96 centimeters",
    ),
    _conv(
        "How many seconds are in 2 minutes?", 2, "minutes", "seconds", "120 seconds", "120 seconds"
    ),
    _conv(
        "How many milliliters is 2 liters?",
        2,
        "liters",
        "milliliters",
        "2000 milliliters",
        "2000 milliliters",
    ),
    _conv("How many megabytes is 3 gigabytes?", 3, "gb", "mb", "3000 mb", "3000 mb"),
    _docs(
        "Which file lists the Python packages of the project?",
        "which file lists the Python packages of the project",
        "[1] (docs/DEVELOPING.md § Entry points) make setup: .venv from requirements.txt",
        "requirements.txt [1]",
    ),
    _docs(
        "How do I update the package list on Debian?",
        "how to update the package list on Debian",
        "[1] (debian-reference/ch02.en.html § 2.2.3) apt update updates the package list",
        "Run apt update [1].",
    ),
    _docs(
        "What does the doctor command print?",
        "what the doctor command prints",
        "[1] (docs/DEVELOPING.md § Entry points) python -m build_tools doctor lists the "
        "external tools and where they are",
        "It lists the external tools and where they are [1].",
    ),
    _none("What is the capital of Spain?", "Madrid."),
    _none("What is the capital of Japan?", "Tokyo."),
    _none("What color is grass?", "Green."),
    _none("How many legs does a spider have?", "8."),
    _none("What is the opposite of up?", "Down."),
    _none("Which animal says moo?", "The cow."),
    _none("What is the largest ocean on Earth?", "The Pacific Ocean."),
    _none("What language is spoken in Brazil?", "Portuguese."),
    _none("How many months are in a year?", "12."),
    Example(
        "datetime",
        "What is today's date?",
        (("I need the current date.", "{}", "Tuesday 2026-03-03 09:12 (UTC+0000)"),),
        "2026-03-03.",
    ),
    Example(
        "datetime",
        "What time is it now?",
        (("I need the current time.", "{}", "Friday 2026-05-15 16:40 (UTC+0000)"),),
        "16:40 UTC.",
    ),
)


class ExamplePicker:
    """The `k` bank examples most similar to a question, among those whose tool is available."""

    def __init__(self, tools: Sequence[str], bank: Sequence[Example] = BANK) -> None:
        self.examples = [e for e in bank if e.tool is None or e.tool in tools]
        self._index = Bm25Index.from_texts(
            list(range(len(self.examples))), [e.question for e in self.examples]
        )

    def pick(
        self, question: str, k: int = 4, tools: Collection[str] | None = None
    ) -> list[Example]:
        """The k nearest examples, most similar last; only those whose tool is in `tools` (or
        needs none) when it is given."""
        usable = [
            i
            for i, e in enumerate(self.examples)
            if tools is None or e.tool is None or e.tool in tools
        ]
        ranked = [row for row, _ in self._index.search(question, len(self.examples))]
        # Unmatched examples fill up in bank order (so every tool can still be seen).
        ranked += [i for i in range(len(self.examples)) if i not in ranked]
        chosen = [i for i in ranked if i in usable][:k]
        return [self.examples[i] for i in reversed(chosen)]  # most similar last, nearest
