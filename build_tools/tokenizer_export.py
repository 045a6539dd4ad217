"""Export the SentencePiece tokenizer in a Gemma GGUF's metadata as a Hugging Face tokenizer.json.

A GGUF of a SentencePiece model (`tokenizer.ggml.model = "llama"`) stores the pieces, their scores
and their types, but no merges. This module rebuilds the document that Hugging Face's converter
makes from the original `tokenizer.model`: a BPE model with byte fallback whose merges come from
the vocabulary and the scores, the " " -> "▁" normalizer, the ▁/byte-fallback decoder and a
post-processor adding `<bos>`. For Gemma 3 the result gives the same ids as Google's official
tokenizer.json (its merges list is identical), with two undone llama.cpp conversions:

- llama.cpp writes "▁" as " " in user-defined pieces (the runs of 2..31 spaces): put back;
- llama.cpp scores control and user-defined pieces -1000 where SentencePiece scores them 0, and
  the merge order depends on it: with -1000, runs of spaces split differently (indented code
  gets "▁▁▁" + "▁return" instead of "▁▁▁▁" + "return").

The official file also lists `<image_soft_token>` (id 262144), a multimodal placeholder that the
GGUF's vocabulary of 262,144 pieces does not have: it is left out, so that every id this
tokenizer gives is a row of the model's embedding.
"""

import json
import mmap
import os
import struct
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress
from pathlib import Path
from typing import Any

from gguf import GGUFReader, GGUFValueType, Keys, TokenType

from build_tools.errors import BuildError

# Added tokens that Gemma's own tokenizer.json marks special, beyond the GGUF's bos/eos/unk/pad.
GEMMA_SPECIAL_TOKENS = frozenset(
    {"<start_of_turn>", "<end_of_turn>", "<start_of_image>", "<end_of_image>"}
)
_SPECIAL_ID_KEYS = (
    Keys.Tokenizer.PAD_ID,
    Keys.Tokenizer.EOS_ID,
    Keys.Tokenizer.BOS_ID,
    Keys.Tokenizer.UNK_ID,
    Keys.Tokenizer.EOT_ID,
    Keys.Tokenizer.EOM_ID,
)
# Pieces that are added tokens (matched whole in the text before the model runs).
_ADDED_TYPES = frozenset({TokenType.CONTROL, TokenType.USER_DEFINED, TokenType.UNKNOWN})
_SCORED_ZERO_TYPES = frozenset({TokenType.CONTROL, TokenType.USER_DEFINED})
_SPACE = "▁"
_TOKEN_TYPES = {t.value: t for t in TokenType}

_GGUF_MAGIC = b"GGUF"
_STRUCT_FORMATS = {
    GGUFValueType.UINT8: "B",
    GGUFValueType.INT8: "b",
    GGUFValueType.UINT16: "H",
    GGUFValueType.INT16: "h",
    GGUFValueType.UINT32: "I",
    GGUFValueType.INT32: "i",
    GGUFValueType.FLOAT32: "f",
    GGUFValueType.BOOL: "?",
    GGUFValueType.UINT64: "Q",
    GGUFValueType.INT64: "q",
    GGUFValueType.FLOAT64: "d",
}


@dataclass(frozen=True)
class _Vocab:
    pieces: list[str]
    scores: list[float]
    types: list[TokenType]
    special_ids: dict[str, int]  # metadata key -> id, for those present
    add_bos: bool
    add_eos: bool
    add_space_prefix: bool


def gguf_tokenizer_json(source: GGUFReader | Path | str) -> dict[str, Any]:
    """The tokenizer.json document (as a dict) of the tokenizer in a GGUF (reader or file path)."""
    if isinstance(source, GGUFReader):
        meta = {
            name: field.contents()
            for name, field in source.fields.items()
            if name.startswith("tokenizer.")
        }
        origin = str(getattr(source.data, "filename", None) or "the GGUF")
    else:
        meta = _read_tokenizer_metadata(Path(source))
        origin = str(source)
    return _document(_vocab(meta, origin))


