"""GGUF blocks -> MatMulNBits blocks exactly; min/max quantization; the packed layouts."""

from pathlib import Path

import numpy as np
import pytest
from gguf import GGMLQuantizationType, GGUFReader
from gguf.quants import dequantize, quantize

from build_tools.default_model import default_gguf
from build_tools.errors import BuildError
from build_tools.quantize import QuantizedMatrix, can_transcode, quantize_asymmetric, transcode


@pytest.fixture(scope="module")
def real_gguf() -> GGUFReader:
    return GGUFReader(str(default_gguf()))


@pytest.mark.parametrize("kind", ["Q8_0", "Q5_0", "Q6_K", "Q4_K"])
def test_transcoding_the_real_model_is_exact(real_gguf: GGUFReader, kind: str) -> None:
    tensor = next(t for t in real_gguf.tensors if t.tensor_type.name == kind and t.shape[-1] < 5000)
    n, k = int(tensor.shape[-1]), int(tensor.shape[0])
    expected = dequantize(tensor.data, tensor.tensor_type).reshape(n, k)
    qm = transcode(tensor.tensor_type, tensor.data, n, k)
    assert (qm.n, qm.k) == (n, k)
    np.testing.assert_array_equal(qm.dequantize(), expected)
    # 4-bit values stay 4-bit; everything else fits MatMulNBits' 8-bit blocks.
    assert qm.bits == (4 if kind == "Q4_K" else 8)
    assert qm.q.max() < 2**qm.bits
    zp = qm.zero_points_input()
    assert zp is None or zp.dtype == np.uint8, "integer zero points keep the fast kernels"


def test_q4_0_transcodes_exactly() -> None:
    w = np.random.default_rng(0).standard_normal((8, 64)).astype(np.float32)
    packed = quantize(w, GGMLQuantizationType.Q4_0)
    qm = transcode(GGMLQuantizationType.Q4_0, packed, 8, 64)
    np.testing.assert_array_equal(
        qm.dequantize(), dequantize(packed, GGMLQuantizationType.Q4_0).reshape(8, 64)
    )


def test_unsupported_types_are_named() -> None:
    assert not can_transcode(GGMLQuantizationType.Q2_K)
    with pytest.raises(BuildError, match="no exact transcoding for GGUF type Q2_K"):
        transcode(GGMLQuantizationType.Q2_K, np.zeros(84, np.uint8), 1, 256)
    with pytest.raises(BuildError, match="not a multiple of the block size 32"):
        transcode(GGMLQuantizationType.Q8_0, np.zeros(34, np.uint8), 1, 40)


@pytest.mark.parametrize(("bits", "bound"), [(8, 0.5 / 255), (4, 0.5 / 15)])
def test_asymmetric_quantization_error_is_half_a_step(bits: int, bound: float) -> None:
    w = np.random.default_rng(1).standard_normal((16, 128)).astype(np.float32)
    qm = quantize_asymmetric(w, bits)
    blocks = w.reshape(16, 4, 32)
    span = np.maximum(blocks.max(-1), 0) - np.minimum(blocks.min(-1), 0)
    err = np.abs(qm.dequantize() - w).reshape(16, 4, 32).max(-1)
    assert np.all(err <= bound * span * 1.01 + 1e-7)
    assert np.all(qm.dequantize()[w == 0] == 0)


def test_asymmetric_quantization_refuses_bad_shapes() -> None:
    with pytest.raises(BuildError, match="bits must be 4 or 8"):
        quantize_asymmetric(np.zeros((2, 32), np.float32), 3)
    with pytest.raises(BuildError, match="not a multiple of the block size"):
        quantize_asymmetric(np.zeros((2, 40), np.float32), 8)


def test_packing_layouts() -> None:
    q = np.array([[[1, 2, 3, 4]]], np.uint8).repeat(2, axis=1)  # [1, 2 blocks, 4]
    qm = QuantizedMatrix(4, 4, q, np.ones((1, 2), np.float32), np.array([[3.0, 5.0]], np.float32))
    assert qm.packed().tolist() == [[[0x21, 0x43], [0x21, 0x43]]]  # low nibble first
    assert qm.zero_points_input().tolist() == [[0x53]]  # type: ignore[union-attr]
    fractional = QuantizedMatrix(4, 4, q, np.ones((1, 2), np.float32), np.array([[0.5, 1.0]]))
    zp = fractional.zero_points_input()
    assert zp is not None
    assert zp.dtype == np.float32
    eight = QuantizedMatrix(8, 4, q, np.ones((1, 2), np.float32), None)
    assert eight.zero_points_input() is None
    assert eight.nbytes == q.nbytes + 8
    assert np.all(eight.dequantize() == q.reshape(1, 8) - 128.0)


def test_real_gguf_is_assembled_once(real_gguf: GGUFReader) -> None:
    assert Path(default_gguf()).stat().st_size > 200_000_000
