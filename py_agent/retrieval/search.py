"""Hybrid search over a corpus: BM25 always, dense when an embedding search is plugged in,
fused with reciprocal rank fusion. Standard library only; the dense side is a callable so the
page (onnxruntime-web + the wasm index), the edge and the native build can each provide it."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from py_agent.retrieval.bm25 import Bm25Index
from py_agent.retrieval.fusion import reciprocal_rank_fusion
from py_agent.retrieval.passages import Passage

# query, k -> [(passage row, score)] best first
DenseSearch = Callable[[str, int], list[tuple[int, float]]]


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float  # fused RRF score
    ranks: dict[str, int]  # rank (1-based) in each retriever that found it


class DocsSearch:
    def __init__(
        self,
        passages: Sequence[Passage],
        bm25: Bm25Index,
        dense: DenseSearch | None = None,
        candidates: int = 20,
    ) -> None:
        if len(bm25) != len(passages):
            raise ValueError(f"the BM25 index has {len(bm25)} rows, passages {len(passages)}")
        self.passages = list(passages)
        self.bm25 = bm25
        self.dense = dense
        self.candidates = candidates

    def document_frequency(self, term: str) -> int:
        """How many passages contain `term` (an analysed term)."""
        return self.bm25.document_frequency(term)

    def rankings(self, query: str) -> dict[str, list[int]]:
        """Each retriever's passage rows, best first (fused by `search`)."""
        rankings: dict[str, list[int]] = {
            "bm25": [row for row, _ in self.bm25.search(query, self.candidates)]
        }
        if self.dense is not None:
            rankings["dense"] = [row for row, _ in self.dense(query, self.candidates)]
        return rankings

    def search(self, query: str, k: int = 3) -> list[Hit]:
        rankings = self.rankings(query)
        fused = reciprocal_rank_fusion(list(rankings.values()), limit=k)
        return [
            Hit(
                self.passages[row],
                score,
                {name: r.index(row) + 1 for name, r in rankings.items() if row in r},
            )
            for row, score in fused
        ]