def write_tokenizer_json(gguf_path: Path, out_path: Path) -> Path:
    """Write the GGUF's tokenizer as `out_path` (compact UTF-8 JSON, replaced atomically)."""
    # dumps, not dump: dump writes millions of small chunks, one Python call each
    text = json.dumps(gguf_tokenizer_json(gguf_path), ensure_ascii=False, separators=(",", ":"))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return out_path


# --- the document ------------------------------------------------------------------------------


def _document(vocab: _Vocab) -> dict[str, Any]:
    ids = dict(zip(vocab.pieces, range(len(vocab.pieces)), strict=True))
    special = {vocab.pieces[i] for i in vocab.special_ids.values()} | GEMMA_SPECIAL_TOKENS
    added = [
        {
            "id": i,
            "content": vocab.pieces[i],
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": vocab.pieces[i] in special,
        }
        for i in _indices_of(vocab.types, _ADDED_TYPES)
    ]
    scores = list(vocab.scores)
    for i in _indices_of(vocab.types, _SCORED_ZERO_TYPES):
        scores[i] = 0.0
    unk_id = vocab.special_ids.get(Keys.Tokenizer.UNK_ID)
    replace_space: dict[str, Any] = {
        "type": "Replace",
        "pattern": {"String": " "},
        "content": _SPACE,
    }
    normalizer: dict[str, Any] = replace_space
    decoders: list[dict[str, Any]] = [
        {"type": "Replace", "pattern": {"String": _SPACE}, "content": " "},
        {"type": "ByteFallback"},
        {"type": "Fuse"},
    ]
    if vocab.add_space_prefix:
        normalizer = {
            "type": "Sequence",
            "normalizers": [{"type": "Prepend", "prepend": _SPACE}, replace_space],
        }
        decoders.append({"type": "Strip", "content": " ", "start": 1, "stop": 0})
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": normalizer,
        # As in Gemma's file; a no-op after the normalizer (no " " is left to split on).
        "pre_tokenizer": {
            "type": "Split",
            "pattern": {"String": " "},
            "behavior": "MergedWithPrevious",
            "invert": False,
        },
        "post_processor": _post_processor(vocab),
        "decoder": {"type": "Sequence", "decoders": decoders},
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None if unk_id is None else vocab.pieces[unk_id],
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": True,
            "byte_fallback": True,
            "ignore_merges": False,
            "vocab": ids,
            "merges": [list(pair) for pair in _merges(vocab.pieces, scores, ids)],
        },
    }


def _merges(
    pieces: Sequence[str], scores: Sequence[float], ids: Mapping[str, int]
) -> list[tuple[str, str]]:
    """BPE merges from a SentencePiece vocabulary, ordered as Hugging Face's converter does.

    Every split of a piece into two pieces is a merge; merges are ordered by the score of the
    piece they make (highest first), then the longer left part first, then the longer right part,
    ties keeping the order of the made piece's id and then of the parts' ids.
    """
    found: list[tuple[str, str, float]] = []
    for piece, score in zip(pieces, scores, strict=True):
        local = [
            (piece[:cut], piece[cut:], score)
            for cut in range(1, len(piece))
            if piece[:cut] in ids and piece[cut:] in ids
        ]
        local.sort(key=lambda m: (ids[m[0]], ids[m[1]]))
        found.extend(local)
    found.sort(key=lambda m: (m[2], len(m[0]), len(m[1])), reverse=True)
    return [(left, right) for left, right, _ in found]


