"""Contamination check: does any text the agent was built, tuned or tested with contain an
evaluation task of bench/agent/eval.json (issue 15)?

Two kinds of overlap, on text normalized the same way on both sides (lowercase, punctuation
replaced by spaces, whitespace collapsed):

- text: the task's normalized question occurs in a source (as whole words), or, for a question of
  8 words or more, any run of 8 consecutive words of it does;
- numbers: a line of a source holds every number of the question (a question with 2 numbers or
  more, or with one of 3 digits or more) and at least 60% of its content words (a paraphrase of
  the same problem: "Sara buys 14 pens at 3.25 each" / "14 pens at 3.25 dollars each: Sara's
  total?").

`project_texts` gathers the project's own sources (tests, docs, the example bank, the older task
sets). Standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WINDOW = 8
MIN_SHARED = 0.6
MIN_DIGITS = 3
# The files of the evaluation itself (they quote eval tasks or made-up look-alikes on purpose).
OWN_FILES = frozenset({"tests/agent/test_grader.py", "tests/agent/test_eval_overlap.py"})
_SOURCES = (
    "tests/**/*.py",
    "docs/**/*.md",
    "docs/**/*.json",
    "README.md",
    "py_agent/examples.py",
    "bench/agent/tasks.json",
    "bench/agent/heldout.json",
)
_PUNCT = re.compile(r"[^\w\s]|_")
_NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.])\d+(?:\.\d+)?")
_STOP = frozenset({
    "a", "an", "the", "is", "are", "was", "were", "be", "been", "am", "do", "does", "did", "of",
    "to", "in", "on", "at", "for", "by", "with", "from", "as", "and", "or", "but", "if", "then",
    "so", "than", "that", "this", "these", "those", "it", "its", "i", "me", "my", "we", "our",
    "you", "your", "he", "she", "his", "her", "they", "them", "their", "what", "whats", "which",
    "who", "whom", "whose", "how", "many", "much", "when", "where", "why", "s", "t", "ll", "re",
    "ve", "d", "m", "can", "could", "would", "should", "will", "shall", "may", "might", "must",
    "please", "tell", "give", "get", "got", "any", "some", "there", "here", "into", "about",
    "per", "each"
})  # fmt: skip


@dataclass(frozen=True)
class Overlap:
    """Task `task_id` occurs in source `source`: `kind` is "text" or "numbers", `match` the
    normalized words (text) or the source line (numbers) that matched."""

    task_id: str
    source: str
    kind: str
    match: str


def normalize(text: str) -> str:
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def number_values(text: str) -> set[float]:
    """The numbers written with digits ("1,234" is 1234; "-7" is 7: the sign is punctuation)."""
    return {float(m.group().replace(",", "")) for m in _NUMBER.finditer(text)}


def _digits(text: str) -> int:
    return max((sum(c.isdigit() for c in m.group()) for m in _NUMBER.finditer(text)), default=0)


def content_words(text: str) -> set[str]:
    return {w for w in normalize(text).split() if w not in _STOP and not w.isdigit()}


def _windows(words: Sequence[str]) -> Iterable[str]:
    for i in range(len(words) - WINDOW + 1):
        yield " ".join(words[i : i + WINDOW])


class _Source:
    def __init__(self, name: str, text: str) -> None:
        self.name = name
        words = normalize(text).split()
        self.padded = f" {' '.join(words)} "
        self.grams = set(_windows(words))
        self.lines: list[tuple[str, set[float], set[str]]] = []
        self.by_number: dict[float, set[int]] = {}
        for line in text.splitlines():
            values = number_values(line)
            if not values:
                continue
            index = len(self.lines)
            self.lines.append((line.strip(), values, set(normalize(line).split())))
            for v in values:
                self.by_number.setdefault(v, set()).add(index)

    def text_match(self, question: str) -> str | None:
        words = normalize(question).split()
        if not words:
            return None
        if len(words) < WINDOW:
            whole = " ".join(words)
            return whole if f" {whole} " in self.padded else None
        return next((w for w in _windows(words) if w in self.grams), None)

    def number_match(self, question: str) -> str | None:
        values = number_values(question)
        if not values or (len(values) < 2 and _digits(question) < MIN_DIGITS):
            return None
        candidates = set.intersection(*(self.by_number.get(v, set()) for v in values))
        wanted = content_words(question)
        for index in sorted(candidates):
            line, _, words = self.lines[index]
            if not wanted or len(wanted & words) >= MIN_SHARED * len(wanted):
                return line[:200]
        return None


def find_overlaps(tasks: Sequence[Mapping[str, Any]], texts: Mapping[str, str]) -> list[Overlap]:
    """Every (task, source) pair where the source contains the task: its question's text or its
    numbers with most of its words on one line."""
    sources = [_Source(name, text) for name, text in texts.items()]
    found = []
    for task in tasks:
        question, task_id = str(task["q"]), str(task.get("id", task["q"]))
        for source in sources:
            text = source.text_match(question)
            if text is not None:
                found.append(Overlap(task_id, source.name, "text", text))
                continue
            line = source.number_match(question)
            if line is not None:
                found.append(Overlap(task_id, source.name, "numbers", line))
    return found


def project_texts(root: Path) -> dict[str, str]:
    """name (path relative to `root`) -> content of the project's own question-bearing files:
    tests, docs, README, the example bank and the older task sets; not eval.json nor the
    evaluation's own tests."""
    out: dict[str, str] = {}
    for pattern in _SOURCES:
        for path in sorted(root.glob(pattern)):
            name = path.relative_to(root).as_posix()
            if path.is_file() and name not in OWN_FILES:
                out[name] = path.read_text(encoding="utf-8", errors="replace")
    return out
