"""Generate text natively (CPython + onnxruntime's CPU provider) from the exported Gemma decoder.

`OnnxDecoder` runs the graph that `onnx_export.build_graph` writes and keeps its KV cache between
calls, so a step costs one token's compute and a new chat turn only the new tokens'. `generate`
drives any `Decoder` token by token: sampling (see `sampling`), per-step token constraints, stop
tokens, stop strings that span token boundaries, streaming, cancellation and timings.

Token ids go in as they are: the caller prepends the beginning-of-sequence token (`with_bos`), so
that a continuation appended to a cached conversation does not get a second one in the middle.
Batch size is 1: this is an on-device runtime for one user.
"""

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
import onnxruntime as ort  # type: ignore[import-untyped, unused-ignore]

from build_tools.errors import BuildError
from build_tools.gemma_config import GemmaConfig
from build_tools.onnx_export import past_names, present_names
from build_tools.sampling import (
    Constraint,
    GenerationError,
    SamplingParams,
    allowed_for_step,
    sample_token,
)

F32 = npt.NDArray[np.float32]
FinishReason = Literal["eos", "stop_string", "length", "cancelled"]

_FIXED_INPUTS = ("input_ids", "attention_mask", "position_ids")
# A detokenizer shows an incomplete UTF-8 sequence (a character split over byte-fallback tokens)
# as U+FFFD; streaming holds it back until the next token completes the character.
_REPLACEMENT = "\ufffd"

__all__ = [
    "CancelFlag",
    "Decoder",
    "FinishReason",
    "GenerationError",
    "GenerationResult",
    "OnnxDecoder",
    "SamplingParams",
    "Timings",
    "generate",
    "with_bos",
]


def with_bos(config: GemmaConfig, ids: Sequence[int]) -> list[int]:
    """The prompt with the config's bos id in front (not doubled if it is already there).

    Gemma degrades badly without bos, and a second one mid-sequence hurts as well, so only the
    first chunk of a conversation goes through this; appended turns do not.
    """
    ids = list(ids)
    return ids if ids[:1] == [config.bos_token_id] else [config.bos_token_id, *ids]


def _token_array(ids: Sequence[int], vocab_size: int, what: str) -> npt.NDArray[np.int64]:
    """ids as an int64 array, or a GenerationError that says which id is wrong and why."""
    if len(ids) == 0:
        raise GenerationError(f"{what} is empty: give at least one token id")
    array = np.asarray(ids)
    if array.ndim != 1 or array.dtype.kind not in "iu":
        raise GenerationError(f"{what} must be a flat sequence of integer token ids")
    array = array.astype(np.int64, copy=False)
    bad = np.flatnonzero((array < 0) | (array >= vocab_size))
    if bad.size:
        i = int(bad[0])
        raise GenerationError(
            f"{what} has token id {int(array[i])} at index {i}, outside the vocabulary "
            f"[0, {vocab_size})"
        )
    return array


class Decoder(Protocol):
    """What `generate` needs from a model: a stateful, cached, last-position-logits decoder."""

    @property
    def vocab_size(self) -> int: ...

    @property
    def past_length(self) -> int: ...

    @property
    def max_context(self) -> int | None: ...

    def prefill(self, ids: Sequence[int]) -> F32: ...

    def extend(self, ids: Sequence[int]) -> F32: ...

    def step(self, token: int) -> F32: ...


