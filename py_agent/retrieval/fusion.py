"""Reciprocal rank fusion (Cormack et al., 2009): merge rankings without comparing scores.

BM25 scores and cosine similarities live on different scales; RRF only uses ranks, so it
needs no calibration: score(d) = sum over rankings of 1 / (k + rank of d), rank from 1.
"""

from collections.abc import Hashable, Iterable, Sequence
from typing import TypeVar

T = TypeVar("T", bound=Hashable)


def reciprocal_rank_fusion(
    rankings: Iterable[Sequence[T]], k: int = 60, limit: int | None = None
) -> list[tuple[T, float]]:
    """(item, fused score) best first; ties keep the order in which items were first seen.

    Each ranking lists items best first; an item repeated within one ranking counts once,
    at its best rank. k=60 is the paper's constant: it damps the weight of the very top ranks.
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    scores: dict[T, float] = {}
    for ranking in rankings:
        seen: set[T] = set()
        for rank, item in enumerate(ranking, start=1):
            if item in seen:
                continue
            seen.add(item)
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    # sorted() is stable and dicts keep insertion order, so equal scores stay first-seen first.
    fused = sorted(scores.items(), key=lambda pair: -pair[1])
    return fused if limit is None else fused[:limit]
