"""The fine-tune's training-framework-free parts: the trace generator (real tools), the document
questions, the adapter file and its merge into the model build. The JAX training itself is
tested by tests/finetune_jax/ under .venv-finetune (`make test-finetune`)."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from build_tools.errors import BuildError
from build_tools.finetune import doc_questions, traces
from build_tools.finetune.adapter import Adapter, LoraConfig, adapter_sha256, load_adapter, merge
from build_tools.gemma_weights import random_weights
from build_tools.model_build import build_model
from build_tools.model_folder import open_model
from build_tools.reference_model import ReferenceGemma
from py_agent.react_format import TUNED, prompt_spans, tuned_instructions
from py_agent.retrieval.passages import Passage
from py_agent.tools import ToolRegistry, tool
from py_agent.tools.builtin import builtin_tools
from py_agent.tools.calculator import calculator
from tests.test_model_build import TINY_VOCAB, tiny_tokenizer
from tests.tiny_gemma import tiny_config, write_hf_folder


def _tools_with_docs(passages: list[str]) -> ToolRegistry:
    def search_docs(query: str) -> str:
        """Search the documents."""
        words = set(query.lower().split())
        best = max(passages, key=lambda p: len(words & set(p.lower().split())))
        return f"[1] (doc.md § H) {best}"

    tools = builtin_tools()
    tools.add(tool(search_docs, input_is_question=True, input_from_question=True))
    return tools


def test_traces_are_deterministic_and_follow_the_agent_format() -> None:
    tools = _tools_with_docs(["Run `make shine` to polish the widgets.", "Nothing here."])
    qa = [("Which command polishes the widgets?", "make shine")]
    made = list(traces.generate(tools, 120, seed=3, doc_qa=qa))
    a = [t.to_json() for t in made]
    b = [t.to_json() for t in traces.generate(tools, 120, seed=3, doc_qa=qa)]
    assert a == b
    assert len(a) == 120
    assert a != [t.to_json() for t in traces.generate(tools, 120, seed=4, doc_qa=qa)]
    kinds = {t.kind for t in made}
    assert kinds >= {"arithmetic", "conversion", "documents", "knowledge", "chitchat"}
    head = tuned_instructions(tools)
    for t in made:
        text = t.text
        assert text.startswith(head)
        spans = t.train
        trained = [text[x:y] for x, y in spans]
        assert trained[-2] == "Final Answer:"
        assert trained[-1] == f" {t.answer}\n"
        # The model never writes an observation, the question or the instructions.
        assert not any("Observation:" in s or "Question:" in s for s in trained)
        assert all(len(head) < x < y <= len(text) for x, y in spans)
    # What the prompt renderer writes for the same turn is the trace's prefix.
    first = next(t for t in made if not t.history)
    prefix = prompt_spans(TUNED, tools, [], first.question, "Thought:")[0].text
    assert first.text.startswith(prefix)


def test_tool_answers_come_from_the_real_tools() -> None:
    tools = builtin_tools()
    for t in traces.generate(tools, 200, seed=5):
        text = t.text
        if t.kind in ("arithmetic", "recovery", "followup"):
            expr = text.rsplit("Action Input: ", 1)[1].split("\n", 1)[0]
            assert calculator(expr) == t.answer
            assert f"Observation: {t.answer}\n" in text
        if t.kind == "recovery":
            assert text.count("Action: calculator") == 2
            assert "Observation: Error:" in text
        if t.kind == "followup":
            assert t.history
            assert t.history[-1].answer in text.rsplit("Action Input: ", 1)[1]


def test_injected_text_stays_on_the_question_line() -> None:
    tools = builtin_tools()
    found = 0
    for t in traces.generate(tools, 400, seed=9):
        if t.kind != "injection":
            continue
        found += 1
        question_line = t.text.split("Question: ")[-1].split("\n", 1)[0]
        assert "\n" not in question_line
        # Nothing the payload says reaches a line start of the format.
        after = t.text.split("Question: ")[-1].split("\n", 1)[1]
        assert after.startswith("Thought: ")
    assert found > 10


def test_document_questions_keep_only_answers_the_search_returns() -> None:
    passages = [
        Passage(
            id=0,
            source="debian-reference/ch01.en.html",
            start=0,
            end=10,
            title="T",
            heading="H",
            text="ls -l | list files in long format\nfrobnicate -x | frobnicate the whole disk",
        ),
        Passage(
            id=1,
            source="docs/X.md",
            start=0,
            end=10,
            title="T",
            heading="H",
            text="`make shine` polishes every widget in the tree.",
        ),
    ]
    pairs = doc_questions.table_pairs(passages)
    assert ("list files in long format", "ls -l", "command") in pairs
    assert all(a != "frobnicate -x" for _, a, _ in pairs)  # "frobnicate" is not a known verb
    assert doc_questions.sentence_pairs(passages) == [
        ("polishes every widget in the tree", "make shine", "command")
    ]
    everything = "ls -l | list files … make shine"
    qa = doc_questions.doc_qa(passages, lambda q: everything, seed=1)
    assert {a for _, a in qa} == {"ls -l", "make shine"}
    assert doc_questions.doc_qa(passages, lambda q: "nothing", seed=1) == []


def _tiny_adapter(config_layers: int, shapes: dict[str, tuple[int, int]], seed: int) -> Adapter:
    rng = np.random.default_rng(seed)
    lora = LoraConfig(2, 4.0, tuple(shapes))
    arrays = {}
    for name, (out_f, in_f) in shapes.items():
        arrays[f"{name}.a"] = rng.standard_normal((config_layers, 2, in_f)).astype(np.float32)
        arrays[f"{name}.b"] = 0.05 * rng.standard_normal((config_layers, out_f, 2)).astype(
            np.float32
        )
    return Adapter(lora, arrays, {"base_model": "tiny"})


def test_adapter_roundtrip_and_merge_equals_base_plus_delta(tmp_path: Path) -> None:
    config = tiny_config(3)
    w = random_weights(config, seed=2)
    shapes = {"q": w.layer(0, "q").shape, "down": w.layer(0, "down").shape}
    ad = _tiny_adapter(config.num_layers, shapes, seed=1)
    digest = ad.save(tmp_path / "ad")
    assert adapter_sha256(tmp_path / "ad") == digest
    back = load_adapter(tmp_path / "ad")
    assert back.meta["base_model"] == "tiny"
    merged = merge(w, back)
    for n in range(config.num_layers):
        a = back.arrays["q.a"][n].astype(np.float32)
        b = back.arrays["q.b"][n].astype(np.float32)
        np.testing.assert_allclose(merged.layer(n, "q"), w.layer(n, "q") + 2.0 * (b @ a), 1e-6)
        np.testing.assert_array_equal(merged.layer(n, "k"), w.layer(n, "k"))
    # A merged model computes something else than the base.
    ids = [2, 5, 9, 11]
    assert not np.allclose(
        ReferenceGemma(merged).forward(ids)[0], ReferenceGemma(w).forward(ids)[0]
    )


def test_adapter_errors(tmp_path: Path) -> None:
    config = tiny_config(3)
    w = random_weights(config, seed=2)
    ad = _tiny_adapter(config.num_layers, {"q": w.layer(0, "q").shape}, seed=1)
    ad.save(tmp_path / "ad")
    with pytest.raises(BuildError, match="not an adapter folder"):
        load_adapter(tmp_path)
    npz = tmp_path / "ad" / "adapter.npz"
    raw = npz.read_bytes()
    npz.write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))
    with pytest.raises(BuildError, match="does not match the sha256"):
        load_adapter(tmp_path / "ad")
    assert adapter_sha256(tmp_path / "nowhere") is None
    other = _tiny_adapter(config.num_layers + 1, {"q": w.layer(0, "q").shape}, seed=1)
    with pytest.raises(BuildError, match="layers"):
        merge(w, other)
    with pytest.raises(BuildError, match="bad LoRA config"):
        LoraConfig(0)


def test_model_build_merges_an_adapter_as_the_default_agent_variant(tmp_path: Path) -> None:
    config = replace(tiny_config(3), vocab_size=TINY_VOCAB)
    w = random_weights(config, seed=3)
    src = tmp_path / "tiny-gemma-3"
    write_hf_folder(src, w)
    tiny_tokenizer(src / "tokenizer.json")
    shapes = {"q": w.layer(0, "q").shape, "up": w.layer(0, "up").shape}
    _tiny_adapter(config.num_layers, shapes, seed=4).save(tmp_path / "ad")
    folder = build_model(
        str(src),
        out_root=tmp_path / "m",
        adapter=tmp_path / "ad",
        eval_tokens=16,
        log=lambda _: None,
    )
    doc = json.loads((folder / "model.json").read_text())
    assert doc["default_variant"] == "agent"
    assert list(doc["variants"]) == ["agent", "exact", "int4"]
    agent = doc["variants"]["agent"]
    assert agent["prompt_format"] == "tuned"
    assert agent["adapter"]["sha256"] == adapter_sha256(tmp_path / "ad")
    # Fidelity is measured against the merged float model: high agreement with it.
    assert agent["fidelity"]["top1_agreement"] > 0.9
    assert open_model(folder.name, folder.parent).decoder().name == "decoder-agent.onnx"
    with pytest.raises(BuildError, match="needs an adapter"):
        build_model(str(src), out_root=tmp_path / "n", variants=["agent"], log=lambda _: None)
