"""The native runtime: onnxruntime decoding with a KV cache equals the numpy reference, and
generation samples, constrains, stops, streams and cancels as documented."""

import threading
from collections.abc import Collection, Sequence
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from build_tools.errors import BuildError
from build_tools.gemma_config import GemmaConfig, default_layer_types
from build_tools.gemma_weights import GemmaWeights, random_weights
from build_tools.native_runtime import (
    GenerationError,
    OnnxDecoder,
    SamplingParams,
    generate,
    with_bos,
)
from build_tools.onnx_export import Head, build_graph, save_model
from build_tools.reference_model import ReferenceGemma
from build_tools.sampling import allowed_for_step, candidates, nucleus, sample_token

TOL = 1e-4
CONFIG = GemmaConfig(
    family=3,
    vocab_size=97,
    hidden_size=32,
    intermediate_size=48,
    num_layers=4,
    num_heads=4,
    num_kv_heads=2,
    head_dim=16,
    rms_norm_eps=1e-6,
    rope_theta=1e6,
    rope_local_theta=1e4,
    layer_types=default_layer_types(3, 4, 2),
    sliding_window=5,
    query_pre_attn_scalar=16.0,
)
PROMPT = with_bos(CONFIG, [5, 17, 33, 8, 60, 41, 12])  # longer than the sliding window


@pytest.fixture(scope="module")
def weights() -> GemmaWeights:
    return random_weights(CONFIG, seed=3)


