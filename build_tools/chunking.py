"""Files of the corpus -> passages: reads txt/md/html files for `py_agent.retrieval.chunking`
(the standard-library chunker that the page also runs on the user's documents)."""

from pathlib import Path

from build_tools.errors import BuildError
from py_agent.retrieval.chunking import (
    SUFFIXES,
    ChunkingError,
    Document,
    chunk_document,
    kind_of,
    parse,
)
from py_agent.retrieval.passages import Passage

__all__ = ["SUFFIXES", "Document", "chunk_file", "extract"]


def extract(path: Path, source: str | None = None) -> Document:
    """Read one file as UTF-8 (CRLF -> LF) and extract its text, title and headings."""
    try:
        kind = kind_of(path.name)
    except ChunkingError as exc:
        raise BuildError(f"{path}: {str(exc).split(': ', 1)[1]}") from exc
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BuildError(f"{path} is not UTF-8 text: {exc}") from exc
    except OSError as exc:
        raise BuildError(f"cannot read {path}: {exc}") from exc
    return parse(raw.replace("\r\n", "\n").replace("\r", "\n"), kind, source or path.as_posix())


def chunk_file(
    path: Path,
    source: str | None = None,
    target_words: int = 100,
    overlap_words: int = 25,
    first_id: int = 0,
) -> list[Passage]:
    try:
        return chunk_document(extract(path, source), target_words, overlap_words, first_id)
    except ChunkingError as exc:
        raise BuildError(str(exc)) from exc
