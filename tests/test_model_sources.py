"""Reading Gemma from GGUF files and Hugging Face folders, and refusing bad ones clearly."""

import json
from pathlib import Path

import numpy as np
import pytest
from gguf import GGUFWriter

from build_tools.errors import BuildError
from build_tools.gemma_config import FULL, SLIDING, from_hf_config
from build_tools.gemma_weights import random_weights
from build_tools.gguf_source import load_gguf
from build_tools.hf_source import load_hf_folder, read_safetensors, write_safetensors
from build_tools.reference_model import ReferenceGemma
from tests.tiny_gemma import random_ids, tiny_config, write_gguf, write_hf_folder


@pytest.mark.parametrize("family", [1, 2, 3])
def test_hf_folder_round_trip(family: int, tmp_path: Path) -> None:
    config = tiny_config(family)
    weights = random_weights(config, seed=family)
    write_hf_folder(tmp_path, weights)
    loaded_config, loaded = load_hf_folder(tmp_path)
    assert loaded_config.family == family
    assert loaded_config.layer_types == config.layer_types
    assert loaded_config.rope_local_theta == config.rope_local_theta
    assert loaded_config.attn_logit_softcap == config.attn_logit_softcap
    assert loaded_config.eos_token_ids == (1, 106)
    for name, array in weights.items():
        np.testing.assert_allclose(loaded[name], array, atol=1e-6, err_msg=name)


def test_gguf_round_trip_with_quantized_embedding(tmp_path: Path) -> None:
    config = tiny_config(3, layers=6, pattern=6)
    weights = random_weights(config, seed=7)
    path = tmp_path / "tiny.gguf"
    write_gguf(path, config, weights)
    loaded_config, loaded = load_gguf(path)
    assert loaded_config.family == 3
    assert loaded_config.layer_types == (SLIDING,) * 5 + (FULL,)
    assert loaded_config.sliding_window == 5
    assert loaded_config.rope_theta == 1_000_000.0
    assert loaded_config.rope_local_theta == 10_000.0
    for name, array in weights.items():
        # Q8_0 keeps ~2 decimal digits; the rest is stored as F32.
        tol = 0.02 if name == "embed" else 1e-7
        np.testing.assert_allclose(loaded[name], array, atol=tol, err_msg=name)
    ids = random_ids(9, config.vocab_size)
    ref, _ = ReferenceGemma(weights).forward(ids)
    got, _ = ReferenceGemma(loaded).forward(ids)
    assert np.argmax(got[-1]) == np.argmax(ref[-1])


def test_truncated_gguf_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    config = tiny_config(3, layers=6, pattern=6)
    write_gguf(path, config, random_weights(config))
    data = path.read_bytes()
    (tmp_path / "cut.gguf").write_bytes(data[: len(data) // 2])
    with pytest.raises(BuildError, match="not a readable GGUF file"):
        load_gguf(tmp_path / "cut.gguf")
    (tmp_path / "junk.gguf").write_bytes(b"not a gguf at all" * 10)
    with pytest.raises(BuildError, match="not a readable GGUF file"):
        load_gguf(tmp_path / "junk.gguf")
    with pytest.raises(BuildError, match="GGUF file not found"):
        load_gguf(tmp_path / "absent.gguf")


def test_unsupported_architecture_is_named(tmp_path: Path) -> None:
    path = tmp_path / "llama.gguf"
    w = GGUFWriter(str(path), "llama")
    w.add_tensor("token_embd.weight", np.zeros((4, 8), np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(BuildError, match=r"unsupported architecture 'llama'"):
        load_gguf(path)


def test_gguf_missing_a_tensor_is_named(tmp_path: Path) -> None:
    config = tiny_config(3, layers=6, pattern=6)
    weights = dict(random_weights(config))
    path = tmp_path / "tiny.gguf"
    write_gguf(path, config, {k: v for k, v in weights.items() if k != "layers.2.down"})
    with pytest.raises(BuildError, match=r"missing weights: layers\.2\.down"):
        load_gguf(path)


def test_hf_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match=r"config\.json is missing"):
        load_hf_folder(tmp_path)
    (tmp_path / "config.json").write_text("{")
    with pytest.raises(BuildError, match="not valid JSON"):
        load_hf_folder(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(BuildError, match=r"unsupported architecture 'llama'"):
        load_hf_folder(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "gemma2"}))
    with pytest.raises(BuildError, match=r"lacks the field 'hidden_size'"):
        load_hf_folder(tmp_path)


def test_truncated_safetensors_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "w.safetensors"
    write_safetensors(path, {"a": np.ones((4, 4), np.float32)})
    data = path.read_bytes()
    path.write_bytes(data[:-8])
    with pytest.raises(BuildError, match="truncated"):
        list(read_safetensors(path))
    path.write_bytes(b"\x01")
    with pytest.raises(BuildError, match="no safetensors header"):
        list(read_safetensors(path))


def test_bf16_is_widened_exactly(tmp_path: Path) -> None:
    values = np.array([1.0, -2.5, 3.140625], np.float32)
    raw = (values.view(np.uint32) >> 16).astype("<u2").tobytes()
    header = json.dumps({"t": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 6]}}).encode()
    path = tmp_path / "b.safetensors"
    path.write_bytes(len(header).to_bytes(8, "little") + header + raw)
    [(name, array)] = list(read_safetensors(path))
    assert name == "t"
    np.testing.assert_array_equal(array, values)


def test_hf_config_variants() -> None:
    gemma3_multimodal = {
        "model_type": "gemma3",
        "text_config": {
            "model_type": "gemma3_text",
            "vocab_size": 262208,
            "hidden_size": 2560,
            "intermediate_size": 10240,
            "num_hidden_layers": 34,
            "num_attention_heads": 8,
            "num_key_value_heads": 4,
            "head_dim": 256,
            "rope_theta": 1_000_000.0,
            "rope_local_base_freq": 10_000.0,
            "rope_scaling": {"rope_type": "linear", "factor": 8.0},
            "sliding_window": 1024,
            "query_pre_attn_scalar": 256,
        },
    }
    c = from_hf_config(gemma3_multimodal)
    assert c.family == 3
    assert c.rope_scaling_factor == 8.0
    assert c.rope_local_theta == 10_000.0
    assert c.layer_types[5] == FULL
    assert c.layer_types[4] == SLIDING
    gemma1 = {
        "model_type": "gemma",
        "vocab_size": 256000,
        "hidden_size": 2048,
        "intermediate_size": 16384,
        "num_hidden_layers": 18,
        "num_attention_heads": 8,
        "num_key_value_heads": 1,
        "head_dim": 256,
    }
    c1 = from_hf_config(gemma1)
    assert c1.layer_types == (FULL,) * 18
    assert c1.sliding_window is None
    assert c1.query_pre_attn_scalar == 256.0
