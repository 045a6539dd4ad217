"""The all-MiniLM-L6-v2 export: an independent numpy BERT vs onnxruntime, int8 vs fp32, errors."""

import json
import math
import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnx
import pytest

from build_tools.embedder_export import (
    DIM,
    EMBEDDER_ID,
    INT8_MIN_COSINE,
    MAX_TOKENS,
    Embedder,
    Int8Check,
    build_embedder,
    build_embedder_graph,
    check_weights,
    choose_default,
    embedder_is_built,
    package_model_dir,
    read_float_tensors,
)
from build_tools.errors import BuildError
from build_tools.manifest import verify_manifest

F32 = npt.NDArray[np.float32]

# Not the sentences the build uses to choose int8 (CHECK_SENTENCES): a held-out set.
HELD_OUT = [
    "The cat sat on the mat.",
    "Configure the network interface with a static IP address.",
    "What is the boiling point of water on Mount Everest?",
    "def add(a, b): return a + b",
    "Le chat est assis sur le tapis.",
    "Retrieval augmented generation cites its sources.",
    "Backups should be tested by restoring them regularly.",
    "The kernel schedules threads across the available CPU cores.",
    "pip install --no-deps -r requirements-nodeps.txt",
    "An index maps each term to the passages that contain it.",
    "Weather tomorrow: light rain in the morning, sunny afternoon.",
    "Use ssh-keygen to create a key pair and ssh-copy-id to install the public key.",
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh build (about 4 s), so the export itself runs in every test session."""
    out_root = tmp_path_factory.mktemp("embedder")
    logs: list[str] = []
    built = build_embedder(out_root, log=logs.append)
    assert built == out_root / EMBEDDER_ID
    assert "default int8" in logs[-1]
    assert embedder_is_built(built)
    return built


@pytest.fixture(scope="module")
def weights() -> dict[str, F32]:
    return read_float_tensors(package_model_dir() / "model.safetensors")


F64 = npt.NDArray[np.float64]


def _layer_norm(x: F64, w: F64, b: F64) -> F64:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return np.asarray((x - mean) / np.sqrt(var + 1e-12) * w + b, dtype=np.float64)


def _erf(x: F64) -> F64:
    return np.vectorize(math.erf)(x)  # type: ignore[no-any-return]


def numpy_bert(w: dict[str, F32], ids: list[int]) -> F64:
    """all-MiniLM-L6-v2 for one unpadded sentence, in float64, straight from the paper's BERT."""
    p = {k: v.astype(np.float64) for k, v in w.items()}
    n = len(ids)
    x = (
        p["embeddings.word_embeddings.weight"][ids]
        + p["embeddings.position_embeddings.weight"][:n]
        + p["embeddings.token_type_embeddings.weight"][0]
    )
    x = _layer_norm(x, p["embeddings.LayerNorm.weight"], p["embeddings.LayerNorm.bias"])
    heads, hd = 12, DIM // 12
    for layer in range(6):
        pre = f"encoder.layer.{layer}."

        def lin(name: str, h: F64, pre: str = pre) -> F64:
            return h @ p[pre + name + ".weight"].T + p[pre + name + ".bias"]

        q = lin("attention.self.query", x).reshape(n, heads, hd).transpose(1, 0, 2)
        k = lin("attention.self.key", x).reshape(n, heads, hd).transpose(1, 0, 2)
        v = lin("attention.self.value", x).reshape(n, heads, hd).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(1, 0, 2).reshape(n, DIM)
        x = _layer_norm(
            lin("attention.output.dense", ctx) + x,
            p[pre + "attention.output.LayerNorm.weight"],
            p[pre + "attention.output.LayerNorm.bias"],
        )
        hidden = lin("intermediate.dense", x)
        hidden = 0.5 * hidden * (1.0 + _erf(hidden / math.sqrt(2.0)))
        x = _layer_norm(
            lin("output.dense", hidden) + x,
            p[pre + "output.LayerNorm.weight"],
            p[pre + "output.LayerNorm.bias"],
        )
    mean = x.mean(0)
    return np.asarray(mean / np.linalg.norm(mean), dtype=np.float64)


def test_fp32_graph_matches_numpy_bert(folder: Path, weights: dict[str, F32]) -> None:
    emb = Embedder(folder, "fp32")
    texts = HELD_OUT[:6]
    got = emb.embed(texts)  # one padded batch of different lengths: exercises the mask
    for row, ids in enumerate(emb.token_ids(texts)):
        want = numpy_bert(weights, ids)
        assert np.max(np.abs(got[row] - want)) < 1e-5, texts[row]


def test_int8_keeps_cosine_on_held_out_sentences(folder: Path) -> None:
    fp32 = Embedder(folder, "fp32").embed(HELD_OUT)
    int8 = Embedder(folder, "int8").embed(HELD_OUT)
    cosines = np.sum(fp32 * int8, axis=1)
    assert cosines.min() >= INT8_MIN_COSINE, dict(zip(HELD_OUT, cosines.round(4), strict=True))


def test_folder_is_complete_and_described(folder: Path) -> None:
    listed = {e.path for e in verify_manifest(folder)}
    assert {"model.onnx", "model-int8.onnx", "tokenizer.json", "embedder.json"} <= listed
    assert {"README.md", "LICENSE"} <= listed
    doc = json.loads((folder / "embedder.json").read_text())
    assert doc["dim"] == DIM
    assert doc["max_tokens"] == MAX_TOKENS
    assert doc["default"] == "int8"
    assert doc["files"]["int8"]["cosine_vs_fp32"]["min"] >= INT8_MIN_COSINE
    assert doc["files"]["int8"]["bytes"] < doc["files"]["fp32"]["bytes"] / 2
    tok = json.loads((folder / "tokenizer.json").read_text())
    assert tok["model"]["type"] == "WordPiece"


def test_graph_interface_is_dynamic(folder: Path) -> None:
    model = onnx.load(folder / "model.onnx", load_external_data=False)
    inputs = {i.name: i for i in model.graph.input}
    assert set(inputs) == {"input_ids", "attention_mask"}
    for value in inputs.values():
        assert value.type.tensor_type.elem_type == onnx.TensorProto.INT64
        assert [d.dim_param for d in value.type.tensor_type.shape.dim] == ["batch", "sequence"]
    (out,) = model.graph.output
    assert out.name == "embeddings"
    dims = out.type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch"
    assert dims[1].dim_value == DIM


@pytest.mark.parametrize(
    ("variant", "batch_size", "same"), [("int8", None, 0.99999), ("fp32", 3, 0.99999)]
)
def test_embedder_order_batching_and_truncation(
    folder: Path, variant: str, batch_size: int | None, same: float
) -> None:
    emb = Embedder(folder, variant, batch_size=batch_size)
    long_text = "word " * 2000
    texts = [*HELD_OUT[:5], long_text, ""]
    together = emb.embed(texts)
    assert together.shape == (len(texts), DIM)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert max(len(ids) for ids in emb.token_ids([long_text])) == MAX_TOKENS
    for row, text in enumerate(texts):
        alone = emb.embed([text])[0]
        assert float(alone @ together[row]) > same, text[:40]
    assert emb.embed([]).shape == (0, DIM)
    assert "torch" not in sys.modules


def test_unknown_variant_and_missing_folder(folder: Path, tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="no variant"):
        Embedder(folder, "int4")
    with pytest.raises(BuildError, match="not built"):
        Embedder(tmp_path / "nothing")


def test_missing_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(BuildError, match="no-deps"):
        package_model_dir()


def test_bad_weight_files(tmp_path: Path, weights: dict[str, F32]) -> None:
    bad = tmp_path / "model.safetensors"
    bad.write_bytes(b"\x01\x02")
    with pytest.raises(BuildError, match="truncated"):
        read_float_tensors(bad)
    bad.write_bytes((10).to_bytes(8, "little") + b"not json!!")
    with pytest.raises(BuildError, match="corrupt"):
        read_float_tensors(bad)
    header = json.dumps({"x": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    bad.write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * 8)
    with pytest.raises(BuildError, match="truncated"):
        read_float_tensors(bad)
    broken = dict(weights)
    broken["encoder.layer.3.intermediate.dense.weight"] = np.zeros((10, DIM), np.float32)
    with pytest.raises(BuildError, match="shape"):
        check_weights(broken)
    del broken["embeddings.word_embeddings.weight"]
    with pytest.raises(BuildError, match="lack"):
        build_embedder_graph(broken)


def test_default_falls_back_to_fp32_when_int8_loses_quality(tmp_path: Path) -> None:
    assert choose_default(Int8Check(0.995, 0.998))[0] == "int8"
    variant, reason = choose_default(Int8Check(0.95, 0.98))
    assert variant == "fp32"
    assert "0.9500" in reason
    assert not embedder_is_built(tmp_path)
