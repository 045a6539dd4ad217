"""Okapi BM25 over passages: an inverted index that serialises to a JSON-able dict.

The same index is built at build time (CPython) and searched in the page (Pyodide), so it uses
only the standard library and its JSON form is the interchange format.
"""

import heapq
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from py_agent.retrieval.passages import Passage

FORMAT = 1
# Runs of letters/digits in any script: `[^\W_]` is a word character other than underscore.
_TOKEN = re.compile(r"[^\W_]+")


def analyze(text: str) -> list[str]:
    """NFKC, casefold, split on non-alphanumerics, drop 1-character tokens except digits.

    NFKC folds compatibility forms (full-width letters, ligatures) so they match their plain
    spelling; single letters are mostly noise ("a", "s" of "it's") but "3" is a real term.
    """
    folded = unicodedata.normalize("NFKC", text).casefold()
    return [t for t in _TOKEN.findall(folded) if len(t) > 1 or t.isdigit()]


def passage_text(passage: Passage) -> str:
    """What BM25 sees of a passage: its section heading counts as part of it."""
    return f"{passage.heading}\n{passage.text}" if passage.heading else passage.text


@dataclass
class Bm25Index:
    """k1 saturates term frequency; b sets how much long passages are penalised."""

    k1: float = 1.2
    b: float = 0.75
    doc_ids: list[int] = field(default_factory=list)
    doc_lengths: list[int] = field(default_factory=list)
    # term -> [(row, term frequency)], rows ascending
    postings: dict[str, list[tuple[int, int]]] = field(default_factory=dict)

    @classmethod
    def from_texts(
        cls, ids: Sequence[int], texts: Sequence[str], k1: float = 1.2, b: float = 0.75
    ) -> "Bm25Index":
        if len(ids) != len(texts):
            raise ValueError(f"{len(ids)} ids for {len(texts)} texts")
        if k1 < 0 or not 0.0 <= b <= 1.0:
            raise ValueError(f"need k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        index = cls(k1=k1, b=b, doc_ids=list(ids))
        for row, text in enumerate(texts):
            counts = Counter(analyze(text))
            index.doc_lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                index.postings.setdefault(term, []).append((row, tf))
        return index

    @classmethod
    def from_passages(
        cls, passages: Iterable[Passage], k1: float = 1.2, b: float = 0.75
    ) -> "Bm25Index":
        items = list(passages)
        return cls.from_texts([p.id for p in items], [passage_text(p) for p in items], k1, b)

    def __len__(self) -> int:
        return len(self.doc_ids)

    def document_frequency(self, term: str) -> int:
        """How many passages contain `term` (an analysed term)."""
        return len(self.postings.get(term, ()))

    def idf(self, term: str) -> float:
        """Lucene's BM25 idf, ln(1 + (N - df + 0.5) / (df + 0.5)): never negative."""
        df = self.document_frequency(term)
        return math.log(1.0 + (len(self.doc_ids) - df + 0.5) / (df + 0.5))

    def search(self, query: str, k: int = 10) -> list[tuple[int, float]]:
        """(passage id, score) for the k best passages, best first; ties by insertion order."""
        if k <= 0 or not self.doc_ids:
            return []
        avg_len = sum(self.doc_lengths) / len(self.doc_lengths) or 1.0
        scores: dict[int, float] = {}
        for term in dict.fromkeys(analyze(query)):  # each query term once, in order
            postings = self.postings.get(term)
            if not postings:
                continue
            idf = self.idf(term)
            for row, tf in postings:
                norm = self.k1 * (1.0 - self.b + self.b * self.doc_lengths[row] / avg_len)
                scores[row] = scores.get(row, 0.0) + idf * tf * (self.k1 + 1.0) / (tf + norm)
        best = heapq.nsmallest(k, scores.items(), key=lambda item: (-item[1], item[0]))
        return [(self.doc_ids[row], score) for row, score in best]

    def to_json(self) -> dict[str, Any]:
        """Postings flattened to [row, tf, row, tf, ...] (about half the JSON of pairs)."""
        return {
            "format": FORMAT,
            "k1": self.k1,
            "b": self.b,
            "doc_ids": self.doc_ids,
            "doc_lengths": self.doc_lengths,
            "postings": {
                term: [n for pair in plist for n in pair]
                for term, plist in sorted(self.postings.items())
            },
        }

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "Bm25Index":
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise ValueError(f"not a BM25 index in format {FORMAT}")
        try:
            index = cls(
                k1=float(doc["k1"]),
                b=float(doc["b"]),
                doc_ids=[int(i) for i in doc["doc_ids"]],
                doc_lengths=[int(n) for n in doc["doc_lengths"]],
            )
            rows = len(index.doc_ids)
            if len(index.doc_lengths) != rows:
                raise ValueError("doc_lengths and doc_ids differ in length")
            for term, flat in doc["postings"].items():
                if len(flat) % 2:
                    raise ValueError(f"postings of {term!r} have odd length")
                pairs = [(int(flat[i]), int(flat[i + 1])) for i in range(0, len(flat), 2)]
                if any(not 0 <= row < rows for row, _ in pairs):
                    raise ValueError(f"postings of {term!r} point past the last passage")
                index.postings[str(term)] = pairs
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"corrupt BM25 index: {exc!r}") from exc
        return index
