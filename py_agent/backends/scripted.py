"""A scripted language model for tests: replies are given in advance, one per `complete` call.

It honours stop strings, max_tokens (counted in its simple tokens), constraints (a reply that
breaks one raises, so a test notices) and cancellation, and records every prompt it was given.
Tokens are single characters (ids are code points): easy to reason about in tests.
"""

from collections.abc import Callable, Iterable, Sequence

from py_agent.llm import Completion, FinishReason, Span, TokenConstraint


class ScriptError(AssertionError):
    """The agent asked for more than the script holds, or a reply broke a constraint."""


class ScriptedModel:
    name = "scripted"

    def __init__(
        self,
        replies: Iterable[str | Callable[[Sequence[Span]], str]],
        context_window: int = 4096,
        max_codepoint: int = 0x110000,
    ) -> None:
        self.replies = list(replies)
        self.prompts: list[list[Span]] = []
        self.constraints: list[TokenConstraint | None] = []
        self._window = context_window
        self.vocab_size = max_codepoint

    @property
    def context_window(self) -> int:
        return self._window

    def encode(self, text: str) -> list[int]:
        return [ord(c) for c in text]

    def token_text(self, token_id: int) -> str:
        return chr(token_id)

    def complete(
        self,
        prompt: Sequence[Span],
        *,
        max_tokens: int,
        stop: Sequence[str] = (),
        constraint: TokenConstraint | None = None,
        on_text: Callable[[str], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> Completion:
        self.prompts.append(list(prompt))
        self.constraints.append(constraint)
        if not self.replies:
            raise ScriptError("the agent asked the model for more replies than scripted")
        reply = self.replies.pop(0)
        text = reply(prompt) if callable(reply) else reply
        out: list[str] = []
        reason: FinishReason = "eos"
        for n, ch in enumerate(text):
            if cancel is not None and cancel():
                reason = "cancelled"
                break
            if n >= max_tokens:
                reason = "length"
                break
            if constraint is not None:
                allowed = constraint([ord(c) for c in out])
                if allowed is not None and ord(ch) not in allowed:
                    raise ScriptError(f"scripted reply {text!r} breaks the constraint at {n}")
            out.append(ch)
            joined = "".join(out)
            hit = next((s for s in stop if joined.endswith(s)), None)
            if hit is not None:
                out = list(joined[: -len(hit)])
                reason = "stop"
                break
        final = "".join(out)
        if on_text is not None:
            for ch in final:  # streamed only once final: a stop string is never shown
                on_text(ch)
        return Completion(final, reason, len(out))
