"""A deterministic text corpus for checking our Rust Gemma tokenizer against Hugging Face's.

Both tokenizers must give the same ids for every string, so the corpus aims at the places where
two BPE implementations tend to disagree, not at natural text statistics. Nothing is downloaded:
documents come from files every set-up checkout has (the Python standard library, the repo's
docs, Debian's /usr/share/doc, the Gemma vocabulary itself) and from a seeded ``random.Random``,
so the same machine always builds the same corpus.

Categories and why each is there:

- ``prose``: the repo's Markdown docs and Debian's plain-text docs; the common case, and the bulk
  of merges an English chat actually exercises.
- ``code``: standard-library ``.py`` sources; indentation, operators and identifiers hit the
  whitespace pieces and the long ASCII merges.
- ``whitespace``: runs of 1..80 spaces, tabs, newlines, ``\\r\\n``, trailing spaces; Gemma turns
  spaces into ``▁`` and has added tokens for runs of up to 31 ``▁`` and newlines, so runs on both
  sides of that limit matter.
- ``latin_accents``: accented Latin from the vocabulary in NFC and NFD; neither tokenizer
  normalizes, so both forms must go through byte for byte.
- ``cjk``, ``rtl``, ``multiscript``: vocabulary pieces of Han/kana/Hangul, Arabic/Hebrew and
  Cyrillic/Greek/Devanagari/Thai/... joined into pseudo-sentences; multi-byte UTF-8 and scripts
  without spaces between words.
- ``emoji``: vocabulary emoji plus ZWJ sequences, skin tones, flags, keycaps and tag sequences;
  characters outside the BMP and rare ones that need the byte fallback.
- ``control``: C0/C1 controls, DEL, zero-width space and BOM; bytes a tokenizer may strip or
  mishandle, and ``\\x00`` which a C-string path would truncate at.
- ``replacement``: U+FFFD runs; a JS string with lone surrogates reaches the tokenizer as these
  after UTF-8 encoding.
- ``long_words``: words of thousands of characters (``'a' * n``, URLs, base64, digits); BPE
  merge order on long pieces and any length limit or cache that differs between implementations.
- ``special_tokens``: text containing ``<end_of_turn>``, ``<bos>``, ``<unused12>``, ``<table>``
  and near misses; added tokens must be split out before BPE exactly as ``tokenizers`` does.
- ``sp_marker``: literal ``▁`` characters in the input, indistinguishable from a space after
  normalization.
- ``mixed``: fragments of all of the above in one document, so category boundaries meet.
- ``empty``: the empty string.
"""

import base64
import gzip
import json
import os
import random
import sysconfig
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from build_tools.errors import BuildError
from build_tools.paths import MODELS_CACHE, ROOT

CATEGORIES: tuple[str, ...] = (
    "prose",
    "code",
    "whitespace",
    "latin_accents",
    "cjk",
    "rtl",
    "multiscript",
    "emoji",
    "control",
    "replacement",
    "long_words",
    "special_tokens",
    "sp_marker",
    "mixed",
    "empty",
)

# Shares of min_bytes; code fills whatever the others leave, because it is the category with the
# most real text available and the least risk of running out.
_SHARES: dict[str, float] = {
    "prose": 0.14,
    "whitespace": 0.05,
    "latin_accents": 0.07,
    "cjk": 0.07,
    "rtl": 0.06,
    "multiscript": 0.07,
    "emoji": 0.05,
    "control": 0.03,
    "replacement": 0.02,
    "long_words": 0.06,
    "special_tokens": 0.05,
    "sp_marker": 0.02,
    "mixed": 0.06,
}

# Whole files can be hundreds of KB; capping keeps documents varied and any mismatch easy to show.
_MAX_FILE_CHARS = 40_000

_SPM = "▁"

_Ranges = tuple[tuple[int, int], ...]

