"""The frozen evaluation set (bench/agent/eval.json) and its contamination check
(bench/agent/overlap.py): well-formed, every expected answer passes the strict grader, no
question is answered by echoing it, and no task occurs in the project's own texts."""

import collections
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from build_tools.paths import ROOT
from tests.agent.bench_modules import load_bench_module

grader = load_bench_module("grader")
overlap = load_bench_module("overlap")

EVAL = ROOT / "bench" / "agent" / "eval.json"
MIN_COUNTS = {
    "arithmetic": 45,
    "conversion": 30,
    "documents": 25,
    "knowledge": 25,
    "chitchat": 15,
    "injection": 20,
}
TOOLS = {"calculator", "convert_units", "search_docs", None}

# Made-up tasks and sources for the unit tests.
PENCILS = {"id": "p", "q": "If Greta buys 14 pencils at 3.25 each, what does she pay?"}
LONG = {
    "id": "l",
    "q": "My grandmother's old recipe for plum cake needs 380 grams of sugar; how much is that?",
}
SHORT = {"id": "s", "q": "What is 9 + 4?"}


def tasks() -> list[dict[str, Any]]:
    loaded = json.loads(EVAL.read_text(encoding="utf-8"))
    assert isinstance(loaded, list)
    return loaded


def test_a_copy_is_found() -> None:
    source = (
        'CASES = [\n    ("If Greta buys 14 pencils at 3.25 each, what does she pay?", 45.5),\n]'
    )
    found = overlap.find_overlaps([PENCILS], {"tests/x.py": source})
    assert [(o.task_id, o.source, o.kind) for o in found] == [("p", "tests/x.py", "text")]
    # Case, punctuation and line breaks do not hide it.
    assert overlap.find_overlaps([SHORT], {"a.md": "Q: what IS 9+4 ?"})
    assert overlap.find_overlaps([SHORT], {"a.md": "what is 9 + 44"}) == []


def test_eight_words_of_a_long_question_are_enough() -> None:
    source = "Example: the old recipe for plum cake needs 380 grams\nof flour."
    found = overlap.find_overlaps([LONG], {"docs/x.md": source})
    assert [o.kind for o in found] == ["text"]
    assert found[0].match == "old recipe for plum cake needs 380 grams"
    assert overlap.find_overlaps([LONG], {"docs/x.md": "a recipe for plum cake needs 380"}) == []


def test_a_paraphrase_with_the_same_numbers_is_found() -> None:
    line = '{"q": "Greta buys 14 pencils for 3.25 apiece; how much does she pay?"}'
    found = overlap.find_overlaps([PENCILS], {"data.jsonl": f"{{}}\n{line}\n"})
    assert [(o.kind, o.match) for o in found] == [("numbers", line)]


def test_unrelated_texts_are_not_found() -> None:
    texts = {
        "a.py": "The 14 trains left the station at 3.25 in the morning.",  # numbers, not words
        "b.py": "Greta buys 12 pencils at 3.50 each; what does she pay?",  # words, not numbers
        "c.py": "Greta buys 14 pencils.\nEach costs 3.25; what does she pay?",  # two lines
    }
    assert overlap.find_overlaps([PENCILS], texts) == []
    # One small number is too common to count; two numbers and no other word count.
    squared = {"id": "q", "q": "What is 9 squared?"}
    assert overlap.find_overlaps([squared], {"d.py": "Is 9 squared 81?"}) == []
    assert [o.kind for o in overlap.find_overlaps([SHORT], {"d.py": "Is 9 or 4 it?"})] == [
        "numbers"
    ]


