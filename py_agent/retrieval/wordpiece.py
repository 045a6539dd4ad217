"""BERT's WordPiece tokenizer (what all-MiniLM-L6-v2 reads), in the standard library only: the page
embeds queries and the user's documents with it in Pyodide. Matches Hugging Face `tokenizers` on
the model's tokenizer.json (BertNormalizer lowercasing with accent stripping, BertPreTokenizer,
greedy longest-match WordPiece, [CLS] … [SEP]); tests/test_wordpiece.py checks the ids."""

import json
import unicodedata
from collections.abc import Mapping
from typing import Any


def _is_control(c: str) -> bool:
    return c not in "\t\n\r" and unicodedata.category(c).startswith("C")


def _is_whitespace(c: str) -> bool:
    return c in " \t\n\r" or unicodedata.category(c) == "Zs"


def _is_punctuation(c: str) -> bool:
    cp = ord(c)
    ascii_punct = 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126
    return ascii_punct or unicodedata.category(c).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


class WordPiece:
    def __init__(
        self,
        vocab: Mapping[str, int],
        *,
        max_tokens: int = 256,
        unk: str = "[UNK]",
        cls: str = "[CLS]",
        sep: str = "[SEP]",
        prefix: str = "##",
        max_word_chars: int = 100,
    ) -> None:
        if max_tokens < 3:
            raise ValueError(f"max_tokens must be at least 3, got {max_tokens}")
        self.vocab = dict(vocab)
        self.max_tokens = max_tokens
        self.unk, self.cls, self.sep = self.vocab[unk], self.vocab[cls], self.vocab[sep]
        self.prefix = prefix
        self.max_word_chars = max_word_chars

    @classmethod
    def from_tokenizer_json(cls, text: str, max_tokens: int = 256) -> "WordPiece":
        doc: dict[str, Any] = json.loads(text)
        model = doc["model"]
        if model.get("type") != "WordPiece":
            raise ValueError(f"not a WordPiece tokenizer.json (model type {model.get('type')!r})")
        return cls(
            model["vocab"],
            max_tokens=max_tokens,
            unk=model.get("unk_token", "[UNK]"),
            prefix=model.get("continuing_subword_prefix", "##"),
            max_word_chars=int(model.get("max_input_chars_per_word", 100)),
        )

    @staticmethod
    def normalize(text: str) -> str:
        out = []
        for c in text:
            cp = ord(c)
            if cp == 0 or cp == 0xFFFD or _is_control(c):
                continue
            if _is_whitespace(c):
                out.append(" ")
            elif _is_cjk(cp):
                out.append(f" {c} ")
            else:
                out.append(c)
        decomposed = unicodedata.normalize("NFD", "".join(out))
        return "".join(c for c in decomposed if unicodedata.category(c) != "Mn").lower()

    @staticmethod
    def words(text: str) -> list[str]:
        words: list[str] = []
        current: list[str] = []
        for c in text:
            if _is_whitespace(c) or _is_punctuation(c):
                if current:
                    words.append("".join(current))
                    current = []
                if not _is_whitespace(c):
                    words.append(c)
            else:
                current.append(c)
        if current:
            words.append("".join(current))
        return words

    def word_ids(self, word: str) -> list[int]:
        if len(word) > self.max_word_chars:
            return [self.unk]
        ids = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else self.prefix + word[start:end]
                found = self.vocab.get(piece)
                if found is not None:
                    break
                end -= 1
            if found is None:
                return [self.unk]
            ids.append(found)
            start = end
        return ids

    def encode(self, text: str) -> list[int]:
        """[CLS] ids [SEP], at most max_tokens in all (the text's tail is cut)."""
        ids: list[int] = []
        room = self.max_tokens - 2
        for word in self.words(self.normalize(text)):
            ids += self.word_ids(word)
            if len(ids) >= room:
                break
        return [self.cls, *ids[:room], self.sep]
