"""One description of a Gemma decoder (families 1, 2 and 3), whatever file it came from."""

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from build_tools.errors import BuildError

SLIDING = "sliding_attention"
FULL = "full_attention"


@dataclass(frozen=True)
class GemmaConfig:
    family: int  # 1, 2 or 3
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    rms_norm_eps: float
    rope_theta: float  # full-attention layers
    rope_local_theta: float  # sliding-window layers
    layer_types: tuple[str, ...]
    sliding_window: int | None
    query_pre_attn_scalar: float  # attention scores are scaled by its inverse square root
    attn_logit_softcap: float | None = None  # Gemma 2
    final_logit_softcap: float | None = None  # Gemma 2
    rope_scaling_factor: float = 1.0  # linear, full-attention layers only (Gemma 3 4B+)
    max_position_embeddings: int = 8192
    bos_token_id: int = 2
    eos_token_ids: tuple[int, ...] = (1,)
    pad_token_id: int = 0
    name: str = "gemma"
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        problems = []
        if self.family not in (1, 2, 3):
            problems.append(f"family must be 1, 2 or 3, got {self.family}")
        for name in ("vocab_size", "hidden_size", "intermediate_size", "num_layers", "head_dim"):
            if getattr(self, name) <= 0:
                problems.append(f"{name} must be positive, got {getattr(self, name)}")
        if self.num_kv_heads <= 0 or self.num_heads % max(self.num_kv_heads, 1):
            problems.append(
                f"num_heads ({self.num_heads}) must be a multiple of num_kv_heads "
                f"({self.num_kv_heads})"
            )
        if self.head_dim % 2:
            problems.append(f"head_dim must be even for rotary embeddings, got {self.head_dim}")
        if len(self.layer_types) != self.num_layers:
            problems.append(
                f"layer_types has {len(self.layer_types)} entries for {self.num_layers} layers"
            )
        if any(t not in (SLIDING, FULL) for t in self.layer_types):
            problems.append(f"unknown layer type in {sorted(set(self.layer_types))}")
        if SLIDING in self.layer_types and not self.sliding_window:
            problems.append("sliding-window layers need a sliding_window size")
        if problems:
            raise BuildError("invalid Gemma config: " + "; ".join(problems))

    @property
    def qk_norm(self) -> bool:
        return self.family == 3

    @property
    def sandwich_norms(self) -> bool:
        """Norms after attention and after the MLP as well as before (Gemma 2 and 3)."""
        return self.family >= 2

    def is_sliding(self, layer: int) -> bool:
        return self.layer_types[layer] == SLIDING

    def to_json(self) -> dict[str, Any]:
        doc = asdict(self)
        doc["layer_types"] = list(self.layer_types)
        doc["eos_token_ids"] = list(self.eos_token_ids)
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "GemmaConfig":
        doc = dict(doc)
        doc["layer_types"] = tuple(doc["layer_types"])
        doc["eos_token_ids"] = tuple(doc["eos_token_ids"])
        return cls(**doc)


def default_layer_types(family: int, num_layers: int, pattern: int = 6) -> tuple[str, ...]:
    """Gemma 1: all global. Gemma 2: sliding on even layers. Gemma 3: every `pattern`-th global."""
    if family == 1:
        return (FULL,) * num_layers
    if family == 2:
        return tuple(SLIDING if i % 2 == 0 else FULL for i in range(num_layers))
    return tuple(FULL if (i + 1) % pattern == 0 else SLIDING for i in range(num_layers))


def default_query_pre_attn_scalar(family: int, hidden: int, heads: int, head_dim: int) -> float:
    # The 27B models of Gemma 2 and 3 scale by hidden/heads (144, 168); all others by head_dim.
    if family >= 2 and hidden // heads != head_dim and hidden in (4608, 5376):
        return float(hidden // heads)
    return float(head_dim)


_HF_FAMILIES = {"gemma": 1, "gemma2": 2, "gemma3_text": 3, "gemma3": 3}


def from_hf_config(doc: dict[str, Any]) -> GemmaConfig:
    """Read a transformers config.json (v4 flat or v5 nested rope settings)."""
    if doc.get("model_type") == "gemma3" and "text_config" in doc:
        doc = {**doc["text_config"], "model_type": "gemma3_text"}
    model_type = doc.get("model_type")
    if model_type not in _HF_FAMILIES:
        raise BuildError(
            f"unsupported architecture {model_type!r}: expected one of {sorted(_HF_FAMILIES)}"
        )
    family = _HF_FAMILIES[model_type]
    try:
        hidden = int(doc["hidden_size"])
        heads = int(doc["num_attention_heads"])
        layers = int(doc["num_hidden_layers"])
        head_dim = int(doc.get("head_dim") or hidden // heads)
        rope_theta, rope_local, scaling = _hf_rope(doc, family)
        layer_types = tuple(doc.get("layer_types") or ()) or default_layer_types(
            family, layers, int(doc.get("sliding_window_pattern") or 6)
        )
        eos = doc.get("eos_token_id", 1)
        return GemmaConfig(
            family=family,
            vocab_size=int(doc["vocab_size"]),
            hidden_size=hidden,
            intermediate_size=int(doc["intermediate_size"]),
            num_layers=layers,
            num_heads=heads,
            num_kv_heads=int(doc.get("num_key_value_heads") or heads),
            head_dim=head_dim,
            rms_norm_eps=float(doc.get("rms_norm_eps", 1e-6)),
            rope_theta=rope_theta,
            rope_local_theta=rope_local,
            rope_scaling_factor=scaling,
            layer_types=layer_types,
            sliding_window=doc.get("sliding_window") if family >= 2 else None,
            query_pre_attn_scalar=float(
                doc.get("query_pre_attn_scalar")
                or default_query_pre_attn_scalar(family, hidden, heads, head_dim)
            ),
            attn_logit_softcap=doc.get("attn_logit_softcapping"),
            final_logit_softcap=doc.get("final_logit_softcapping"),
            max_position_embeddings=int(doc.get("max_position_embeddings", 8192)),
            bos_token_id=int(doc.get("bos_token_id", 2)),
            eos_token_ids=tuple(eos) if isinstance(eos, list) else (int(eos),),
            pad_token_id=int(doc.get("pad_token_id") or 0),
        )
    except KeyError as exc:
        raise BuildError(f"config.json lacks the field {exc.args[0]!r}") from exc
    except (TypeError, ValueError) as exc:
        raise BuildError(f"config.json has a malformed field: {exc}") from exc


def _hf_rope(doc: dict[str, Any], family: int) -> tuple[float, float, float]:
    """(global theta, local theta, linear scaling factor); transformers 5 nests these per type."""
    params: Any = doc.get("rope_parameters")
    if isinstance(params, dict) and FULL in params:
        full_p: dict[str, Any] = params[FULL]
        local_p: dict[str, Any] = params.get(SLIDING) or full_p
        factor = float(full_p.get("factor", 1.0)) if full_p.get("rope_type") == "linear" else 1.0
        return float(full_p["rope_theta"]), float(local_p["rope_theta"]), factor
    theta = float(doc.get("rope_theta", 10000.0))
    local = float(doc.get("rope_local_base_freq", 10000.0 if family == 3 else theta))
    scaling = doc.get("rope_scaling") or {}
    factor = float(scaling.get("factor", 1.0)) if scaling.get("rope_type") == "linear" else 1.0
    return theta, local, factor


def dumps(config: GemmaConfig) -> str:
    return json.dumps(config.to_json(), indent=2) + "\n"
