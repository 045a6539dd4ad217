"""LoRA training of a Gemma decoder in JAX on CPU (optional: requirements-finetune.txt).

The forward pass is the numpy reference's (`build_tools/reference_model.py`): RMS norms with
effective scales, rotate-half RoPE with the local theta on sliding layers, GQA, sliding-window
masks, sandwich norms, GELU-tanh MLP, tied LM head, soft caps when the family has them. The base
weights stay frozen (float32, what the build dequantizes from the GGUF); each linear in
`TARGETS` gains `scale * B @ A` (A: [rank, in], B: [out, rank], B starts at zero).

Cost on 2 cores is the body (forward + backward through every layer), so the LM head runs only on
the positions that carry loss (the model's own tokens): `loss_rows` gathers them.
Batches are bucketed by length so that only a few shapes compile.
"""

import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from build_tools.finetune.adapter import Adapter, LoraConfig
from build_tools.gemma_config import GemmaConfig
from build_tools.gemma_weights import GemmaWeights

Params = dict[str, Any]


@dataclass(frozen=True)
class Example:
    ids: list[int]
    weights: list[float]  # 1.0 where the next token is the model's own (predicted from i-1)


@dataclass(frozen=True)
class Bucket:
    length: int
    batch: int


BUCKETS = (Bucket(192, 12), Bucket(288, 8), Bucket(416, 6), Bucket(640, 4))
LOSS_ROWS = 512  # positions per batch that carry loss (padded); more are split off


def stack_base(weights: GemmaWeights) -> Params:
    c = weights.config
    layers = {}
    for name in ("q", "k", "v", "o", "gate", "up", "down", "input_norm", "pre_ffn_norm"):
        layers[name] = jnp.asarray(np.stack([weights.layer(n, name) for n in range(c.num_layers)]))
    for name in ("post_attn_norm", "post_ffn_norm", "q_norm", "k_norm"):
        if f"layers.0.{name}" in weights:
            layers[name] = jnp.asarray(
                np.stack([weights.layer(n, name) for n in range(c.num_layers)])
            )
    return {
        "embed": jnp.asarray(weights["embed"]),
        "final_norm": jnp.asarray(weights["final_norm"]),
        "layers": layers,
    }


def init_lora(config: GemmaConfig, lora: LoraConfig, seed: int) -> Params:
    shapes = _linear_shapes(config)
    key = jax.random.PRNGKey(seed)
    out: Params = {}
    for name in lora.targets:
        out_f, in_f = shapes[name]
        key, sub = jax.random.split(key)
        a = jax.random.normal(sub, (config.num_layers, lora.rank, in_f), jnp.float32)
        out[name] = {
            "a": a / math.sqrt(in_f),
            "b": jnp.zeros((config.num_layers, out_f, lora.rank), jnp.float32),
        }
    return out


def _linear_shapes(c: GemmaConfig) -> dict[str, tuple[int, int]]:
    h, d, i = c.hidden_size, c.head_dim, c.intermediate_size
    return {
        "q": (c.num_heads * d, h),
        "k": (c.num_kv_heads * d, h),
        "v": (c.num_kv_heads * d, h),
        "o": (h, c.num_heads * d),
        "gate": (i, h),
        "up": (i, h),
        "down": (h, i),
    }


def _rms(x: jax.Array, scale: jax.Array, eps: float) -> jax.Array:
    var = jnp.mean(jnp.square(x), axis=-1, keepdims=True)
    return x / jnp.sqrt(var + eps) * scale


def _gelu(x: jax.Array) -> jax.Array:
    c = math.sqrt(2.0 / math.pi)
    return 0.5 * x * (1.0 + jnp.tanh(c * (x + 0.044715 * x**3)))


def _rope_tables(c: GemmaConfig, length: int) -> tuple[jax.Array, jax.Array]:
    """cos/sin [2, length, head_dim/2]: index 0 for full-attention layers, 1 for sliding."""
    d = c.head_dim
    exps = np.arange(0, d, 2, dtype=np.float64) / d
    inv_full = (1.0 / (c.rope_theta**exps) / c.rope_scaling_factor).astype(np.float32)
    inv_local = (1.0 / (c.rope_local_theta**exps)).astype(np.float32)
    pos = np.arange(length, dtype=np.float32)[:, None]
    ang = np.stack([pos * inv_full[None], pos * inv_local[None]])
    return jnp.asarray(np.cos(ang)), jnp.asarray(np.sin(ang))


def _rope(x: jax.Array, cos: jax.Array, sin: jax.Array) -> jax.Array:
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    cos, sin = cos[None, :, None, :], sin[None, :, None, :]
    return jnp.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


