"""Which tools a question is offered, what their inputs must hold, and the answer taken from a
search: the rules around the model (no model here)."""

import pytest

from py_agent.constraints import CharsetConstraint, QuestionNumbersConstraint
from py_agent.examples import ExamplePicker
from py_agent.retrieval.bm25 import Bm25Index
from py_agent.retrieval.passages import Passage
from py_agent.retrieval.search import DocsSearch
from py_agent.tools.quantities import (
    EXTRA_NUMBERS,
    has_number,
    number_strings,
    numbers_in,
    uses_all,
)
from py_agent.tools.search_docs import best_sentence, make_search_docs, needs_documents
from py_agent.tools.units import asks_conversion, convert


def test_numbers_in_questions() -> None:
    assert numbers_in("What is 1,234 * 5.5 - 7?") == [1234.0, 5.5, 7.0]
    assert numbers_in("version v2 and x86_64") == []  # digits inside words are not quantities
    assert has_number("twelve eggs")
    assert has_number("half of it")
    assert has_number("3 cats")
    assert not has_number("Which planet do we live on?")
    assert uses_all("12 * 12 + 6", [12, 12, 6])
    assert not uses_all("12 * 12", [12, 12, 6])
    assert uses_all("0.15 * 860", [15, 860])  # a percentage written as a fraction


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How many miles is 42 km?", True),
        ("How many days are in a week?", True),
        ("How many minutes are in an hour?", True),
        ("What is 20% of 350?", False),  # a number but no unit
        ("How much is 25 * 4 * 2?", False),
        ("What day of the week is it today?", False),  # units but no quantity
        ("What color is the sky on a clear day?", False),
        ("How many apples are in 3 bags?", False),  # "in" is an inch only after a number
        ("Walk 5 m north", True),
    ],
)
def test_asks_conversion(question: str, expected: bool) -> None:
    assert asks_conversion(question) is expected


def test_a_unit_after_a_or_an_is_one_of_it() -> None:
    assert convert("How many days are in a week?") == "7 days"
    assert convert("an hour to minutes") == "60 minutes"


def test_an_arithmetic_input_writes_the_questions_numbers_and_all_of_them() -> None:
    question = "What is 12 * 12, plus 6.5?"
    assert number_strings(question) == {"12", "6.5"}
    assert number_strings("twelve eggs, a dozen, 1,234 and -3") == {"12", "1234", "3"}
    charset = CharsetConstraint("0123456789.+* ", 128, chr, enders=[10])
    c = QuestionNumbersConstraint(
        charset,
        number_strings(question) | EXTRA_NUMBERS,
        lambda text: uses_all(text, numbers_in(question)),
        chr,
        max_tokens=12,
    )

    def allowed(text: str) -> set[str]:
        ids = c([ord(x) for x in text])
        assert ids is not None
        return {chr(i) for i in ids}

    # A number is written digit by digit, only along the question's numbers (or 2, 100).
    assert allowed("") >= {"1", "6", "2"}
    assert "3" not in allowed("")  # a copied example number ("300") cannot start
    assert allowed("1") == {"2", "0"}  # 12 or 100
    assert allowed("12 * 6") == {"."}  # 6.5 must go on
    assert "+" in allowed("12 * 12 ")  # between numbers, any operator
    assert "\n" not in allowed("12 * 12")  # 6.5 is still unused
    assert "\n" in allowed("12 * 12 + 6.5")
    assert allowed("1111111111+") == {"\n"}  # out of room: it ends


def test_examples_only_for_offered_tools() -> None:
    picker = ExamplePicker(["calculator", "convert_units"])
    picked = picker.pick("How many seconds are in 2 minutes?", 4, tools=["calculator"])
    assert len(picked) == 4
    assert all(e.tool in (None, "calculator") for e in picked)
    assert any(e.tool == "convert_units" for e in picker.pick("How many seconds are in 2 min?"))


def _search(texts: dict[str, list[str]]) -> DocsSearch:
    passages: list[Passage] = []
    for source, items in texts.items():
        for text in items:
            n = len(passages)
            passages.append(Passage(n, source, 0, len(text), source, f"Part {n}", text))
    return DocsSearch(passages, Bm25Index.from_passages(passages))


def test_needs_documents_when_asked_or_when_every_name_is_a_topic() -> None:
    search = _search(
        {
            "guide.md": [f"Marigold sails on lake {i}." for i in range(4)],
            "atlas.md": ["France is a country."],
        }
    )
    assert needs_documents(search, "Search my notes for the boat.")
    assert needs_documents(search, "What colour is the sail of Marigold?")
    # France: one passage mentions it in passing; Celsius: none. The model chooses.
    assert not needs_documents(search, "What is the capital of France?")
    assert not needs_documents(search, "Is Marigold faster than Celsius?")
    assert not needs_documents(search, "What colour is the sky?")
    tool = make_search_docs(search)
    assert tool.required_for is not None
    assert tool.required_for("What does Marigold carry?")
    assert tool.input_is_question


def test_best_sentence_reads_headings_with_parentheses_and_wrapped_lines() -> None:
    output = (
        "[1] (docs/APP.md § The app (web/): offline) # The app (web/): offline `make run` builds "
        "what is missing (wasm, the model and the document\nindex) and serves the app on port "
        "8000. Nothing else. "
        "[2] (docs/EDGE.md § Edge (issue 8)) ## Edge (issue 8)\n| make edge | serves on 8787 |"
    )
    answer = best_sentence("Which port does make run serve the app on?", output)
    assert answer is not None
    assert answer.startswith("`make run` builds")
    assert "8000" in answer
    assert answer.endswith("[1]")
    assert "# The app" not in answer  # the heading is not part of the answer
    assert best_sentence("What is the capital of Peru?", output) is None
