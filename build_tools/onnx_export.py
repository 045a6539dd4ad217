"""Write a Gemma 1/2/3 decoder as an ONNX graph with a KV cache, from numpy weights (no PyTorch).

Inputs: input_ids [batch, seq] int64, attention_mask [batch, past + seq] int64, position_ids
[batch, seq] int64, past_key_values.{n}.key/value [batch, kv_heads, past, head_dim] float32.
Outputs: the head (see `Head`), present.{n}.key/value [batch, kv_heads, past + seq, head_dim].
Standard ONNX operators (opset 18) plus, for quantized weights, com.microsoft's MatMulNBits and
GatherBlockQuantized, which onnxruntime's CPU, WASM and WebGPU providers all run; onnxruntime
fuses the norms and GELU itself.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

from build_tools.errors import BuildError
from build_tools.gemma_config import GemmaConfig
from build_tools.gemma_weights import LINEARS, GemmaWeights, layer_norm_names
from build_tools.quantize import QuantizedMatrix
from build_tools.reference_model import rope_inv_freq

OPSET = 18
MS_DOMAIN = "com.microsoft"
NEG_INF = float(np.finfo(np.float32).min)


class Head(StrEnum):
    LOGITS_LAST = "logits_last"  # logits [batch, 1, vocab] of the last position: generation
    LOGITS_ALL = "logits_all"  # logits [batch, seq, vocab]: evaluation and parity tests
    HIDDEN = "hidden"  # final normed hidden state [batch, seq, hidden]: LM head done elsewhere


def past_names(n: int) -> tuple[str, str]:
    return f"past_key_values.{n}.key", f"past_key_values.{n}.value"


def present_names(n: int) -> tuple[str, str]:
    return f"present.{n}.key", f"present.{n}.value"


@dataclass
class _Graph:
    accuracy_level: int = 4
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    initializers: list[onnx.TensorProto] = field(default_factory=list)
    counter: int = 0

    def name(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}_{self.counter}"

    def const(self, hint: str, value: npt.ArrayLike, dtype: type = np.float32) -> str:
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value, dtype=dtype), name))
        return name

    def weight(self, name: str, array: npt.NDArray[Any]) -> str:
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str = "", **attrs: Any) -> str:
        out = self.name(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def op_to(self, op_type: str, inputs: list[str], output: str, **attrs: Any) -> str:
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=output, **attrs))
        return output


def _rms_norm(g: _Graph, x: str, scale: str, eps: float) -> str:
    var = g.op("ReduceMean", [g.op("Mul", [x, x]), g.const("axes", [-1], np.int64)], keepdims=1)
    denom = g.op("Sqrt", [g.op("Add", [var, g.const("eps", eps)])])
    return g.op("Mul", [g.op("Div", [x, denom]), scale], "norm")


def _gelu_tanh(g: _Graph, x: str) -> str:
    cube = g.op("Mul", [g.op("Mul", [x, x]), x])
    inner = g.op("Add", [x, g.op("Mul", [cube, g.const("c", 0.044715)])])
    t = g.op("Tanh", [g.op("Mul", [inner, g.const("c", float(np.sqrt(2.0 / np.pi)))])])
    half_x = g.op("Mul", [x, g.const("half", 0.5)])
    return g.op("Mul", [half_x, g.op("Add", [t, g.const("one", 1.0)])], "gelu")


def _softcap(g: _Graph, x: str, cap: float) -> str:
    c = g.const("cap", cap)
    return g.op("Mul", [g.op("Tanh", [g.op("Div", [x, c])]), c], "softcap")


def _linear(g: _Graph, x: str, weight: "_Weight") -> str:
    if isinstance(weight, tuple):
        return _matmul_nbits(g, x, *weight)
    return g.op("MatMul", [x, weight], "linear")


def _quantized_inputs(g: _Graph, name: str, qm: QuantizedMatrix) -> list[str]:
    """MatMulNBits' constant inputs; a block-offset table, when present, comes last."""
    inputs = [g.weight(f"{name}.q", qm.packed()), g.weight(f"{name}.scales", qm.scales)]
    zp = qm.zero_points_input()
    if zp is not None:
        inputs.append(g.weight(f"{name}.zero_points", zp))
    if qm.offsets is not None:
        inputs.append(g.weight(f"{name}.block_offsets", np.ascontiguousarray(qm.offsets.T)))
    return inputs