# Scripts grouped per category; pieces are joined only within one script so sentences look like
# that language's text, which is what the vocabulary's merges were learned on.
_SCRIPTS: dict[str, dict[str, _Ranges]] = {
    "cjk": {
        "han": ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF), (0x3000, 0x303F)),
        "kana": ((0x3040, 0x30FF), (0x4E00, 0x9FFF), (0x3000, 0x303F)),
        "hangul": ((0xAC00, 0xD7AF), (0x1100, 0x11FF), (0x3130, 0x318F)),
    },
    "rtl": {
        "arabic": ((0x0600, 0x06FF), (0x0750, 0x077F), (0xFB50, 0xFDFF), (0xFE70, 0xFEFC)),
        "hebrew": ((0x0590, 0x05FF), (0xFB1D, 0xFB4F)),
    },
    "multiscript": {
        "cyrillic": ((0x0400, 0x052F),),
        "greek": ((0x0370, 0x03FF), (0x1F00, 0x1FFF)),
        "devanagari": ((0x0900, 0x097F),),
        "bengali": ((0x0980, 0x09FF),),
        "tamil": ((0x0B80, 0x0BFF),),
        "thai": ((0x0E00, 0x0E7F),),
        "georgian": ((0x10A0, 0x10FF),),
        "armenian": ((0x0530, 0x058F),),
    },
    "latin_accents": {
        "latin": ((0x41, 0x5A), (0x61, 0x7A), (0xC0, 0xD6), (0xD8, 0xF6), (0xF8, 0x24F)),
    },
    "emoji": {
        "emoji": ((0x1F300, 0x1FAFF), (0x2600, 0x27BF), (0xFE0F, 0xFE0F), (0x200D, 0x200D)),
    },
}


def default_vocab_path() -> Path:
    from build_tools.default_model import MODEL_ID

    return MODELS_CACHE / MODEL_ID / "tokenizer.json"


def _in_ranges(code: int, ranges: _Ranges) -> bool:
    return any(lo <= code <= hi for lo, hi in ranges)


def _load_tokenizer_json(path: Path) -> tuple[list[str], list[str]]:
    """Vocabulary pieces (in id order) and added-token contents."""
    if not path.is_file():
        raise BuildError(
            f"the tokenizer corpus needs the Gemma vocabulary at {path}: "
            "run `python -m build_tools model default` (or pass the path of a tokenizer.json)"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        vocab = data["model"]["vocab"]
        added = [str(t["content"]) for t in data.get("added_tokens", [])]
    except (ValueError, KeyError, TypeError) as exc:
        raise BuildError(f"{path} is not a BPE tokenizer.json: {exc}") from exc
    if not isinstance(vocab, dict):
        raise BuildError(f"{path}: model.vocab is not a piece -> id mapping")
    pieces = sorted(vocab, key=lambda piece: (vocab[piece], piece))
    return pieces, added


def _pieces_by_script(pieces: list[str]) -> dict[str, list[str]]:
    """Every piece whose characters (besides ▁) all belong to one script."""
    scripts = [(name, ranges) for group in _SCRIPTS.values() for name, ranges in group.items()]
    out: dict[str, list[str]] = {name: [] for name, _ in scripts}
    # Per-character memo: classifying 262k pieces char by char is the slow part of the build.
    char_scripts: dict[str, frozenset[str]] = {}
    for piece in pieces:
        body = piece.replace(_SPM, "")
        if not body:
            continue
        common: frozenset[str] | None = None
        for ch in body:
            found = char_scripts.get(ch)
            if found is None:
                code = ord(ch)
                found = frozenset(n for n, r in scripts if _in_ranges(code, r))
                char_scripts[ch] = found
            common = found if common is None else common & found
            if not common:
                break
        if not common:
            continue
        for name in common:
            # Plain ASCII words are prose's job; latin_accents wants pieces with diacritics.
            if name == "latin" and body.isascii():
                continue
            out[name].append(piece)
    return out


def _sentence(rng: random.Random, pool: list[str], n_pieces: int) -> str:
    text = "".join(rng.choice(pool) for _ in range(n_pieces)).replace(_SPM, " ")
    return text.strip()


def _paragraph(rng: random.Random, pool: list[str], end: str = ". ") -> str:
    return end.join(_sentence(rng, pool, rng.randint(3, 25)) for _ in range(rng.randint(1, 12)))


def _readable_text(path: Path) -> str | None:
    try:
        raw = path.read_bytes()
        if path.suffix == ".gz":
            raw = gzip.decompress(raw)
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile):
        return None
    if "\x00" in text:
        return None
    return text[:_MAX_FILE_CHARS]


