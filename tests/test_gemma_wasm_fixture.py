"""Fixtures for the Rust decoder (rust_core/wasm/gemma): tiny Gemma 1/2/3 weights files and the
numpy reference's logits on their dequantized weights, which `cargo test` and the Node test of
the built wasm compare against.

The committed files must be what this module generates; regenerate them with
`GEA_REGEN_GEMMA_FIXTURES=1 .venv/bin/python -m pytest tests/test_gemma_wasm_fixture.py`.

Expected-logits file (little-endian): magic `GEAEXP01`, u32 token count `n`, u32 vocab size
`v`, `n` u32 token ids, then `n * v` f32 logits (one row per position, the whole sequence run
at once through `ReferenceGemma`).
"""

import os
import struct
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from build_tools.gemma_weights import GemmaWeights, random_weights
from build_tools.quantize import QuantizedMatrix, quantize_asymmetric, quantize_symmetric8
from build_tools.reference_model import KVCache, ReferenceGemma
from build_tools.wasm_weights import read_wasm_weights, write_wasm_weights
from tests.tiny_gemma import random_ids, tiny_config

DATA = Path(__file__).resolve().parents[1] / "rust_core/wasm/gemma/tests/data"
REGEN = os.environ.get("GEA_REGEN_GEMMA_FIXTURES") == "1"
EXPECTED_MAGIC = b"GEAEXP01"
TOKENS = 12  # past the tiny models' sliding window of 5
LAYERS = 3  # sliding, full, sliding for families 2 and 3 (keeps the files small)
FAMILIES = (1, 2, 3)
MAX_TOTAL_BYTES = 200_000

# Per family, (bits, block) of each matrix: every kind and block size the decoder reads.
# Family 1's embedding has blocks of 16 (the generic LM head); 2 and 3 have q8/32 (the int8
# top-k scan's layout, as in the built models). `down` has 48 columns, so blocks of 16.
MIXES: dict[int, dict[str, tuple[int, int]]] = {
    1: {"embed": (8, 16), "q": (8, 16), "k": (8, 16), "v": (8, 16), "o": (4, 16),
        "gate": (4, 16), "up": (8, 16), "down": (8, 16)},
    2: {"embed": (8, 32), "q": (8, 32), "k": (4, 32), "v": (8, 32), "o": (4, 16),
        "gate": (8, 16), "up": (4, 32), "down": (8, 16)},
    3: {"embed": (8, 32), "q": (4, 32), "k": (8, 32), "v": (8, 16), "o": (8, 32),
        "gate": (4, 32), "up": (8, 32), "down": (4, 16)},
}  # fmt: skip


def quantized(weights: GemmaWeights, family: int) -> dict[str, QuantizedMatrix]:
    out = {}
    for name, array in weights.items():
        if array.ndim == 2:
            bits, block = MIXES[family][name.rsplit(".", 1)[-1]]
            out[name] = (
                quantize_symmetric8(array, block)
                if bits == 8
                else quantize_asymmetric(array, 4, block)
            )
    return out


def expected_bytes(tokens: list[int], logits: npt.NDArray[np.float32]) -> bytes:
    header = EXPECTED_MAGIC + struct.pack("<II", len(tokens), logits.shape[1])
    return header + np.asarray(tokens, "<u4").tobytes() + logits.astype("<f4").tobytes()


def read_expected(raw: bytes) -> tuple[list[int], npt.NDArray[np.float32]]:
    assert raw[:8] == EXPECTED_MAGIC
    n, vocab = struct.unpack("<II", raw[8:16])
    tokens = np.frombuffer(raw, "<u4", n, 16).tolist()
    logits = np.frombuffer(raw, "<f4", n * vocab, 16 + 4 * n).reshape(n, vocab)
    return tokens, logits


def generate(family: int, folder: Path) -> tuple[Path, Path]:
    config = tiny_config(family, layers=LAYERS)
    weights = random_weights(config, seed=20 + family)
    path = write_wasm_weights(folder / f"family{family}.bin", weights, quantized(weights, family))
    read_config, tensors = read_wasm_weights(path)
    reference = ReferenceGemma(GemmaWeights(read_config, tensors))
    tokens = [config.bos_token_id, *random_ids(TOKENS - 1, config.vocab_size, seed=family)]
    logits, _ = reference.forward(tokens)
    expected = folder / f"family{family}.expected.bin"
    expected.write_bytes(expected_bytes(tokens, logits))
    return path, expected


@pytest.mark.parametrize("family", FAMILIES)
def test_committed_fixtures_are_up_to_date(family: int, tmp_path: Path) -> None:
    if REGEN:
        DATA.mkdir(parents=True, exist_ok=True)
        generate(family, DATA)
    weights, expected = generate(family, tmp_path)
    committed = DATA / weights.name
    assert committed.is_file(), f"{committed} is missing: regenerate (see the module docstring)"
    assert committed.read_bytes() == weights.read_bytes(), f"{committed.name} is out of date"
    want_tokens, want = read_expected(expected.read_bytes())
    got_tokens, got = read_expected((DATA / expected.name).read_bytes())
    assert got_tokens == want_tokens
    # Bit-exactness would depend on the BLAS build; the Rust tests allow 1e-3.
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


def test_fixtures_cover_the_sliding_window_and_stay_small() -> None:
    for family in FAMILIES:
        config = tiny_config(family, layers=LAYERS)
        assert config.sliding_window is None or config.sliding_window + 2 < TOKENS
    total = sum(p.stat().st_size for p in DATA.glob("family*.bin"))
    assert 0 < total < MAX_TOTAL_BYTES


def test_reference_cache_agrees_with_the_full_sequence(tmp_path: Path) -> None:
    """What the Rust tests rely on: the expected logits are also the token-by-token logits."""
    path, expected = generate(2, tmp_path)
    tokens, full = read_expected(expected.read_bytes())
    config, tensors = read_wasm_weights(path)
    reference = ReferenceGemma(GemmaWeights(config, tensors))
    cache = KVCache()
    for i, token in enumerate(tokens):
        logits, cache = reference.forward([token], cache)  # the returned cache holds every position
        np.testing.assert_allclose(logits[0], full[i], rtol=0, atol=1e-4)
