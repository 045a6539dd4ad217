"""`search_docs`: find passages in the documents (the shipped corpus and the user's own) and
return them numbered, with their source, so the answer can cite them."""

import itertools
import re

from py_agent.retrieval.bm25 import analyze
from py_agent.retrieval.search import DocsSearch, Hit
from py_agent.tools import Tool, ToolError, tool

PASSAGE_CHARS = 320
_PASSAGE = re.compile(r"\[(\d+)\] \(([^)]*)\) (.*?)(?= \[\d+\] \(|$)", re.DOTALL)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\s*\n+\s*|\s+(?=#+ )")
_STOP = frozenset(
    [
        "the",
        "a",
        "an",
        "is",
        "are",
        "was",
        "were",
        "of",
        "to",
        "in",
        "on",
        "for",
        "and",
        "or",
        "what",
        "which",
        "how",
        "do",
        "does",
        "i",
        "my",
        "me",
        "you",
        "it",
        "with",
        "by",
        "at",
        "be",
        "can",
        "this",
        "that",
        "from",
        "as",
    ]
)


def best_sentence(question: str, output: str) -> str | None:
    """The sentence of the returned passages that shares the most words with the question,
    with its citation: an extractive answer that a small model cannot garble."""
    words = analyze(question)
    wanted = {t for t in words if t not in _STOP}
    pairs = set(itertools.pairwise(words))  # "make test" beats "make" + "test" apart
    best, best_score = "", 0.0
    for m in _PASSAGE.finditer(output):
        n, where, text = m.group(1), m.group(2), m.group(3)
        heading_terms = set(analyze(where))
        for sentence in _SENTENCE.split(text):
            found = analyze(sentence)
            terms = set(found)
            score = (
                len(wanted & terms)
                + 2 * len(pairs & set(itertools.pairwise(found)))
                + 0.5 * len(wanted & heading_terms)
            )
            # A heading or a table cell alone ("make test") says nothing: need a few words.
            if len(found) >= 4 and score > best_score:
                best, best_score = f"{sentence.strip()} [{n}]", score
    return best or None  # nothing in common with the question: let the model answer


def cite(hit: Hit) -> str:
    """Where a passage comes from: file and heading."""
    where = hit.passage.heading or hit.passage.title
    return f"{hit.passage.source}" + (f" § {where}" if where else "")


def make_search_docs(search: DocsSearch, k: int = 3) -> Tool:
    def search_docs(query: str) -> str:
        """Search the documents for passages about a topic, e.g. how to list installed packages."""
        if not query.strip():
            raise ToolError("the query is empty")
        hits = search.search(query, k)
        if not hits:
            return "No passage matches."
        parts = []
        for n, hit in enumerate(hits, start=1):
            text = hit.passage.text
            if len(text) > PASSAGE_CHARS:
                text = text[:PASSAGE_CHARS].rsplit(" ", 1)[0] + " …"
            parts.append(f"[{n}] ({cite(hit)}) {text}")
        return " ".join(parts)  # one line per observation anyway (validators.one_line)

    return tool(  # type: ignore[no-any-return]
        search_docs,
        example="how to list installed packages",
        answer_from_output=best_sentence,
        input_from_question=True,
    )