def hidden_states(
    c: GemmaConfig, base: Params, lora: Params, scale: float, ids: jax.Array
) -> jax.Array:
    """Final-normed hidden states [batch, length, hidden] (before the LM head)."""
    bsz, t = ids.shape
    h = base["embed"][ids] * jnp.float32(math.sqrt(c.hidden_size))
    cos, sin = _rope_tables(c, t)
    sliding = jnp.asarray([c.is_sliding(n) for n in range(c.num_layers)])
    qpos = jnp.arange(t)[:, None]
    kpos = jnp.arange(t)[None, :]
    causal = kpos <= qpos
    window = c.sliding_window or t + 1
    local = causal & (qpos - kpos < window)
    group = c.num_heads // c.num_kv_heads
    eps = c.rms_norm_eps

    def lin(x: jax.Array, w: jax.Array, ad: Params | None) -> jax.Array:
        y = x @ w.T
        if ad is not None:
            y = y + scale * ((x @ ad["a"].T) @ ad["b"].T)
        return y

    def layer(h: jax.Array, xs: tuple[Params, Params, jax.Array]) -> tuple[jax.Array, None]:
        w, ad, is_sliding = xs
        x = _rms(h, w["input_norm"], eps)
        q = lin(x, w["q"], ad.get("q")).reshape(bsz, t, c.num_heads, c.head_dim)
        k = lin(x, w["k"], ad.get("k")).reshape(bsz, t, c.num_kv_heads, c.head_dim)
        v = lin(x, w["v"], ad.get("v")).reshape(bsz, t, c.num_kv_heads, c.head_dim)
        if c.qk_norm:
            q, k = _rms(q, w["q_norm"], eps), _rms(k, w["k_norm"], eps)
        which = is_sliding.astype(jnp.int32)
        q, k = _rope(q, cos[which], sin[which]), _rope(k, cos[which], sin[which])
        q = q.reshape(bsz, t, c.num_kv_heads, group, c.head_dim)
        scores = jnp.einsum("bqkgd,bskd->bkgqs", q, k) * (c.query_pre_attn_scalar**-0.5)
        if c.attn_logit_softcap:
            scores = jnp.tanh(scores / c.attn_logit_softcap) * c.attn_logit_softcap
        mask = jnp.where(is_sliding, local, causal)
        scores = jnp.where(mask[None, None, None], scores, -1e30)
        probs = jax.nn.softmax(scores, axis=-1)
        attn = jnp.einsum("bkgqs,bskd->bqkgd", probs, v).reshape(bsz, t, -1)
        attn = lin(attn, w["o"], ad.get("o"))
        if c.sandwich_norms:
            attn = _rms(attn, w["post_attn_norm"], eps)
        h = h + attn
        x = _rms(h, w["pre_ffn_norm"], eps)
        mlp = lin(
            _gelu(lin(x, w["gate"], ad.get("gate"))) * lin(x, w["up"], ad.get("up")),
            w["down"],
            ad.get("down"),
        )
        if c.sandwich_norms:
            mlp = _rms(mlp, w["post_ffn_norm"], eps)
        return h + mlp, None

    h, _ = jax.lax.scan(layer, h, (base["layers"], lora, sliding))
    return _rms(h, base["final_norm"], eps)


def logits_at(c: GemmaConfig, base: Params, hidden: jax.Array) -> jax.Array:
    logits = hidden @ base["embed"].T
    if c.final_logit_softcap:
        logits = jnp.tanh(logits / c.final_logit_softcap) * c.final_logit_softcap
    return logits


def make_loss(c: GemmaConfig, scale: float) -> Callable[..., jax.Array]:
    def loss(
        lora: Params,
        base: Params,
        ids: jax.Array,
        rows_b: jax.Array,
        rows_t: jax.Array,
        targets: jax.Array,
        weights: jax.Array,
    ) -> jax.Array:
        h = hidden_states(c, base, lora, scale, ids)
        picked = h[rows_b, rows_t]  # [rows, hidden]: positions whose next token is trained
        logp = jax.nn.log_softmax(logits_at(c, base, picked), axis=-1)
        nll = -jnp.take_along_axis(logp, targets[:, None], axis=-1)[:, 0]
        return jnp.sum(nll * weights) / jnp.maximum(jnp.sum(weights), 1.0)

    return loss


