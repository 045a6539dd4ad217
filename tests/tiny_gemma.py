"""Tiny random-weight Gemma 1/2/3 models, and writers that store them as GGUF or HF folders."""

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt
from gguf import GGMLQuantizationType, GGUFWriter
from gguf.quants import quantize

from build_tools.gemma_config import GemmaConfig, default_layer_types
from build_tools.gemma_weights import GemmaWeights
from build_tools.hf_source import write_safetensors


def tiny_config(family: int, layers: int = 4, pattern: int = 2) -> GemmaConfig:
    return GemmaConfig(
        family=family,
        vocab_size=97,
        hidden_size=32,
        intermediate_size=48,
        num_layers=layers,
        num_heads=4,
        num_kv_heads=1 if family == 3 else (2 if family == 2 else 4),
        head_dim=16,
        rms_norm_eps=1e-6,
        rope_theta=1_000_000.0 if family == 3 else 10_000.0,
        rope_local_theta=10_000.0,
        layer_types=default_layer_types(family, layers, pattern),
        sliding_window=5 if family >= 2 else None,
        # Gemma 2 tiny: scale differs from head_dim, as in the 27B model.
        query_pre_attn_scalar=24.0 if family == 2 else 16.0,
        attn_logit_softcap=50.0 if family == 2 else None,
        final_logit_softcap=30.0 if family == 2 else None,
    )


_GGUF_LAYER = {
    "q": "attn_q",
    "k": "attn_k",
    "v": "attn_v",
    "o": "attn_output",
    "gate": "ffn_gate",
    "up": "ffn_up",
    "down": "ffn_down",
    "input_norm": "attn_norm",
    "post_attn_norm": "post_attention_norm",
    "pre_ffn_norm": "ffn_norm",
    "post_ffn_norm": "post_ffw_norm",
    "q_norm": "attn_q_norm",
    "k_norm": "attn_k_norm",
}


def write_gguf(
    path: Path,
    c: GemmaConfig,
    weights: Mapping[str, npt.NDArray[np.float32]],
    arch: str = "gemma3",
) -> None:
    """Like llama.cpp's converter: norms stored as 1 + w (our effective scale), embedding Q8_0."""
    w = GGUFWriter(str(path), arch)
    w.add_context_length(c.max_position_embeddings)
    w.add_embedding_length(c.hidden_size)
    w.add_block_count(c.num_layers)
    w.add_feed_forward_length(c.intermediate_size)
    w.add_head_count(c.num_heads)
    w.add_head_count_kv(c.num_kv_heads)
    w.add_key_length(c.head_dim)
    w.add_value_length(c.head_dim)
    w.add_layer_norm_rms_eps(c.rms_norm_eps)
    w.add_rope_freq_base(c.rope_theta)
    if c.sliding_window:
        w.add_sliding_window(c.sliding_window)
    w.add_bos_token_id(c.bos_token_id)
    w.add_eos_token_id(c.eos_token_ids[0])
    for name, array in weights.items():
        if name == "embed":
            packed = quantize(array, GGMLQuantizationType.Q8_0)
            w.add_tensor("token_embd.weight", packed, raw_dtype=GGMLQuantizationType.Q8_0)
        elif name == "final_norm":
            w.add_tensor("output_norm.weight", array)
        else:
            _, n, ours = name.split(".")
            w.add_tensor(f"blk.{n}.{_GGUF_LAYER[ours]}.weight", array)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


_HF_LAYER = {
    "q": "self_attn.q_proj",
    "k": "self_attn.k_proj",
    "v": "self_attn.v_proj",
    "o": "self_attn.o_proj",
    "gate": "mlp.gate_proj",
    "up": "mlp.up_proj",
    "down": "mlp.down_proj",
    "input_norm": "input_layernorm",
    "q_norm": "self_attn.q_norm",
    "k_norm": "self_attn.k_norm",
    "pre_ffn_norm": "pre_feedforward_layernorm",
    "post_ffn_norm": "post_feedforward_layernorm",
    "post_attn_norm": "post_attention_layernorm",
}


def write_hf_folder(folder: Path, weights: GemmaWeights) -> None:
    """transformers layout: norms stored as w (scale - 1); Gemma 1's pre-MLP norm renamed."""
    c = weights.config
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for name, array in weights.items():
        value = array - 1.0 if name.endswith("norm") else array
        if name == "embed":
            tensors["model.embed_tokens.weight"] = value
        elif name == "final_norm":
            tensors["model.norm.weight"] = value
        else:
            _, n, ours = name.split(".")
            module = _HF_LAYER[ours]
            if c.family == 1 and ours == "pre_ffn_norm":
                module = "post_attention_layernorm"
            tensors[f"model.layers.{n}.{module}.weight"] = value
    write_safetensors(folder / "model.safetensors", tensors)
    model_type = {1: "gemma", 2: "gemma2", 3: "gemma3_text"}[c.family]
    doc: dict[str, object] = {
        "model_type": model_type,
        "vocab_size": c.vocab_size,
        "hidden_size": c.hidden_size,
        "intermediate_size": c.intermediate_size,
        "num_hidden_layers": c.num_layers,
        "num_attention_heads": c.num_heads,
        "num_key_value_heads": c.num_kv_heads,
        "head_dim": c.head_dim,
        "rms_norm_eps": c.rms_norm_eps,
        "query_pre_attn_scalar": c.query_pre_attn_scalar,
        "attn_logit_softcapping": c.attn_logit_softcap,
        "final_logit_softcapping": c.final_logit_softcap,
        "sliding_window": c.sliding_window,
        "layer_types": list(c.layer_types),
        "max_position_embeddings": c.max_position_embeddings,
        "bos_token_id": 2,
        "eos_token_id": [1, 106],
        "pad_token_id": 0,
    }
    if c.family == 3:
        # transformers 5 nests the rope settings per layer type.
        doc["rope_parameters"] = {
            "full_attention": {"rope_type": "default", "rope_theta": c.rope_theta},
            "sliding_attention": {"rope_type": "default", "rope_theta": c.rope_local_theta},
        }
    else:
        doc["rope_theta"] = c.rope_theta
    (folder / "config.json").write_text(__import__("json").dumps(doc))


def random_ids(n: int, vocab: int = 97, seed: int = 1) -> list[int]:
    return [int(x) for x in np.random.default_rng(seed).integers(0, vocab, n)]
