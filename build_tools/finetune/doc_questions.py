"""Question/answer pairs read out of the shipped corpus, for the `search_docs` traces.

Two shapes that state a short answer plainly:
- a table row that pairs a command with what it does (the Debian Reference has hundreds:
  "apt-get autoremove | remove auto-installed packages which are no longer required") gives
  "Which command can I use to remove auto-installed packages …?" → the command;
- a Markdown sentence that starts with a code span and a verb ("`make bench` runs every
  benchmark …") gives "Which command runs every benchmark …?" → the span.
A pair is kept only when `search_docs`, asked the question, returns a passage holding the
answer: the trace then teaches reading the span out of real search results.
"""

import random
import re
from collections.abc import Callable, Iterable, Sequence

from py_agent.retrieval.passages import Passage

_COMMAND = re.compile(r"^[a-z][\w.+-]*(?: [\w./=:+-]+){0,3}$")
_NOT_COMMAND = re.compile(r"^(?:n/a|none|yes|no|package|popcon|size|command|function)$", re.I)
_DESCRIPTION = re.compile(r"^[a-z][a-z-]+ [^|]{8,120}$")
_LEADING_SPAN = re.compile(r"^`([^`]{2,60})`\s+([a-z]+s)\b([^`]{8,140}?)[.:]?$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n")
_STARTERS = ("the ", "a ", "an ", "this ", "it ", "see ", "for ", "with ", "e.g")
# What a table's "function" column starts with when it says what a command does.
_VERBS = frozenset(
    [
        "add",
        "allow",
        "back",
        "backup",
        "browse",
        "build",
        "change",
        "check",
        "clean",
        "compare",
        "compile",
        "compress",
        "configure",
        "connect",
        "convert",
        "copy",
        "create",
        "decode",
        "decompress",
        "delete",
        "detect",
        "disable",
        "display",
        "download",
        "dump",
        "edit",
        "enable",
        "encode",
        "encrypt",
        "erase",
        "execute",
        "extract",
        "find",
        "fix",
        "format",
        "generate",
        "get",
        "install",
        "kill",
        "list",
        "load",
        "lock",
        "log",
        "make",
        "manage",
        "merge",
        "monitor",
        "mount",
        "move",
        "open",
        "partition",
        "play",
        "print",
        "purge",
        "query",
        "read",
        "rebuild",
        "record",
        "reinstall",
        "remove",
        "rename",
        "repair",
        "replace",
        "report",
        "reset",
        "resize",
        "restore",
        "resume",
        "run",
        "save",
        "scan",
        "search",
        "select",
        "send",
        "set",
        "setup",
        "show",
        "shut",
        "sort",
        "split",
        "start",
        "stop",
        "switch",
        "sync",
        "test",
        "trace",
        "transfer",
        "translate",
        "unlock",
        "unmount",
        "unpack",
        "update",
        "upgrade",
        "upload",
        "verify",
        "view",
        "watch",
        "write",
    ]
)


def table_pairs(passages: Iterable[Passage]) -> list[tuple[str, str, str]]:
    """(description, command, kind) from table rows."""
    out = []
    for p in passages:
        if not p.source.startswith("debian-reference/"):
            continue  # the project's tables are figures and layouts, not command lists
        for line in p.text.splitlines():
            cells = [c.strip() for c in line.split("|")]
            cells = [c for c in cells if c]
            if len(cells) < 2:
                continue
            desc = cells[-1].rstrip(" .")
            if not _DESCRIPTION.match(desc) or desc.split()[0] not in _VERBS:
                continue
            command = next(
                (c for c in cells[:-1] if _COMMAND.match(c) and not _NOT_COMMAND.match(c)), None
            )
            if command is None or len(command) < 3:
                continue
            out.append((desc, command, "command"))
    return out


def sentence_pairs(passages: Iterable[Passage]) -> list[tuple[str, str, str]]:
    """(verb phrase, span, kind) from Markdown sentences that start with a code span."""
    out = []
    for p in passages:
        if p.source.startswith("debian-reference/"):
            continue
        for sentence in _SENTENCE_END.split(p.text):
            m = _LEADING_SPAN.match(sentence.strip().lstrip("-* "))
            if not m:
                continue
            span, verb, rest = m.group(1), m.group(2), m.group(3).strip()
            if "`" in rest or "](" in rest:
                continue
            kind = (
                "file"
                if ("/" in span or re.search(r"\.\w+$", span)) and " " not in span
                else ("command" if " " in span else "name")
            )
            out.append((f"{verb} {rest}".rstrip(" ,;"), span, kind))
    return out


def phrase(r: random.Random, what: str, answer_kind: str, from_table: bool) -> str:
    if from_table:
        return r.choice(
            [
                f"Which command can I use to {what}?",
                f"What is the command to {what}?",
                f"How do I {what} on Debian?",
                f"what command will {what}",
                f"I want to {what}. Which command does that?",
            ]
        )
    noun = {"file": "file", "command": "command"}.get(answer_kind, "one")
    return r.choice(
        [f"Which {noun} {what}?", f"What {what}?", f"In this project, which {noun} {what}?"]
    )


def doc_qa(
    passages: Sequence[Passage],
    search: Callable[[str], str],
    seed: int,
    limit: int = 600,
) -> list[tuple[str, str]]:
    """(question, answer span) pairs whose answer `search` returns, deterministic per seed."""
    r = random.Random(seed)
    candidates = [(w, a, k, True) for w, a, k in table_pairs(passages)]
    candidates += [(w, a, k, False) for w, a, k in sentence_pairs(passages)]
    r.shuffle(candidates)
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for what, answer, kind, from_table in candidates:
        if len(out) >= limit:
            break
        key = what.lower()
        if key in seen:
            continue
        seen.add(key)
        question = phrase(r, what, kind, from_table)
        if answer in search(question):
            out.append((question, answer))
    return out
