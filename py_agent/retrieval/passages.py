"""A passage: the unit that is indexed, retrieved and cited (source + character offsets)."""

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Passage:
    """`text` is `extracted[start:end]` of the document named by `source`.

    Offsets are into the document's extracted text (the file itself for .txt/.md, the visible
    text for .html), so a citation can point at the exact span.
    """

    id: int
    source: str
    start: int
    end: int
    title: str
    heading: str
    text: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "Passage":
        try:
            return cls(
                id=int(doc["id"]),
                source=str(doc["source"]),
                start=int(doc["start"]),
                end=int(doc["end"]),
                title=str(doc.get("title", "")),
                heading=str(doc.get("heading", "")),
                text=str(doc["text"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a passage: {exc!r}") from exc
