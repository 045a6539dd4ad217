"""Untrusted text is data: what the user types, what documents and tools return.

- User input is size-capped and stripped of control characters. Special-token text in it
  ("<end_of_turn>") is harmless because every backend encodes non-control spans without
  special-token parsing (`llm.Span`); it is kept as the user wrote it.
- Tool output and documents go into the transcript on one line, so nothing in them can start a
  line of the ReAct format ("Final Answer:", "Action:", "Observation:", "Question:") or a chat
  turn; the model only ever sees them after "Observation:".
"""

import re
import unicodedata

MAX_USER_CHARS = 4000
MAX_OBSERVATION_CHARS = 1500

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\ufeff]")


class InputError(ValueError):
    """The user's input cannot be used (empty or too long); the message says why."""


def clean_user_text(text: str, max_chars: int = MAX_USER_CHARS) -> str:
    """The question as the agent will use it: NFC, no control characters, trimmed, capped."""
    cleaned = _CONTROL.sub("", unicodedata.normalize("NFC", text.replace("\r\n", "\n"))).strip()
    if not cleaned:
        raise InputError("the question is empty")
    if len(cleaned) > max_chars:
        raise InputError(
            f"the question is {len(cleaned)} characters long; the limit is {max_chars}"
        )
    return cleaned


def one_line(text: str, max_chars: int = MAX_OBSERVATION_CHARS) -> str:
    """Untrusted text (tool output, passages) flattened onto one line and capped."""
    flat = _CONTROL.sub("", text)
    flat = " ".join(part.strip() for part in flat.splitlines() if part.strip())
    flat = re.sub(r"[ \t]+", " ", flat).strip()
    if len(flat) > max_chars:
        flat = flat[:max_chars].rstrip() + " …(truncated)"
    return flat or "(empty)"
