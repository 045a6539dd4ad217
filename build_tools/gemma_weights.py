"""Decoder weights under one naming, whatever file they came from.

Linear weights are [out_features, in_features] float32. Norm weights are stored as the
*effective* scale, 1 + w in transformers' terms (llama.cpp's GGUF already stores 1 + w), so the
graph and the reference multiply by them directly.
"""

from collections.abc import Iterator, Mapping

import numpy as np
import numpy.typing as npt

from build_tools.errors import BuildError
from build_tools.gemma_config import GemmaConfig

F32 = npt.NDArray[np.float32]

LINEARS = ("q", "k", "v", "o", "gate", "up", "down")


def layer_norm_names(config: GemmaConfig) -> tuple[str, ...]:
    names = ["input_norm", "pre_ffn_norm"]
    if config.sandwich_norms:
        names += ["post_attn_norm", "post_ffn_norm"]
    if config.qk_norm:
        names += ["q_norm", "k_norm"]
    return tuple(names)


def expected_shapes(config: GemmaConfig) -> dict[str, tuple[int, ...]]:
    h, d, i = config.hidden_size, config.head_dim, config.intermediate_size
    shapes: dict[str, tuple[int, ...]] = {
        "embed": (config.vocab_size, h),
        "final_norm": (h,),
    }
    for n in range(config.num_layers):
        p = f"layers.{n}."
        shapes[p + "q"] = (config.num_heads * d, h)
        shapes[p + "k"] = (config.num_kv_heads * d, h)
        shapes[p + "v"] = (config.num_kv_heads * d, h)
        shapes[p + "o"] = (h, config.num_heads * d)
        shapes[p + "gate"] = (i, h)
        shapes[p + "up"] = (i, h)
        shapes[p + "down"] = (h, i)
        for norm in layer_norm_names(config):
            shapes[p + norm] = (d,) if norm in ("q_norm", "k_norm") else (h,)
    return shapes


class GemmaWeights(Mapping[str, F32]):
    """Validated, read-only name -> float32 array map."""

    def __init__(self, config: GemmaConfig, tensors: Mapping[str, npt.NDArray[np.generic]]):
        shapes = expected_shapes(config)
        missing = sorted(set(shapes) - set(tensors))
        if missing:
            more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
            raise BuildError(f"the model is missing weights: {', '.join(missing[:5])}{more}")
        self._tensors: dict[str, F32] = {}
        for name, shape in shapes.items():
            array = np.asarray(tensors[name], dtype=np.float32)
            if array.shape != shape:
                raise BuildError(f"weight {name} has shape {array.shape}, expected {shape}")
            if not np.isfinite(array).all():
                raise BuildError(f"weight {name} contains NaN or infinity")
            self._tensors[name] = array
        self.config = config

    def __getitem__(self, name: str) -> F32:
        return self._tensors[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tensors)

    def __len__(self) -> int:
        return len(self._tensors)

    def layer(self, n: int, name: str) -> F32:
        return self._tensors[f"layers.{n}.{name}"]


def random_weights(config: GemmaConfig, seed: int = 0) -> GemmaWeights:
    """Random weights of realistic scale, for exporter parity tests on tiny configs."""
    rng = np.random.default_rng(seed)
    tensors: dict[str, npt.NDArray[np.generic]] = {}
    for name, shape in expected_shapes(config).items():
        if len(shape) == 1:
            tensors[name] = 1.0 + 0.1 * rng.standard_normal(shape)
        else:
            tensors[name] = rng.standard_normal(shape) / np.sqrt(shape[-1])
    return GemmaWeights(config, tensors)