@pytest.fixture(scope="module")
def model_path(weights: GemmaWeights, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("native") / "model.onnx"
    save_model(build_graph(weights, Head.LOGITS_LAST), path)
    return path


@pytest.fixture(scope="module")
def decoder(model_path: Path) -> OnnxDecoder:
    return OnnxDecoder(model_path, intra_op_threads=1)


def reference_greedy(weights: GemmaWeights, prompt: list[int], n: int) -> list[int]:
    model = ReferenceGemma(weights)
    logits, cache = model.forward(prompt)
    out: list[int] = []
    for _ in range(n):
        out.append(int(np.argmax(logits[-1])))
        logits, cache = model.forward([out[-1]], cache)
    return out


class Scripted:
    """A constraint object that forces a fixed token sequence (then leaves the model free)."""

    def __init__(self, tokens: Sequence[int]) -> None:
        self.tokens = list(tokens)

    def allowed_tokens(self, generated: Sequence[int]) -> Collection[int] | None:
        return {self.tokens[len(generated)]} if len(generated) < len(self.tokens) else None


PIECES = {10: "he", 11: "llo", 12: " wor", 13: "ld", 14: "!", 15: "\n"}


def detok(ids: Sequence[int]) -> str:
    return "".join(PIECES.get(i, f"<{i}>") for i in ids)


# --- the decoder against the reference ---------------------------------------------------------


def test_decoder_reads_the_cache_layout_from_the_graph(decoder: OnnxDecoder) -> None:
    assert (decoder.num_layers, decoder.num_kv_heads, decoder.head_dim) == (4, 2, 16)
    assert decoder.vocab_size == CONFIG.vocab_size


def test_prefill_and_steps_match_the_reference_logits(
    decoder: OnnxDecoder, weights: GemmaWeights
) -> None:
    model = ReferenceGemma(weights)
    expected, cache = model.forward(PROMPT)
    np.testing.assert_allclose(decoder.prefill(PROMPT), expected[-1], atol=TOL, rtol=0)
    for token in (3, 90, 44, 7, 7, 61):  # past the sliding window, one token at a time
        expected, cache = model.forward([token], cache)
        np.testing.assert_allclose(decoder.step(token), expected[-1], atol=TOL, rtol=0)
    assert decoder.past_length == len(PROMPT) + 6 == cache.length


def test_a_graph_with_logits_for_every_position_also_decodes(
    decoder: OnnxDecoder, weights: GemmaWeights, tmp_path: Path
) -> None:
    path = tmp_path / "all.onnx"
    save_model(build_graph(weights, Head.LOGITS_ALL), path)
    every = OnnxDecoder(path, intra_op_threads=1)
    np.testing.assert_allclose(every.prefill(PROMPT), decoder.prefill(PROMPT), atol=TOL, rtol=0)
    np.testing.assert_allclose(every.extend([4, 5]), decoder.extend([4, 5]), atol=TOL, rtol=0)


def test_greedy_generation_equals_reference_argmax_decoding(
    decoder: OnnxDecoder, weights: GemmaWeights
) -> None:
    result = generate(decoder, PROMPT, max_new_tokens=10)
    assert list(result.token_ids) == reference_greedy(weights, PROMPT, 10)
    assert result.finish_reason == "length"
    assert result.text is None
    # The last token is never run: nothing would read its logits.
    assert decoder.tokens == (*PROMPT, *result.token_ids[:-1])


def test_extending_the_cache_equals_prefilling_everything(decoder: OnnxDecoder) -> None:
    a, b = PROMPT[:5], [70, 71, 72, 9, 1, 2]
    whole = decoder.prefill(a + b).copy()
    decoder.prefill(a)
    np.testing.assert_allclose(decoder.extend(b), whole, atol=TOL, rtol=0)
    assert decoder.tokens == tuple(a + b)
    decoder.reset()
    assert decoder.past_length == 0


def test_an_appended_turn_continues_the_cached_conversation(
    decoder: OnnxDecoder, weights: GemmaWeights
) -> None:
    first = generate(decoder, PROMPT, max_new_tokens=4)
    turn = [first.token_ids[-1], 50, 51, 52]  # the last generated token goes in with the turn
    second = generate(decoder, turn, max_new_tokens=5, append=True)
    history = [*PROMPT, *first.token_ids, 50, 51, 52]
    assert list(second.token_ids) == reference_greedy(weights, history, 5)
    assert second.timings.prompt_tokens == len(turn)


def test_timings_are_reported(decoder: OnnxDecoder) -> None:
    t = generate(decoder, PROMPT, max_new_tokens=5).timings
    assert (t.prompt_tokens, t.generated_tokens) == (len(PROMPT), 5)
    assert t.time_to_first_token_s is not None
    assert t.time_to_first_token_s >= t.prefill_s > 0
    assert t.prefill_tokens_per_s > 0
    assert t.decode_tokens_per_s > 0
    assert generate(decoder, PROMPT, max_new_tokens=0).timings.time_to_first_token_s is None


def test_max_new_tokens_zero_only_primes_the_cache(decoder: OnnxDecoder) -> None:
    result = generate(decoder, PROMPT, max_new_tokens=0)
    assert (result.token_ids, result.finish_reason) == ((), "length")
    assert decoder.tokens == tuple(PROMPT)


# --- loading errors ----------------------------------------------------------------------------


def test_a_missing_model_file_is_a_build_error(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="no ONNX model at"):
        OnnxDecoder(tmp_path / "absent.onnx")


def test_a_corrupt_model_file_is_a_build_error(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.onnx"
    path.write_bytes(b"definitely not a protobuf")
    with pytest.raises(BuildError, match="cannot load"):
        OnnxDecoder(path)


def test_a_graph_without_the_decoder_inputs_is_a_build_error(tmp_path: Path) -> None:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g", [x], [y])
    path = tmp_path / "identity.onnx"
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9  # what onnxruntime reads; the onnx package writes a newer one
    onnx.save_model(model, path)
    with pytest.raises(BuildError, match="lacks the input"):
        OnnxDecoder(path)


def test_a_graph_without_logits_is_a_build_error(weights: GemmaWeights, tmp_path: Path) -> None:
    path = tmp_path / "hidden.onnx"
    save_model(build_graph(weights, Head.HIDDEN), path)
    with pytest.raises(BuildError, match="no 'logits' output"):
        OnnxDecoder(path)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("drop_present", r"lacks the KV cache tensor\(s\) present.3.value"),
        ("symbolic_head_dim", "fixed kv_heads and head_dim"),
        ("symbolic_vocab", "no fixed vocabulary size"),
    ],
)
def test_a_graph_with_an_unusable_cache_or_head_is_a_build_error(
    model_path: Path, tmp_path: Path, damage: str, message: str
) -> None:
    model = onnx.load(model_path)
    graph = model.graph
    if damage == "drop_present":
        graph.output.pop()
    elif damage == "symbolic_head_dim":
        graph.input[3].type.tensor_type.shape.dim[3].dim_param = "d"
    else:
        graph.output[0].type.tensor_type.shape.dim[2].dim_param = "vocab"
    path = tmp_path / f"{damage}.onnx"
    save_model(model, path)
    with pytest.raises(BuildError, match=message):
        OnnxDecoder(path)


