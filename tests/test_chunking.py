"""Chunking: extraction of txt/md/html, sentence-aware overlapping passages with offsets."""

import itertools
from pathlib import Path

import pytest

from build_tools.chunking import chunk_file, extract
from build_tools.errors import BuildError
from py_agent.retrieval.chunking import (
    ChunkingError,
    chunk_document,
    kind_of,
    parse,
    sections,
    sentences,
)

HTML = """<!DOCTYPE html><html><head><title>Guide &amp; Notes</title>
<style>body { color: red }</style><script>var secret = "never indexed";</script></head>
<body><div class="navheader">Prev Next Home</div>
<h1>Installing</h1><p>Run the installer. It asks <b>three</b> questions.</p>
<table><tr><th>key</th><th>value</th></tr><tr><td>a</td><td>1</td></tr></table>
<h2>Upgrades</h2><p>Upgrades keep your settings.&nbsp;They take minutes.</p>
<pre>line one
  line two</pre>
</body></html>"""


def _words(n: int, start: int = 0) -> str:
    return " ".join(f"w{i}" for i in range(start, start + n))


def test_html_visible_text_headings_and_title() -> None:
    doc = parse(HTML, "html", "guide.html")
    assert doc.title == "Guide & Notes"
    assert "secret" not in doc.text
    assert "color" not in doc.text
    assert "Prev Next" not in doc.text
    assert "It asks three questions." in doc.text
    assert "key | value" in doc.text  # a table row stays on one line
    assert "line one\n  line two" in doc.text  # <pre> keeps its whitespace
    assert [h for _, h in doc.headings] == ["Installing", "Upgrades"]
    for offset, heading in doc.headings:
        assert doc.text[offset:].startswith(heading)


def test_markdown_headings_skip_code_fences() -> None:
    text = (
        "intro line\n\n# Title\n\nBody.\n\n```sh\n# not a heading\n```\n\n## Part two ##\n\nMore."
    )
    doc = parse(text, "markdown", "a.md")
    assert doc.title == "Title"
    assert [h for _, h in doc.headings] == ["Title", "Part two"]
    assert doc.text == text  # offsets point into the file itself


def test_sentences_split_on_punctuation_and_paragraphs() -> None:
    text = "First one. Second one? e.g. not split here. Third!\n\nNew para without stop\nsame para"
    spans = sentences(text, 0, len(text), 100)
    got = [text[a:b] for a, b in spans]
    assert got == [
        "First one.",
        "Second one? e.g. not split here.",
        "Third!",
        "New para without stop\nsame para",
    ]


def test_long_sentence_is_cut_at_max_words() -> None:
    text = _words(25)
    spans = sentences(text, 0, len(text), 10)
    assert [len(text[a:b].split()) for a, b in spans] == [10, 10, 5]


def test_passages_have_offsets_overlap_and_target_size() -> None:
    text = " ".join(f"Sentence {i} has exactly six words." for i in range(100))
    doc = parse(text, "text", "s.txt")
    passages = chunk_document(doc, target_words=60, overlap_words=12, first_id=7)
    assert [p.id for p in passages] == list(range(7, 7 + len(passages)))
    for p in passages:
        assert p.text == doc.text[p.start : p.end]
        assert p.source == "s.txt"
        assert len(p.text.split()) <= 60 + 60 // 4
    for prev, nxt in itertools.pairwise(passages):
        assert prev.start < nxt.start < prev.end  # overlapping, always moving forward
        assert len(doc.text[nxt.start : prev.end].split()) <= 12
    assert passages[0].start == 0
    assert passages[-1].end == len(text)


def test_passages_never_cross_headings_and_carry_them() -> None:
    text = f"# Doc\n\n## A\n\n{_words(30)}.\n\n## B\n\n{_words(30, 100)}."
    passages = chunk_document(parse(text, "markdown", "d.md"), 100, 10)
    assert [p.heading for p in passages] == ["A", "B"]
    assert all(p.title == "Doc" for p in passages)
    assert "w100" not in passages[0].text


def test_tiny_sections_merge_into_the_next() -> None:
    text = f"# Chapter\n\n## Section\n\n{_words(40)}."
    doc = parse(text, "markdown", "c.md")
    assert [(h, text[a:b].split()[1]) for a, b, h in sections(doc)] == [("Section", "Chapter")]


def test_deterministic(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(HTML)
    assert chunk_file(page, "page.html") == chunk_file(page, "page.html")


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="unsupported"):
        extract(tmp_path / "x.pdf")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(BuildError, match="not UTF-8"):
        extract(bad)
    with pytest.raises(BuildError, match="cannot read"):
        extract(tmp_path / "missing.md")
    ok = tmp_path / "ok.txt"
    ok.write_text("Some text.")
    with pytest.raises(BuildError, match="target_words"):
        chunk_file(ok, target_words=10, overlap_words=10)


def test_txt_title_and_crlf(tmp_path: Path) -> None:
    f = tmp_path / "notes.txt"
    f.write_bytes(b"\r\n  My notes\r\nSecond line. Third sentence.\r\n")
    doc = extract(f, "notes.txt")
    assert doc.title == "My notes"
    assert "\r" not in doc.text
    assert chunk_file(f, "notes.txt")[0].text == "My notes\nSecond line. Third sentence."


def test_kinds_come_from_the_name_and_bad_settings_are_chunking_errors() -> None:
    assert kind_of("notes.MD") == "markdown"
    assert kind_of("page.htm") == "html"
    with pytest.raises(ChunkingError, match="unsupported document type"):
        kind_of("report.pdf")
    with pytest.raises(ChunkingError, match="unsupported document type"):
        kind_of("README")
    with pytest.raises(ChunkingError, match="target_words > overlap_words"):
        chunk_document(parse("one. two.", "text", "x"), 10, 10)
