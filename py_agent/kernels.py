"""The numeric kernels the agent needs, behind one small protocol.

In the browser they are the Rust SIMD128 wasm module (through a JS-backed adapter); natively or
in tests, `PythonKernels` is the plain-Python reference.
"""

from collections.abc import Sequence
from typing import Protocol


class KernelBackend(Protocol):
    """Where the vector arithmetic runs."""

    @property
    def name(self) -> str:
        """Short label shown to the user, e.g. "wasm-simd128"."""
        ...

    def dot(self, a: Sequence[float], b: Sequence[float]) -> float:
        """Inner product of two vectors of equal length."""
        ...


class PythonKernels:
    """Reference backend: exact sequential arithmetic in Python floats."""

    name = "python"

    def dot(self, a: Sequence[float], b: Sequence[float]) -> float:
        if len(a) != len(b):
            raise ValueError(f"vectors must have the same length, got {len(a)} and {len(b)}")
        return sum(x * y for x, y in zip(a, b, strict=True))