def _matmul_nbits(g: _Graph, x: str, inputs: list[str], qm: QuantizedMatrix) -> str:
    nbits_inputs = inputs[:-1] if qm.offsets is not None else inputs
    y = g.op(
        "MatMulNBits",
        [x, *nbits_inputs],
        "qlinear",
        domain=MS_DOMAIN,
        K=qm.k,
        N=qm.n,
        bits=qm.bits,
        block_size=qm.block_size,
        # 4: int8 activations on CPU, the fast kernels (8-bit weights otherwise dequantize on
        # every call); onnxruntime-web ignores it and computes as level 0.
        accuracy_level=g.accuracy_level,
    )
    if qm.offsets is None:
        return y
    blocks = qm.k // qm.block_size
    shaped = g.op("Reshape", [x, g.const("shape", [0, 0, blocks, qm.block_size], np.int64)])
    sums = g.op("ReduceSum", [shaped, g.const("axes", [-1], np.int64)], keepdims=0)
    return g.op("Sub", [y, g.op("MatMul", [sums, inputs[-1]])], "qlinear_offset")


def _rope_tables(g: _Graph, positions: str, inv_freq: npt.NDArray[np.float32]) -> tuple[str, str]:
    """cos, sin [batch, 1, seq, head_dim] for the given positions."""
    pos = g.op(
        "Unsqueeze",
        [g.op("Cast", [positions], to=TensorProto.FLOAT), g.const("ax", [-1], np.int64)],
    )
    angles = g.op("Mul", [pos, g.const("inv_freq", inv_freq)])
    both = g.op("Concat", [angles, angles], axis=-1)
    ax1 = g.const("ax", [1], np.int64)
    return (
        g.op("Unsqueeze", [g.op("Cos", [both]), ax1], "cos"),
        g.op("Unsqueeze", [g.op("Sin", [both]), ax1], "sin"),
    )


def _apply_rope(g: _Graph, x: str, cos: str, sin: str, half: int) -> str:
    """x [batch, heads, seq, head_dim]: x * cos + rotate_half(x) * sin."""
    x1 = g.op(
        "Slice",
        [
            x,
            g.const("s", [0], np.int64),
            g.const("e", [half], np.int64),
            g.const("a", [-1], np.int64),
        ],
    )
    x2 = g.op(
        "Slice",
        [
            x,
            g.const("s", [half], np.int64),
            g.const("e", [2 * half], np.int64),
            g.const("a", [-1], np.int64),
        ],
    )
    rotated = g.op("Concat", [g.op("Neg", [x2]), x1], axis=-1)
    return g.op("Add", [g.op("Mul", [x, cos]), g.op("Mul", [rotated, sin])], "rope")


def _masks(g: _Graph, config: GemmaConfig, group: int) -> dict[bool, str]:
    """Additive masks [batch, 1, group * seq, total] for full and sliding layers."""
    total = g.op("Gather", [g.op("Shape", ["attention_mask"]), g.const("i", 1, np.int64)], axis=0)
    seq = g.op("Gather", [g.op("Shape", ["input_ids"]), g.const("i", 1, np.int64)], axis=0)
    past = g.op("Sub", [total, seq])
    one = g.const("one", 1, np.int64)
    kpos = g.op("Range", [g.const("zero", 0, np.int64), total, one])
    qpos = g.op("Unsqueeze", [g.op("Range", [past, total, one]), g.const("ax", [1], np.int64)])
    causal = g.op("LessOrEqual", [kpos, qpos])  # [seq, total]
    padding = g.op("Cast", ["attention_mask"], to=TensorProto.BOOL)  # [batch, total]
    padding = g.op("Unsqueeze", [padding, g.const("ax", [1, 2], np.int64)])  # [batch, 1, 1, total]
    tile = g.const("tile", [1, 1, group, 1], np.int64)
    zero, neg = g.const("zero", 0.0), g.const("neg", NEG_INF)

    def finish(allowed: str) -> str:
        allowed = g.op("And", [allowed, padding])  # [batch, 1, seq, total]
        return g.op("Tile", [g.op("Where", [allowed, zero, neg]), tile], "mask")

    masks = {False: finish(causal)}
    if config.sliding_window and any(config.is_sliding(n) for n in range(config.num_layers)):
        lower = g.op("Sub", [qpos, g.const("window", config.sliding_window, np.int64)])
        masks[True] = finish(g.op("And", [causal, g.op("Greater", [kpos, lower])]))
    return masks


# A linear layer's weight: an fp32 [in, out] initializer, or MatMulNBits inputs.
_Weight = str | tuple[list[str], QuantizedMatrix]


def _weight_or_quantized(
    g: _Graph, name: str, weights: GemmaWeights, quantized: Mapping[str, QuantizedMatrix]
) -> _Weight:
    if name in quantized:
        return _quantized_inputs(g, name, quantized[name]), quantized[name]
    return g.weight(name, weights[name].T)