def _stdlib_sources() -> list[Path]:
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    # Installed packages differ between machines; only the interpreter's own sources are stable.
    skip = {"site-packages", "dist-packages", "__pycache__"}
    return sorted(
        p
        for p in stdlib.rglob("*.py")
        if not skip.intersection(p.relative_to(stdlib).parts) and p.is_file()
    )


def _prose_files() -> list[Path]:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    doc = Path("/usr/share/doc")
    if doc.is_dir():
        for p in sorted(doc.rglob("*")):
            name = p.name
            plain = name.endswith((".txt", ".md", ".rst")) or name in ("copyright", "README")
            if plain or (name.startswith("changelog") and name.endswith(".gz")):
                files.append(p)
    return [p for p in files if p.is_file()]


def _from_files(files: list[Path], rng: random.Random) -> Iterator[str]:
    order = list(files)
    rng.shuffle(order)
    for path in order:
        text = _readable_text(path)
        if text and text.strip():
            yield text


def _whitespace_doc(rng: random.Random, words: list[str]) -> str:
    runs = [
        lambda: " " * rng.randint(1, 80),
        lambda: "\t" * rng.randint(1, 12),
        lambda: "\n" * rng.randint(1, 40),
        lambda: "\r\n" * rng.randint(1, 6),
        lambda: "".join(rng.choice(" \t\n\r\x0b\x0c") for _ in range(rng.randint(1, 30))),
        lambda: " " * rng.randint(1, 8) + "\n",
        lambda: "\u00a0" * rng.randint(1, 4) + "\u3000" * rng.randint(0, 3),
    ]
    parts: list[str] = []
    if rng.random() < 0.5:
        parts.append(rng.choice(runs)())
    for _ in range(rng.randint(5, 60)):
        parts.append(rng.choice(words).strip())
        parts.append(rng.choice(runs)() if rng.random() < 0.6 else " ")
    return "".join(parts)


def _whitespace_fixed() -> list[str]:
    docs = ["", " ", "\n", "\t", "\r\n", "  ", " \n ", "x ", " x", "x\n", "\n\nx\n\n"]
    docs += [" " * n for n in range(1, 81)]
    docs += ["a" + " " * n + "b" for n in range(1, 81)]
    docs += ["\n" * n for n in (1, 2, 30, 31, 32, 33, 64)]
    docs += ["a" + "\n" * n + "b" for n in (1, 2, 30, 31, 32, 33, 64)]
    docs += ["\t" * n for n in (1, 2, 3, 8, 16)]
    docs += ["line  \r\nnext \t\r\n\r\n  end   ", "trailing" + " " * 33, " " * 33 + "leading"]
    return docs


def _accents_doc(rng: random.Random, pool: list[str]) -> str:
    text = _paragraph(rng, pool)
    nfc = unicodedata.normalize("NFC", text)
    nfd = unicodedata.normalize("NFD", text)
    return rng.choice((nfc, nfd, nfc + "\n" + nfd))


