import json
import time
import unicodedata
from pathlib import Path

import pytest

from build_tools import cli
from build_tools.errors import BuildError
from build_tools.tokenizer_corpus import (
    CATEGORIES,
    category_bytes,
    corpus_documents,
    default_vocab_path,
    write_corpus_jsonl,
)

pytestmark = pytest.mark.skipif(
    not default_vocab_path().is_file(), reason="the default model is not built"
)


@pytest.fixture(scope="module")
def corpus() -> list[tuple[str, str]]:
    return corpus_documents()


def test_is_deterministic(corpus: list[tuple[str, str]]) -> None:
    assert corpus_documents() == corpus
    assert corpus_documents(min_bytes=200_000, seed=1) != corpus_documents(
        min_bytes=200_000, seed=2
    )


def test_is_large_enough_and_covers_every_category(corpus: list[tuple[str, str]]) -> None:
    sizes = category_bytes(corpus)
    assert sum(sizes.values()) >= 5_000_000
    assert {category for category, _ in corpus} == set(CATEGORIES)
    assert all(sizes[c] > 0 for c in CATEGORIES if c != "empty")


def test_contains_the_edge_cases(corpus: list[tuple[str, str]]) -> None:
    texts = [text for _, text in corpus]
    joined = "\n".join(texts)
    assert "" in texts
    for needle in ("\ufffd", "<end_of_turn>", "<start_of_turn>user", "<unused12>", "<table>"):
        assert needle in joined, needle
    for needle in ("\x00", "\x7f", "\x85", "\u200b", "\ufeff", "\r\n", "▁▁▁", " " * 80):
        assert needle in joined, repr(needle)
    assert any(len(word) > 5000 for text in texts for word in text.split())
    accents = [t for c, t in corpus if c == "latin_accents"]
    assert any(unicodedata.is_normalized("NFC", t) for t in accents)
    assert any(not unicodedata.is_normalized("NFC", t) for t in accents)


def test_missing_vocabulary_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match=r"tokenizer corpus needs the Gemma vocabulary"):
        corpus_documents(vocab_path=tmp_path / "missing.json")


def test_cli_writes_valid_jsonl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sub" / "corpus.jsonl"
    argv = ["tokenizer-corpus", "--out", str(out), "--min-bytes", "300000", "--seed", "3"]
    assert cli.main(argv) == 0
    assert "documents" in capsys.readouterr().out
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(out.read_bytes().split(b"\n")) - 1
    assert [(r["category"], r["text"]) for r in rows] == corpus_documents(min_bytes=300_000, seed=3)
    assert list(tmp_path.joinpath("sub").iterdir()) == [out]


def test_write_is_atomic_on_failure(tmp_path: Path) -> None:
    out = tmp_path / "corpus.jsonl"
    out.write_text("old\n", encoding="utf-8")

    def broken() -> list[tuple[str, str]]:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_corpus_jsonl(out, (doc for doc in broken()))
    assert out.read_text(encoding="utf-8") == "old\n"
    assert list(tmp_path.iterdir()) == [out]


def test_hugging_face_encodes_the_whole_corpus(corpus: list[tuple[str, str]]) -> None:
    tokenizers = pytest.importorskip("tokenizers")
    tokenizer = tokenizers.Tokenizer.from_file(str(default_vocab_path()))
    start = time.perf_counter()
    encodings = tokenizer.encode_batch([text for _, text in corpus])
    elapsed = time.perf_counter() - start
    total = sum(len(e.ids) for e in encodings)
    assert len(encodings) == len(corpus)
    # Every document gets <bos>; every non-empty one at least one more token.
    assert all(
        len(e.ids) >= (2 if text else 1) for e, (_, text) in zip(encodings, corpus, strict=True)
    )
    print(f"HF tokenizers: {total} tokens for {len(corpus)} documents in {elapsed:.2f} s")
