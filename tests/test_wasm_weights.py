"""The flat weights file for the WASM decoder: lossless against the quantized matrices."""

from pathlib import Path

import numpy as np
import pytest

from build_tools.errors import BuildError
from build_tools.gemma_weights import GemmaWeights, random_weights
from build_tools.quantize import QuantizedMatrix, quantize_asymmetric, quantize_symmetric8
from build_tools.wasm_weights import ALIGN, MAGIC, read_wasm_weights, write_wasm_weights
from tests.tiny_gemma import tiny_config


def mixed(family: int) -> tuple[GemmaWeights, dict[str, QuantizedMatrix]]:
    c = tiny_config(family)
    w = random_weights(c, seed=family)
    q: dict[str, QuantizedMatrix] = {}
    for name, array in w.items():
        if array.ndim == 2:
            four = name.endswith((".o", ".gate"))
            q[name] = quantize_asymmetric(array, 4, 16) if four else quantize_symmetric8(array, 16)
    return w, q


@pytest.mark.parametrize("family", [1, 2, 3])
def test_round_trip_is_lossless(family: int, tmp_path: Path) -> None:
    w, q = mixed(family)
    path = write_wasm_weights(tmp_path / "w.bin", w, q)
    config, read = read_wasm_weights(path)
    assert config == w.config
    for name, array in w.items():
        expected = q[name].dequantize() if name in q else array
        np.testing.assert_allclose(read[name], expected, rtol=0, atol=1e-6, err_msg=name)


def test_layout_is_aligned(tmp_path: Path) -> None:
    w, q = mixed(3)
    raw = write_wasm_weights(tmp_path / "w.bin", w, q).read_bytes()
    assert raw[:8] == MAGIC
    header_len = int.from_bytes(raw[8:12], "little")
    assert (12 + header_len + (-(12 + header_len) % ALIGN)) % ALIGN == 0


def test_bad_files_are_refused(tmp_path: Path) -> None:
    w, q = mixed(2)
    path = write_wasm_weights(tmp_path / "w.bin", w, q)
    raw = path.read_bytes()
    (tmp_path / "cut.bin").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(BuildError, match="truncated"):
        read_wasm_weights(tmp_path / "cut.bin")
    (tmp_path / "magic.bin").write_bytes(b"XXXXXXXX" + raw[8:])
    with pytest.raises(BuildError, match="bad magic"):
        read_wasm_weights(tmp_path / "magic.bin")


def test_asymmetric_8_bit_has_no_q8_form(tmp_path: Path) -> None:
    w, _ = mixed(1)
    q = {"layers.0.q": quantize_asymmetric(w["layers.0.q"], 8, 16)}
    with pytest.raises(BuildError, match="do not fit in int8"):
        write_wasm_weights(tmp_path / "w.bin", w, q)
