import math
from collections.abc import Sequence

import pytest

from py_agent.kernels import KernelBackend, PythonKernels
from py_agent.similarity import cosine_similarity, demo_vectors


class CountingKernels:
    """A backend that records calls: proves the injected kernel does the arithmetic."""

    name = "counting"

    def __init__(self) -> None:
        self.calls = 0

    def dot(self, a: Sequence[float], b: Sequence[float]) -> float:
        self.calls += 1
        return PythonKernels().dot(a, b)


def test_python_kernels_dot() -> None:
    assert PythonKernels().dot([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]) == 32.0
    assert PythonKernels().dot([], []) == 0.0
    with pytest.raises(ValueError, match="same length, got 2 and 1"):
        PythonKernels().dot([1.0, 2.0], [1.0])


def test_cosine_known_values() -> None:
    k = PythonKernels()
    assert cosine_similarity([1.0, 0.0], [0.0, 1.0], k) == 0.0
    assert cosine_similarity([1.0, 2.0], [2.0, 4.0], k) == pytest.approx(1.0)
    assert cosine_similarity([1.0, 2.0], [-1.0, -2.0], k) == pytest.approx(-1.0)


def test_cosine_goes_through_the_injected_backend() -> None:
    kernels = CountingKernels()
    backend: KernelBackend = kernels
    value = cosine_similarity(*demo_vectors(), backend)
    assert kernels.calls == 3
    a, b = demo_vectors()
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    expected = dot / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))
    assert value == pytest.approx(expected, rel=1e-12)


def test_cosine_is_clamped_to_the_unit_interval() -> None:
    class Overshooting:
        name = "overshooting"

        def dot(self, a: Sequence[float], b: Sequence[float]) -> float:
            return 1.0000001 if a is b else 1.0000002

    assert cosine_similarity([1.0], [1.0], Overshooting()) == 1.0


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        ([1.0], [1.0, 2.0], "same length"),
        ([], [], "must not be empty"),
        ([0.0, 0.0], [1.0, 1.0], "zero vector"),
        ([math.nan, 1.0], [1.0, 1.0], "finite"),
        ([1.0, 1.0], [math.inf, 1.0], "finite"),
    ],
)
def test_cosine_rejects_bad_input(a: list[float], b: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cosine_similarity(a, b, PythonKernels())


def test_demo_vectors_are_deterministic_and_sized() -> None:
    a, b = demo_vectors(16)
    assert len(a) == len(b) == 16
    assert demo_vectors(16) == (a, b)