def test_project_texts_reads_the_sources_but_not_the_evaluation(tmp_path: Path) -> None:
    for name in (
        "tests/agent/test_loop.py",
        "tests/agent/test_grader.py",
        "tests/agent/test_eval_overlap.py",
        "docs/AGENT.md",
        "docs/sub/data.json",
        "README.md",
        "py_agent/examples.py",
        "bench/agent/tasks.json",
        "bench/agent/heldout.json",
        "bench/agent/eval.json",
        "web/app.py",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(name)
    assert sorted(overlap.project_texts(tmp_path)) == [
        "README.md",
        "bench/agent/heldout.json",
        "bench/agent/tasks.json",
        "docs/AGENT.md",
        "docs/sub/data.json",
        "py_agent/examples.py",
        "tests/agent/test_loop.py",
    ]


def test_the_eval_set_is_well_formed() -> None:
    all_tasks = tasks()
    assert len(all_tasks) >= 150
    ids = [t["id"] for t in all_tasks]
    assert len(set(ids)) == len(ids)
    questions = [overlap.normalize(t["q"]) for t in all_tasks]
    assert len(set(questions)) == len(questions)
    counts = collections.Counter(t["category"] for t in all_tasks)
    assert set(counts) == set(MIN_COUNTS)
    for category, least in MIN_COUNTS.items():
        assert counts[category] >= least, category
    for t in all_tasks:
        assert t["tool"] in TOOLS, t["id"]
        assert len(t["expect"]) == 1 + ("tol" in t["expect"]), t["id"]
        assert ("must_not" in t) == (t["category"] == "injection"), t["id"]
        if t["category"] in ("knowledge", "chitchat"):
            assert t["tool"] is None, t["id"]
        if t["category"] == "chitchat":
            assert "reply" in t["expect"], t["id"]
        if t["category"] == "documents":
            assert t["tool"] == "search_docs", t["id"]
            assert "text" in t["expect"], t["id"]
    # Mixed, not grouped: no long run of one category (the conversation run interleaves them).
    runs = [len(list(g)) for _, g in itertools.groupby(t["category"] for t in all_tasks)]
    assert max(runs) <= 3


def plain_answer(task: dict[str, Any]) -> str:
    expect = task["expect"]
    if "number" in expect:
        return f"The answer is {expect['number']}."
    if "text" in expect:
        return str(expect["text"][0])
    return f"{str(expect['reply'][0]).capitalize()}!"


@pytest.mark.parametrize("task", tasks(), ids=lambda t: str(t["id"]))
def test_the_expected_answer_passes_and_an_echo_does_not(task: dict[str, Any]) -> None:
    used = [task["tool"]] if task["tool"] else []
    v = grader.grade(task, plain_answer(task), used)
    assert (v.solved, v.right_tool, v.hijacked) == (True, True, False), v.reason
    if task["category"] != "chitchat":  # "hi!" may fairly answer "hi!"
        assert not grader.grade(task, task["q"], used).solved


def test_no_eval_task_occurs_in_the_project_texts() -> None:
    texts = overlap.project_texts(ROOT)
    assert "py_agent/examples.py" in texts
    assert "bench/agent/tasks.json" in texts
    assert "bench/agent/eval.json" not in texts
    found = overlap.find_overlaps(tasks(), texts)
    assert found == [], "\n".join(f"{o.task_id} in {o.source} ({o.kind}): {o.match}" for o in found)


def test_no_eval_task_occurs_in_the_training_data(default_index: Path, tmp_path: Path) -> None:
    """The fine-tune's data as `finetune data` writes it (the default count and seed): every
    turn the model sees (earlier turns, the question, the answer) and the generator's
    hand-written facts. Observations are passages of the corpus the agent searches at
    evaluation time too, so they may hold a document task's answer; they are not checked."""
    from build_tools import cli

    out = tmp_path / "traces.jsonl"
    assert cli.main(["finetune", "data", "--out", str(out)]) == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 5000
    texts = {
        f"trace {i}": "\n".join(
            f"{q} {a}".replace("\n", " ") for q, a in [*r["history"], (r["question"], r["answer"])]
        )
        for i, r in enumerate(records)
    }
    # The hand-written facts too; the templates' code (value ranges such as `(1, 400)`) is
    # checked through what it generates above.
    texts["build_tools/finetune/facts.py"] = (ROOT / "build_tools/finetune/facts.py").read_text()
    found = overlap.find_overlaps(tasks(), texts)
    assert found == [], "\n".join(f"{o.task_id} in {o.source} ({o.kind}): {o.match}" for o in found)
