"""How faithful a quantized decoder is to the float reference, on a fixed text.

Both run token by token through their KV caches (the path generation uses). Reported: top-1
agreement of the next-token argmax, mean KL(reference || variant), and each one's perplexity.
"""

import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from build_tools.onnx_export import past_names, present_names

EVAL_TEXT = Path(__file__).parent / "data" / "eval_text.txt"


@dataclass(frozen=True)
class Fidelity:
    tokens: int
    top1_agreement: float
    mean_kl: float
    perplexity: float
    reference_perplexity: float

    def to_json(self) -> dict[str, float]:
        return asdict(self)


def stepwise_logits(
    model: Path, ids: list[int], threads: int = 2
) -> Iterator[npt.NDArray[np.float32]]:
    """Next-token logits after each prefix ids[:1], ids[:2], ... (one decode step each)."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    sess = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
    kv = [i for i in sess.get_inputs() if i.name.startswith("past_key_values.")]
    layers = len(kv) // 2
    heads, dim = int(kv[0].shape[1]), int(kv[0].shape[3])
    past = {
        name: np.zeros((1, heads, 0, dim), np.float32)
        for n in range(layers)
        for name in past_names(n)
    }
    outputs = [o.name for o in sess.get_outputs()]
    for t, token in enumerate(ids):
        feeds = {
            "input_ids": np.array([[token]], np.int64),
            "attention_mask": np.ones((1, t + 1), np.int64),
            "position_ids": np.array([[t]], np.int64),
            **past,
        }
        result = dict(zip(outputs, sess.run(None, feeds), strict=True))
        for n in range(layers):
            for p, q in zip(past_names(n), present_names(n), strict=True):
                past[p] = result[q]
        yield result["logits"][0, -1]


def _log_softmax(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    x64 = x.astype(np.float64)
    shifted = x64 - x64.max()
    return np.asarray(shifted - math.log(np.exp(shifted).sum()), dtype=np.float64)


def compare(
    reference: Path,
    variant: Path,
    ids: list[int],
    progress: Callable[[int], None] | None = None,
) -> Fidelity:
    agree, kl, nll_ref, nll_var = 0, 0.0, 0.0, 0.0
    steps = len(ids) - 1
    pairs = zip(
        stepwise_logits(reference, ids[:-1]), stepwise_logits(variant, ids[:-1]), strict=True
    )
    for t, (ref_logits, var_logits) in enumerate(pairs):
        lp_ref, lp_var = _log_softmax(ref_logits), _log_softmax(var_logits)
        agree += int(np.argmax(ref_logits) == np.argmax(var_logits))
        kl += float(np.sum(np.exp(lp_ref) * (lp_ref - lp_var)))
        nll_ref -= float(lp_ref[ids[t + 1]])
        nll_var -= float(lp_var[ids[t + 1]])
        if progress:
            progress(t + 1)
    return Fidelity(
        tokens=steps,
        top1_agreement=agree / steps,
        mean_kl=kl / steps,
        perplexity=math.exp(nll_var / steps),
        reference_perplexity=math.exp(nll_ref / steps),
    )