def test_bad_decoder_settings_are_build_errors(model_path: Path) -> None:
    with pytest.raises(BuildError, match="intra_op_threads"):
        OnnxDecoder(model_path, intra_op_threads=-1)
    with pytest.raises(BuildError, match="max_context"):
        OnnxDecoder(model_path, max_context=0)


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "kwargs", "message"),
    [
        ([], {}, "the prompt is empty"),
        ([2, 97], {}, r"token id 97 at index 1, outside the vocabulary \[0, 97\)"),
        ([2, -1], {}, "token id -1"),
        ([2, 1.5], {}, "integer token ids"),
        ([2, 3], {"max_new_tokens": -1}, "max_new_tokens must be >= 0"),
        ([2, 3], {"stop_strings": ["x"]}, "need a detokenize callable"),
        ([2, 3], {"stop_strings": [""], "detokenize": detok}, "empty string"),
        ([2, 3, 4, 5], {"context_limit": 3}, "longer than the context limit of 3"),
    ],
)
def test_bad_generation_input_is_a_clear_error(
    decoder: OnnxDecoder, prompt: list[int], kwargs: dict[str, object], message: str
) -> None:
    args: dict[str, object] = {"max_new_tokens": 3, **kwargs}
    with pytest.raises(GenerationError, match=message):
        generate(decoder, prompt, **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"temperature": -0.5}, "temperature must be >= 0"),
        ({"temperature": float("nan")}, "temperature must be >= 0"),
        ({"top_p": 0.0}, r"top_p must be in \(0, 1\]"),
        ({"top_p": 1.5}, r"top_p must be in \(0, 1\]"),
        ({"top_k": -1}, "top_k must be >= 0"),
        ({"repetition_penalty": 0.0}, "repetition_penalty must be > 0"),
    ],
)
def test_bad_sampling_parameters_are_clear_errors(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(GenerationError, match=message):
        SamplingParams(**kwargs)  # type: ignore[arg-type]


def test_the_decoder_enforces_its_context_limit(model_path: Path) -> None:
    small = OnnxDecoder(model_path, intra_op_threads=1, max_context=len(PROMPT) + 3)
    result = generate(small, PROMPT, max_new_tokens=50)
    # Every generated token takes a position, so three fit after the prompt.
    assert (len(result.token_ids), result.finish_reason) == (3, "length")
    small.prefill(PROMPT)
    with pytest.raises(GenerationError, match="exceed the context limit"):
        small.extend([1, 2, 3, 4])
    with pytest.raises(GenerationError, match=r"\d+ cached \+ 4 tokens\) is longer"):
        generate(small, [1, 2, 3, 4], max_new_tokens=1, append=True)


# --- sampling ----------------------------------------------------------------------------------


def test_top_k_one_equals_greedy(decoder: OnnxDecoder) -> None:
    greedy = generate(decoder, PROMPT, max_new_tokens=8)
    top1 = generate(
        decoder, PROMPT, max_new_tokens=8, sampling=SamplingParams(temperature=5.0, top_k=1)
    )
    assert top1.token_ids == greedy.token_ids


def test_seeded_sampling_is_reproducible(decoder: OnnxDecoder) -> None:
    params = SamplingParams(temperature=1.5, top_k=40, top_p=0.95, seed=7)
    runs = [generate(decoder, PROMPT, max_new_tokens=12, sampling=params) for _ in range(2)]
    assert runs[0].token_ids == runs[1].token_ids
    unseeded = SamplingParams(temperature=1.5)
    draws = {generate(decoder, PROMPT, max_new_tokens=12, sampling=unseeded).token_ids}
    draws |= {generate(decoder, PROMPT, max_new_tokens=12, sampling=unseeded).token_ids}
    assert len(draws) == 2  # 12 tokens at temperature 1.5 from 97: a repeat is vanishingly rare


def test_top_p_keeps_the_nucleus() -> None:
    # Powers of two, so that the masses add up exactly in float32.
    probs = np.array([0.0625, 0.5, 0.125, 0.3125], dtype=np.float32)
    logits = np.log(probs)
    assert sorted(nucleus(probs, 0.8).tolist()) == [1, 3]  # 0.5 + 0.3125 reaches 0.8
    assert sorted(nucleus(probs, 0.8125).tolist()) == [1, 3]  # exactly reached
    assert sorted(nucleus(probs, 0.82).tolist()) == [1, 2, 3]  # the crossing token is kept
    assert nucleus(probs, 0.4).tolist() == [1]
    assert sorted(nucleus(probs, 1.0).tolist()) == [0, 1, 2, 3]
    params = SamplingParams(temperature=1.0, top_p=0.8)
    ids, weights = candidates(logits.copy(), params)
    assert ids is not None
    kept = dict(zip(ids.tolist(), (weights / weights.sum()).tolist(), strict=True))
    assert kept == pytest.approx({1: 0.5 / 0.8125, 3: 0.3125 / 0.8125}, rel=1e-5)
    rng = np.random.default_rng(0)
    drawn = [sample_token(logits.copy(), params, rng) for _ in range(400)]
    assert set(drawn) == {1, 3}
    assert 0.55 < drawn.count(1) / 400 < 0.70  # 0.615 in expectation


def test_the_nucleus_of_a_full_size_row_equals_a_full_sort() -> None:
    rng = np.random.default_rng(1)
    logits = (rng.standard_normal(262_144) * 3).astype(np.float32)
    probs = np.exp(logits - logits.max())
    for top_p in (0.1, 0.9, 0.999):
        order = np.argsort(-probs, kind="stable")
        mass = np.cumsum(probs[order], dtype=np.float64) / probs.sum(dtype=np.float64)
        expected = order[: int(np.searchsorted(mass, top_p)) + 1]
        assert set(nucleus(probs, top_p).tolist()) == set(expected.tolist())


def test_top_k_draws_only_from_the_k_best() -> None:
    logits = np.array([0.0, 3.0, 1.0, 2.9, -1.0, 2.8], dtype=np.float32)
    rng = np.random.default_rng(0)
    params = SamplingParams(temperature=10.0, top_k=3)
    drawn = {sample_token(logits.copy(), params, rng) for _ in range(200)}
    assert drawn == {1, 3, 5}


def test_low_temperature_concentrates_on_the_argmax() -> None:
    logits = np.array([1.0, 1.2, 0.9, 1.1], dtype=np.float32)
    rng = np.random.default_rng(0)
    cold = [sample_token(logits.copy(), SamplingParams(temperature=0.01), rng) for _ in range(200)]
    assert set(cold) == {1}
    tiny = SamplingParams(temperature=1e-40)  # no overflow into NaN at absurd settings
    assert sample_token(logits.copy(), tiny, rng) == 1
    hot = [sample_token(logits.copy(), SamplingParams(temperature=5.0), rng) for _ in range(200)]
    assert len(set(hot)) == 4


def test_repetition_penalty_lowers_tokens_already_seen() -> None:
    logits = np.array([2.0, 1.9, -1.0], dtype=np.float32)
    params = SamplingParams(repetition_penalty=1.5)
    rng = np.random.default_rng(0)
    seen = np.array([0], dtype=np.int64)
    assert sample_token(logits.copy(), params, rng, context=seen) == 1  # 2.0 / 1.5 < 1.9
    assert sample_token(logits.copy(), params, rng) == 0
    row = logits.copy()
    candidates(row, params, context=np.array([2], dtype=np.int64))
    assert row[2] == pytest.approx(-1.5)  # negative logits are multiplied, not divided


def test_generation_applies_the_repetition_penalty_to_the_whole_context(
    decoder: OnnxDecoder,
) -> None:
    free = generate(decoder, PROMPT, max_new_tokens=10)
    assert len(set(free.token_ids)) < 10  # greedy decoding of random weights loops
    params = SamplingParams(repetition_penalty=1e4)
    result = generate(decoder, PROMPT, max_new_tokens=10, sampling=params)
    # Seen tokens fall to about zero while unseen positive logits remain: no repeats at all.
    assert len(set(result.token_ids)) == 10
    assert not set(result.token_ids) & set(PROMPT)


def test_sampling_does_not_need_a_writable_row() -> None:
    row = np.array([0.0, 5.0, 1.0], dtype=np.float32)
    row.flags.writeable = False
    params = SamplingParams(temperature=0.5, seed=1)
    assert sample_token(row, params, np.random.default_rng(0)) in (0, 1, 2)
    with pytest.raises(GenerationError, match="one logits row"):
        sample_token(row[None], params, np.random.default_rng(0))


# --- constraints -------------------------------------------------------------------------------


def test_a_constraint_restricts_every_step_and_generation_ends(decoder: OnnxDecoder) -> None:
    allowed = {4, 9, 30, 77}
    calls: list[int] = []

    def only(generated: Sequence[int]) -> Collection[int]:
        calls.append(len(generated))
        return allowed if len(generated) < 6 else {1}  # then force the end-of-sequence id

    for params in (SamplingParams(), SamplingParams(temperature=2.0, seed=3)):
        calls.clear()
        result = generate(
            decoder,
            PROMPT,
            max_new_tokens=20,
            sampling=params,
            constraint=only,
            stop_token_ids=CONFIG.eos_token_ids,
        )
        assert set(result.token_ids[:6]) <= allowed
        assert result.token_ids[6:] == (1,)
        assert result.finish_reason == "eos"
        assert calls == list(range(7))


def test_a_constraint_object_and_none_mean_free_steps(decoder: OnnxDecoder) -> None:
    free = generate(decoder, PROMPT, max_new_tokens=5)
    forced = generate(decoder, PROMPT, max_new_tokens=5, constraint=Scripted([8, 8]))
    assert forced.token_ids[:2] == (8, 8)
    assert len(forced.token_ids) == 5
    assert free.token_ids != forced.token_ids


def test_a_constraint_allowing_nothing_is_an_error(decoder: OnnxDecoder) -> None:
    with pytest.raises(GenerationError, match="allowed no tokens after 2 generated"):
        generate(
            decoder,
            PROMPT,
            max_new_tokens=5,
            constraint=lambda g: set() if len(g) == 2 else None,
        )
    with pytest.raises(GenerationError, match="token id 500, outside the vocabulary"):
        allowed_for_step(lambda g: [3, 500], [], 97)
    with pytest.raises(GenerationError, match="token id -2"):
        allowed_for_step(lambda g: [-2, 3], [], 97)


# --- stop strings, streaming, stop tokens, cancellation ----------------------------------------


def test_stop_strings_are_found_across_token_boundaries(decoder: OnnxDecoder) -> None:
    streamed: list[tuple[int, str]] = []
    result = generate(
        decoder,
        PROMPT,
        max_new_tokens=20,
        constraint=Scripted([10, 11, 12, 13, 14]),
        detokenize=detok,
        stop_strings=["xyz", "lo wo"],  # "he|llo| wor|ld": the stop string spans two tokens
        on_token=lambda token, text: streamed.append((token, text)),
    )
    assert result.finish_reason == "stop_string"
    assert result.text == "hel"
    assert result.token_ids == (10, 11, 12)  # the tokens that spelled it are still reported
    # "l" and "lo" might have begun the stop string, so they were held back, never streamed.
    assert streamed == [(10, "he"), (11, "l"), (12, "")]


def test_held_back_text_is_streamed_when_generation_ends(decoder: OnnxDecoder) -> None:
    streamed: list[str] = []
    result = generate(
        decoder,
        PROMPT,
        max_new_tokens=2,
        constraint=Scripted([10, 11]),
        detokenize=detok,
        stop_strings=["lo wo"],
        on_token=lambda token, text: streamed.append(text),
    )
    assert (result.finish_reason, result.text) == ("length", "hello")
    assert streamed == ["he", "llo"]


def test_a_stop_token_ends_generation_and_is_not_in_the_text(decoder: OnnxDecoder) -> None:
    streamed: list[str] = []
    result = generate(
        decoder,
        PROMPT,
        max_new_tokens=20,
        constraint=Scripted([10, 11, 1]),
        stop_token_ids=CONFIG.eos_token_ids,
        detokenize=detok,
        stop_strings=["lo!"],
        on_token=lambda token, text: streamed.append(text),
    )
    assert (result.finish_reason, result.token_ids, result.text) == ("eos", (10, 11, 1), "hello")
    assert "".join(streamed) == "hello"


def test_a_cancel_callable_stops_before_the_next_step(decoder: OnnxDecoder) -> None:
    seen: list[int] = []
    result = generate(
        decoder,
        PROMPT,
        max_new_tokens=20,
        on_token=lambda token, text: seen.append(token),
        cancel=lambda: len(seen) >= 3,
    )
    assert (result.finish_reason, len(result.token_ids)) == ("cancelled", 3)
    assert decoder.past_length == len(PROMPT) + 2


def test_a_set_event_cancels_before_any_work(decoder: OnnxDecoder) -> None:
    decoder.prefill([2, 3])
    event = threading.Event()
    event.set()
    result = generate(decoder, PROMPT, max_new_tokens=5, cancel=event, detokenize=detok)
    assert (result.finish_reason, result.token_ids, result.text) == ("cancelled", (), "")
    assert decoder.tokens == (2, 3)  # not even prefilled


def test_cancelled_right_after_prefill(decoder: OnnxDecoder) -> None:
    polls: list[bool] = []

    def cancel() -> bool:
        polls.append(True)
        return len(polls) > 1  # not before prefill, yes right after it

    result = generate(decoder, PROMPT, max_new_tokens=5, cancel=cancel)
    assert (result.finish_reason, result.token_ids) == ("cancelled", ())
    assert decoder.tokens == tuple(PROMPT)


def test_with_bos_prepends_the_config_bos_once() -> None:
    assert with_bos(CONFIG, [5, 6]) == [CONFIG.bos_token_id, 5, 6]
    assert with_bos(CONFIG, [CONFIG.bos_token_id, 5]) == [CONFIG.bos_token_id, 5]
    assert with_bos(CONFIG, []) == [CONFIG.bos_token_id]
