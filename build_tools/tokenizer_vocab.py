"""tokenizer.json -> the compact binary vocabulary that the Rust tokenizer loads (`.gtok`).

The Rust core (`rust_core/wasm/tokenizer`) reads this instead of tokenizer.json: 33 MB of JSON
would cost the browser a JSON parse and hash maps keyed by strings. Here every piece is an
offset into one UTF-8 blob and every merge is an id triple, so loading is a checksum and a few
integer tables.

Layout (little-endian u32 unless noted), version 1:

    header (64 bytes): magic b"GEATOKEN", version, header size (64), payload length,
        payload CRC-32 (zlib's), vocab size, merge count, added-token count, bos, eos, unk,
        pad (NO_ID when absent), flags, 8 reserved zero bytes
    payload: piece offsets [vocab + 1] | merges [count x (left, right, result)] in rank order |
        added tokens [count x (id, flags)] | piece bytes (UTF-8)

Only what Gemma's tokenizers use is accepted (BPE with byte fallback, " " -> "▁" replacement,
the no-op split on " ", bos template); anything else is refused with the reason, because a
tokenizer that silently ignored a setting would give the model different ids.
"""

import json
import os
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from build_tools.errors import BuildError

MAGIC = b"GEATOKEN"
VERSION = 1
HEADER = struct.Struct("<8s12I8x")
NO_ID = 0xFFFF_FFFF
SPACE = "▁"

FLAG_BYTE_FALLBACK = 1
FLAG_ADD_BOS = 2
FLAG_REPLACE_SPACE = 4
ADDED_SPECIAL = 1


@dataclass(frozen=True)
class Vocabulary:
    pieces: list[str]
    merges: list[tuple[int, int, int]]  # (left, right, result), in rank order
    added: list[tuple[int, bool]]  # (id, special)
    bos: int
    eos: int
    unk: int
    pad: int
    flags: int


def _require(ok: bool, what: str) -> None:
    if not ok:
        raise BuildError(f"tokenizer.json: {what} (the Gemma tokenizer core cannot honour it)")


def _is_space_replace(node: Mapping[str, Any] | None) -> bool:
    return (
        node is not None
        and node.get("type") == "Replace"
        and node.get("pattern") == {"String": " "}
        and node.get("content") == SPACE
    )


def _check_pre_tokenizer(node: Mapping[str, Any] | None, replaces_space: bool) -> None:
    if node is None:
        return
    # Gemma's files split on " " after the normalizer has turned every " " into "▁": a no-op.
    _require(
        replaces_space
        and node.get("type") == "Split"
        and node.get("pattern") == {"String": " "}
        and not node.get("invert", False),
        f"unsupported pre_tokenizer {json.dumps(node)[:120]}",
    )


def _check_decoder(node: Mapping[str, Any] | None) -> None:
    if node is None:
        return
    steps = node.get("decoders") if node.get("type") == "Sequence" else [node]
    kinds = [d.get("type") for d in steps or []]
    allowed = {"Replace", "ByteFallback", "Fuse"}
    _require(set(kinds) <= allowed, f"unsupported decoder steps {kinds}")
    for d in steps or []:
        if d.get("type") == "Replace":
            _require(
                d.get("pattern") == {"String": SPACE} and d.get("content") == " ",
                "decoder Replace other than '▁' -> ' '",
            )


def _bos_template(node: Mapping[str, Any] | None, vocab: Mapping[str, int]) -> int | None:
    """The id that the post-processor puts in front of a single sequence, if any."""
    if node is None:
        return None
    _require(node.get("type") == "TemplateProcessing", f"post_processor {node.get('type')}")
    single = node.get("single", [])
    specials = [s["SpecialToken"]["id"] for s in single if "SpecialToken" in s]
    _require(
        [next(iter(s)) for s in single] in (["Sequence"], ["SpecialToken", "Sequence"]),
        "post_processor template other than [<bos>] $A",
    )
    return vocab[specials[0]] if specials else None


