"""Read a Gemma GGUF (llama.cpp's format): config from metadata, weights dequantized by `gguf`."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from gguf import GGUFReader, GGUFValueType
from gguf.quants import dequantize

from build_tools.errors import BuildError
from build_tools.gemma_config import GemmaConfig, default_layer_types, default_query_pre_attn_scalar
from build_tools.gemma_weights import GemmaWeights
from build_tools.quantize import QuantizedMatrix, can_transcode, transcode

FAMILIES = {"gemma": 1, "gemma2": 2, "gemma3": 3}

# GGUF tensor name (per block) -> our name
_LAYER_TENSORS = {
    "attn_q": "q",
    "attn_k": "k",
    "attn_v": "v",
    "attn_output": "o",
    "ffn_gate": "gate",
    "ffn_up": "up",
    "ffn_down": "down",
    "attn_norm": "input_norm",
    "post_attention_norm": "post_attn_norm",
    "ffn_norm": "pre_ffn_norm",
    "post_ffw_norm": "post_ffn_norm",
    "attn_q_norm": "q_norm",
    "attn_k_norm": "k_norm",
}


def open_gguf(path: Path) -> GGUFReader:
    if not path.is_file():
        raise BuildError(f"GGUF file not found: {path}")
    try:
        return GGUFReader(str(path))
    except Exception as exc:  # the reader raises assorted types on corrupt input
        raise BuildError(
            f"{path} is not a readable GGUF file (corrupt or truncated?): {exc}"
        ) from exc


def metadata(reader: GGUFReader) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, f in reader.fields.items():
        if f.types and f.types[0] == GGUFValueType.ARRAY and len(f.data) > 64:
            continue  # tokenizer arrays: read by the tokenizer exporter
        try:
            out[key] = f.contents()
        except Exception:
            continue
    return out


def config_from_gguf(reader: GGUFReader) -> GemmaConfig:
    meta = metadata(reader)
    arch = meta.get("general.architecture")
    if arch not in FAMILIES:
        raise BuildError(
            f"unsupported architecture {arch!r} in GGUF: expected one of {sorted(FAMILIES)}"
        )
    family = FAMILIES[arch]

    def get(key: str, default: Any = None) -> Any:
        value = meta.get(f"{arch}.{key}", default)
        if value is None:
            raise BuildError(f"GGUF metadata lacks {arch}.{key}")
        return value

    hidden = int(get("embedding_length"))
    heads = int(get("attention.head_count"))
    head_dim = int(get("attention.key_length", hidden // heads))
    layers = int(get("block_count"))
    vocab = _vocab_size(reader)
    theta = float(get("rope.freq_base", 10000.0))
    scaling = 1.0
    if meta.get(f"{arch}.rope.scaling.type") == "linear":
        scaling = float(meta.get(f"{arch}.rope.scaling.factor", 1.0))
    window = meta.get(f"{arch}.attention.sliding_window")
    eos = [int(meta.get("tokenizer.ggml.eos_token_id", 1))]
    return GemmaConfig(
        family=family,
        vocab_size=vocab,
        hidden_size=hidden,
        intermediate_size=int(get("feed_forward_length")),
        num_layers=layers,
        num_heads=heads,
        num_kv_heads=int(get("attention.head_count_kv", heads)),
        head_dim=head_dim,
        rms_norm_eps=float(get("attention.layer_norm_rms_epsilon", 1e-6)),
        rope_theta=theta,
        # llama.cpp hard-codes Gemma 3's local base; Gemma 2 uses one base for all layers.
        rope_local_theta=10000.0 if family == 3 else theta,
        rope_scaling_factor=scaling,
        layer_types=default_layer_types(family, layers),
        sliding_window=int(window) if window and family >= 2 else None,
        query_pre_attn_scalar=default_query_pre_attn_scalar(family, hidden, heads, head_dim),
        attn_logit_softcap=meta.get(f"{arch}.attn_logit_softcapping"),
        final_logit_softcap=meta.get(f"{arch}.final_logit_softcapping"),
        max_position_embeddings=int(get("context_length", 8192)),
        bos_token_id=int(meta.get("tokenizer.ggml.bos_token_id", 2)),
        eos_token_ids=tuple(eos),
        pad_token_id=int(meta.get("tokenizer.ggml.padding_token_id", 0)),
        name=str(meta.get("general.name", arch)),
    )


def _vocab_size(reader: GGUFReader) -> int:
    for t in reader.tensors:
        if t.name == "token_embd.weight":
            return int(t.shape[-1])
    raise BuildError("GGUF has no token_embd.weight tensor")


def load_gguf(
    path: Path | GGUFReader, progress: Callable[[str], None] | None = None
) -> tuple[GemmaConfig, GemmaWeights]:
    reader = path if isinstance(path, GGUFReader) else open_gguf(path)
    config = config_from_gguf(reader)
    tensors: dict[str, npt.NDArray[np.generic]] = {}
    for t in reader.tensors:
        name = _our_name(t.name)
        if name is None:
            continue
        if progress:
            progress(name)
        try:
            array = dequantize(t.data, t.tensor_type)
        except (NotImplementedError, ValueError) as exc:
            raise BuildError(f"cannot dequantize {t.name} ({t.tensor_type.name}): {exc}") from exc
        shape = tuple(int(s) for s in reversed(t.shape))
        tensors[name] = np.asarray(array, dtype=np.float32).reshape(shape)
    return config, GemmaWeights(config, tensors)


def _our_name(gguf_name: str) -> str | None:
    if gguf_name == "token_embd.weight":
        return "embed"
    if gguf_name == "output_norm.weight":
        return "final_norm"
    parts = gguf_name.split(".")
    if (
        len(parts) == 4
        and parts[0] == "blk"
        and parts[3] == "weight"
        and parts[2] in _LAYER_TENSORS
    ):
        return f"layers.{parts[1]}.{_LAYER_TENSORS[parts[2]]}"
    return None


def transcoded_linears(path: Path | GGUFReader) -> dict[str, QuantizedMatrix]:
    """Exact MatMulNBits forms of every linear weight (and the embedding) whose GGUF type allows."""
    reader = path if isinstance(path, GGUFReader) else open_gguf(path)
    out: dict[str, QuantizedMatrix] = {}
    for t in reader.tensors:
        name = _our_name(t.name)
        if name is None or name.endswith("norm") or not can_transcode(t.tensor_type):
            continue
        n, k = int(t.shape[-1]), int(t.shape[0])
        out[name] = transcode(t.tensor_type, t.data, n, k)
    return out
