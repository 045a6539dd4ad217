"""Token constraints for constrained decoding: what a small model may write at each step.

`ChoiceConstraint` lets the model write only one of a fixed set of strings (a tool name, or
"Final Answer"): the strings' token sequences form a trie and each step allows the children of
the node reached so far. `CharsetConstraint` allows only tokens whose text uses given characters
(a calculator expression), plus the tokens that end the argument. Both are plain callables of
the ids generated so far, the shape every backend accepts (`llm.TokenConstraint`).
`CopyConstraint` allows only the tokens of a source text (the question) and a few joining
words: for tool inputs that should be copied, not invented.
"""

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
