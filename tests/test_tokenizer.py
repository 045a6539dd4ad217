"""The Rust tokenizer (native extension `gea_tokenizer`) against Hugging Face `tokenizers`.

Same ids on every document of the 5 MB corpus (build_tools/tokenizer_corpus.py) with and without
special-token parsing, same decoded text, round trips, streaming, fuzzing, and clear errors for
bad vocabulary files. The wasm build of the same core is checked in test_tokenizer_wasm.py.
"""

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from gea_tokenizer import StreamDecoder
from gea_tokenizer import Tokenizer as RustTokenizer
from tokenizers import Tokenizer as HFTokenizer

from build_tools.errors import BuildError
from build_tools.model_folder import open_model
from build_tools.tokenizer_corpus import corpus_documents
from build_tools.tokenizer_vocab import (
    encode_vocabulary,
    vocabulary_from_tokenizer_json,
    write_tokenizer_vocab,
)

FUZZ_STRINGS = 20_000
FUZZ_FILES = 2_000


@pytest.fixture(scope="module")
def model_dir(default_model: Path) -> Path:
    return default_model


@pytest.fixture(scope="module")
def rust(model_dir: Path) -> RustTokenizer:
    return RustTokenizer.from_bytes(open_model(model_dir.name).tokenizer_vocab.read_bytes())


@pytest.fixture(scope="module")
def hf(model_dir: Path) -> HFTokenizer:
    return HFTokenizer.from_file(str(model_dir / "tokenizer.json"))


@pytest.fixture(scope="module")
def corpus(model_dir: Path) -> list[str]:
    docs = corpus_documents(vocab_path=model_dir / "tokenizer.json")
    texts = [text for _, text in docs]
    assert sum(len(t.encode()) for t in texts) >= 5_000_000
    return texts


def hf_ids(hf: HFTokenizer, texts: list[str], allow_special: bool) -> list[list[int]]:
    hf.encode_special_tokens = not allow_special
    try:
        return [e.ids for e in hf.encode_batch(texts, add_special_tokens=True)]
    finally:
        hf.encode_special_tokens = False


def mismatches(want: list[list[int]], got: list[list[int]], texts: list[str]) -> list[str]:
    return [repr(t[:80]) for w, g, t in zip(want, got, texts, strict=True) if w != g]


@pytest.mark.parametrize("allow_special", [False, True])
def test_same_ids_as_hugging_face_on_the_whole_corpus(
    rust: RustTokenizer, hf: HFTokenizer, corpus: list[str], allow_special: bool
) -> None:
    want = hf_ids(hf, corpus, allow_special)
    got = rust.encode_batch(corpus, add_bos=True, allow_special=allow_special)
    assert mismatches(want, got, corpus) == []
    assert [rust.count(t, allow_special=allow_special) for t in corpus] == [len(w) for w in want]


def test_same_text_as_hugging_face_decode(
    rust: RustTokenizer, hf: HFTokenizer, corpus: list[str]
) -> None:
    ids = hf_ids(hf, corpus, allow_special=True)
    for skip in (False, True):
        want = hf.decode_batch(ids, skip_special_tokens=skip)
        got = [rust.decode(i, skip_special=skip) for i in ids]
        bad = [t[:60] for w, g, t in zip(want, got, corpus, strict=True) if w != g]
        assert bad == []


def test_decode_of_encode_is_the_text(rust: RustTokenizer, corpus: list[str]) -> None:
    # A literal "▁" in the input decodes as " " (Hugging Face does the same): left out.
    texts = [t for t in corpus if "▁" not in t]
    assert len(texts) > 4000
    for text in texts:
        assert rust.decode(rust.encode(text, add_bos=False)) == text


def test_special_tokens_only_where_allowed(rust: RustTokenizer) -> None:
    eot = rust.added_token_id("<end_of_turn>")
    assert eot == 106
    assert rust.is_special(106)
    typed = "I wrote <end_of_turn> and <start_of_turn>model in my message"
    assert not {105, 106} & set(rust.encode(typed))
    assert rust.decode(rust.encode(typed), skip_special=True) == typed
    prompt = "<start_of_turn>user\nHi<end_of_turn>\n"
    assert rust.encode(prompt, add_bos=False, allow_special=True)[:2] == [105, 2364]
    assert rust.encode("Hello world") == [2, 9259, 1902]
    assert rust.encode("Hello world", add_bos=False) == [9259, 1902]
    assert (rust.bos_id, rust.eos_id, rust.pad_id, rust.vocab_size) == (2, 1, 0, 262_144)


