"""`search_docs`: find passages in the documents (the shipped corpus and the user's own) and
return them numbered, with their source, so the answer can cite them."""

import itertools
import re

from py_agent.retrieval.bm25 import analyze
from py_agent.retrieval.search import DocsSearch, Hit
from py_agent.tools import Tool, ToolError, tool

PASSAGE_CHARS = 320
# "[n] (source § heading) text": headings may hold parentheses two deep ("The app (web/)").
_CITE = r"\(((?:[^()]|\((?:[^()]|\([^()]*\))*\))*)\)"
_PASSAGE = re.compile(rf"\[(\d+)\] {_CITE} (.*?)(?= \[\d+\] \(|$)", re.DOTALL)
# Sentence ends, blank lines, and line breaks before a Markdown heading, table row, list item or
# quote; a soft-wrapped line ("the document\nindex") stays in its sentence.
_SENTENCE = re.compile(
    r"(?<=[.!?])\s+|\s*\n\s*\n\s*|\s*\n(?=\s*(?:[#|>*+-]|\d+[.)])\s)\s*|\s+(?=#+ )"
)
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


def _without_heading(sentence: str, heading: str) -> str:
    """A passage starts with its heading, which the one-line observation runs into the first
    sentence ("# The app (web/) `make run` builds …"): the heading is not an answer."""
    if heading and sentence.startswith("#"):
        body = sentence.lstrip("#").strip()
        if body.startswith(heading):
            return body[len(heading) :].strip()
    return sentence


def best_sentence(question: str, output: str) -> str | None:
    """The sentence of the returned passages that shares the most words with the question,
    with its citation: an extractive answer that a small model cannot garble."""
    words = analyze(question)
    wanted = {t for t in words if t not in _STOP}
    # "make test" beats "make" + "test" apart; "what is" says nothing.
    pairs = {p for p in itertools.pairwise(words) if not set(p) <= _STOP}
    best, best_score = "", 0.0
    for m in _PASSAGE.finditer(output):
        n, where, text = m.group(1), m.group(2), m.group(3)
        heading_terms = set(analyze(where))
        heading = where.split(" § ", 1)[1] if " § " in where else ""
        for sentence in _SENTENCE.split(text):
            sentence = _without_heading(sentence.strip(), heading)
            found = analyze(sentence)
            terms = set(found)
            score = (
                len(wanted & terms)
                + 2 * len(pairs & set(itertools.pairwise(found)))
                + 0.5 * len(wanted & heading_terms)
            )
            # A heading or a table cell alone ("make test") says nothing: need a few words.
            if len(found) >= 4 and score > best_score:
                best, best_score = f"{sentence} [{n}]", score
    return best or None  # nothing in common with the question: let the model answer


_DOCUMENT_INTENT = re.compile(
    r"\b(?:my|our|the|these|those)\s+(?:own\s+)?(?:documents?|docs|notes|files|manuals?)\b"
    r"|\bsearch\b|\baccording to\b",
    re.IGNORECASE,
)
_NAME = re.compile(r"(?<=[^.!?]\s)[A-Z][\w.+-]*")  # a capitalised word, not a sentence's first

# A name is a topic of the documents when this many passages mention it: country names and the
# like turn up once or twice (a locale list), what the documents are about far more often.
TOPIC_PASSAGES = 3


def needs_documents(search: DocsSearch, question: str) -> bool:
    """The question asks about the documents in so many words ("search my notes", "according to
    the docs"), or every name in it is something they are about ("Gemma Edge Agent", "Rust …
    Chromium"; not "Celsius to Fahrenheit", which they mention only in passing)."""
    if _DOCUMENT_INTENT.search(question):
        return True
    terms = [t for name in _NAME.findall(question) for t in analyze(name)]
    return bool(terms) and all(search.document_frequency(t) >= TOPIC_PASSAGES for t in terms)


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
        input_is_question=True,
        required_for=lambda question: needs_documents(search, question),
    )