def _quantized_embedding(
    g: _Graph, c: GemmaConfig, qm: QuantizedMatrix
) -> tuple[str, Callable[[str], str]]:
    """Embedding lookup (GatherBlockQuantized) and LM head (MatMulNBits) over one packed table."""
    mm_inputs = _quantized_inputs(g, "embed", qm)
    zp = qm.zero_points_input()
    if zp is not None and zp.dtype != np.uint8:
        raise BuildError("the embedding needs integer zero points (GatherBlockQuantized)")
    # GatherBlockQuantized wants scales (and zero points) of the data's rank: [n, blocks, 1];
    # a 4-bit zero point packed along a last axis of 1 is one byte holding the low nibble.
    gbq_inputs = [mm_inputs[0], "input_ids", g.weight("embed.scales3", qm.scales[..., None])]
    if qm.zero_points is not None:
        zp3 = qm.zero_points.astype(np.uint8)[..., None]
        gbq_inputs.append(g.weight("embed.zero_points3", zp3))
    rows = g.op(
        "GatherBlockQuantized",
        gbq_inputs,
        "embed_rows",
        domain=MS_DOMAIN,
        bits=qm.bits,
        block_size=qm.block_size,
        gather_axis=0,
        quantize_axis=2,
    )
    h = g.op("Reshape", [rows, g.const("shape", [0, 0, c.hidden_size], np.int64)])
    return h, lambda x: _matmul_nbits(g, x, mm_inputs, qm)


def _project(
    g: _Graph, c: GemmaConfig, x: str, weight: _Weight, qk_norm: str | None, n_heads: int
) -> str:
    """x [b, s, hidden] -> heads [b, heads, s, head_dim], QK-normed where the model has it."""
    shape = g.const("shape", [0, 0, n_heads, c.head_dim], np.int64)
    y = g.op("Reshape", [_linear(g, x, weight), shape])
    if qk_norm is not None:
        y = _rms_norm(g, y, qk_norm, c.rms_norm_eps)
    return g.op("Transpose", [y], perm=[0, 2, 1, 3])