def batches(
    examples: Sequence[Example], rng: np.random.Generator, pad_id: int, rows: int = LOSS_ROWS
) -> Iterator[tuple[np.ndarray, ...]]:
    """Length-bucketed padded batches (ids, rows_b, rows_t, targets, weights), shuffled."""
    by_bucket: dict[Bucket, list[Example]] = {}
    for ex in examples:
        bucket = next((b for b in BUCKETS if len(ex.ids) <= b.length), None)
        if bucket is not None:
            by_bucket.setdefault(bucket, []).append(ex)
    groups: list[tuple[Bucket, list[Example]]] = []
    for bucket, exs in by_bucket.items():
        order = rng.permutation(len(exs))
        current: list[Example] = []
        count = 0
        for i in order:
            ex = exs[int(i)]
            n = int(sum(1 for w in ex.weights if w > 0))
            if current and (len(current) == bucket.batch or count + n > rows):
                groups.append((bucket, current))
                current, count = [], 0
            current.append(ex)
            count += n
        if current:
            groups.append((bucket, current))
    for gi in rng.permutation(len(groups)):
        bucket, exs = groups[int(gi)]
        ids = np.full((bucket.batch, bucket.length), pad_id, np.int32)
        rb, rt, tg = (np.zeros(rows, np.int32) for _ in range(3))
        wt = np.zeros(rows, np.float32)
        k = 0
        for b, ex in enumerate(exs):
            ids[b, : len(ex.ids)] = ex.ids
            for pos in range(1, len(ex.ids)):
                if ex.weights[pos] > 0 and k < rows:
                    rb[k], rt[k], tg[k], wt[k] = b, pos - 1, ex.ids[pos], ex.weights[pos]
                    k += 1
        yield ids, rb, rt, tg, wt


@dataclass
class TrainResult:
    adapter: Adapter
    losses: list[float]
    seconds: float
    steps: int
    examples_seen: int
    tokens_seen: int


def train(
    weights: GemmaWeights,
    examples: Sequence[Example],
    lora: LoraConfig,
    *,
    steps: int,
    lr: float,
    seed: int,
    pad_id: int = 0,
    warmup: int = 10,
    max_seconds: float | None = None,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """AdamW on the LoRA factors; linear warm-up then cosine decay to 10% over `steps`.
    Stops early at `max_seconds` (the adapter trained so far is returned, and says so)."""
    c = weights.config
    base = stack_base(weights)
    params = init_lora(c, lora, seed)
    grad_fn = jax.jit(jax.value_and_grad(make_loss(c, lora.scale)))
    m = jax.tree.map(jnp.zeros_like, params)
    v = jax.tree.map(jnp.zeros_like, params)
    b1, b2, eps, decay = 0.9, 0.999, 1e-8, 0.0
    rng = np.random.default_rng(seed)
    losses: list[float] = []
    seen = tokens = 0
    started = time.monotonic()
    step = 0
    while step < steps:
        for ids, rb, rt, tg, wt in batches(examples, rng, pad_id):
            if step >= steps:
                break
            if max_seconds is not None and time.monotonic() - started > max_seconds:
                log(f"time limit reached after {step} steps")
                steps = step
                break
            loss, grads = grad_fn(params, base, ids, rb, rt, tg, wt)
            step += 1
            warm = min(1.0, step / max(1, warmup))
            cosine = 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, step / max(1, steps))))
            rate = lr * warm * cosine
            m = jax.tree.map(lambda a, g: b1 * a + (1 - b1) * g, m, grads)
            v = jax.tree.map(lambda a, g: b2 * a + (1 - b2) * g * g, v, grads)
            params = _adam_update(params, m, v, rate, 1 - b1**step, 1 - b2**step, eps, decay)
            losses.append(float(loss))
            seen += int((ids != pad_id).any(axis=1).sum())
            tokens += int((ids != pad_id).sum())
            if step % 10 == 0 or step == 1:
                el = time.monotonic() - started
                log(
                    f"step {step}/{steps} loss {np.mean(losses[-10:]):.4f} "
                    f"({el:.0f} s, {tokens / max(el, 1e-9):.0f} tok/s, {seen} traces)"
                )
    arrays = {
        f"{name}.{part}": np.asarray(params[name][part], dtype=np.float32)
        for name in lora.targets
        for part in ("a", "b")
    }
    return TrainResult(
        Adapter(lora, arrays, {}),
        losses,
        time.monotonic() - started,
        step,
        seen,
        tokens,
    )


def _adam_update(
    params: Params,
    m: Params,
    v: Params,
    rate: float,
    c1: float,
    c2: float,
    eps: float,
    decay: float,
) -> Params:
    def one(p: jax.Array, mm: jax.Array, vv: jax.Array) -> jax.Array:
        return p - rate * ((mm / c1) / (jnp.sqrt(vv / c2) + eps) + decay * p)

    return jax.tree.map(one, params, m, v)  # type: ignore[no-any-return]


def to_examples(
    records: Sequence[dict[str, Any]],
    encode_with_offsets: Callable[[str], tuple[list[int], list[tuple[int, int]]]],
    bos: int,
    max_length: int,
) -> list[Example]:
    """Token ids with <bos>, and weight 1 on tokens that lie inside a trained character span
    (a token that straddles a span's start counts: the model writes it)."""
    out = []
    for rec in records:
        text = str(rec["text"])
        spans = [(int(a), int(b)) for a, b in rec["train"]]
        ids, offsets = encode_with_offsets(text)
        ws = [0.0]
        for start, end in offsets:
            inside = any(start < b and end > a for a, b in spans)
            ws.append(1.0 if inside else 0.0)
        ids = [bos, *ids]
        if len(ids) <= max_length:
            out.append(Example(ids, ws))
    return out
