"""A plain numpy Gemma 1/2/3 forward pass with a KV cache: the reference the ONNX export must match.

Deliberately written differently from the graph (explicit per-head loops, float64 accumulation
option, masks built position by position) so that a shared mistake is unlikely.
"""

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from build_tools.gemma_weights import F32, GemmaWeights


def rms_norm(x: F32, scale: F32, eps: float) -> F32:
    var = np.mean(np.square(x, dtype=np.float32), axis=-1, keepdims=True)
    return np.asarray(x / np.sqrt(var + np.float32(eps)) * scale, dtype=np.float32)


def gelu_tanh(x: F32) -> F32:
    c = np.float32(np.sqrt(2.0 / np.pi))
    return (0.5 * x * (1.0 + np.tanh(c * (x + np.float32(0.044715) * x**3)))).astype(np.float32)


def rope_inv_freq(head_dim: int, theta: float, factor: float) -> F32:
    """Rotary inverse frequencies, linear scaling folded in (as transformers computes them)."""
    exponents = np.arange(0, head_dim, 2, dtype=np.float64) / head_dim
    return (1.0 / (theta**exponents) / factor).astype(np.float32)


def rope(x: F32, positions: npt.NDArray[np.int64], inv_freq: F32) -> F32:
    """x: [seq, heads, head_dim]; rotate_half convention (first half pairs with second half)."""
    d = x.shape[-1]
    # float32 angles, as the graph (and transformers) compute them.
    angles = positions.astype(np.float32)[:, None] * inv_freq[None, :]
    cos = np.cos(angles)[:, None, :]
    sin = np.sin(angles)[:, None, :]
    x1, x2 = x[..., : d // 2], x[..., d // 2 :]
    return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1).astype(np.float32)


@dataclass
class KVCache:
    keys: list[F32] = field(default_factory=list)  # per layer [positions, kv_heads, head_dim]
    values: list[F32] = field(default_factory=list)

    @property
    def length(self) -> int:
        return self.keys[0].shape[0] if self.keys else 0


class ReferenceGemma:
    def __init__(self, weights: GemmaWeights) -> None:
        self.w = weights
        self.c = weights.config

    def forward(self, token_ids: list[int], cache: KVCache | None = None) -> tuple[F32, KVCache]:
        """Logits [len(token_ids), vocab] for tokens that follow the cache's positions."""
        c, w = self.c, self.w
        cache = cache if cache is not None else KVCache()
        past = cache.length
        positions = np.arange(past, past + len(token_ids), dtype=np.int64)
        h = w["embed"][np.asarray(token_ids)] * np.float32(np.sqrt(c.hidden_size))
        new = KVCache()
        for n in range(c.num_layers):
            x = rms_norm(h, w.layer(n, "input_norm"), c.rms_norm_eps)
            attn, k, v = self._attention(n, x, positions, cache, past)
            new.keys.append(k)
            new.values.append(v)
            if c.sandwich_norms:
                attn = rms_norm(attn, w.layer(n, "post_attn_norm"), c.rms_norm_eps)
            h = h + attn
            x = rms_norm(h, w.layer(n, "pre_ffn_norm"), c.rms_norm_eps)
            mlp = (gelu_tanh(x @ w.layer(n, "gate").T) * (x @ w.layer(n, "up").T)) @ w.layer(
                n, "down"
            ).T
            if c.sandwich_norms:
                mlp = rms_norm(mlp, w.layer(n, "post_ffn_norm"), c.rms_norm_eps)
            h = h + mlp
        h = rms_norm(h, w["final_norm"], c.rms_norm_eps)
        logits = (h @ w["embed"].T).astype(np.float32)
        if c.final_logit_softcap:
            cap = np.float32(c.final_logit_softcap)
            logits = np.tanh(logits / cap) * cap
        return logits, new

    def _attention(
        self, n: int, x: F32, positions: npt.NDArray[np.int64], cache: KVCache, past: int
    ) -> tuple[F32, F32, F32]:
        c, w = self.c, self.w
        s, d = x.shape[0], c.head_dim
        q = (x @ w.layer(n, "q").T).reshape(s, c.num_heads, d)
        k = (x @ w.layer(n, "k").T).reshape(s, c.num_kv_heads, d)
        v = (x @ w.layer(n, "v").T).reshape(s, c.num_kv_heads, d)
        if c.qk_norm:
            q = rms_norm(q, w.layer(n, "q_norm"), c.rms_norm_eps)
            k = rms_norm(k, w.layer(n, "k_norm"), c.rms_norm_eps)
        sliding = c.is_sliding(n)
        inv_freq = (
            rope_inv_freq(d, c.rope_local_theta, 1.0)
            if sliding
            else rope_inv_freq(d, c.rope_theta, c.rope_scaling_factor)
        )
        q, k = rope(q, positions, inv_freq), rope(k, positions, inv_freq)
        if past:
            k = np.concatenate([cache.keys[n], k])
            v = np.concatenate([cache.values[n], v])
        total = k.shape[0]
        out = np.zeros((s, c.num_heads, d), dtype=np.float32)
        group = c.num_heads // c.num_kv_heads
        scale = np.float32(c.query_pre_attn_scalar**-0.5)
        for qi in range(s):
            qpos = past + qi
            allowed = [
                kpos
                for kpos in range(total)
                if kpos <= qpos and not (sliding and qpos - kpos >= (c.sliding_window or 0))
            ]
            for head in range(c.num_heads):
                kv = head // group
                scores = (k[allowed, kv, :] @ q[qi, head, :]) * scale
                if c.attn_logit_softcap:
                    cap = np.float32(c.attn_logit_softcap)
                    scores = np.tanh(scores / cap) * cap
                probs = np.exp(scores - scores.max())
                probs /= probs.sum()
                out[qi, head, :] = probs @ v[allowed, kv, :]
        attn = out.reshape(s, c.num_heads * d) @ w.layer(n, "o").T
        return attn.astype(np.float32), k, v
