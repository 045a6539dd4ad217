"""One binary weights file for the project's own WASM decoder (Rust, SIMD128), from the same build.

Layout (little-endian): magic `GEAWGT01`, u32 header length, a UTF-8 JSON header, zero padding
to 64 bytes, then the tensors, each starting on a 64-byte boundary (offsets are from the start of
the data section). The JSON header holds the model config and a table of tensors:
  {"name", "kind", "rows", "cols", "block", "q": [offset, nbytes], "scales": [..], "offsets": [..]}
Kinds, all with the weight matrix [rows, cols] in blocks of `block` along cols:
  - "f32": plain float32 (norms; `q` holds the data);
  - "q8": int8 values, W = scale[r, b] * q  (Q8_0, Q5_0 and Q6_K transcode exactly to this);
  - "q4o": 4-bit values packed low nibble first, W = scale[r, b] * q - offset[r, b]  (Q4_K exact,
    and any min/max 4-bit block).
Integrity is the model manifest's sha256; the header's sizes let a reader refuse a truncated file.
"""

import json
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from build_tools.errors import BuildError
from build_tools.gemma_config import GemmaConfig
from build_tools.gemma_weights import GemmaWeights
from build_tools.quantize import QuantizedMatrix

MAGIC = b"GEAWGT01"
ALIGN = 64


@dataclass(frozen=True)
class _Blob:
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


def _as_q8(qm: QuantizedMatrix) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32]]:
    zp = qm.zero_points if qm.zero_points is not None else np.full(qm.scales.shape, 128.0)
    if qm.offsets is not None or not np.all(zp == np.round(zp)):
        raise BuildError("an 8-bit matrix with offsets or fractional zero points has no q8 form")
    signed = qm.q.astype(np.int16) - zp.astype(np.int16)[..., None]
    if signed.min() < -128 or signed.max() > 127:
        raise BuildError("8-bit values minus their zero points do not fit in int8")
    return signed.astype(np.int8), qm.scales


def _as_q4o(
    qm: QuantizedMatrix,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    zp = qm.zero_points if qm.zero_points is not None else np.full(qm.scales.shape, 8.0, np.float32)
    offsets = (zp * qm.scales).astype(np.float32)
    if qm.offsets is not None:
        offsets = offsets + qm.offsets
    return qm.packed(), qm.scales, offsets


def _entries(
    weights: GemmaWeights, quantized: Mapping[str, QuantizedMatrix]
) -> list[tuple[dict[str, Any], list[tuple[str, bytes]]]]:
    out = []
    for name, array in weights.items():
        qm = quantized.get(name)
        if qm is None:
            rows, cols = (1, array.shape[0]) if array.ndim == 1 else array.shape
            meta = {"name": name, "kind": "f32", "rows": rows, "cols": cols, "block": cols}
            out.append((meta, [("q", np.ascontiguousarray(array, "<f4").tobytes())]))
        elif qm.bits == 8:
            q8, scales = _as_q8(qm)
            meta = {"name": name, "kind": "q8", "rows": qm.n, "cols": qm.k, "block": qm.block_size}
            out.append((meta, [("q", q8.tobytes()), ("scales", scales.astype("<f4").tobytes())]))
        else:
            packed, scales, offsets = _as_q4o(qm)
            meta = {"name": name, "kind": "q4o", "rows": qm.n, "cols": qm.k, "block": qm.block_size}
            blobs = [("q", packed.tobytes()), ("scales", scales.astype("<f4").tobytes())]
            out.append((meta, [*blobs, ("offsets", offsets.astype("<f4").tobytes())]))
    return out


def write_wasm_weights(
    path: Path, weights: GemmaWeights, quantized: Mapping[str, QuantizedMatrix]
) -> Path:
    entries = _entries(weights, quantized)
    offset = 0
    table = []
    for meta, blobs in entries:
        for field, blob in blobs:
            meta[field] = [offset, len(blob)]
            offset += -(-len(blob) // ALIGN) * ALIGN
        table.append(meta)
    header = json.dumps(
        {"format": 1, "config": weights.config.to_json(), "tensors": table}
    ).encode()
    with path.open("wb") as f:
        f.write(MAGIC + struct.pack("<I", len(header)) + header)
        _pad(f)
        start = f.tell()
        for _, blobs in entries:
            for _, blob in blobs:
                f.write(blob)
                _pad(f, start)
    return path


def _pad(f: BinaryIO, start: int = 0) -> None:
    f.write(b"\0" * (-(f.tell() - start) % ALIGN))


def read_wasm_weights(path: Path) -> tuple[GemmaConfig, dict[str, npt.NDArray[np.float32]]]:
    """Dequantized matrices, for tests: the Rust reader must agree with this one."""
    raw = path.read_bytes()
    if raw[:8] != MAGIC:
        raise BuildError(f"{path} is not a Gemma Edge Agent weights file (bad magic)")
    (header_len,) = struct.unpack("<I", raw[8:12])
    if 12 + header_len > len(raw):
        raise BuildError(f"{path} is truncated (header)")
    header = json.loads(raw[12 : 12 + header_len])
    data = 12 + header_len
    data += -data % ALIGN
    out: dict[str, npt.NDArray[np.float32]] = {}

    def blob(meta: dict[str, Any], field: str, dtype: str) -> npt.NDArray[Any]:
        off, size = meta[field]
        if data + off + size > len(raw):
            raise BuildError(f"{path} is truncated ({meta['name']}.{field})")
        return np.frombuffer(
            raw, dtype=dtype, count=size // np.dtype(dtype).itemsize, offset=data + off
        )

    for meta in header["tensors"]:
        rows, cols, block = meta["rows"], meta["cols"], meta["block"]
        if meta["kind"] == "f32":
            w = blob(meta, "q", "<f4").reshape(rows, cols)
        elif meta["kind"] == "q8":
            q = blob(meta, "q", "i1").reshape(rows, cols // block, block).astype(np.float32)
            w = (q * blob(meta, "scales", "<f4").reshape(rows, -1)[..., None]).reshape(rows, cols)
        else:
            packed = blob(meta, "q", "u1").reshape(rows, cols // block, block // 2)
            q = np.stack([packed & 0xF, packed >> 4], axis=-1).reshape(rows, -1, block)
            scales = blob(meta, "scales", "<f4").reshape(rows, -1)[..., None]
            offsets = blob(meta, "offsets", "<f4").reshape(rows, -1)[..., None]
            w = (q.astype(np.float32) * scales - offsets).reshape(rows, cols)
        out[meta["name"]] = w[0] if meta["kind"] == "f32" and meta["name"].endswith("norm") else w
    return GemmaConfig.from_json(header["config"]), out
