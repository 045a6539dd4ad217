"""Documents (txt, md, html) -> passages: sentence-aware, overlapping, with source and offsets.

Extraction gives one text per file and the headings in it; chunking never lets a passage cross a
heading (a section is one topic), packs whole sentences up to about `target_words`, and starts
the next passage with the last sentences of the previous one (about `overlap_words`) so that a
fact split across a boundary is whole in at least one passage. Everything is deterministic.

Standard library only: the build indexes the shipped corpus with it (`build_tools/chunking.py`
reads the files) and the page chunks the user's own documents with it in Pyodide.
"""

import itertools
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from py_agent.retrieval.passages import Passage

SUFFIXES = {".txt": "text", ".md": "markdown", ".markdown": "markdown", ".html": "html"}
SUFFIXES[".htm"] = "html"

# A sentence ends at . ! ? (optionally closed by a quote or bracket) followed by whitespace and
# something that can start a sentence. Abbreviations like "e.g. the" do not split (lower case).
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9`*])")
# Blank lines separate paragraphs; a sentence never spans one.
_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
_WORD = re.compile(r"\S+")
_MD_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_MD_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)


class ChunkingError(ValueError):
    """Bad chunking settings or an unsupported document kind; the message names the problem."""


@dataclass(frozen=True)
class Document:
    """The extracted text of one file; headings are (offset into text, heading), ascending."""

    source: str
    text: str
    title: str
    headings: list[tuple[int, str]] = field(default_factory=list)


def _markdown(source: str, text: str) -> Document:
    fenced = [m.span() for m in _MD_FENCE.finditer(text)]
    headings = [
        (m.start(), m.group(2).strip())
        for m in _MD_HEADING.finditer(text)
        if not any(a <= m.start() < b for a, b in fenced)  # "# comment" inside code is no heading
    ]
    h1 = [m.group(2).strip() for m in _MD_HEADING.finditer(text) if len(m.group(1)) == 1]
    title = h1[0] if h1 else (headings[0][1] if headings else "")
    return Document(source, text, title, headings)


class _HtmlText(HTMLParser):
    """Visible text of an HTML page, block elements on their own lines, headings recorded."""

    SKIP = frozenset({"script", "style", "head", "noscript", "template", "svg"})
    # DocBook's navigation bars repeat "Prev / Next / Home" on every page: not content.
    # and its per-chapter table of contents only repeats the headings.
    SKIP_CLASSES = frozenset({"navheader", "navfooter", "toc"})
    BLOCKS = frozenset(
        {"p", "div", "br", "li", "tr", "pre", "table", "ul", "ol", "dl", "dt", "dd", "hr"}
        | {"blockquote", "section", "article", "header", "footer", "h1", "h2", "h3", "h4"}
        | {"h5", "h6", "title", "figure", "figcaption", "main", "nav", "aside", "caption"}
    )
    HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
    CELLS = frozenset({"td", "th"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.length = 0
        self.headings: list[tuple[int, str]] = []
        self.title = ""
        self._skip: tuple[str, int] | None = None  # (tag, nesting depth) being dropped
        self._in_title = False
        self._heading: tuple[int, list[str]] | None = None
        self._pre = 0

    def _emit(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)

    def _newline(self) -> None:
        if self.parts and not self.parts[-1].endswith("\n"):
            last = self.parts[-1].rstrip(" ")  # no trailing spaces before a line break
            self.length -= len(self.parts[-1]) - len(last)
            self.parts[-1] = last
            self._emit("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":  # inside <head>, which is otherwise dropped
            self._in_title = True
            return
        if self._skip is not None:
            if tag == self._skip[0]:
                self._skip = (tag, self._skip[1] + 1)
            return
        classes = set((dict(attrs).get("class") or "").split())
        if tag in self.SKIP or classes & self.SKIP_CLASSES:
            self._skip = (tag, 1)
            return
        if tag in self.BLOCKS:
            self._newline()
        elif tag in self.CELLS and self.parts and not self.parts[-1].endswith("\n"):
            self._emit(" | ")  # a table row stays on one line, cells separated
        if tag == "pre":
            self._pre += 1
        if tag in self.HEADINGS:
            self._heading = (self.length, [])

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip is None and tag in self.BLOCKS:
            self._newline()

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
            return
        if self._skip is not None:
            if tag == self._skip[0]:
                depth = self._skip[1] - 1
                self._skip = None if depth == 0 else (tag, depth)
            return
        if tag == "pre":
            self._pre = max(0, self._pre - 1)
        if tag in self.HEADINGS and self._heading is not None:
            heading = " ".join("".join(self._heading[1]).split())
            if heading:
                self.headings.append((self._heading[0], heading))
            self._heading = None
        if tag in self.BLOCKS:
            self._newline()

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
            return
        if self._skip is not None:
            return
        # Outside <pre>, HTML collapses whitespace; keep one space so offsets stay small.
        text = data if self._pre else re.sub(r"\s+", " ", data)
        if not self._pre and (not self.parts or self.parts[-1].endswith("\n")):
            text = text.lstrip()
        if text:
            if self._heading is not None:
                self._heading[1].append(text)
            self._emit(text)


def _html(source: str, raw: str) -> Document:
    parser = _HtmlText()
    parser.feed(raw)
    parser.close()
    text = "".join(parser.parts)
    title = " ".join(parser.title.split()) or (parser.headings[0][1] if parser.headings else "")
    return Document(source, text, title, parser.headings)


def kind_of(name: str) -> str:
    """The document kind of a file name ("text", "markdown", "html"), by its suffix."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    kind = SUFFIXES.get(suffix)
    if kind is None:
        raise ChunkingError(
            f"{name}: unsupported document type (use {', '.join(sorted(SUFFIXES))})"
        )
    return kind


def parse(raw: str, kind: str, source: str) -> Document:
    """Extract text, title and headings from a document's text (CRLF already normalised)."""
    if kind == "html":
        return _html(source, raw)
    if kind == "markdown":
        return _markdown(source, raw)
    first = next((line.strip() for line in raw.splitlines() if line.strip()), "")
    return Document(source, raw, first[:120])


def sentences(text: str, start: int, end: int, max_words: int) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences in text[start:end], whitespace trimmed.

    A sentence longer than `max_words` (tables, code, run-on lists) is cut every max_words
    words so that no passage has to exceed the embedder's input.
    """
    spans: list[tuple[int, int]] = []
    para_start = start
    for brk in [*_PARAGRAPH.finditer(text, start, end), None]:
        para_end = brk.start() if brk else end
        s = para_start
        for m in [*_SENTENCE_END.finditer(text, para_start, para_end), None]:
            e = m.start() if m else para_end
            spans.extend(_split_long(text, s, e, max_words))
            if m:
                s = m.end()
        para_start = brk.end() if brk else end
    return spans


def _split_long(text: str, start: int, end: int, max_words: int) -> list[tuple[int, int]]:
    words = list(_WORD.finditer(text, start, end))
    if not words:
        return []
    return [
        (words[i].start(), words[min(i + max_words, len(words)) - 1].end())
        for i in range(0, len(words), max_words)
    ]


def _word_count(text: str, span: tuple[int, int]) -> int:
    return len(_WORD.findall(text, span[0], span[1]))


def sections(doc: Document, min_words: int = 20) -> list[tuple[int, int, str]]:
    """(start, end, heading) of each section; one shorter than `min_words` (a heading directly
    followed by a sub-heading) joins the next, under the later heading, instead of becoming a
    passage of its own."""
    bounds = [0, *(offset for offset, _ in doc.headings), len(doc.text)]
    names = ["", *(name for _, name in doc.headings)]
    out: list[tuple[int, int, str]] = []
    start = 0
    for index, (_, end) in enumerate(itertools.pairwise(bounds)):
        last = index == len(bounds) - 2
        if last or _word_count(doc.text, (start, end)) >= min_words:
            if _word_count(doc.text, (start, end)):
                out.append((start, end, names[index]))
            start = end
    return out


def chunk_document(
    doc: Document, target_words: int = 100, overlap_words: int = 25, first_id: int = 0
) -> list[Passage]:
    """Passages of about `target_words` words, overlapping by up to `overlap_words` words."""
    if target_words <= 0 or not 0 <= overlap_words < target_words:
        raise ChunkingError(
            f"need target_words > overlap_words >= 0, got {target_words}, {overlap_words}"
        )
    passages: list[Passage] = []
    for start, end, heading in sections(doc):
        spans = sentences(doc.text, start, end, target_words)
        counts = [_word_count(doc.text, s) for s in spans]
        i = 0
        while i < len(spans):
            j, words = i, 0
            # A few words ("Table 2.14.") never stand alone before a long sentence or table.
            while j < len(spans) and (
                j == i or words + counts[j] <= target_words or words < target_words // 4
            ):
                words += counts[j]
                j += 1
            if sum(counts[j:]) < target_words // 4:
                j = len(spans)  # a short tail joins this passage rather than stand alone
            s, e = spans[i][0], spans[j - 1][1]
            passages.append(
                Passage(
                    first_id + len(passages),
                    doc.source,
                    s,
                    e,
                    doc.title,
                    heading,
                    doc.text[s:e],
                )
            )
            if j >= len(spans):
                break
            # Step back over whole sentences worth at most overlap_words, but always forward.
            back, carried = j, 0
            while back - 1 > i and carried + counts[back - 1] <= overlap_words:
                back -= 1
                carried += counts[back]
            i = back
    return passages