def vocabulary_from_tokenizer_json(doc: Mapping[str, Any]) -> Vocabulary:
    model = doc.get("model") or {}
    _require(model.get("type") == "BPE", f"model type {model.get('type')!r}, not BPE")
    for key in ("dropout", "continuing_subword_prefix", "end_of_word_suffix"):
        _require(model.get(key) is None, f"BPE {key} is set")
    vocab: dict[str, int] = model["vocab"]
    size = len(vocab)
    pieces = [""] * size
    for piece, i in vocab.items():
        _require(0 <= i < size and not pieces[i], f"vocabulary ids are not 0..{size - 1}")
        pieces[i] = piece
    byte_fallback = bool(model.get("byte_fallback"))
    if byte_fallback:
        missing = [b for b in range(256) if f"<0x{b:02X}>" not in vocab]
        _require(not missing, f"byte_fallback without byte pieces {missing[:4]}")

    # Hugging Face keeps the last rank of a duplicated merge; so do we (order is what matters).
    ranked: dict[tuple[int, int], int] = {}
    for rank, merge in enumerate(model.get("merges", [])):
        left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
        result = vocab.get(left + right)
        _require(
            left in vocab and right in vocab and result is not None,
            f"merge {left!r} + {right!r} is not in the vocabulary",
        )
        ranked.pop((vocab[left], vocab[right]), None)
        ranked[(vocab[left], vocab[right])] = rank
    merges = [(a, b, vocab[pieces[a] + pieces[b]]) for (a, b) in ranked]

    normalizer = doc.get("normalizer")
    replaces_space = _is_space_replace(normalizer)
    _require(normalizer is None or replaces_space, f"unsupported normalizer {normalizer}")
    _check_pre_tokenizer(doc.get("pre_tokenizer"), replaces_space)
    _check_decoder(doc.get("decoder"))
    bos_template = _bos_template(doc.get("post_processor"), vocab)

    added: list[tuple[int, bool]] = []
    for tok in doc.get("added_tokens", []):
        _require(
            not (tok.get("lstrip") or tok.get("rstrip") or tok.get("single_word")),
            f"added token {tok['content']!r} uses lstrip/rstrip/single_word",
        )
        _require(
            not tok.get("normalized") or not replaces_space,
            f"added token {tok['content']!r} is matched after normalization",
        )
        _require(
            pieces[tok["id"]] == tok["content"] if tok["id"] < size else False,
            f"added token {tok['content']!r} (id {tok['id']}) is not that vocabulary piece",
        )
        _require(tok["content"] != "", "an added token is empty")
        added.append((tok["id"], bool(tok.get("special"))))

    def special(name: str) -> int:
        return vocab.get(name, NO_ID)

    flags = (
        (FLAG_BYTE_FALLBACK if byte_fallback else 0)
        | (FLAG_ADD_BOS if bos_template is not None else 0)
        | (FLAG_REPLACE_SPACE if replaces_space else 0)
    )
    unk_token = model.get("unk_token")
    return Vocabulary(
        pieces=pieces,
        merges=merges,
        added=added,
        bos=bos_template if bos_template is not None else special("<bos>"),
        eos=special("<eos>"),
        unk=vocab.get(unk_token, NO_ID) if unk_token else NO_ID,
        pad=special("<pad>"),
        flags=flags,
    )


def encode_vocabulary(v: Vocabulary) -> bytes:
    blobs = [p.encode("utf-8") for p in v.pieces]
    offsets = [0]
    for b in blobs:
        offsets.append(offsets[-1] + len(b))
    payload = b"".join(
        (
            struct.pack(f"<{len(offsets)}I", *offsets),
            struct.pack(f"<{3 * len(v.merges)}I", *(x for m in v.merges for x in m)),
            struct.pack(
                f"<{2 * len(v.added)}I",
                *(x for i, sp in v.added for x in (i, ADDED_SPECIAL if sp else 0)),
            ),
            b"".join(blobs),
        )
    )
    header = HEADER.pack(
        MAGIC,
        VERSION,
        HEADER.size,
        len(payload),
        zlib.crc32(payload),
        len(v.pieces),
        len(v.merges),
        len(v.added),
        v.bos,
        v.eos,
        v.unk,
        v.pad,
        v.flags,
    )
    return header + payload


def write_tokenizer_vocab(tokenizer_json: Path, out: Path) -> Path:
    """Write `out` (atomically) from a Hugging Face tokenizer.json."""
    try:
        doc = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BuildError(f"cannot read {tokenizer_json}: {exc}") from exc
    data = encode_vocabulary(vocabulary_from_tokenizer_json(doc))
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    return out
