"""The agent end to end with the real Gemma 3 270M (native backend, greedy), on a few tasks of
the task set (bench/agent_tasks.py runs all of them): a calculation, a unit conversion, a
question that needs no tool; the KV cache is reused across steps; and the CLI."""

import io
from pathlib import Path

import pytest

from build_tools import agent_cli as cli
from build_tools.agent_backend import NativeModel
from build_tools.model_folder import open_model
from py_agent.llm import Span
from py_agent.react_loop import Agent


@pytest.fixture(scope="module")
def model(default_model: Path) -> NativeModel:
    return NativeModel(open_model(default_model.name))


@pytest.mark.parametrize(
    ("question", "answer", "tool"),
    [
        ("What is 1234 * 56?", "69104", "calculator"),
        ("How many kilograms is 150 pounds?", "68.038855", "convert_units"),
        ("What is the capital of France?", "Paris", None),
        # Two steps in one: the input cannot end before it uses the 6 (it stopped at 12 * 12).
        ("What is 12 * 12, plus 6?", "150", "calculator"),
        # The fine-tuned default knows this one; the base model converted "a week" (its copy
        # "days to days" failed and the question itself parsed).
        ("How many days are in a week?", "7", None),
    ],
)
def test_real_model_solves_tasks(model: NativeModel, question: str, answer: str, tool: str) -> None:
    agent = Agent(model, cli.default_tools(with_docs=False), prompt_format=model.prompt_format)
    assert agent.prompt_format == "tuned"  # the default variant is the ReAct fine-tune
    result = agent.run(question)
    assert answer in result.answer
    assert [name for name, _ in result.actions()] == ([tool] if tool else [])
    assert not result.forced


def test_the_base_variant_keeps_its_few_shot_prompt(default_model: Path) -> None:
    base = NativeModel(open_model(default_model.name), variant="exact")
    assert base.prompt_format == "completion"
    agent = Agent(base, cli.default_tools(with_docs=False), prompt_format=base.prompt_format)
    result = agent.run("What is 1234 * 56?")
    assert result.answer == "69104"
    assert agent.n_examples == 3


def test_kv_cache_is_reused_between_steps(model: NativeModel) -> None:
    agent = Agent(model, cli.default_tools(with_docs=False), prompt_format=model.prompt_format)
    before = model.prefill_tokens
    prompts: list[int] = []
    real_complete = model.complete

    def counting(prompt: list[Span], **kw: object) -> object:
        prompts.append(len(model.prompt_ids(prompt)))
        return real_complete(prompt, **kw)  # type: ignore[arg-type]

    model.complete = counting  # type: ignore[method-assign,assignment]
    try:
        agent.run("What is 347 * 29?")
    finally:
        del model.complete
    ran = model.prefill_tokens - before
    assert len(prompts) >= 4
    assert ran < sum(prompts) / 3  # most prompt tokens came from the cache


def test_cli_answers_one_question(default_model: Path) -> None:
    out = io.StringIO()
    assert cli.main(["--no-docs", "What is 347 * 29?"], out=out) == 0
    text = out.getvalue()
    assert "Action: calculator: 347 * 29" in text
    assert "Answer: 10063" in text


def test_entry_points_reach_the_cli() -> None:
    import subprocess
    import sys

    from build_tools import cli as build_cli
    from build_tools.paths import ROOT

    proc = subprocess.run(
        [sys.executable, "-m", "py_agent", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "python -m py_agent" in proc.stdout
    with pytest.raises(SystemExit) as exc:
        build_cli.main(["agent", "--help"])
    assert exc.value.code == 0