class OnnxDecoder:
    """One onnxruntime CPU session over an exported decoder, with the KV cache it carries.

    `prefill` starts a new sequence, `extend` appends several tokens to the cached ones (a new
    chat turn), `step` appends one. Each returns the logits row [vocab] of the last position;
    the row is the caller's to modify (sampling consumes it in place).
    """

    def __init__(
        self,
        model_path: Path | str,
        *,
        intra_op_threads: int = 0,
        max_context: int | None = None,
    ) -> None:
        """intra_op_threads 0 lets onnxruntime pick (one per physical core); max_context caps
        past + new tokens (e.g. the config's max_position_embeddings), None means unbounded."""
        path = Path(model_path)
        if intra_op_threads < 0:
            raise BuildError(
                f"intra_op_threads must be >= 0 (0 = automatic), got {intra_op_threads}"
            )
        if max_context is not None and max_context <= 0:
            raise BuildError(f"max_context must be positive or None, got {max_context}")
        if not path.is_file():
            raise BuildError(
                f"no ONNX model at {path}: export one first (build_tools.onnx_export.save_model)"
            )
        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_threads
        # One graph, run node after node: parallelism comes from within the matmuls.
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self._session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            # onnxruntime's errors (InvalidProtobuf, Fail, NoSuchFile...) share no base class
            # short of Exception; whichever it is, the file is not a loadable model.
            raise BuildError(
                f"onnxruntime cannot load {path} ({type(exc).__name__}: {exc}); re-export the "
                "model (its .onnx.data file must sit beside it)"
            ) from exc
        self.model_path = path
        self.num_layers, self.num_kv_heads, self.head_dim = self._cache_layout(path)
        self._vocab_size = self._logits_width(path)
        self._max_context = max_context
        self._outputs = ["logits"] + [
            name for n in range(self.num_layers) for name in present_names(n)
        ]
        self._past: list[ort.OrtValue] = []
        self._tokens: list[int] = []
        self.reset()

    def _cache_layout(self, path: Path) -> tuple[int, int, int]:
        """(layers, kv heads, head_dim) read off the past_key_values inputs."""
        inputs = {i.name: i for i in self._session.get_inputs()}
        missing = [name for name in _FIXED_INPUTS if name not in inputs]
        layers = 0
        while past_names(layers)[0] in inputs:
            layers += 1
        if missing or layers == 0:
            lacks = missing + ([] if layers else ["past_key_values.0.key"])
            raise BuildError(
                f"{path} is not a cached Gemma decoder: its graph lacks the input(s) "
                f"{', '.join(lacks)} (export it with build_tools.onnx_export)"
            )
        outputs = {o.name for o in self._session.get_outputs()}
        wanted = [name for n in range(layers) for name in (*past_names(n), *present_names(n))]
        absent = [name for name in wanted if name not in inputs and name not in outputs]
        if absent:
            raise BuildError(f"{path} lacks the KV cache tensor(s) {', '.join(absent[:4])}")
        shape = inputs[past_names(0)[0]].shape  # [batch, kv_heads, past, head_dim]
        if len(shape) != 4 or not all(isinstance(dim, int) for dim in (shape[1], shape[3])):
            raise BuildError(
                f"{path}: past_key_values.0.key has shape {shape}; expected "
                "[batch, kv_heads, past, head_dim] with fixed kv_heads and head_dim"
            )
        return layers, int(shape[1]), int(shape[3])

    def _logits_width(self, path: Path) -> int:
        outputs = {o.name: o for o in self._session.get_outputs()}
        if "logits" not in outputs:
            raise BuildError(
                f"{path} has no 'logits' output (outputs: {', '.join(outputs)}); export it with "
                "Head.LOGITS_LAST for generation"
            )
        vocab = outputs["logits"].shape[-1]
        if not isinstance(vocab, int):
            raise BuildError(f"{path}: the logits output has no fixed vocabulary size ({vocab})")
        return vocab

    @property
    def vocab_size(self) -> int:
        return self._vocab_size

    @property
    def max_context(self) -> int | None:
        return self._max_context

    @property
    def past_length(self) -> int:
        """How many positions the KV cache holds."""
        return len(self._tokens)

    @property
    def tokens(self) -> tuple[int, ...]:
        """The token ids in the cache, in order (the last sampled token is not, until stepped)."""
        return tuple(self._tokens)

    def reset(self) -> None:
        """Forget the cached sequence."""
        empty = np.zeros((1, self.num_kv_heads, 0, self.head_dim), dtype=np.float32)
        self._past = [ort.OrtValue.ortvalue_from_numpy(empty)] * (2 * self.num_layers)
        self._tokens = []

    def truncate(self, length: int) -> None:
        """Keep only the first `length` cached positions (to reuse a shared prompt prefix)."""
        if not 0 <= length <= len(self._tokens):
            raise GenerationError(f"cannot keep {length} of {len(self._tokens)} cached tokens")
        if length == len(self._tokens):
            return
        self._past = [
            ort.OrtValue.ortvalue_from_numpy(np.ascontiguousarray(v.numpy()[:, :, :length, :]))
            for v in self._past
        ]
        del self._tokens[length:]

    def prefill(self, ids: Sequence[int]) -> F32:
        """Start a new sequence with `ids` (bos included by the caller); last-position logits."""
        self.reset()
        return self.extend(ids)

    def step(self, token: int) -> F32:
        """Append one token to the cached sequence; its logits."""
        return self.extend([token])

    def extend(self, ids: Sequence[int]) -> F32:
        """Append `ids` to the cached sequence in one run (the cached positions are not
        recomputed); logits of the last one."""
        array = _token_array(ids, self._vocab_size, "the token ids to decode")
        past, new = len(self._tokens), array.size
        if self._max_context is not None and past + new > self._max_context:
            raise GenerationError(
                f"{past} cached + {new} new tokens exceed the context limit of "
                f"{self._max_context}; shorten the prompt or reset the conversation"
            )
        feeds = {
            "input_ids": array[None, :],
            "attention_mask": np.ones((1, past + new), dtype=np.int64),
            "position_ids": np.arange(past, past + new, dtype=np.int64)[None, :],
        }
        # OrtValues in and out: the cache goes back into the next run without a round trip
        # through numpy.
        values = {name: ort.OrtValue.ortvalue_from_numpy(a) for name, a in feeds.items()}
        for n in range(self.num_layers):
            key, value = past_names(n)
            values[key], values[value] = self._past[2 * n], self._past[2 * n + 1]
        results = self._session.run_with_ort_values(self._outputs, values)
        # Committed only after a successful run, so a failed run leaves the cache intact.
        self._past = list(results[1:])
        self._tokens.extend(int(t) for t in array)
        # A LOGITS_ALL graph returns every position; the last one predicts the next token.
        row: F32 = results[0].numpy()[0, -1]
        return row