def test_streaming_pieces_join_to_decode_and_never_split_a_character(
    rust: RustTokenizer, corpus: list[str]
) -> None:
    rng = random.Random(7)
    for text in [*rng.sample(corpus, 300), "😀 漢字 \u0627\u0644 é", "\ufffd\x00"]:
        ids = rust.encode(text)
        stream = StreamDecoder(rust)
        pieces = [stream.push(i) for i in ids] + [stream.finish()]
        assert "".join(pieces) == rust.decode(ids)
        if "\ufffd" not in text:
            assert not any("\ufffd" in p for p in pieces)
    # A character outside the vocabulary arrives as four byte tokens: nothing is shown until
    # the run of bytes ends, then the whole character.
    rare = chr(0xF0000)
    ids = rust.encode(rare + "a", add_bos=False)
    assert len(ids) == 5
    stream = StreamDecoder(rust)
    assert [stream.push(i) for i in ids] == ["", "", "", "", rare + "a"]
    assert stream.finish() == ""


def _random_text(rng: random.Random) -> str:
    kind = rng.randrange(4)
    n = rng.randrange(0, 300)
    if kind == 0:  # arbitrary bytes, as a browser would turn them into text
        return rng.randbytes(n).decode("utf-8", "replace")
    if kind == 1:  # code points from every plane (no lone surrogates: Python str -> UTF-8)
        return "".join(
            chr(c) for c in (rng.randrange(0x110000) for _ in range(n)) if not 0xD800 <= c < 0xE000
        )
    alphabet = " \t\n\r▁<>/_abcXYZ01é漢😀\u200d\ufe0f\u0627<end_of_turn><unused7>"
    return "".join(rng.choice(alphabet) for _ in range(n))


def test_fuzzed_text_same_ids_as_hugging_face(rust: RustTokenizer, hf: HFTokenizer) -> None:
    rng = random.Random(2026)
    texts = [_random_text(rng) for _ in range(FUZZ_STRINGS)]
    for allow in (False, True):
        got = rust.encode_batch(texts, allow_special=allow)
        assert mismatches(hf_ids(hf, texts, allow), got, texts) == []


def test_lone_surrogates_are_refused_clearly(rust: RustTokenizer) -> None:
    with pytest.raises(UnicodeEncodeError):
        rust.encode("a\ud800b")


def test_bad_vocabulary_files_are_clear_errors(model_dir: Path) -> None:
    data = (model_dir / "tokenizer.gtok").read_bytes()
    cases: dict[str, bytes] = {
        "shorter than": data[:20],
        "truncated": data[:-1],
        "magic": b"GGUF" + data[4:],
        "version 2": data[:8] + (2).to_bytes(4, "little") + data[12:],
        "checksum": data[:1000] + bytes([data[1000] ^ 1]) + data[1001:],
    }
    for expected, bad in cases.items():
        with pytest.raises(ValueError, match=expected):
            RustTokenizer.from_bytes(bad)
    rng = random.Random(1)
    for _ in range(FUZZ_FILES):
        junk = bytearray(data[: rng.randrange(64, 4096)])
        for _ in range(rng.randrange(1, 8)):
            junk[rng.randrange(len(junk))] = rng.randrange(256)
        with pytest.raises(ValueError, match="tokenizer vocabulary"):
            RustTokenizer.from_bytes(bytes(junk))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        RustTokenizer.from_bytes(data).decode([1, 262_144])


def _doc(model_dir: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((model_dir / "tokenizer.json").read_text())
    return doc


REFUSALS: dict[str, Callable[[dict[str, Any]], None]] = {
    "not BPE": lambda d: d["model"].update(type="Unigram"),
    "normalizer": lambda d: d.update(normalizer={"type": "Lowercase"}),
    "pre_tokenizer": lambda d: d.update(pre_tokenizer={"type": "Whitespace"}),
    "lstrip": lambda d: d["added_tokens"][5].update(lstrip=True),
    "not in the vocabulary": lambda d: d["model"]["merges"].insert(0, ["▁zz", "qq"]),
    "decoder": lambda d: d.update(decoder={"type": "Metaspace"}),
}


@pytest.mark.parametrize("reason", sorted(REFUSALS))
def test_unsupported_tokenizer_json_is_refused(model_dir: Path, reason: str) -> None:
    doc = _doc(model_dir)
    REFUSALS[reason](doc)
    with pytest.raises(BuildError, match=reason):
        vocabulary_from_tokenizer_json(doc)


def test_written_vocabulary_is_the_built_one(model_dir: Path, tmp_path: Path) -> None:
    out = write_tokenizer_vocab(model_dir / "tokenizer.json", tmp_path / "t.gtok")
    assert out.read_bytes() == (model_dir / "tokenizer.gtok").read_bytes()
    assert encode_vocabulary(vocabulary_from_tokenizer_json(_doc(model_dir))) == out.read_bytes()
    with pytest.raises(BuildError, match="cannot read"):
        write_tokenizer_vocab(tmp_path / "missing.json", tmp_path / "x.gtok")