_SKIN_TONES = [chr(c) for c in range(0x1F3FB, 0x1F400)]
_ZWJ_SEQUENCES = [
    "👨‍👩‍👧‍👦",
    "👩‍💻",
    "🧑🏽‍🚀",
    "🏳️‍🌈",
    "🏳️‍⚧️",
    "👁️‍🗨️",
    "❤️‍🔥",
    "🐻‍❄️",
    "👩🏿‍🤝‍👨🏻",
    "🧔‍♀️",
    "🏴‍☠️",
    "🫱🏼‍🫲🏿",
]
_FLAGS = ["US", "FR", "JP", "DE", "IN", "BR", "IL", "SA", "UA", "CN", "KR", "ZA", "EU", "UN", "XX"]
_TAG_FLAGS = ["🏴󠁧󠁢󠁥󠁮󠁧󠁿", "🏴󠁧󠁢󠁳󠁣󠁴󠁿", "🏴󠁧󠁢󠁷󠁬󠁳󠁿"]
_SKIN_BASES = ["👍", "👋", "🙏", "💪", "🧑", "👩", "🤷", "🏃"]


def _flag(code: str) -> str:
    return "".join(chr(0x1F1E6 + ord(c) - ord("A")) for c in code)


def _emoji_doc(rng: random.Random, pool: list[str], words: list[str]) -> str:
    makers: list[Callable[[], str]] = [
        lambda: rng.choice(pool).replace(_SPM, " "),
        lambda: rng.choice(_ZWJ_SEQUENCES),
        lambda: rng.choice(_SKIN_BASES) + rng.choice(_SKIN_TONES),
        lambda: _flag(rng.choice(_FLAGS)),
        lambda: rng.choice(_TAG_FLAGS),
        lambda: rng.choice("0123456789#*") + "\ufe0f\u20e3",
        lambda: rng.choice(("☺", "❤", "✌", "☀")) + rng.choice(("", "\ufe0f", "\ufe0e")),
        lambda: chr(rng.randint(0x1F300, 0x1FAFF)),
        lambda: rng.choice(words),
    ]
    seps = ["", "", " ", "  ", "\n"]
    return "".join(rng.choice(makers)() + rng.choice(seps) for _ in range(rng.randint(3, 80)))


_CONTROLS = [chr(c) for c in range(0x20)] + ["\x7f"] + [chr(c) for c in range(0x80, 0xA0)]
_INVISIBLES = ["\u200b", "\ufeff", "\u200c", "\u200d", "\u200e", "\u200f", "\u2028", "\u00ad"]


def _control_doc(rng: random.Random, words: list[str]) -> str:
    specials = _CONTROLS + _INVISIBLES
    parts: list[str] = []
    if rng.random() < 0.3:
        parts.append("\ufeff")
    for _ in range(rng.randint(3, 60)):
        word = rng.choice(words)
        if rng.random() < 0.5:
            cut = rng.randint(0, len(word))
            word = word[:cut] + rng.choice(specials) + word[cut:]
        parts.append(word)
        parts.append("".join(rng.choice(specials) for _ in range(rng.randint(0, 4))))
    return "".join(parts)


