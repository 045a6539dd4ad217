"""Cosine similarity computed with whichever kernel backend the caller injects."""

import math
from collections.abc import Sequence

from py_agent.kernels import KernelBackend


def cosine_similarity(a: Sequence[float], b: Sequence[float], kernels: KernelBackend) -> float:
    """cos(a, b) in [-1, 1]; ValueError names what is wrong with the input."""
    if len(a) != len(b):
        raise ValueError(f"vectors must have the same length, got {len(a)} and {len(b)}")
    if not a:
        raise ValueError("vectors must not be empty")
    if not all(math.isfinite(x) for x in a) or not all(math.isfinite(x) for x in b):
        raise ValueError("vectors must contain only finite numbers")
    norm = math.sqrt(kernels.dot(a, a) * kernels.dot(b, b))
    if norm == 0.0:
        raise ValueError("cosine similarity is undefined for a zero vector")
    return max(-1.0, min(1.0, kernels.dot(a, b) / norm))


def demo_vectors(dim: int = 384) -> tuple[list[float], list[float]]:
    """Two fixed vectors the page and its test both use, so the result is checkable."""
    a = [math.sin(0.37 * i) for i in range(dim)]
    b = [math.cos(0.11 * i) + 0.5 * a[i] for i in range(dim)]
    return a, b
