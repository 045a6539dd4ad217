"""Read a Hugging Face Gemma folder (config.json + *.safetensors) with numpy only.

safetensors is a JSON header followed by raw little-endian tensors; bf16 is widened to float32
by a 16-bit shift, so no PyTorch is needed.
"""

import json
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from build_tools.errors import BuildError
from build_tools.gemma_config import GemmaConfig, from_hf_config
from build_tools.gemma_weights import GemmaWeights

_DTYPES: dict[str, str] = {"F32": "<f4", "F16": "<f2", "BF16": "<u2", "F64": "<f8"}
_PREFIXES = ("language_model.model.", "model.language_model.", "model.")


def read_safetensors(
    path: Path, skip_other_dtypes: bool = False
) -> Iterator[tuple[str, npt.NDArray[np.float32]]]:
    """(name, float32 array) for every tensor of one safetensors file. A tensor of another
    dtype (e.g. an I64 `position_ids` buffer) is an error, or skipped with skip_other_dtypes."""
    with path.open("rb") as f:
        raw_len = f.read(8)
        if len(raw_len) != 8:
            raise BuildError(f"{path} is truncated: no safetensors header")
        (header_len,) = struct.unpack("<Q", raw_len)
        if header_len > 100_000_000:
            raise BuildError(f"{path} is not a safetensors file (header length {header_len})")
        try:
            header = json.loads(f.read(header_len))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise BuildError(f"{path} has a corrupt safetensors header: {exc}") from exc
        body = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + header_len)
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype = info.get("dtype")
        if dtype not in _DTYPES:
            if skip_other_dtypes:
                continue
            raise BuildError(f"{path}: tensor {name} has unsupported dtype {dtype}")
        start, end = info["data_offsets"]
        if end > body.size:
            raise BuildError(f"{path} is truncated: tensor {name} ends past the end of the file")
        array = np.frombuffer(body[start:end], dtype=_DTYPES[dtype])
        if dtype == "BF16":
            widened = (array.astype(np.uint32) << 16).view(np.float32)
        else:
            widened = array.astype(np.float32)
        yield name, widened.reshape(info["shape"])


def _our_name(hf_name: str, family: int) -> str | None:
    for prefix in _PREFIXES:
        if hf_name.startswith(prefix):
            hf_name = hf_name[len(prefix) :]
            break
    if hf_name == "embed_tokens.weight":
        return "embed"
    if hf_name == "norm.weight":
        return "final_norm"
    parts = hf_name.split(".")
    if len(parts) < 4 or parts[0] != "layers" or parts[-1] != "weight":
        return None
    n, module = parts[1], ".".join(parts[2:-1])
    names = {
        "self_attn.q_proj": "q",
        "self_attn.k_proj": "k",
        "self_attn.v_proj": "v",
        "self_attn.o_proj": "o",
        "mlp.gate_proj": "gate",
        "mlp.up_proj": "up",
        "mlp.down_proj": "down",
        "input_layernorm": "input_norm",
        "self_attn.q_norm": "q_norm",
        "self_attn.k_norm": "k_norm",
        "pre_feedforward_layernorm": "pre_ffn_norm",
        "post_feedforward_layernorm": "post_ffn_norm",
        # Gemma 1 names its pre-MLP norm post_attention_layernorm (the Llama layout).
        "post_attention_layernorm": "pre_ffn_norm" if family == 1 else "post_attn_norm",
    }
    return f"layers.{n}.{names[module]}" if module in names else None


def load_hf_folder(folder: Path) -> tuple[GemmaConfig, GemmaWeights]:
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise BuildError(f"{folder} is not a Hugging Face model folder: config.json is missing")
    try:
        config = from_hf_config(json.loads(config_path.read_text()))
    except json.JSONDecodeError as exc:
        raise BuildError(f"{config_path} is not valid JSON: {exc}") from exc
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise BuildError(f"{folder} has no *.safetensors weights")
    tensors: dict[str, npt.NDArray[np.float32]] = {}
    for path in files:
        for hf_name, array in read_safetensors(path):
            name = _our_name(hf_name, config.family)
            if name is None:
                continue
            # transformers' Gemma norms compute x * (1 + w): store the effective scale.
            tensors[name] = array + 1.0 if name.endswith("norm") else array
    return config, GemmaWeights(config, tensors)


def write_safetensors(path: Path, tensors: dict[str, npt.NDArray[np.float32]]) -> None:
    """Minimal F32 writer, used to make tiny test folders."""
    header: dict[str, object] = {}
    offset = 0
    blobs = []
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {
            "dtype": "F32",
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        offset += len(data)
        blobs.append(data)
    raw = json.dumps(header).encode()
    with path.open("wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)