def _replacement_doc(rng: random.Random, words: list[str]) -> str:
    parts: list[str] = []
    for _ in range(rng.randint(1, 30)):
        parts.append(rng.choice(words) if rng.random() < 0.7 else "")
        parts.append("\ufffd" * rng.choice((1, 1, 2, 3, rng.randint(1, 200))))
    return rng.choice(("", " ")).join(parts)


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def _long_word(rng: random.Random, pool: list[str]) -> str:
    n = rng.choice((512, 1000, 2048, 4096, 5001, 8192, 10_000, rng.randint(100, 12_000)))
    kind = rng.randrange(9)
    if kind == 0:
        return rng.choice("aAbz0.-=_x") * n
    if kind == 1:
        path = "/".join(rng.choice(pool).strip().replace(" ", "-") for _ in range(n // 40 + 1))
        query = "&".join(f"k{i}={rng.getrandbits(64):x}" for i in range(rng.randint(1, 60)))
        return f"https://example.com/{path}?{query}#frag"
    if kind == 2:
        return base64.b64encode(rng.randbytes(n * 3 // 4)).decode("ascii")
    if kind == 3:
        return "".join(rng.choice("0123456789") for _ in range(n))
    if kind == 4:
        return "".join(rng.choice("0123456789abcdef") for _ in range(n))
    if kind == 5:
        return rng.choice(("ab", "abc", "the", "ab1", "xy ", "é", "中")) * (n // 3)
    if kind == 6:
        return "".join(rng.choice(pool).strip().replace(" ", "") for _ in range(n // 6))
    if kind == 7:
        return "data:image/png;base64," + "".join(rng.choice(_B64) for _ in range(n))
    return "a" * n + " " + "b" * rng.randint(1, n)


def _long_words_doc(rng: random.Random, pool: list[str]) -> str:
    parts = [_long_word(rng, pool) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.5:
        parts.insert(rng.randint(0, len(parts)), _sentence(rng, pool, rng.randint(3, 15)))
    return rng.choice((" ", "\n", "")).join(parts)


_NEAR_MISSES = [
    "<end_of_turn",
    "end_of_turn>",
    "< bos>",
    "<BOS>",
    "<bos >",
    "<unused>",
    "<unused-1>",
    "<unused999999>",
    "<start_of_turn >",
    "<<bos>>",
    "</end_of_turn>",
    "<tab le>",
    "<table",
    "[multimodal",
    "<start_of_image>",
    "<eos",
]


def _special_doc(rng: random.Random, added: list[str], words: list[str]) -> str:
    textual = [t for t in added if t.strip()] or ["<bos>"]
    chat = [
        "<start_of_turn>user\n",
        "<start_of_turn>model\n",
        "<end_of_turn>\n",
        "<bos>",
        "<eos>",
        "<pad>",
        "<unused12>",
        "<table>",
        "</table>",
    ]
    makers: list[Callable[[], str]] = [
        lambda: rng.choice(chat),
        lambda: rng.choice(textual),
        lambda: rng.choice(added),
        lambda: rng.choice(_NEAR_MISSES),
        lambda: rng.choice(words),
        lambda: rng.choice(words) + rng.choice(chat) + rng.choice(words),
        lambda: " " * rng.randint(1, 4),
    ]
    return "".join(rng.choice(makers)() for _ in range(rng.randint(3, 60)))


def _spm_doc(rng: random.Random, words: list[str]) -> str:
    marks = [
        _SPM,
        _SPM * 3,
        _SPM * rng.randint(1, 40),
        " " + _SPM,
        _SPM + " ",
        " " + _SPM * 2 + " ",
        "\u2581\u2581 \u2581",
    ]
    parts: list[str] = []
    for _ in range(rng.randint(2, 40)):
        mark = rng.choice(marks)
        word = rng.choice(words).strip()
        parts.append(rng.choice((mark + word, word + mark, mark, word + " ")))
    return "".join(parts)


def corpus_documents(
    min_bytes: int = 5_000_000, seed: int = 0, vocab_path: Path | None = None
) -> list[tuple[str, str]]:
    """(category, text) pairs covering every category, at least min_bytes of UTF-8 in all.

    The same arguments on the same machine always give the same list.
    """
    pieces, added = _load_tokenizer_json(vocab_path or default_vocab_path())
    by_script = _pieces_by_script(pieces)
    ascii_words = [p for p in pieces if p.startswith(_SPM) and p[1:].isascii() and p[1:].isalpha()]
    words = [w.replace(_SPM, " ") for w in ascii_words]
    pools = {
        group: [p for name in scripts for p in by_script[name]]
        for group, scripts in _SCRIPTS.items()
    }
    for group, pool in pools.items():
        if not pool:
            raise BuildError(f"the vocabulary has no {group} pieces: is it Gemma's tokenizer.json?")

    def rng_for(category: str) -> random.Random:
        # One stream per category: changing one generator does not reshuffle the others.
        return random.Random(f"{seed}:{category}")

    def script_doc(rng: random.Random, group: str) -> str:
        names = [n for n in _SCRIPTS[group] if by_script[n]]
        pool = by_script[rng.choice(names)]
        end = rng.choice((". ", "。", "، ", "। ", "\n", " "))
        return _paragraph(rng, pool, end)

    docs: list[tuple[str, str]] = []
    sizes = dict.fromkeys(CATEGORIES, 0)

    def add(category: str, texts: Iterable[str], budget: float) -> None:
        for text in texts:
            docs.append((category, text))
            sizes[category] += len(text.encode("utf-8"))
            if sizes[category] >= budget:
                break

    def endless(make: Callable[[random.Random], str], category: str) -> Iterator[str]:
        rng = rng_for(category)
        while True:
            yield make(rng)

    prose_rng = rng_for("prose")
    add("prose", _from_files(_prose_files(), prose_rng), _SHARES["prose"] * min_bytes)
    # Without /usr/share/doc (slim images) vocabulary English keeps the share filled.
    if sizes["prose"] < _SHARES["prose"] * min_bytes:
        add("prose", endless(lambda r: _paragraph(r, words), "prose"), _SHARES["prose"] * min_bytes)
    add("whitespace", _whitespace_fixed(), float("inf"))
    generated: dict[str, Callable[[random.Random], str]] = {
        "whitespace": lambda r: _whitespace_doc(r, words),
        "latin_accents": lambda r: _accents_doc(r, pools["latin_accents"]),
        "cjk": lambda r: script_doc(r, "cjk"),
        "rtl": lambda r: script_doc(r, "rtl"),
        "multiscript": lambda r: script_doc(r, "multiscript"),
        "emoji": lambda r: _emoji_doc(r, pools["emoji"], words),
        "control": lambda r: _control_doc(r, words),
        "replacement": lambda r: _replacement_doc(r, words),
        "long_words": lambda r: _long_words_doc(r, ascii_words),
        "special_tokens": lambda r: _special_doc(r, added, words),
        "sp_marker": lambda r: _spm_doc(r, words),
    }
    for category, make in generated.items():
        add(category, endless(make, category), _SHARES[category] * min_bytes)

    fragment_makers = list(generated.values())

    def mixed_doc(r: random.Random) -> str:
        parts = [r.choice(fragment_makers)(r) for _ in range(r.randint(2, 6))]
        return r.choice(("", " ", "\n", "\n\n")).join(p[: r.randint(50, 4000)] for p in parts)

    add("mixed", endless(mixed_doc, "mixed"), _SHARES["mixed"] * min_bytes)
    add("empty", [""], float("inf"))

    remaining = max(0, min_bytes - sum(sizes.values()))
    add("code", _from_files(_stdlib_sources(), rng_for("code")), remaining)
    # Only if the standard library's sources are missing or tiny; mixed is endless.
    remaining = max(0, min_bytes - sum(sizes.values()))
    if remaining:
        add("mixed", endless(mixed_doc, "mixed-topup"), sizes["mixed"] + remaining)

    random.Random(f"{seed}:order").shuffle(docs)
    return docs


def category_bytes(docs: Iterable[tuple[str, str]]) -> dict[str, int]:
    sizes = dict.fromkeys(CATEGORIES, 0)
    for category, text in docs:
        sizes[category] = sizes.get(category, 0) + len(text.encode("utf-8"))
    return sizes


# json.dumps leaves these raw with ensure_ascii=False, but str.splitlines (and some editors) break
# lines at them; escaped, every reader sees one document per line.
_LINE_BREAK_ESCAPES = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def write_corpus_jsonl(path: Path, docs: Iterable[tuple[str, str]]) -> None:
    """One {"category", "text"} object per line, replacing path only once fully written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            for category, text in docs:
                line = json.dumps({"category": category, "text": text}, ensure_ascii=False)
                f.write(line.translate(_LINE_BREAK_ESCAPES))
                f.write("\n")
        # mkstemp makes the file private; the corpus is ordinary build output.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
