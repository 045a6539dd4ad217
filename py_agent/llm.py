"""The language model as the agent sees it: one small protocol for every engine.

Implemented natively (`build_tools/agent_backend.py`: onnxruntime + the Rust tokenizer), in the
browser (the page's engine through Pyodide's FFI) and by `backends.scripted.ScriptedModel` in
tests. Prompts are lists of `Span`s so that only the agent's own template can produce control
tokens: a backend encodes `control` spans with special-token parsing and every other span
(user text, documents, tool output, the model's own earlier text) without it.
"""

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

# Given the ids generated so far in this call, the ids allowed next (None: any).
TokenConstraint = Callable[[Sequence[int]], Collection[int] | None]
FinishReason = Literal["stop", "eos", "length", "cancelled"]


@dataclass(frozen=True)
class Span:
    text: str
    control: bool = False  # template markup such as "<start_of_turn>": parsed as control tokens


@dataclass(frozen=True)
class Completion:
    text: str  # without the stop string that ended it
    finish_reason: FinishReason
    tokens: int  # generated tokens (including a stop token)


class LanguageModel(Protocol):
    @property
    def name(self) -> str:
        """Shown to the user, e.g. "gemma-3-270m (onnxruntime, exact)"."""
        ...

    @property
    def context_window(self) -> int:
        """Prompt + generated tokens the model can attend to."""
        ...

    def encode(self, text: str) -> list[int]:
        """Token ids of plain text: no <bos>, special-token text stays text."""
        ...

    def token_text(self, token_id: int) -> str:
        """The text one token decodes to (for building constraints)."""
        ...

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
        """Continue `prompt` (<bos> is the backend's job). Stops at a stop string (not included
        in the text), an end-of-turn/eos token, max_tokens, or when `cancel()` turns true.
        `on_text` receives the text as it becomes final. Backends keep their KV cache across
        calls and reuse the longest common prefix of the prompt's tokens."""
        ...
