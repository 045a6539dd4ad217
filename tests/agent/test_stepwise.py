"""StepwiseModel (the browser engines' LanguageModel) on a fake engine whose ids are characters."""

import random
from collections.abc import Sequence

import pytest

from py_agent.backends.stepwise import Sampling, StepwiseModel, choose
from py_agent.llm import Span

EOS = 1
BOS = 2


class CharCodec:
    def encode(self, text: str, allow_special: bool) -> list[int]:
        if allow_special and text == "<eos>":
            return [EOS]
        return [ord(c) for c in text]

    def decode(self, ids: Sequence[int]) -> str:
        return "".join("" if i < 3 else chr(i) for i in ids)


class FakeEngine:
    """Plays `script` as the most likely continuation of any prompt; records what ran."""

    def __init__(self, script: str) -> None:
        self.script = [ord(c) if c != "$" else EOS for c in script]
        self.tokens: list[int] = []
        self.runs: list[list[int]] = []
        self.truncations: list[int] = []
        self.prompt_length = 0
        self.fresh = False

    @property
    def cached(self) -> int:
        return len(self.tokens)

    def truncate(self, length: int) -> None:
        self.truncations.append(length)
        del self.tokens[length:]
        self.fresh = False

    def run(self, ids: Sequence[int]) -> None:
        if len(ids) > 1:  # a prompt (every prompt in these tests runs more than one token)
            self.prompt_length = len(self.tokens) + len(ids)
        self.runs.append(list(ids))
        self.tokens += ids
        self.fresh = True

    def _scores(self) -> dict[int, float]:
        assert self.fresh, "queried before a token ran"
        n = len(self.tokens) - self.prompt_length
        best = self.script[n] if n < len(self.script) else EOS
        return {i: (10.0 if i == best else float(i % 7)) for i in range(1, 200)}

    def top_k(self, k: int) -> tuple[list[int], list[float]]:
        ranked = sorted(self._scores().items(), key=lambda e: (-e[1], e[0]))[:k]
        return [i for i, _ in ranked], [s for _, s in ranked]

    def scores_of(self, ids: Sequence[int]) -> list[float]:
        scores = self._scores()
        return [scores[i] for i in ids]


def model(script: str, **kwargs: object) -> tuple[StepwiseModel, FakeEngine]:
    engine = FakeEngine(script)
    m = StepwiseModel(
        engine,
        CharCodec(),
        name="fake",
        context_window=int(kwargs.pop("window", 200)),  # type: ignore[call-overload]
        bos_id=BOS,
        stop_ids=[EOS],
        **kwargs,  # type: ignore[arg-type]
    )
    return m, engine


def test_greedy_text_until_eos_and_the_bos_goes_first() -> None:
    m, engine = model("Hello$")
    pieces: list[str] = []
    out = m.complete([Span("Say: ")], max_tokens=20, on_text=pieces.append)
    assert out.text == "Hello"
    assert out.finish_reason == "eos"
    assert out.tokens == 6
    assert "".join(pieces) == "Hello"
    assert engine.runs[0][0] == BOS
    assert m.name == "fake"
    assert m.context_window == 200


def test_stop_strings_end_the_text_even_across_tokens_and_are_never_streamed() -> None:
    m, _ = model("42\nObservation: x")
    pieces: list[str] = []
    out = m.complete([Span("Q")], max_tokens=30, stop=["\nObservation:"], on_text=pieces.append)
    assert out.text == "42"
    assert out.finish_reason == "stop"
    assert "".join(pieces) == "42"
    assert all("Obs" not in p for p in pieces)


def test_max_tokens_ends_with_length() -> None:
    m, _ = model("abcdefgh")
    out = m.complete([Span("Q")], max_tokens=3)
    assert (out.text, out.finish_reason, out.tokens) == ("abc", "length", 3)


def test_the_next_prompt_reuses_the_cached_prefix() -> None:
    m, engine = model("ab$")
    m.complete([Span("question one")], max_tokens=5)
    before = m.prefill_tokens
    m.complete([Span("question one"), Span("ab more")], max_tokens=5)
    # Only " more" (after the cached "question one" + "ab") had to run.
    assert m.prefill_tokens - before == len(" more")
    m.complete([Span("other")], max_tokens=5)
    assert engine.truncations[-1] == 1  # only <bos> was shared
    m.reset()
    assert engine.tokens == []


def test_a_constraint_picks_the_best_allowed_token_and_an_empty_set_stops() -> None:
    m, _ = model("zzzz")
    allowed = [{ord("a"), ord("b")}, {ord("c")}, set()]

    def constraint(done: Sequence[int]) -> set[int]:
        return allowed[len(done)]

    out = m.complete([Span("Q")], max_tokens=10, constraint=constraint)
    # Neither is the engine's favourite; the higher fake score (id % 7) wins: a (6) over b (0).
    assert out.text == "ac"
    assert out.finish_reason == "stop"


def test_cancel_stops_before_the_next_token() -> None:
    m, _ = model("abcdef")
    calls = iter([False, False, True])
    out = m.complete([Span("Q")], max_tokens=10, cancel=lambda: next(calls))
    assert (out.text, out.finish_reason) == ("ab", "cancelled")


def test_a_prompt_longer_than_the_window_is_refused_and_generation_stops_at_it() -> None:
    m, _ = model("abcdef", window=8)
    with pytest.raises(ValueError, match="context window is 8"):
        m.complete([Span("x" * 20)], max_tokens=3)
    out = m.complete([Span("xxxx")], max_tokens=10)  # 1 + 4 prompt tokens, 3 generated
    assert out.text == "abc"


def test_control_spans_are_encoded_with_special_tokens_and_text_spans_without() -> None:
    m, engine = model("$")
    m.complete([Span("<eos>", control=True), Span("<eos>")], max_tokens=2)
    assert engine.runs[0] == [BOS, EOS] + [ord(c) for c in "<eos>"]
    assert m.encode("<eos>") == [ord(c) for c in "<eos>"]
    assert m.token_text(ord("q")) == "q"
    assert m.token_text(ord("q")) == "q"


def test_sampling_is_reproducible_and_filters_apply() -> None:
    ids, scores = [5, 6, 7], [3.0, 2.9, -50.0]
    draws = {choose(ids, scores, Sampling(1.0, seed=1), random.Random(3)) for _ in range(1)}
    again = {choose(ids, scores, Sampling(1.0, seed=1), random.Random(3)) for _ in range(1)}
    assert draws == again
    rng = random.Random(0)
    seen = {choose(ids, scores, Sampling(temperature=1.0), rng) for _ in range(200)}
    assert seen == {5, 6}  # 7 is e^-53 times less likely
    assert {choose(ids, scores, Sampling(1.0, top_k=1), rng) for _ in range(20)} == {5}
    assert {choose(ids, scores, Sampling(1.0, top_p=0.3), rng) for _ in range(50)} == {5}
    assert choose([9, 4], [1.0, 1.0], Sampling(), rng) == 4  # greedy ties: the lower id
    with pytest.raises(ValueError, match="no candidate"):
        choose([], [], Sampling(), rng)


def test_sampled_generation_draws_from_the_top_candidates() -> None:
    m, _ = model("aaaa", sampling=Sampling(temperature=0.5, top_k=2, seed=7))
    out = m.complete([Span("Q")], max_tokens=4)
    assert len(out.text) == 4


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"temperature": -1.0}, "temperature"), ({"top_k": -2}, "top_k"), ({"top_p": 0.0}, "top_p")],
)
def test_bad_sampling_settings_name_the_field(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        Sampling(**kwargs)  # type: ignore[arg-type]
