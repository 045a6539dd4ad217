"""Corpus indexing end to end on a small corpus with the real embedder, and its error paths."""

import json
from pathlib import Path

import numpy as np
import pytest

from build_tools import cli
from build_tools.chunking import extract
from build_tools.corpus_index import (
    INDEX_ID,
    SourceFile,
    build_dense_index,
    build_index,
    corpus_from_paths,
    debian_reference,
    load_embeddings,
    project_docs,
)
from build_tools.embedder_export import EMBEDDER_ID, Embedder
from build_tools.errors import BuildError
from build_tools.manifest import verify_manifest
from build_tools.paths import MODELS_CACHE, ROOT
from py_agent.retrieval import Bm25Index, Passage

PAGE = """<html><head><title>Backups</title></head><body><h1>Backups</h1>
<p>Copy your home directory to an external disk every week. Test a restore once a month.</p>
<h2>Tools</h2><p>The rsync program copies only the files that changed.</p></body></html>"""


@pytest.fixture(scope="module")
def embedder() -> Path:
    assert cli.main(["embedder", "--if-missing"]) == 0
    return MODELS_CACHE / EMBEDDER_ID


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "notes.txt").write_text("Water boils at 100 degrees Celsius at sea level.\n")
    (docs / "sub" / "guide.md").write_text(
        "# Network guide\n\nSet a static address in /etc/network/interfaces. "
        "Restart the networking service afterwards.\n"
    )
    (docs / "backups.html").write_text(PAGE)
    (docs / "ignored.pdf").write_bytes(b"%PDF")
    return docs


def test_index_folder_end_to_end(embedder: Path, corpus: Path, tmp_path: Path) -> None:
    out_root = tmp_path / "out"
    logs: list[str] = []
    folder = build_index(corpus_from_paths([corpus]), out_root=out_root, log=logs.append)
    assert folder == out_root / INDEX_ID
    listed = {e.path for e in verify_manifest(folder)}
    assert {"passages.json", "embeddings.f32", "bm25.json", "index.json"} <= listed

    passages = [
        Passage.from_json(d) for d in json.loads((folder / "passages.json").read_text())["passages"]
    ]
    assert [p.id for p in passages] == list(range(len(passages)))
    assert {p.source for p in passages} == {
        "docs/notes.txt",
        "docs/sub/guide.md",
        "docs/backups.html",
    }
    for p in passages:
        text = extract(corpus.parent / p.source).text
        assert text[p.start : p.end] == p.text
    assert any(p.heading == "Tools" and p.title == "Backups" for p in passages)

    vectors = load_embeddings(folder)
    assert vectors.shape == (len(passages), 384)
    want = Embedder(embedder).embed([p.text for p in passages])
    assert np.allclose(vectors, want, atol=1e-6)

    index_doc = json.loads((folder / "index.json").read_text())
    assert index_doc["embeddings"]["shape"] == [len(passages), 384]
    assert index_doc["embedder"]["variant"] == "int8"
    bm25 = Bm25Index.from_json(json.loads((folder / "bm25.json").read_text()))
    best = bm25.search("rsync changed files", k=1)[0][0]
    assert passages[best].source == "docs/backups.html"
    # Dense search finds the same passage for a paraphrase with no shared keyword.
    query = Embedder(embedder).embed(["What temperature does water start to boil?"])[0]
    assert passages[int(np.argmax(vectors @ query))].source == "docs/notes.txt"

    # Unchanged inputs: nothing is rebuilt; a changed file triggers a rebuild.
    build_index(corpus_from_paths([corpus]), out_root=out_root, log=logs.append)
    assert "up to date" in logs[-1]
    (corpus / "notes.txt").write_text("Ice melts at 0 degrees Celsius.\n")
    build_index(corpus_from_paths([corpus]), out_root=out_root, log=logs.append)
    assert "ready" in logs[-1]


def test_cli_index(embedder: Path, corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli-out"
    assert cli.main(["index", "--corpus", str(corpus), "--out-dir", str(out)]) == 0
    assert (out / INDEX_ID / "manifest.json").is_file()
    assert cli.main(["index", "--corpus", str(tmp_path / "missing"), "--out-dir", str(out)]) == 1


def test_dense_index_is_the_rust_hnsw() -> None:
    from gea_vector import HnswIndex

    rows = np.eye(4, 384, dtype=np.float32)
    index = HnswIndex.load(build_dense_index(rows))
    assert len(index) == 4
    assert index.search(rows[2].tolist(), 1)[0][0] == 2


def test_corpus_sources(tmp_path: Path) -> None:
    names = [s.name for s in project_docs()]
    assert names[0] == "README.md"
    assert all(n.startswith("docs/") for n in names[1:])
    # The agent's evaluation report (its test questions and answers) is never indexed.
    assert "docs/AGENT.md" in names
    assert "docs/AGENT_TASKS.md" not in names
    assert (ROOT / "docs" / "AGENT_TASKS.md").is_file()
    with pytest.raises(BuildError, match="debian-reference-en"):
        debian_reference(tmp_path)
    (tmp_path / "ch01.en.html").write_text(PAGE)
    (tmp_path / "index.en.html").write_text(PAGE)
    assert debian_reference(tmp_path) == [
        SourceFile(tmp_path / "ch01.en.html", "debian-reference/ch01.en.html")
    ]
    with pytest.raises(BuildError, match="does not exist"):
        corpus_from_paths([tmp_path / "nope"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BuildError, match="no "):
        corpus_from_paths([empty])
    assert corpus_from_paths([tmp_path / "ch01.en.html"])[0].name == "ch01.en.html"


def test_embeddings_file_must_match_its_shape(tmp_path: Path) -> None:
    (tmp_path / "index.json").write_text(json.dumps({"embeddings": {"shape": [3, 384]}}))
    np.zeros((2, 384), "<f4").tofile(tmp_path / "embeddings.f32")
    with pytest.raises(BuildError, match="says 3x384"):
        load_embeddings(tmp_path)