def build_graph(
    weights: GemmaWeights,
    head: Head = Head.LOGITS_LAST,
    quantized: Mapping[str, QuantizedMatrix] | None = None,
    accuracy_level: int = 4,
) -> onnx.ModelProto:
    """The decoder graph; weights named in `quantized` run as MatMulNBits/GatherBlockQuantized."""
    c = weights.config
    quantized = quantized or {}
    g = _Graph(accuracy_level=accuracy_level)
    d, kv, nh = c.head_dim, c.num_kv_heads, c.num_heads
    group = nh // kv
    batch, seq, past, total = "batch", "seq", "past", "total"
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, [batch, seq]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, [batch, total]),
        helper.make_tensor_value_info("position_ids", TensorProto.INT64, [batch, seq]),
    ]
    outputs = []

    embed_q = quantized.get("embed")
    if embed_q is None:
        embed = g.weight("embed", weights["embed"])
        h = g.op("Gather", [embed, "input_ids"], axis=0)
        lm_head: Callable[[str], str] = lambda x: g.op("Gemm", [x, embed], transB=1)  # noqa: E731
    else:
        h, lm_head = _quantized_embedding(g, c, embed_q)
    h = g.op("Mul", [h, g.const("embed_scale", np.sqrt(c.hidden_size))], "embedded")
    masks = _masks(g, c, group)
    tables = {
        False: _rope_tables(
            g, "position_ids", rope_inv_freq(d, c.rope_theta, c.rope_scaling_factor)
        ),
    }
    if any(c.is_sliding(n) for n in range(c.num_layers)):
        tables[True] = _rope_tables(g, "position_ids", rope_inv_freq(d, c.rope_local_theta, 1.0))
    scale = g.const("attn_scale", c.query_pre_attn_scalar**-0.5)

    for n in range(c.num_layers):
        p = f"layers.{n}."
        w = {name: _weight_or_quantized(g, p + name, weights, quantized) for name in LINEARS}
        norm = {name: g.weight(p + name, weights[p + name]) for name in layer_norm_names(c)}
        x = _rms_norm(g, h, norm["input_norm"], c.rms_norm_eps)

        sliding = c.is_sliding(n)
        cos, sin = tables[sliding]
        q = _apply_rope(g, _project(g, c, x, w["q"], norm.get("q_norm"), nh), cos, sin, d // 2)
        k = _apply_rope(g, _project(g, c, x, w["k"], norm.get("k_norm"), kv), cos, sin, d // 2)
        v = _project(g, c, x, w["v"], None, kv)
        past_k, past_v = past_names(n)
        present_k, present_v = present_names(n)
        for name in (past_k, past_v):
            inputs.append(
                helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch, kv, past, d])
            )
        for name in (present_k, present_v):
            outputs.append(
                helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch, kv, total, d])
            )
        k_all = g.op_to("Concat", [past_k, k], present_k, axis=2)
        v_all = g.op_to("Concat", [past_v, v], present_v, axis=2)

        # Query heads that share a KV head are stacked along the sequence axis: no KV copies.
        q_grouped = g.op("Reshape", [q, g.const("shape", [0, kv, -1, d], np.int64)])
        scores = g.op("MatMul", [q_grouped, g.op("Transpose", [k_all], perm=[0, 1, 3, 2])])
        scores = g.op("Mul", [scores, scale], "scores")
        if c.attn_logit_softcap:
            scores = _softcap(g, scores, c.attn_logit_softcap)
        probs = g.op("Softmax", [g.op("Add", [scores, masks[sliding]])], axis=-1)
        attn = g.op("MatMul", [probs, v_all])  # [b, kv, group * s, d]
        attn = g.op("Reshape", [attn, g.const("shape", [0, nh, -1, d], np.int64)])
        attn = g.op("Transpose", [attn], perm=[0, 2, 1, 3])
        attn = g.op("Reshape", [attn, g.const("shape", [0, 0, nh * d], np.int64)])
        attn = _linear(g, attn, w["o"])
        if c.sandwich_norms:
            attn = _rms_norm(g, attn, norm["post_attn_norm"], c.rms_norm_eps)
        h = g.op("Add", [h, attn], "residual")

        x = _rms_norm(g, h, norm["pre_ffn_norm"], c.rms_norm_eps)
        mlp = g.op("Mul", [_gelu_tanh(g, _linear(g, x, w["gate"])), _linear(g, x, w["up"])])
        mlp = _linear(g, mlp, w["down"])
        if c.sandwich_norms:
            mlp = _rms_norm(g, mlp, norm["post_ffn_norm"], c.rms_norm_eps)
        h = g.op("Add", [h, mlp], "residual")

    final = g.weight("final_norm", weights["final_norm"])
    if head is Head.HIDDEN:
        g.nodes.append(
            helper.make_node("Identity", [_rms_norm(g, h, final, c.rms_norm_eps)], ["hidden"])
        )
        outputs.insert(
            0,
            helper.make_tensor_value_info("hidden", TensorProto.FLOAT, [batch, seq, c.hidden_size]),
        )
    else:
        if head is Head.LOGITS_LAST:
            h = g.op(
                "Slice",
                [
                    h,
                    g.const("s", [-1], np.int64),
                    g.const("e", [2**62], np.int64),
                    g.const("a", [1], np.int64),
                ],
            )
        h = _rms_norm(g, h, final, c.rms_norm_eps)
        flat = g.op("Reshape", [h, g.const("shape", [-1, c.hidden_size], np.int64)])
        logits = lm_head(flat)  # tied LM head: shares the embedding's (quantized) table
        out_shape = g.op(
            "Concat",
            [
                g.op(
                    "Slice",
                    [g.op("Shape", [h]), g.const("s", [0], np.int64), g.const("e", [2], np.int64)],
                ),
                g.const("v", [c.vocab_size], np.int64),
            ],
            axis=0,
        )
        logits = g.op("Reshape", [logits, out_shape])
        if c.final_logit_softcap:
            logits = _softcap(g, logits, c.final_logit_softcap)
        g.nodes.append(helper.make_node("Identity", [logits], ["logits"]))
        seq_out = 1 if head is Head.LOGITS_LAST else seq
        outputs.insert(
            0,
            helper.make_tensor_value_info(
                "logits", TensorProto.FLOAT, [batch, seq_out, c.vocab_size]
            ),
        )

    graph = helper.make_graph(g.nodes, "gemma_decoder", inputs, outputs, g.initializers)
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid(MS_DOMAIN, 1)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="gemma-edge-agent")
    model.ir_version = 9
    return model


def save_model(model: onnx.ModelProto, path: Path) -> list[Path]:
    """Write the graph with its weights in one external data file beside it; returns both."""
    data = path.with_name(path.name + ".data")
    if data.exists():
        data.unlink()
    onnx.save_model(
        model,
        path,
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=data.name,
        size_threshold=1024,
    )
    return [path, data]
