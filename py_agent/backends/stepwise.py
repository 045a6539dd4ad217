"""A `LanguageModel` over a token-at-a-time engine: the browser's decoders (the Rust WASM decoder
and onnxruntime-web on WebGPU, reached through Pyodide's FFI) implement the small `StepEngine`
protocol, and this module does the rest in pure Python — prompt encoding, KV-prefix reuse,
constrained choice, sampling, stop strings and streaming.

Why the engine returns only candidates (`top_k`) or the scores of allowed ids (`scores_of`):
Gemma's vocabulary has 262,144 entries, and copying a full logits row across the wasm/JS/Python
boundaries on every token would cost more than the matrix products.
"""

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from py_agent.llm import Completion, FinishReason, Span, TokenConstraint

# How many candidates sampling (temperature > 0) draws from when top_k is off.
SAMPLING_POOL = 64


class StepEngine(Protocol):
    """A decoder holding one sequence in its KV cache."""

    @property
    def cached(self) -> int:
        """Positions in the KV cache."""
        ...

    def truncate(self, length: int) -> None:
        """Keep the first `length` positions; a token must run before the next query."""
        ...

    def run(self, ids: Sequence[int]) -> None:
        """Append `ids` to the sequence."""
        ...

    def top_k(self, k: int) -> tuple[list[int], list[float]]:
        """The k most likely next ids and their logits, best first."""
        ...

    def scores_of(self, ids: Sequence[int]) -> list[float]:
        """The logits of `ids` as the next token."""
        ...


class TextCodec(Protocol):
    def encode(self, text: str, allow_special: bool) -> list[int]: ...

    def decode(self, ids: Sequence[int]) -> str: ...


@dataclass(frozen=True)
class Sampling:
    """temperature 0 is greedy; top_k 0 and top_p 1 switch those filters off."""

    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.temperature <= 100.0:
            raise ValueError(f"temperature must be in [0, 100], got {self.temperature}")
        if not 0 <= self.top_k <= 1000:
            raise ValueError(f"top_k must be in [0, 1000], got {self.top_k}")
        if not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")


def choose(
    ids: Sequence[int], scores: Sequence[float], sampling: Sampling, rng: random.Random
) -> int:
    """One id from candidates (any order): argmax when greedy (ties: lower id), else a draw."""
    if not ids:
        raise ValueError("no candidate tokens")
    ranked = sorted(zip(scores, ids, strict=True), key=lambda e: (-e[0], e[1]))
    if sampling.temperature == 0.0 or sampling.top_k == 1:
        return ranked[0][1]
    if sampling.top_k:
        ranked = ranked[: sampling.top_k]
    best = ranked[0][0]
    weights = [math.exp((s - best) / sampling.temperature) for s, _ in ranked]
    total = sum(weights)
    if sampling.top_p < 1.0:
        kept, mass = 0, 0.0
        while kept < len(weights) and mass < sampling.top_p * total:
            mass += weights[kept]
            kept += 1
        ranked, weights = ranked[:kept], weights[:kept]
    return rng.choices([i for _, i in ranked], weights)[0]