def _post_processor(vocab: _Vocab) -> dict[str, Any]:
    """`<bos>` before each sequence and/or `<eos>` after it, as the GGUF's add_* flags say."""
    bos, eos = (
        [vocab.special_ids[key]] if wanted and key in vocab.special_ids else []
        for key, wanted in (
            (Keys.Tokenizer.BOS_ID, vocab.add_bos),
            (Keys.Tokenizer.EOS_ID, vocab.add_eos),
        )
    )

    def sequence(name: str, type_id: int) -> list[dict[str, Any]]:
        def special(token_id: int) -> dict[str, Any]:
            return {"SpecialToken": {"id": vocab.pieces[token_id], "type_id": type_id}}

        inner = {"Sequence": {"id": name, "type_id": type_id}}
        return [*map(special, bos), inner, *map(special, eos)]

    return {
        "type": "TemplateProcessing",
        "single": sequence("A", 0),
        "pair": [*sequence("A", 0), *sequence("B", 1)],
        "special_tokens": {
            vocab.pieces[i]: {"id": vocab.pieces[i], "ids": [i], "tokens": [vocab.pieces[i]]}
            for i in bos + eos
        },
    }


# --- reading and checking the metadata ---------------------------------------------------------


def _vocab(meta: Mapping[str, Any], origin: str) -> _Vocab:
    model = meta.get(Keys.Tokenizer.MODEL)
    if model is None:
        raise BuildError(f"{origin} carries no tokenizer ({Keys.Tokenizer.MODEL} is missing)")
    if model != "llama":
        raise BuildError(
            f"{origin}: {Keys.Tokenizer.MODEL} is {model!r}; only SentencePiece tokenizers "
            "('llama', as in Gemma GGUFs) can be exported"
        )
    pieces = _array(meta, Keys.Tokenizer.LIST, {str}, origin)
    if not pieces:
        raise BuildError(f"{origin}: {Keys.Tokenizer.LIST} is empty")
    scores = list(map(float, _array(meta, Keys.Tokenizer.SCORES, {int, float}, origin)))
    raw_types = _array(meta, Keys.Tokenizer.TOKEN_TYPE, {int}, origin)
    for key, values in ((Keys.Tokenizer.SCORES, scores), (Keys.Tokenizer.TOKEN_TYPE, raw_types)):
        if len(values) != len(pieces):
            raise BuildError(
                f"{origin}: {key} has {len(values)} entries but {Keys.Tokenizer.LIST} has "
                f"{len(pieces)}; the tokenizer metadata is inconsistent"
            )
    unknown = set(raw_types) - _TOKEN_TYPES.keys()
    if unknown:
        bad = min(map(raw_types.index, unknown))
        raise BuildError(f"{origin}: token {bad} has an unknown token type {raw_types[bad]}")
    types = list(map(_TOKEN_TYPES.__getitem__, raw_types))
    # llama.cpp writes SentencePiece's "▁" as " " in user-defined pieces: undo it.
    pieces = list(pieces)
    for i in _indices_of(types, {TokenType.USER_DEFINED}):
        pieces[i] = pieces[i].replace(" ", _SPACE)
    if len(set(pieces)) != len(pieces):
        dup = next(piece for piece, n in Counter(pieces).items() if n > 1)
        raise BuildError(f"{origin}: the piece {dup!r} appears twice in {Keys.Tokenizer.LIST}")
    special_ids: dict[str, int] = {}
    for key in _SPECIAL_ID_KEYS:
        value = meta.get(key)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < len(pieces):
            raise BuildError(f"{origin}: {key} is {value!r}, not a token id below {len(pieces)}")
        special_ids[key] = value
    return _Vocab(
        pieces=pieces,
        scores=scores,
        types=types,
        special_ids=special_ids,
        add_bos=_flag(meta, Keys.Tokenizer.ADD_BOS, True, origin),
        add_eos=_flag(meta, Keys.Tokenizer.ADD_EOS, False, origin),
        add_space_prefix=_flag(meta, Keys.Tokenizer.ADD_PREFIX, False, origin),
    )