@runtime_checkable
class CancelFlag(Protocol):
    """Anything with is_set(), such as threading.Event."""

    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class Timings:
    """Wall-clock figures of one `generate` call (perf_counter seconds)."""

    prompt_tokens: int
    generated_tokens: int
    prefill_s: float  # the prompt's run through the model
    time_to_first_token_s: float | None  # call start to the first sampled token; None if none
    decode_s: float  # first sampled token to the last one

    @property
    def prefill_tokens_per_s(self) -> float:
        return self.prompt_tokens / self.prefill_s if self.prefill_s > 0 else 0.0

    @property
    def decode_tokens_per_s(self) -> float:
        """Tokens after the first per second of decoding (the first one comes from prefill)."""
        steps = self.generated_tokens - 1
        return steps / self.decode_s if steps > 0 and self.decode_s > 0 else 0.0


@dataclass(frozen=True)
class GenerationResult:
    """token_ids: every sampled token, including a final stop token and the tokens that
    spelled a stop string. text: the detokenized output without the stop token or the stop
    string (None without a detokenizer)."""

    token_ids: tuple[int, ...]
    text: str | None
    finish_reason: FinishReason
    timings: Timings


class _TextTracker:
    """Detokenizes the output as it grows: finds stop strings (which can span tokens) and works
    out how much text is safe to stream (nothing that may turn out to start a stop string)."""

    def __init__(
        self, detokenize: Callable[[Sequence[int]], str] | None, stop_strings: Sequence[str]
    ) -> None:
        self.detokenize = detokenize
        self.stop_strings = tuple(stop_strings)
        self.text = ""
        self.emitted = 0

    def update(self, ids: Sequence[int]) -> tuple[str, bool]:
        """(new text safe to stream, whether a stop string appeared) after the latest token."""
        if self.detokenize is None:
            return "", False
        # The whole output is decoded each time: SentencePiece pieces (leading spaces, byte
        # fallback) do not decode independently, and the cost is small beside a model step.
        self.text = self.detokenize(ids)
        hits = [i for i in (self.text.find(s) for s in self.stop_strings) if i >= 0]
        if hits:
            self.text = self.text[: min(hits)]
            return self._emit(len(self.text)), True
        safe = len(self.text) - self._held_back()
        return self._emit(safe), False

    def finish(self, ids: Sequence[int] | None = None) -> str:
        """Everything not yet streamed; `ids` re-decodes first (to drop a stop token)."""
        if self.detokenize is None:
            return ""
        if ids is not None:
            self.text = self.detokenize(ids)
        return self._emit(len(self.text))

    def _held_back(self) -> int:
        """Length of the longest tail that could still grow into a stop string (or a split
        character)."""
        held = len(self.text) - len(self.text.rstrip(_REPLACEMENT))
        for stop in self.stop_strings:
            for size in range(min(len(stop) - 1, len(self.text)), held, -1):
                if self.text.endswith(stop[:size]):
                    held = size
                    break
        return held

    def _emit(self, end: int) -> str:
        delta = self.text[self.emitted : end] if end > self.emitted else ""
        self.emitted = max(self.emitted, end)
        return delta


def _is_cancelled(cancel: Callable[[], bool] | CancelFlag | None) -> bool:
    if cancel is None:
        return False
    if isinstance(cancel, CancelFlag):
        return cancel.is_set()
    return bool(cancel())