class StepwiseModel:
    """py_agent's `LanguageModel` on a `StepEngine` and a tokenizer."""

    def __init__(
        self,
        engine: StepEngine,
        codec: TextCodec,
        *,
        name: str,
        context_window: int,
        bos_id: int,
        stop_ids: Sequence[int],
        sampling: Sampling | None = None,
        on_token: Callable[[], None] | None = None,
        token_texts: Sequence[str] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.engine = engine
        self.codec = codec
        self._name = name
        self._window = context_window
        self._bos = bos_id
        self._stop_ids = frozenset(stop_ids)
        self.sampling = sampling or Sampling()
        self._rng = random.Random(self.sampling.seed)
        self._tokens: list[int] = []  # what the engine's cache holds
        # Every token's text at once (index = id): the agent's charset constraints look at the
        # whole vocabulary, and one list beats 262,144 calls across the FFI.
        self._all_texts = token_texts
        self._texts: dict[int, str] = {}
        self._on_token = on_token  # for speed meters: called once per generated token
        self._clock = clock
        self.prefill_tokens = 0
        self.generated_tokens = 0
        self.prefill_seconds = 0.0  # running prompts (after cache reuse)
        self.decode_seconds = 0.0  # choosing and running generated tokens

    @property
    def name(self) -> str:
        return self._name

    @property
    def context_window(self) -> int:
        return self._window

    def encode(self, text: str) -> list[int]:
        return self.codec.encode(text, False)

    @property
    def vocab_size(self) -> int | None:
        return None if self._all_texts is None else len(self._all_texts)

    def token_text(self, token_id: int) -> str:
        if self._all_texts is not None:
            return self._all_texts[token_id]
        text = self._texts.get(token_id)
        if text is None:
            text = self._texts[token_id] = self.codec.decode([token_id])
        return text

    def prompt_ids(self, prompt: Sequence[Span]) -> list[int]:
        ids = [self._bos]
        for span in prompt:
            ids += self.codec.encode(span.text, span.control)
        return ids

    def reset(self) -> None:
        self._tokens = []
        self.engine.truncate(0)

    def warm(self, prefix: Sequence[Span], margin: int = 2) -> int:
        """Run the start of a prompt ahead of time (while the user types), so the first question
        prefills only the rest; the cache keeps what it has when it already holds the start.
        `margin`: tokens left off the end, where the next text may merge with the last ones.
        Returns the tokens run."""
        ids = self.prompt_ids(prefix)[: -margin or None]
        if self._tokens[: len(ids)] == ids:
            return 0
        before = self.prefill_tokens
        self._start(ids)
        return self.prefill_tokens - before

    def _run(self, ids: Sequence[int]) -> None:
        self.engine.run(ids)
        self._tokens += ids

    def _start(self, ids: list[int]) -> None:
        if len(ids) > self._window:
            raise ValueError(
                f"the prompt has {len(ids)} tokens; the context window is {self._window}"
            )
        common = reusable_prefix(self._tokens, ids)
        if common < len(self._tokens):
            self.engine.truncate(common)
            del self._tokens[common:]
        self.prefill_tokens += len(ids) - common
        t0 = self._clock()
        self._run(ids[common:])
        self.prefill_seconds += self._clock() - t0

    def _next(self, allowed: Sequence[int] | None) -> int:
        if allowed is not None:
            return choose(allowed, self.engine.scores_of(allowed), self.sampling, self._rng)
        s = self.sampling
        greedy = s.temperature == 0.0 or s.top_k == 1
        ids, scores = self.engine.top_k(1 if greedy else (s.top_k or SAMPLING_POOL))
        return choose(ids, scores, s, self._rng)

    def complete(
        self,
        prompt: Sequence[Span],
        *,
        max_tokens: int,
        stop: Sequence[str] = (),
        constraint: TokenConstraint | None = None,
        on_text: Callable[[str], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> Completion:
        self._start(self.prompt_ids(prompt))
        generated: list[int] = []
        text, shown = "", 0
        reason: FinishReason = "length"
        while len(generated) < max_tokens:
            if cancel is not None and cancel():
                reason = "cancelled"
                break
            if len(self._tokens) >= self._window:
                break
            allowed = None
            if constraint is not None:
                options = constraint(generated)
                if options is not None:
                    allowed = sorted(options)
                    if not allowed:  # the constraint is satisfied: nothing more may follow
                        reason = "stop"
                        break
            t0 = self._clock()
            token = self._next(allowed)
            self.decode_seconds += self._clock() - t0
            generated.append(token)
            self.generated_tokens += 1
            if self._on_token is not None:
                self._on_token()
            if token in self._stop_ids:
                reason = "eos"
                break
            text = self.codec.decode(generated)
            cut = min((i for i in (text.find(s) for s in stop if s) if i >= 0), default=-1)
            if cut >= 0:
                text, reason = text[:cut], "stop"
                break
            t0 = self._clock()
            self._run([token])
            self.decode_seconds += self._clock() - t0
            final = _final_length(text, stop)
            if on_text is not None and final > shown:
                on_text(text[shown:final])
                shown = final
        else:
            text = self.codec.decode(generated)
        if reason == "eos":
            text = self.codec.decode(generated[:-1])
        if on_text is not None and len(text) > shown:
            on_text(text[shown:])
        return Completion(text, reason, len(generated))


def reusable_prefix(cached: Sequence[int], ids: Sequence[int]) -> int:
    """How many of `ids` a KV cache holding `cached` can keep: their common prefix, but at
    least one token must still run so that there is a next-token query."""
    common = 0
    for a, b in zip(cached, ids, strict=False):
        if a != b:
            break
        common += 1
    return min(common, len(ids) - 1)


def _final_length(text: str, stop: Sequence[str]) -> int:
    """How much of `text` can be shown: not a trailing partial character (U+FFFD from a split
    UTF-8 sequence) nor a suffix that may grow into a stop string."""
    end = len(text)
    while end and text[end - 1] == "\ufffd":
        end -= 1
    for s in stop:
        for n in range(min(len(s) - 1, end), 0, -1):
            if text.endswith(s[:n], 0, end):
                end -= n
                break
    return end