def _indices_of(types: Sequence[TokenType], wanted: Collection[TokenType]) -> list[int]:
    return list(compress(range(len(types)), map(wanted.__contains__, types)))


def _array(meta: Mapping[str, Any], key: str, kinds: set[type], origin: str) -> list[Any]:
    """The array `key`, its items all of exactly the given types (bool is not an int here)."""
    value = meta.get(key)
    if value is None:
        raise BuildError(f"{origin} has no {key}: its tokenizer metadata is incomplete")
    if not isinstance(value, list) or not set(map(type, value)) <= kinds:
        raise BuildError(f"{origin}: {key} is not an array of the expected type")
    return value


def _flag(meta: Mapping[str, Any], key: str, default: bool, origin: str) -> bool:
    value = meta.get(key, default)
    if not isinstance(value, bool):
        raise BuildError(f"{origin}: {key} is {value!r}, not a boolean")
    return value


def _read_tokenizer_metadata(path: Path) -> dict[str, Any]:
    """The `tokenizer.*` key/value pairs of a GGUF file.

    A direct read of the header: `GGUFReader` builds an array view per string, which takes
    seconds for a 262,144-piece vocabulary; this takes a fraction of one.
    """
    if not path.is_file():
        raise BuildError(f"GGUF file not found: {path}")
    try:
        with path.open("rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            return _parse_header(buf, path)
    except (struct.error, ValueError, OverflowError, UnicodeDecodeError) as exc:
        raise BuildError(
            f"{path} is not a readable GGUF file (corrupt or truncated?): {exc}"
        ) from exc


def _parse_header(buf: mmap.mmap, path: Path) -> dict[str, Any]:
    if buf[:4] != _GGUF_MAGIC:
        raise BuildError(f"{path} is not a GGUF file (its first bytes are {buf[:4]!r})")
    (version,) = struct.unpack_from("<I", buf, 4)
    order = "<" if version & 0xFFFF else ">"  # a big-endian file reads as version << 16
    (version,) = struct.unpack_from(order + "I", buf, 4)
    if version not in (2, 3):
        raise BuildError(f"{path}: GGUF version {version} is not supported (2 and 3 are)")
    _tensor_count, kv_count = struct.unpack_from(order + "QQ", buf, 8)
    pos = 24

    def read_string() -> str:
        nonlocal pos
        (size,) = struct.unpack_from(order + "Q", buf, pos)
        end = pos + 8 + size
        if end > len(buf):
            raise ValueError(f"a string runs past the end of the file at byte {pos}")
        text = buf[pos + 8 : end].decode("utf-8")
        pos = end
        return text

    def read_value(kind: int) -> Any:
        nonlocal pos
        if kind == GGUFValueType.STRING:
            return read_string()
        if kind == GGUFValueType.ARRAY:
            item_kind, count = struct.unpack_from(order + "IQ", buf, pos)
            pos += 12
            if item_kind in _STRUCT_FORMATS:
                fmt = f"{order}{count}{_STRUCT_FORMATS[GGUFValueType(item_kind)]}"
                values = list(struct.unpack_from(fmt, buf, pos))
                pos += struct.calcsize(fmt)
                return values
            read: Callable[[], Any] = (
                read_string
                if item_kind == GGUFValueType.STRING
                else (lambda: read_value(item_kind))
            )
            return [read() for _ in range(count)]
        if kind not in _STRUCT_FORMATS:
            raise ValueError(f"unknown value type {kind} at byte {pos}")
        fmt = order + _STRUCT_FORMATS[GGUFValueType(kind)]
        (value,) = struct.unpack_from(fmt, buf, pos)
        pos += struct.calcsize(fmt)
        return value

    meta: dict[str, Any] = {}
    for _ in range(kv_count):
        key = read_string()
        (kind,) = struct.unpack_from(order + "I", buf, pos)
        pos += 4
        value = read_value(kind)
        if key.startswith("tokenizer."):
            meta[key] = value
    return meta
