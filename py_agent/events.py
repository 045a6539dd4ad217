"""What the agent reports while it works, in order, for the UI and the CLI to render."""

from dataclasses import dataclass, field
from typing import Any, Literal

EventKind = Literal["token", "thought", "action", "observation", "answer", "error", "step"]


@dataclass(frozen=True)
class Event:
    kind: EventKind
    text: str
    data: dict[str, Any] = field(default_factory=dict)
