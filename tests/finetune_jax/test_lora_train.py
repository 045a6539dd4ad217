"""The LoRA trainer (JAX, CPU) on tiny Gemma 1/2/3 models: its forward pass is the numpy
reference's, a few steps on traces lower the loss, and the merged weights compute what the
trained adapter computes. Needs JAX: runs under .venv-finetune (`make test-finetune`), which
`make test` sets up from requirements-finetune.txt."""

import json
from dataclasses import replace
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

from build_tools.finetune import lora_train, traces
from build_tools.finetune.adapter import LoraConfig, load_adapter, merge
from build_tools.gemma_weights import random_weights
from build_tools.reference_model import ReferenceGemma
from py_agent.tools.builtin import builtin_tools
from tests.tiny_gemma import tiny_config

IDS = [2, 5, 9, 33, 12, 7, 80, 4, 4, 11, 60, 3]  # longer than the tiny sliding window (5)


@pytest.mark.parametrize("family", [1, 2, 3])
def test_forward_matches_the_numpy_reference(family: int) -> None:
    config = tiny_config(family)
    w = random_weights(config, seed=1)
    lora = LoraConfig(4, 8.0, ("q", "k", "v", "o", "gate", "up", "down"))
    base = lora_train.stack_base(w)
    params = lora_train.init_lora(config, lora, seed=0)  # B = 0: the base model
    h = lora_train.hidden_states(config, base, params, lora.scale, jnp.asarray([IDS]))
    got = np.asarray(lora_train.logits_at(config, base, h))[0]
    want, _ = ReferenceGemma(w).forward(IDS)
    np.testing.assert_allclose(got, want, atol=2e-5)


def test_training_lowers_the_loss_and_the_merge_is_base_plus_delta(tmp_path: Path) -> None:
    config = replace(tiny_config(3), vocab_size=300)
    w = random_weights(config, seed=2)
    # Real traces, tokenized as bytes so that the tiny vocabulary holds them.
    records = [t.to_json() for t in traces.generate(builtin_tools(), 12, seed=1)]

    def encode(text: str) -> tuple[list[int], list[tuple[int, int]]]:
        tail = text[-60:]
        start = len(text) - len(tail)
        return [4 + (ord(ch) % 250) for ch in tail], [
            (start + i, start + i + 1) for i in range(len(tail))
        ]

    examples = lora_train.to_examples(records, encode, config.bos_token_id, max_length=100)
    assert len(examples) == 12
    assert all(sum(e.weights) > 0 for e in examples)  # the answer is at the end: trained
    lora = LoraConfig(4, 8.0, ("q", "v", "o", "gate", "up", "down"))
    result = lora_train.train(
        w, examples, lora, steps=25, lr=5e-3, seed=0, pad_id=0, log=lambda _: None
    )
    assert result.steps == 25
    assert np.mean(result.losses[-5:]) < 0.8 * np.mean(result.losses[:5])
    result.adapter.meta["base_model"] = "tiny"
    result.adapter.save(tmp_path / "ad")
    saved = json.loads((tmp_path / "ad" / "config.json").read_text())
    assert saved["rank"] == 4
    back = load_adapter(tmp_path / "ad")
    merged = merge(w, back)
    base = lora_train.stack_base(w)
    params = {
        t: {
            "a": jnp.asarray(back.arrays[f"{t}.a"], jnp.float32),
            "b": jnp.asarray(back.arrays[f"{t}.b"], jnp.float32),
        }
        for t in lora.targets
    }
    h = lora_train.hidden_states(config, base, params, lora.scale, jnp.asarray([IDS]))
    trained = np.asarray(lora_train.logits_at(config, base, h))[0]
    want, _ = ReferenceGemma(merged).forward(IDS)
    np.testing.assert_allclose(trained, want, atol=1e-4)
    # The stored (float16) adapter changes the model: not a no-op.
    base_logits, _ = ReferenceGemma(w).forward(IDS)
    assert np.abs(want - base_logits).max() > 1e-2


def test_time_limit_stops_training_early() -> None:
    config = tiny_config(3)
    w = random_weights(config, seed=2)
    ex = [lora_train.Example([2, 5, 6, 7, 8], [0.0, 0.0, 1.0, 1.0, 1.0])] * 4
    result = lora_train.train(
        w, ex, LoraConfig(2), steps=1000, lr=1e-3, seed=0, max_seconds=0.0, log=lambda _: None
    )
    assert result.steps == 0
