"""Choose the next token from one row of logits: greedy, temperature, top-k, top-p, constraints.

Works on numpy only and never copies the full vocabulary row more than it must: Gemma's vocabulary
has 262,144 entries, so each extra full-size temporary costs a megabyte and a pass over memory on
every generated token. The row passed in is *consumed*: it is scaled and exponentiated in place.
"""

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

# Below this many candidates a full sort is cheaper than growing argpartition windows.
_SORT_ALL_BELOW = 4096
_NUCLEUS_FIRST_WINDOW = 256
# 1 / temperature is capped so a denormal temperature scales by a finite float32 (0 * inf = NaN).
_MAX_INVERSE_TEMPERATURE = 1e30


class GenerationError(ValueError):
    """Bad input to sampling or generation; the message names the argument and the valid range."""


@dataclass(frozen=True)
class SamplingParams:
    """How to pick each token. temperature 0 (the default) or top_k 1 means greedy (argmax).

    top_k 0 disables top-k; top_p 1.0 disables nucleus sampling. repetition_penalty > 1 divides
    positive logits (multiplies negative ones) of tokens already in the context, as in CTRL and
    transformers. seed makes sampling reproducible; None draws fresh entropy.
    """

    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0
    repetition_penalty: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if not self.temperature >= 0.0:  # written this way so NaN is rejected too
            raise GenerationError(
                f"temperature must be >= 0 (0 means greedy), got {self.temperature}"
            )
        if self.top_k < 0:
            raise GenerationError(f"top_k must be >= 0 (0 disables it), got {self.top_k}")
        if not 0.0 < self.top_p <= 1.0:
            raise GenerationError(
                f"top_p must be in (0, 1] (1 disables nucleus sampling), got {self.top_p}"
            )
        if not self.repetition_penalty > 0.0:
            raise GenerationError(
                f"repetition_penalty must be > 0 (1 disables it), got {self.repetition_penalty}"
            )

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0 or self.top_k == 1


@runtime_checkable
class AllowedTokens(Protocol):
    """A per-step constraint object (a grammar, a JSON schema walker, a fixed choice list)."""

    def allowed_tokens(self, generated: Sequence[int]) -> Collection[int] | None:
        """Token ids allowed next given the ids generated so far; None means no constraint."""
        ...


ConstraintFn = Callable[[Sequence[int]], Collection[int] | None]
Constraint = ConstraintFn | AllowedTokens


def allowed_for_step(
    constraint: Constraint | None, generated: Sequence[int], vocab_size: int
) -> I64 | None:
    """Ask the constraint for this step's allowed ids: sorted, unique, validated; None = all."""
    if constraint is None:
        return None
    if isinstance(constraint, AllowedTokens):
        allowed = constraint.allowed_tokens(generated)
    else:
        allowed = constraint(generated)
    if allowed is None:
        return None
    ids = np.unique(np.fromiter(allowed, dtype=np.int64, count=len(allowed)))
    if ids.size == 0:
        # Masking everything would leave nothing to sample; a silent fallback would break the
        # constraint's promise, so the caller hears about it instead.
        raise GenerationError(
            f"the token constraint allowed no tokens after {len(generated)} generated token(s); "
            "it must allow at least one (e.g. the end-of-sequence id) or return None"
        )
    if ids[0] < 0 or ids[-1] >= vocab_size:
        bad = int(ids[0]) if ids[0] < 0 else int(ids[-1])
        raise GenerationError(
            f"the token constraint allowed token id {bad}, outside the vocabulary [0, {vocab_size})"
        )
    return ids


def apply_repetition_penalty(logits: F32, context: I64, penalty: float) -> None:
    """In place on the (few) context entries: divide positive logits, multiply negative ones."""
    if penalty == 1.0 or context.size == 0:
        return
    values = logits[context]
    logits[context] = np.where(values > 0, values / penalty, values * penalty)


