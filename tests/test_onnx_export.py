"""Exporter parity: ONNX Runtime on the exported graph equals the numpy reference within 1e-4."""

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from build_tools.errors import BuildError
from build_tools.gemma_config import GemmaConfig
from build_tools.gemma_weights import GemmaWeights, random_weights
from build_tools.onnx_export import Head, build_graph, past_names, present_names, save_model
from build_tools.quantize import QuantizedMatrix, quantize_asymmetric
from build_tools.reference_model import KVCache, ReferenceGemma
from tests.tiny_gemma import random_ids, tiny_config

TOL = 1e-4
SEQ = 13  # longer than the tiny sliding window (5)


def session(weights: GemmaWeights, head: Head, folder: Path) -> ort.InferenceSession:
    path = folder / f"{head.value}.onnx"
    save_model(build_graph(weights, head), path)
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def empty_cache(c: GemmaConfig) -> dict[str, np.ndarray]:
    return {
        name: np.zeros((1, c.num_kv_heads, 0, c.head_dim), np.float32)
        for n in range(c.num_layers)
        for name in past_names(n)
    }


def run(
    sess: ort.InferenceSession,
    c: GemmaConfig,
    ids: list[int],
    past: dict[str, np.ndarray],
    start: int,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    feeds = {
        "input_ids": np.array([ids], np.int64),
        "attention_mask": np.ones((1, start + len(ids)), np.int64),
        "position_ids": np.arange(start, start + len(ids), dtype=np.int64)[None],
        **past,
    }
    names = [o.name for o in sess.get_outputs()]
    out = dict(zip(names, sess.run(None, feeds), strict=True))
    present = {
        past_name: out[present_name]
        for n in range(c.num_layers)
        for past_name, present_name in zip(past_names(n), present_names(n), strict=True)
    }
    return out[names[0]], present


@pytest.mark.parametrize("family", [1, 2, 3])
def test_full_sequence_logits_match_the_reference(family: int, tmp_path: Path) -> None:
    c = tiny_config(family)
    w = random_weights(c, seed=family)
    ids = random_ids(SEQ, c.vocab_size)
    expected, _ = ReferenceGemma(w).forward(ids)
    logits, present = run(session(w, Head.LOGITS_ALL, tmp_path), c, ids, empty_cache(c), 0)
    assert logits.shape == (1, SEQ, c.vocab_size)
    np.testing.assert_allclose(logits[0], expected, atol=TOL, rtol=0)
    assert present["past_key_values.0.key"].shape == (1, c.num_kv_heads, SEQ, c.head_dim)


@pytest.mark.parametrize("family", [1, 2, 3])
def test_cached_decoding_past_the_window_matches_the_reference(family: int, tmp_path: Path) -> None:
    c = tiny_config(family)
    w = random_weights(c, seed=10 + family)
    ids = random_ids(SEQ, c.vocab_size, seed=family)
    expected, _ = ReferenceGemma(w).forward(ids)
    sess = session(w, Head.LOGITS_LAST, tmp_path)
    logits, past = run(sess, c, ids[:4], empty_cache(c), 0)
    np.testing.assert_allclose(logits[0, -1], expected[3], atol=TOL, rtol=0)
    for t in range(4, SEQ):  # one token at a time, through the sliding window
        logits, past = run(sess, c, [ids[t]], past, t)
        np.testing.assert_allclose(logits[0, -1], expected[t], atol=TOL, rtol=0)
    # a multi-token chunk appended to an existing cache (a new turn)
    logits, _ = run(sess, c, ids[8:], run(sess, c, ids[:8], empty_cache(c), 0)[1], 8)
    np.testing.assert_allclose(logits[0, -1], expected[-1], atol=TOL, rtol=0)


def test_reference_cache_equals_full_recompute() -> None:
    c = tiny_config(3)
    ref = ReferenceGemma(random_weights(c, seed=5))
    ids = random_ids(SEQ, c.vocab_size)
    full, _ = ref.forward(ids)
    cache = KVCache()
    first, cache = ref.forward(ids[:6], cache)
    rest, cache = ref.forward(ids[6:], cache)
    np.testing.assert_allclose(np.concatenate([first, rest]), full, atol=1e-5)
    assert cache.length == SEQ


def test_hidden_head_times_embedding_gives_the_logits(tmp_path: Path) -> None:
    c = tiny_config(3)
    w = random_weights(c, seed=3)
    ids = random_ids(7, c.vocab_size)
    expected, _ = ReferenceGemma(w).forward(ids)
    hidden, _ = run(session(w, Head.HIDDEN, tmp_path), c, ids, empty_cache(c), 0)
    assert hidden.shape == (1, 7, c.hidden_size)
    np.testing.assert_allclose(hidden[0] @ w["embed"].T, expected, atol=TOL, rtol=0)


def test_padding_positions_are_masked(tmp_path: Path) -> None:
    """A left-padded row gives the same last logits as the unpadded sequence."""
    c = tiny_config(2)
    w = random_weights(c, seed=4)
    ids = random_ids(6, c.vocab_size)
    expected, _ = ReferenceGemma(w).forward(ids)
    sess = session(w, Head.LOGITS_LAST, tmp_path)
    feeds = {
        "input_ids": np.array([[0, 0, *ids]], np.int64),
        "attention_mask": np.array([[0, 0] + [1] * 6], np.int64),
        "position_ids": np.array([[0, 0, *range(6)]], np.int64),
        **empty_cache(c),
    }
    logits = sess.run(["logits"], feeds)[0]
    np.testing.assert_allclose(logits[0, -1], expected[-1], atol=TOL, rtol=0)


def test_graph_is_valid_onnx_with_tied_embedding(tmp_path: Path) -> None:
    c = tiny_config(1)
    model = build_graph(random_weights(c), Head.LOGITS_LAST)
    onnx.checker.check_model(model)
    embeds = [i for i in model.graph.initializer if i.name == "embed"]
    assert len(embeds) == 1, "the LM head must share the embedding, not copy it"
    files = save_model(model, tmp_path / "m.onnx")
    assert [f.name for f in files] == ["m.onnx", "m.onnx.data"]
    assert files[1].stat().st_size > files[0].stat().st_size


def test_invalid_configs_are_refused() -> None:
    with pytest.raises(BuildError, match="multiple of num_kv_heads"):
        tiny_config(1).__class__(**{**tiny_config(1).__dict__, "num_kv_heads": 3})
    with pytest.raises(BuildError, match="need a sliding_window"):
        tiny_config(2).__class__(**{**tiny_config(2).__dict__, "sliding_window": None})
    with pytest.raises(BuildError, match="family must be 1, 2 or 3"):
        tiny_config(2).__class__(**{**tiny_config(2).__dict__, "family": 4})


def test_weights_are_validated() -> None:
    c = tiny_config(3)
    good = dict(random_weights(c))
    with pytest.raises(BuildError, match=r"missing weights: layers\.0\.q"):
        GemmaWeights(c, {k: v for k, v in good.items() if k != "layers.0.q"})
    with pytest.raises(BuildError, match="has shape"):
        GemmaWeights(c, {**good, "embed": good["embed"][:5]})
    bad = good["final_norm"].copy()
    bad[0] = np.nan
    with pytest.raises(BuildError, match="NaN"):
        GemmaWeights(c, {**good, "final_norm": bad})


def as_block_offsets(qm: QuantizedMatrix) -> QuantizedMatrix:
    """The same weights as (q - 0) * scale - offset: the form Q4_K transcodes to."""
    assert qm.zero_points is not None
    zero = np.zeros_like(qm.zero_points)
    return QuantizedMatrix(
        qm.bits, qm.block_size, qm.q, qm.scales, zero, qm.zero_points * qm.scales
    )


@pytest.mark.parametrize(
    ("bits", "tol", "offsets"), [(8, 0.2, False), (4, None, False), (4, None, True)]
)
def test_quantized_graph_matches_the_reference_on_dequantized_weights(
    bits: int, tol: float | None, offsets: bool, tmp_path: Path
) -> None:
    """MatMulNBits/GatherBlockQuantized (accuracy level 0) compute with the dequantized weights."""
    c = tiny_config(3)
    w = random_weights(c, seed=8)
    quantized = {
        name: quantize_asymmetric(w[name], bits, block_size=16) for name in w if w[name].ndim == 2
    }
    if offsets:
        quantized = {
            name: qm if name == "embed" else as_block_offsets(qm) for name, qm in quantized.items()
        }
    dequantized = GemmaWeights(
        c, {name: quantized[name].dequantize() if name in quantized else w[name] for name in w}
    )
    ids = random_ids(SEQ, c.vocab_size)
    expected, _ = ReferenceGemma(dequantized).forward(ids)
    path = tmp_path / "q.onnx"
    model = build_graph(w, Head.LOGITS_ALL, quantized, accuracy_level=0)
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("MatMulNBits") == 7 * c.num_layers + 1  # every linear and the LM head
    assert ops.count("GatherBlockQuantized") == 1
    assert "embed" not in {i.name for i in model.graph.initializer}
    save_model(model, path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    logits, _ = run(sess, c, ids, empty_cache(c), 0)
    np.testing.assert_allclose(logits[0], expected, atol=TOL, rtol=0)
    if tol is not None:  # 8 bits stays close to the float model even on random weights
        float_logits, _ = ReferenceGemma(w).forward(ids)
        assert np.abs(expected - float_logits).max() < tol
