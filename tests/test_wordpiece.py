"""The standard-library WordPiece (the page's query/document tokenizer for the embedder) against
Hugging Face `tokenizers` on the built embedder's tokenizer.json."""

import json
from pathlib import Path

import pytest

from py_agent.retrieval.wordpiece import WordPiece

FOLDER = Path(__file__).resolve().parents[1] / "models_cache"
TRICKY = [
    "How do I list installed packages?",
    "Café naïve résumé — ÅNGSTRÖM",
    "中文字符 and 日本語 mixed",
    "tabs\tand\nnewlines\r\nand  spaces",
    "symbols: $100, 50% off!!! (maybe) [x] {y} <z> a/b\\c ~tilde` 'q'",
    "emoji 🙂 and \x00 nul and \ufffd replacement",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "x" * 150,
    "e.g. i.e. U.S.A. 3.14159 1,000,000",
    "",
    "   ",
    "ﬁ ligature and ½ fraction and Ⅻ numeral",
]


@pytest.fixture(scope="module")
def tokenizer_json(default_embedder: Path) -> str:
    return (default_embedder / "tokenizer.json").read_text()


@pytest.fixture(scope="module")
def default_embedder() -> Path:
    from build_tools import cli

    assert cli.main(["embedder", "--if-missing"]) == 0
    return FOLDER / "all-minilm-l6-v2"


def test_ids_match_hugging_face_tokenizers(tokenizer_json: str) -> None:
    from tokenizers import Tokenizer

    reference = Tokenizer.from_str(tokenizer_json)
    reference.enable_truncation(256)
    reference.no_padding()
    ours = WordPiece.from_tokenizer_json(tokenizer_json, max_tokens=256)
    texts = list(TRICKY)
    index = FOLDER / "corpus-index" / "passages.json"
    if index.is_file():  # every passage of the shipped corpus, when it is built
        texts += [p["text"] for p in json.loads(index.read_text())["passages"]]
    assert len(texts) > 12
    for text in texts:
        assert ours.encode(text) == reference.encode(text).ids, text[:80]


def test_long_text_is_cut_to_max_tokens_and_bad_files_are_refused(tokenizer_json: str) -> None:
    wp = WordPiece.from_tokenizer_json(tokenizer_json, max_tokens=8)
    ids = wp.encode("one two three four five six seven eight nine")
    assert len(ids) == 8
    assert (ids[0], ids[-1]) == (wp.cls, wp.sep)
    with pytest.raises(ValueError, match="not a WordPiece"):
        WordPiece.from_tokenizer_json('{"model": {"type": "BPE", "vocab": {}}}')
    with pytest.raises(ValueError, match="at least 3"):
        WordPiece({"[UNK]": 0, "[CLS]": 1, "[SEP]": 2}, max_tokens=2)
