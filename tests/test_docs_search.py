"""Search over the default corpus: HNSW recall against exact search, hybrid search, and the
agent's `search_docs` tool on the real index."""

import ast
from pathlib import Path

import numpy as np
import pytest
from gea_vector import HnswIndex

from build_tools.corpus_index import load_embeddings
from build_tools.docs_search import open_docs_search
from build_tools.embedder_export import Embedder
from build_tools.errors import BuildError
from build_tools.paths import ROOT
from py_agent.retrieval.search import DocsSearch
from py_agent.tools.search_docs import make_search_docs

RECALL_FLOOR = 0.95


@pytest.fixture(scope="module")
def index_dir(default_index: Path) -> Path:
    return default_index


def held_out_queries() -> list[str]:
    """Text that is not in the corpus: the docstrings of this project's Python modules."""
    out = []
    for path in sorted([*ROOT.glob("build_tools/*.py"), *ROOT.glob("py_agent/**/*.py")]):
        doc = ast.get_docstring(ast.parse(path.read_text()))
        if doc:
            out.append(" ".join(doc.split())[:400])
    return out


def recall_at_10(index: HnswIndex, corpus: np.ndarray, queries: np.ndarray) -> float:
    exact = np.argsort(-(queries @ corpus.T), axis=1)[:, :10]
    found = index.search_batch(np.ascontiguousarray(queries, dtype="<f4").tobytes(), 10)
    hits = [len({i for i, _ in f} & set(e.tolist())) for f, e in zip(found, exact, strict=True)]
    return sum(hits) / (10 * len(queries))


def test_hnsw_recall_at_10_on_the_default_corpus(index_dir: Path) -> None:
    corpus = load_embeddings(index_dir)
    index = HnswIndex.load((index_dir / "dense.idx").read_bytes())
    assert len(index) == corpus.shape[0] > 1000
    queries = Embedder().embed(held_out_queries())
    assert len(queries) >= 40
    held_out = recall_at_10(index, corpus, queries)
    rng = np.random.default_rng(0)
    in_corpus = recall_at_10(index, corpus, corpus[rng.choice(len(corpus), 200, replace=False)])
    assert held_out >= RECALL_FLOOR, held_out
    assert in_corpus >= RECALL_FLOOR, in_corpus


def test_hybrid_search_finds_and_cites(index_dir: Path) -> None:
    search = open_docs_search(index_dir)
    hits = search.search("How do I list the packages installed on my system?", 3)
    assert len(hits) == 3
    assert any("debian-reference" in h.passage.source for h in hits)
    assert all(set(h.ranks) <= {"bm25", "dense"} for h in hits)
    assert any(len(h.ranks) == 2 for h in hits)  # found by both retrievers
    out = make_search_docs(search).run("Which port does make run serve the app on?")
    assert out.startswith("[1] (")
    assert "8000" in out


def test_bm25_only_and_errors(index_dir: Path, tmp_path: Path) -> None:
    search = open_docs_search(index_dir, dense=False)
    assert search.dense is None
    assert search.search("sudo", 2)
    with pytest.raises(ValueError, match="rows"):
        DocsSearch(search.passages[:3], search.bm25)
    with pytest.raises(BuildError, match="no document index"):
        open_docs_search(tmp_path / "missing")
    assert make_search_docs(search).run("   ").startswith("Error: the query is empty")