def generate(
    decoder: Decoder,
    prompt_ids: Sequence[int],
    *,
    max_new_tokens: int,
    sampling: SamplingParams | None = None,
    stop_token_ids: Collection[int] = (),
    stop_strings: Sequence[str] = (),
    detokenize: Callable[[Sequence[int]], str] | None = None,
    constraint: Constraint | None = None,
    on_token: Callable[[int, str], None] | None = None,
    cancel: Callable[[], bool] | CancelFlag | None = None,
    context_limit: int | None = None,
    append: bool = False,
) -> GenerationResult:
    """Generate up to max_new_tokens after prompt_ids (bos already in front: see `with_bos`).

    sampling: greedy when None. stop_token_ids: end of sequence (e.g. the config's
    eos_token_ids plus <end_of_turn>). stop_strings need `detokenize` (ids -> text); the text
    stops before the first one. constraint: per step, given the ids generated so far, None or
    the allowed ids. on_token(token_id, text_delta) streams each token and the text that is
    now final. cancel: a callable or threading.Event checked before every step. context_limit
    (default: the decoder's max_context) bounds cached + new tokens. append: extend the
    decoder's cached sequence with prompt_ids instead of starting over (a new chat turn); the
    last token of the previous call is not in the cache until it is sent again.

    max_new_tokens 0 just runs the prompt into the cache (to prime a shared prefix).
    """
    params = sampling if sampling is not None else SamplingParams()
    prompt = _token_array(prompt_ids, decoder.vocab_size, "the prompt")
    if max_new_tokens < 0:
        raise GenerationError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    if stop_strings and detokenize is None:
        raise GenerationError("stop_strings need a detokenize callable (token ids -> text)")
    if any(not s for s in stop_strings):
        raise GenerationError("stop_strings must not contain the empty string")
    limit = context_limit if context_limit is not None else decoder.max_context
    start = decoder.past_length if append else 0
    if limit is not None and start + prompt.size > limit:
        cached = f"{start} cached + " if start else ""
        raise GenerationError(
            f"the prompt ({cached}{prompt.size} tokens) is longer than the context limit of "
            f"{limit} tokens; shorten it"
        )
    budget = max_new_tokens if limit is None else min(max_new_tokens, limit - start - prompt.size)
    stops = frozenset(int(t) for t in stop_token_ids)
    rng = np.random.default_rng(params.seed)
    text = _TextTracker(detokenize, stop_strings)
    # Repetition penalty covers the whole context, prompt included, as in transformers.
    seen = set(prompt.tolist()) if params.repetition_penalty != 1.0 else set()

    began = time.perf_counter()
    generated: list[int] = []
    if _is_cancelled(cancel):
        return _result(generated, text, "cancelled", prompt.size, 0.0, None, 0.0)
    logits = decoder.extend(prompt_ids) if append else decoder.prefill(prompt_ids)
    prefill_s = time.perf_counter() - began
    first_at: float | None = None
    reason: FinishReason | None = None
    if budget == 0:
        reason = "length"
    elif _is_cancelled(cancel):
        reason = "cancelled"

    while reason is None:
        allowed = allowed_for_step(constraint, generated, decoder.vocab_size)
        context = np.fromiter(seen, dtype=np.int64, count=len(seen)) if seen else None
        token = sample_token(logits, params, rng, allowed=allowed, context=context)
        generated.append(token)
        if first_at is None:
            first_at = time.perf_counter()
        if params.repetition_penalty != 1.0:
            seen.add(token)
        if token in stops:
            reason = "eos"
            delta = text.finish(generated[:-1])  # the stop token is not part of the text
        else:
            delta, stopped = text.update(generated)
            if stopped:
                reason = "stop_string"
            elif len(generated) >= budget:
                reason = "length"
                # Nothing more is coming, so text held back for a possible stop string is final.
                delta += text.finish()
        if on_token is not None:
            on_token(token, delta)
        if reason is None and _is_cancelled(cancel):
            # Checked after the callback (which may be what sets it) and before the step, which
            # is what costs time. Text held back for a possible stop string stays unstreamed
            # but is in the result.
            reason = "cancelled"
            text.finish()
        if reason is None:
            logits = decoder.step(token)

    ended = time.perf_counter()
    decode_s = ended - first_at if first_at is not None else 0.0
    ttft = first_at - began if first_at is not None else None
    return _result(generated, text, reason, prompt.size, prefill_s, ttft, decode_s)


def _result(
    generated: list[int],
    text: _TextTracker,
    reason: FinishReason,
    prompt_tokens: int,
    prefill_s: float,
    ttft: float | None,
    decode_s: float,
) -> GenerationResult:
    return GenerationResult(
        token_ids=tuple(generated),
        text=text.text if text.detokenize is not None else None,
        finish_reason=reason,
        timings=Timings(
            prompt_tokens=prompt_tokens,
            generated_tokens=len(generated),
            prefill_s=prefill_s,
            time_to_first_token_s=ttft,
            decode_s=decode_s,
        ),
    )