def candidates(
    logits: F32,
    params: SamplingParams,
    *,
    allowed: I64 | None = None,
    context: I64 | None = None,
) -> tuple[I64 | None, F32]:
    """The distribution to draw from: (token ids or None for "index = id", unnormalised probs).

    Greedy settings return a single candidate with probability 1. `logits` is consumed.
    """
    if context is not None:
        apply_repetition_penalty(logits, context, params.repetition_penalty)
    # A constraint gathers its few allowed entries instead of writing -inf over the other
    # ~262k: same distribution as masking, without touching the rest of the row.
    ids: I64 | None = allowed
    values: F32 = logits[allowed] if allowed is not None else logits
    if params.greedy:
        best = int(np.argmax(values))
        token = int(ids[best]) if ids is not None else best
        return np.array([token], dtype=np.int64), np.ones(1, dtype=np.float32)

    if 0 < params.top_k < values.size:
        # argpartition is O(vocab); the k survivors are a small fresh array from here on.
        top = np.argpartition(values, values.size - params.top_k)[values.size - params.top_k :]
        values = values[top]
        ids = ids[top] if ids is not None else top.astype(np.int64)

    # Softmax in place, unnormalised (the draw scales by the total instead of dividing). The max
    # goes first so that a tiny temperature cannot overflow the scaled logits to inf - inf.
    values -= values.max()
    values *= np.float32(min(1.0 / params.temperature, _MAX_INVERSE_TEMPERATURE))
    np.exp(values, out=values)

    if params.top_p < 1.0:
        keep = nucleus(values, params.top_p)
        values = values[keep]
        ids = ids[keep] if ids is not None else keep
    return ids, values


def nucleus(probs: F32, top_p: float) -> I64:
    """Indices of the smallest set of highest-probability entries whose mass reaches top_p.

    `probs` may be unnormalised. The token that crosses the threshold is kept (as transformers
    does), so at least one index is always returned. Most of the mass of a real model's row sits
    in a few hundred tokens, so instead of sorting all 262k entries this grows an argpartition
    window until it holds enough mass, then sorts only that window.
    """
    n = probs.size
    target = top_p * float(probs.sum(dtype=np.float64))
    window = n if n <= _SORT_ALL_BELOW else _NUCLEUS_FIRST_WINDOW
    while True:
        if window >= n:
            idx = np.arange(n, dtype=np.int64)
            break
        idx = np.argpartition(probs, n - window)[n - window :].astype(np.int64)
        if float(probs[idx].sum(dtype=np.float64)) >= target:
            break
        window *= 8
    order = idx[np.argsort(-probs[idx], kind="stable")]
    mass = np.cumsum(probs[order], dtype=np.float64)
    count = min(int(np.searchsorted(mass, target, side="left")) + 1, order.size)
    return order[:count]


def draw(ids: I64 | None, probs: F32, rng: np.random.Generator) -> int:
    """Draw one token id from unnormalised probabilities (consumed: turned into a CDF in place)."""
    if probs.size == 1:
        return int(ids[0]) if ids is not None else 0
    cdf = np.cumsum(probs, out=probs) if probs.flags.writeable else np.cumsum(probs)
    # side="right" never lands on a zero-probability entry (its CDF step is empty).
    index = int(np.searchsorted(cdf, rng.random() * float(cdf[-1]), side="right"))
    index = min(index, cdf.size - 1)
    return int(ids[index]) if ids is not None else index


def sample_token(
    logits: F32,
    params: SamplingParams,
    rng: np.random.Generator,
    *,
    allowed: I64 | None = None,
    context: I64 | None = None,
) -> int:
    """Pick the next token from one logits row [vocab] (consumed: modified in place).

    Order as in transformers: repetition penalty, constraint, temperature, top-k, top-p, draw.
    """
    if logits.ndim != 1:
        raise GenerationError(f"expected one logits row [vocab], got shape {logits.shape}")
    if not logits.flags.writeable:
        logits = logits.copy()  # everything below works in place
    ids, probs = candidates(logits, params, allowed=allowed, context=context)
    return draw(ids, probs, rng)
