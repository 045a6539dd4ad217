"""The wasm build of the Rust tokenizer (web/build/wasm/tokenizer.wasm, run in Node by
bench/tokenizer_ids.mjs) against Hugging Face `tokenizers`: the same ids on every document of the
5 MB corpus, with and without special-token parsing, and the same decoded text on a sample.
The native build of the same core is checked in test_tokenizer.py; the wasm API in
tests/js/tokenizer.test.mjs.
"""

import json
import subprocess
from pathlib import Path

import pytest
from tokenizers import Tokenizer as HFTokenizer

from build_tools.model_folder import open_model
from build_tools.paths import ROOT, WEB_BUILD
from build_tools.tokenizer_corpus import corpus_documents, write_corpus_jsonl
from tests.test_tokenizer import hf_ids

SCRIPT = ROOT / "bench" / "tokenizer_ids.mjs"
WASM = WEB_BUILD / "wasm" / "tokenizer_bg.wasm"
DECODE_SAMPLE_EVERY = 10  # documents between two checked by decode


@pytest.fixture(scope="module")
def model_dir(default_model: Path) -> Path:
    assert WASM.is_file(), f"{WASM} is missing: run `python -m build_tools build`"
    return default_model


@pytest.fixture(scope="module")
def vocab(model_dir: Path) -> Path:
    return open_model(model_dir.name).tokenizer_vocab


@pytest.fixture(scope="module")
def hf(model_dir: Path) -> HFTokenizer:
    return HFTokenizer.from_file(str(model_dir / "tokenizer.json"))


@pytest.fixture(scope="module")
def corpus(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    docs = corpus_documents(vocab_path=model_dir / "tokenizer.json")
    path = tmp_path_factory.mktemp("corpus") / "corpus.jsonl"
    write_corpus_jsonl(path, docs)
    return path, [text for _, text in docs]


def node(vocab: Path, *args: str | Path) -> None:
    proc = subprocess.run(
        ["node", SCRIPT, *args, "--vocab", vocab],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def wasm_ids(vocab: Path, corpus: Path, out: Path, allow_special: bool) -> list[list[int]]:
    node(vocab, corpus, out, *(["--allow-special"] if allow_special else []))
    ids: list[list[int]] = json.loads(out.read_text())
    return ids


@pytest.mark.parametrize("allow_special", [False, True])
def test_same_ids_as_hugging_face_on_the_whole_corpus(
    vocab: Path,
    hf: HFTokenizer,
    corpus: tuple[Path, list[str]],
    tmp_path: Path,
    allow_special: bool,
) -> None:
    path, texts = corpus
    got = wasm_ids(vocab, path, tmp_path / "ids.json", allow_special)
    want = hf_ids(hf, texts, allow_special)
    assert len(got) == len(texts)
    bad = [repr(t[:80]) for w, g, t in zip(want, got, texts, strict=True) if w != g]
    assert bad == [], f"{len(bad)} of {len(texts)} documents differ"


@pytest.mark.parametrize("skip_special", [False, True])
def test_same_text_as_hugging_face_decode(
    vocab: Path,
    hf: HFTokenizer,
    corpus: tuple[Path, list[str]],
    tmp_path: Path,
    skip_special: bool,
) -> None:
    texts = corpus[1][::DECODE_SAMPLE_EVERY]
    ids = hf_ids(hf, texts, allow_special=True)
    (tmp_path / "ids.json").write_text(json.dumps(ids))
    flags = ["--skip-special"] if skip_special else []
    node(vocab, "--decode", tmp_path / "ids.json", tmp_path / "texts.json", *flags)
    got: list[str] = json.loads((tmp_path / "texts.json").read_text())
    want = hf.decode_batch(ids, skip_special_tokens=skip_special)
    bad = [repr(t[:80]) for w, g, t in zip(want, got, texts, strict=True) if w != g]
    assert bad == [], f"{len(bad)} of {len(texts)} documents decode differently"
