"""BM25, the analyzer and reciprocal rank fusion (py_agent.retrieval: standard library only)."""

import ast
import json
import math
import sys
from pathlib import Path

import pytest

from py_agent.retrieval import Bm25Index, Passage, analyze, reciprocal_rank_fusion
from py_agent.retrieval.bm25 import passage_text

DOCS = [
    "The cat sat on the mat.",
    "Dogs and cats are pets; a dog barks.",
    "Install packages with apt-get install NAME.",
    "Remove packages with apt-get remove NAME, or purge them with their configuration.",
    "The cat, the cat and the cat again: a very catty cat text about cats and a cat.",
]


def _index(**kw: float) -> Bm25Index:
    return Bm25Index.from_texts(list(range(100, 100 + len(DOCS))), DOCS, **kw)


def test_analyzer() -> None:
    assert analyze("\uff26\uff55\uff4c\uff4c-width \ufb01le_name: It's 3 A.M. in 2024!") == [
        "full",
        "width",
        "file",
        "name",
        "it",
        "3",
        "in",
        "2024",
    ]
    assert analyze("Straße STRASSE") == ["strasse", "strasse"]
    assert analyze("日本語 テキスト") == ["日本語", "テキスト"]
    assert analyze("") == []


def test_bm25_matches_the_formula() -> None:
    index = _index(k1=1.5, b=0.5)
    lengths = [len(analyze(d)) for d in DOCS]
    avg = sum(lengths) / len(lengths)

    def score(row: int, term: str) -> float:
        tf = analyze(DOCS[row]).count(term)
        df = sum(term in analyze(d) for d in DOCS)
        idf = math.log(1 + (len(DOCS) - df + 0.5) / (df + 0.5))
        return idf * tf * 2.5 / (tf + 1.5 * (0.5 + 0.5 * lengths[row] / avg))

    results = dict(index.search("cat packages", k=10))
    for row in range(len(DOCS)):
        want = score(row, "cat") + score(row, "packages")
        if want:
            assert results[100 + row] == pytest.approx(want)
        else:
            assert 100 + row not in results


def test_search_ranks_and_limits() -> None:
    index = _index()
    assert [pid for pid, _ in index.search("cat", k=2)] == [104, 100]
    assert index.search("purge configuration", k=1)[0][0] == 103
    assert index.search("nothing matches this", k=5) == []
    assert index.search("cat", k=0) == []
    assert Bm25Index().search("cat") == []
    assert len(index) == len(DOCS)
    # A repeated query term counts once.
    assert index.search("cat cat cat") == index.search("cat")


def test_ties_keep_insertion_order() -> None:
    index = Bm25Index.from_texts([5, 3, 9], ["same words", "same words", "other"])
    assert [pid for pid, _ in index.search("same")] == [5, 3]


def test_json_round_trip() -> None:
    index = _index()
    doc = json.loads(json.dumps(index.to_json()))
    again = Bm25Index.from_json(doc)
    assert again == index
    assert again.search("apt-get install") == index.search("apt-get install")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format=99), "format"),
        (lambda d: d.pop("doc_ids"), "corrupt"),
        (lambda d: d["doc_lengths"].pop(), "differ"),
        (lambda d: d["postings"].update(cat=[0]), "odd"),
        (lambda d: d["postings"].update(cat=[42, 1]), "past"),
    ],
)
def test_corrupt_json_is_a_clear_error(mutate: object, message: str) -> None:
    doc = _index().to_json()
    mutate(doc)  # type: ignore[operator]
    with pytest.raises(ValueError, match=message):
        Bm25Index.from_json(doc)


def test_bad_parameters() -> None:
    with pytest.raises(ValueError, match="ids"):
        Bm25Index.from_texts([1], ["a", "b"])
    with pytest.raises(ValueError, match="k1"):
        Bm25Index.from_texts([1], ["a"], b=2.0)


def test_passages_index_heading_and_text() -> None:
    passages = [
        Passage(0, "a.md", 0, 10, "Doc", "Networking", "Set the address."),
        Passage(1, "a.md", 10, 20, "Doc", "", "Other words."),
    ]
    index = Bm25Index.from_passages(passages)
    assert index.search("networking")[0][0] == 0
    assert passage_text(passages[1]) == "Other words."
    assert Passage.from_json(passages[0].to_json()) == passages[0]
    with pytest.raises(ValueError, match="not a passage"):
        Passage.from_json({"id": 1})


def test_reciprocal_rank_fusion() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["b", "d", "b"]], k=60)
    assert [item for item, _ in fused] == ["b", "a", "d", "c"]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61)
    assert fused[2][1] == pytest.approx(1 / 62)  # "d"; "b" counted once in ranking two
    (top,) = reciprocal_rank_fusion([[1, 2], [2, 1]], limit=1)
    assert top[0] == 1  # tied with 2: the first seen wins
    assert top[1] == pytest.approx(1 / 61 + 1 / 62)
    assert reciprocal_rank_fusion([]) == []
    with pytest.raises(ValueError, match="k must be"):
        reciprocal_rank_fusion([[1]], k=-1)


def test_retrieval_imports_only_the_standard_library() -> None:
    package = Path(__file__).resolve().parent.parent / "py_agent" / "retrieval"
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                for name in names:
                    top = name.split(".")[0]
                    assert top == "py_agent" or top in sys.stdlib_module_names, (source, name)
