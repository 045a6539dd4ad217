"""Block-quantized weight matrices in MatMulNBits' layout, made two ways.

- `transcode`: re-expresses llama.cpp's GGUF blocks exactly (up to float32 rounding) as
  `(q - zero_point) * scale` blocks along K: Q8_0/Q5_0/Q6_K become 8-bit blocks (32, 32, 16),
  Q4_0/Q4_K stay 4-bit blocks of 32 (Q4_K's `d*sc*q - dmin*m` becomes a float zero point).
  The model then computes with exactly the weights the GGUF holds: no second rounding.
- `quantize_asymmetric`: min/max block quantization of float weights (HF sources, or tensors
  whose GGUF type has no exact form), 4 or 8 bits.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from gguf import GGMLQuantizationType

from build_tools.errors import BuildError

U8 = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class QuantizedMatrix:
    """W [n, k] in blocks along k: W[r, b*bs + i] = (q[r, b, i] - zp[r, b]) * scale[r, b]."""

    bits: int
    block_size: int
    q: U8  # [n, blocks, block_size], unpacked values in [0, 2**bits)
    scales: F32  # [n, blocks]
    zero_points: F32 | None  # [n, blocks]; None means the operator default 2**(bits-1)
    # [n, blocks] subtracted from every weight of a block: W = (q - zp) * scale - offset. Lets
    # Q4_K's `d*sc*q - dmin*m` stay exact with integer zero points (MatMulNBits' fast path);
    # the graph subtracts block_sums(x) @ offsets.T.
    offsets: F32 | None = None

    @property
    def n(self) -> int:
        return int(self.q.shape[0])

    @property
    def k(self) -> int:
        return int(self.q.shape[1] * self.q.shape[2])

    def dequantize(self) -> F32:
        zp = self.zero_points if self.zero_points is not None else np.float32(2 ** (self.bits - 1))
        zp_b = zp[..., None] if isinstance(zp, np.ndarray) else zp
        w = (self.q.astype(np.float32) - zp_b) * self.scales[..., None]
        if self.offsets is not None:
            w = w - self.offsets[..., None]
        return np.asarray(w.reshape(self.n, self.k), dtype=np.float32)

    def packed(self) -> U8:
        """MatMulNBits' B input: [n, blocks, block_size * bits / 8], low nibble first."""
        if self.bits == 8:
            return np.ascontiguousarray(self.q)
        return np.ascontiguousarray(self.q[..., 0::2] | (self.q[..., 1::2] << 4)).astype(np.uint8)

    def zero_points_input(self) -> U8 | F32 | None:
        """MatMulNBits' zero_points: uint8 when integral (packed for 4 bits), else float."""
        zp = self.zero_points
        if zp is None:
            return None
        if np.all(zp == np.round(zp)) and zp.min() >= 0 and zp.max() < 2**self.bits:
            ints = zp.astype(np.uint8)
            if self.bits == 8:
                return ints
            if ints.shape[1] % 2:
                ints = np.concatenate([ints, np.zeros((ints.shape[0], 1), np.uint8)], axis=1)
            return np.ascontiguousarray(ints[:, 0::2] | (ints[:, 1::2] << 4)).astype(np.uint8)
        return np.ascontiguousarray(zp, dtype=np.float32)

    @property
    def nbytes(self) -> int:
        zp = self.zero_points_input()
        return int(self.packed().nbytes + self.scales.nbytes + (zp.nbytes if zp is not None else 0))


def _f16(raw: U8) -> F32:
    return np.asarray(raw.copy().view(np.float16).astype(np.float32), dtype=np.float32)


