"""Token constraints for constrained decoding: what a small model may write at each step.

`ChoiceConstraint` lets the model write only one of a fixed set of strings (a tool name, or
"Final Answer"): the strings' token sequences form a trie and each step allows the children of
the node reached so far. `CharsetConstraint` allows only tokens whose text uses given characters
(a calculator expression), plus the tokens that end the argument. Both are plain callables of
the ids generated so far, the shape every backend accepts (`llm.TokenConstraint`).
`CopyConstraint` allows only the tokens of a source text (the question) and a few joining
words: for tool inputs that should be copied, not invented.
"""

import copy
import re
from collections.abc import Callable, Collection, Iterable, Sequence


class ChoiceConstraint:
    """Only one of `choices` (each encoded with `encode`) may be generated."""

    def __init__(self, choices: Iterable[str], encode: Callable[[str], list[int]]) -> None:
        self.choices = list(dict.fromkeys(choices))
        if not self.choices:
            raise ValueError("a choice constraint needs at least one choice")
        self._trie: dict[int, dict[int, object]] = {}
        self._ids: dict[tuple[int, ...], str] = {}
        self.max_tokens = 0  # the longest choice, in tokens: the generation budget it needs
        for choice in self.choices:
            ids = encode(choice)
            if not ids:
                raise ValueError(f"choice {choice!r} encodes to no tokens")
            self.max_tokens = max(self.max_tokens, len(ids))
            node: dict[int, dict[int, object]] = self._trie
            for i in ids:
                node = node.setdefault(i, {})  # type: ignore[assignment]
            self._ids[tuple(ids)] = choice

    def __call__(self, generated: Sequence[int]) -> Collection[int] | None:
        node: dict[int, dict[int, object]] = self._trie
        for i in generated:
            child = node.get(i)
            if child is None:
                return None  # off the trie: cannot happen when the backend honours the constraint
            node = child  # type: ignore[assignment]
        return frozenset(node) or None

    def match(self, generated: Sequence[int]) -> str | None:
        """The choice that `generated` spells, if it is complete."""
        return self._ids.get(tuple(generated))


class CharsetConstraint:
    """Only tokens made of `charset` characters, or one of `enders` (e.g. the newline token)."""

    def __init__(
        self,
        charset: str,
        vocab_size: int,
        token_text: Callable[[int], str],
        enders: Collection[int] = (),
        max_tokens: int | None = None,
    ) -> None:
        chars = set(charset)
        self.allowed = frozenset(
            i for i in range(vocab_size) if (t := token_text(i)) and set(t) <= chars
        ) | frozenset(enders)
        self.enders = frozenset(enders)
        self.max_tokens = max_tokens

    def __call__(self, generated: Sequence[int]) -> Collection[int] | None:
        if self.max_tokens is not None and len(generated) >= self.max_tokens - 1:
            return self.enders or self.allowed
        return self.allowed


class CopyConstraint:
    """Only tokens of `source` (the question), of a few joining words, or `enders`."""

    def __init__(
        self,
        source: str,
        encode: Callable[[str], list[int]],
        joiners: Iterable[str] = (" to", " in", " of"),
        enders: Collection[int] = (),
    ) -> None:
        ids = set(encode(source)) | set(encode(" " + source))
        for word in joiners:
            ids |= set(encode(word))
        self.allowed = frozenset(ids) | frozenset(enders)

    def __call__(self, generated: Sequence[int]) -> Collection[int] | None:
        return self.allowed


class QuestionNumbersConstraint:
    """`inner` (a `CharsetConstraint`) for an arithmetic input that may only write the numbers in
    `numbers` (strings of digits, e.g. the question's and a few constants) and may only end
    once `required(text so far)` holds (every number of the question written): a small model
    otherwise copies a worked example's
    numbers ("300 / 240 / 3" for "240 km in 3 hours") or stops early ("12 * 12" for "12 * 12,
    plus 6"). After `max_tokens - 1` tokens only the enders remain."""

    _PARTIAL = re.compile(r"[\d.]*\d[\d.]*$|\.$")
    _NUMBER = re.compile(r"\d+(?:\.\d+)?")

    def __init__(
        self,
        inner: CharsetConstraint,
        numbers: Collection[str],
        required: Callable[[str], bool],
        token_text: Callable[[int], str],
        max_tokens: int,
    ) -> None:
        self.inner = inner
        self.numbers = frozenset(numbers)
        self.prefixes = frozenset(n[:i] for n in self.numbers for i in range(1, len(n) + 1))
        self.required = required
        self.token_text = token_text
        self.max_tokens = max_tokens
        self._checked = frozenset(
            i
            for i in inner.allowed - inner.enders
            if any(c.isdigit() or c == "." for c in token_text(i))
        )
        self._free = inner.allowed - inner.enders - self._checked

    def for_question(
        self, numbers: Collection[str], required: Callable[[str], bool], max_tokens: int
    ) -> "QuestionNumbersConstraint":
        """The same constraint for other numbers, without re-reading the vocabulary (which
        tokens hold digits is the costly part: one look at every allowed token)."""
        other = copy.copy(self)
        other.numbers = frozenset(numbers)
        other.prefixes = frozenset(n[:i] for n in other.numbers for i in range(1, len(n) + 1))
        other.required = required
        other.max_tokens = max_tokens
        return other

    def _fits(self, text: str) -> bool:
        """Every number in `text` is one of `numbers`, but the last may be one's beginning."""
        partial = self._PARTIAL.search(text)
        if partial is not None:
            if partial.group() not in self.prefixes:
                return False
            text = text[: partial.start()]
        return all(n in self.numbers for n in self._NUMBER.findall(text))

    def __call__(self, generated: Sequence[int]) -> Collection[int] | None:
        if len(generated) >= self.max_tokens - 1:
            return self.inner.enders or self.inner.allowed
        text = "".join(self.token_text(i) for i in generated)
        allowed = {i for i in self._checked if self._fits(text + self.token_text(i))}
        partial = self._PARTIAL.search(text)
        at_boundary = partial is None or partial.group() in self.numbers
        if at_boundary:
            allowed |= self._free
            if self.required(text):
                allowed |= self.inner.enders
        return frozenset(allowed)