def _blocks(data: U8, n: int, k: int, block_bytes: int, per_block: int) -> U8:
    if k % per_block:
        raise BuildError(f"row length {k} is not a multiple of the block size {per_block}")
    return np.asarray(data, dtype=np.uint8).reshape(n, k // per_block, block_bytes)


def _q8_0(data: U8, n: int, k: int) -> QuantizedMatrix:
    b = _blocks(data, n, k, 34, 32)
    q = (b[..., 2:].view(np.int8).astype(np.int16) + 128).astype(np.uint8)
    return QuantizedMatrix(8, 32, q, _f16(b[..., 0:2])[..., 0], None)


def _q4_0(data: U8, n: int, k: int) -> QuantizedMatrix:
    b = _blocks(data, n, k, 18, 32)
    qs = b[..., 2:]
    q = np.concatenate([qs & 0xF, qs >> 4], axis=-1)
    zp = np.full(q.shape[:2], 8.0, np.float32)
    return QuantizedMatrix(4, 32, q, _f16(b[..., 0:2])[..., 0], zp)


def _q5_0(data: U8, n: int, k: int) -> QuantizedMatrix:
    b = _blocks(data, n, k, 22, 32)
    qh = b[..., 2:6].copy().view("<u4")[..., 0]  # bit j: the 5th bit of value j
    bits = ((qh[..., None] >> np.arange(32, dtype=np.uint32)) & 1).astype(np.uint8)
    qs = b[..., 6:]
    q = np.concatenate([qs & 0xF, qs >> 4], axis=-1) | (bits << 4)
    zp = np.full(q.shape[:2], 16.0, np.float32)
    return QuantizedMatrix(8, 32, q, _f16(b[..., 0:2])[..., 0], zp)


def _q6_k(data: U8, n: int, k: int) -> QuantizedMatrix:
    b = _blocks(data, n, k, 210, 256)
    ql, qh = b[..., 0:128], b[..., 128:192]
    sc = b[..., 192:208].view(np.int8).astype(np.float32)
    d = _f16(b[..., 208:210])
    halves = []
    for h in range(2):
        lo, hi = ql[..., 64 * h : 64 * h + 64], qh[..., 32 * h : 32 * h + 32]
        parts = [
            (lo[..., 0:32] & 0xF) | (((hi >> 0) & 3) << 4),
            (lo[..., 32:64] & 0xF) | (((hi >> 2) & 3) << 4),
            (lo[..., 0:32] >> 4) | (((hi >> 4) & 3) << 4),
            (lo[..., 32:64] >> 4) | (((hi >> 6) & 3) << 4),
        ]
        halves.append(np.concatenate(parts, axis=-1))
    q = np.concatenate(halves, axis=-1).reshape(n, -1, 16)  # 16 sub-blocks of 16 per 256
    scales = (d * sc).reshape(n, -1)
    zp = np.full(q.shape[:2], 32.0, np.float32)
    return QuantizedMatrix(8, 16, q.astype(np.uint8), scales.astype(np.float32), zp)


def _q4_k(data: U8, n: int, k: int) -> QuantizedMatrix:
    b = _blocks(data, n, k, 144, 256)
    d, dmin = _f16(b[..., 0:2]), _f16(b[..., 2:4])
    s = b[..., 4:16].astype(np.uint8)
    sc = np.empty((*b.shape[:2], 8), np.float32)
    mn = np.empty_like(sc)
    for j in range(8):  # 6-bit scales and mins, packed across 12 bytes
        if j < 4:
            sc[..., j], mn[..., j] = s[..., j] & 63, s[..., j + 4] & 63
        else:
            sc[..., j] = (s[..., j + 4] & 0xF) | ((s[..., j - 4] >> 6) << 4)
            mn[..., j] = (s[..., j + 4] >> 4) | ((s[..., j] >> 6) << 4)
    qs = b[..., 16:144].reshape(n, -1, 4, 32)  # 4 chunks of 32 bytes: two sub-blocks each
    q = np.stack([qs & 0xF, qs >> 4], axis=3).reshape(n, -1, 32)
    scale = (d * sc).reshape(n, -1).astype(np.float32)
    offset = (dmin * mn).reshape(n, -1).astype(np.float32)  # W = scale * q - offset
    zp = np.zeros(scale.shape, np.float32)
    return QuantizedMatrix(4, 32, q.astype(np.uint8), scale, zp, offset)


_TRANSCODERS = {
    GGMLQuantizationType.Q8_0: _q8_0,
    GGMLQuantizationType.Q4_0: _q4_0,
    GGMLQuantizationType.Q5_0: _q5_0,
    GGMLQuantizationType.Q6_K: _q6_k,
    GGMLQuantizationType.Q4_K: _q4_k,
}


def can_transcode(kind: GGMLQuantizationType) -> bool:
    return kind in _TRANSCODERS


def transcode(kind: GGMLQuantizationType, data: U8, n: int, k: int) -> QuantizedMatrix:
    """Exact MatMulNBits form of a GGUF tensor of `n` rows of `k` values."""
    if kind not in _TRANSCODERS:
        raise BuildError(f"no exact transcoding for GGUF type {kind.name}")
    return _TRANSCODERS[kind](data, n, k)


def quantize_asymmetric(w: F32, bits: int, block_size: int = 32) -> QuantizedMatrix:
    """Per-block min/max quantization with a float zero point (the block's minimum maps to 0)."""
    if bits not in (4, 8):
        raise BuildError(f"bits must be 4 or 8, got {bits}")
    n, k = w.shape
    if k % block_size:
        raise BuildError(f"row length {k} is not a multiple of the block size {block_size}")
    blocks = w.reshape(n, k // block_size, block_size).astype(np.float32)
    lo = np.minimum(blocks.min(axis=-1), 0.0)
    hi = np.maximum(blocks.max(axis=-1), 0.0)
    levels = 2**bits - 1
    scale = (hi - lo) / levels
    scale = np.where(scale == 0, 1.0, scale).astype(np.float32)
    # Integer zero points keep exact zeros exact and fit MatMulNBits' packed uint8 input.
    zp = np.clip(np.round(-lo / scale), 0, levels).astype(np.float32)
    q = np.clip(np.round(blocks / scale[..., None] + zp[..., None]), 0, levels).astype(np.uint8)
    return QuantizedMatrix(bits, block_size, q, scale, zp)


def quantize_symmetric8(w: F32, block_size: int = 32) -> QuantizedMatrix:
    """Per-block absmax int8 (like Q8_0): zero point 128, so q - 128 fits an int8 exactly."""
    n, k = w.shape
    if k % block_size:
        raise BuildError(f"row length {k} is not a multiple of the block size {block_size}")
    blocks = w.reshape(n, k // block_size, block_size).astype(np.float32)
    scale = np.abs(blocks).max(axis=-1) / 127.0
    scale = np.where(scale == 0, 1.0, scale).astype(np.float32)
    q = np.clip(np.round(blocks / scale[..., None]), -127, 127) + 128
    return QuantizedMatrix(8, block_size, q.astype(np.uint8), scale, None)
