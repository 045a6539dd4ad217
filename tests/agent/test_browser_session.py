"""BrowserSession (what the page's worker runs in Pyodide) under CPython, on a fake engine whose
ids are characters and which plays one script per completion."""

import json
from typing import Any

import pytest

from py_agent.browser_session import (
    BrowserSession,
    ForeignCodec,
    ForeignDense,
    ForeignEngine,
    Settings,
    load_docs_search,
)
from py_agent.retrieval import Bm25Index, Passage
from py_agent.retrieval.wordpiece import WordPiece

EOS, BOS = 1, 2
MODEL_DOC = {
    "model_id": "tiny",
    "config": {"max_position_embeddings": 100_000},
    "special_tokens": {"bos": BOS},
    "stop_token_ids": [EOS],
    "prompt_format": "completion",
}
TEXTS = ["", "", ""] + [chr(i) for i in range(3, 0x250)]


class JsLikeTokenizer:
    """Shaped like web/agent_worker.js's codec object: JSON strings in and out."""

    def encode(self, text: str, allow_special: bool) -> str:
        return json.dumps([ord(c) for c in text])

    def decode(self, ids_json: str) -> str:
        return "".join(TEXTS[i] for i in json.loads(ids_json))


class ScriptEngine:
    """Shaped like web/engine.js's engine. Its favourite next character comes from `rules`: the
    rule whose key occurs last in the text so far continues with its value, then <eos>."""

    def __init__(self, rules: dict[str, str]) -> None:
        self.rules = rules
        self.tokens: list[int] = []
        self.fail = False

    @property
    def cached(self) -> int:
        return len(self.tokens)

    def truncate(self, n: int) -> None:
        del self.tokens[n:]

    def run(self, ids_json: str) -> None:
        if self.fail:
            raise RuntimeError("out of memory")
        self.tokens += json.loads(ids_json)

    def _scores(self) -> dict[int, float]:
        text = "".join(TEXTS[i] for i in self.tokens)
        ends = {key: text.rfind(key) + len(key) for key in self.rules if key in text}
        best = EOS
        if ends:
            key = max(ends, key=lambda k: ends[k])
            so_far, wanted = text[ends[key] :], self.rules[key]
            if wanted.startswith(so_far) and len(so_far) < len(wanted):
                best = ord(wanted[len(so_far)])
        return {i: 10.0 if i == best else 0.0 for i in range(len(TEXTS))}

    def top_k(self, k: int) -> str:
        ranked = sorted(self._scores().items(), key=lambda e: (-e[1], e[0]))[:k]
        return json.dumps([[i for i, _ in ranked], [s for _, s in ranked]])

    def scores_of(self, ids_json: str) -> str:
        scores = self._scores()
        return json.dumps([scores[i] for i in json.loads(ids_json)])


def session(rules: dict[str, str], search: Any = None) -> tuple[BrowserSession, ScriptEngine]:
    engine = ScriptEngine(rules)
    s = BrowserSession(
        ForeignEngine(engine),
        ForeignCodec(JsLikeTokenizer()),
        MODEL_DOC,
        search,
        token_texts=TEXTS,
    )
    return s, engine


CALC = {
    "Question: What is 17 * 23?\nThought:": " I multiply.\n",
    "I multiply.\n": "Action: calculator\n",
    "Action Input:": " 17 * 23\n",
    "Observation: 391\nThought:": " Done.\n",
    "Done.\n": "Final Answer:",
}


def test_a_calculator_question_streams_its_trace_and_answers_with_the_result() -> None:
    s, _ = session(CALC)
    events: list[dict[str, Any]] = []
    summary = json.loads(s.ask("What is 17 * 23?", lambda e: events.append(json.loads(e))))
    assert summary["answer"] == "391"
    assert summary["error"] is None
    assert [e["data"]["tool"] for e in events if e["kind"] == "action"] == ["calculator"]
    assert "".join(e["text"] for e in events if e["kind"] == "token").startswith(" I multiply.")
    assert summary["decode_tokens_per_second"] > 0
    assert summary["prefill_tokens_per_second"] > 0
    assert summary["generated_tokens"] > 0
    assert summary["prefill_tokens"] > 0
    assert summary["sources"] == []
    assert "calculator" in s.tools()
    # The second question reuses the cached conversation prefix: far fewer tokens to prefill.
    again = json.loads(s.ask("What is 17 * 23?", lambda e: None))
    assert again["answer"] == "391"
    assert again["prefill_tokens"] < summary["prefill_tokens"]


def passages() -> list[Passage]:
    texts = [
        ("apt.md", "Use apt list --installed to list the installed packages on Debian."),
        ("vim.md", "Press i in vim to insert text before the cursor."),
    ]
    return [Passage(i, src, 0, len(t), src, "Packages", t) for i, (src, t) in enumerate(texts)]


def test_search_docs_answers_are_extracted_and_cite_their_source() -> None:
    ps = passages()
    search = load_docs_search(
        json.dumps({"passages": [p.to_json() for p in ps]}),
        json.dumps(Bm25Index.from_passages(ps).to_json()),
    )
    rules = {
        "Question: How do I list installed packages?\nThought:": " I search.\n",
        "I search.\n": "Action: search_docs\n",
        "Action Input:": " list installed packages\n",
        "Thought:": " Found.\n",
        "Found.\n": "Final Answer:",
    }
    s, _ = session(rules, search)
    summary = json.loads(s.ask("How do I list installed packages?", lambda e: None))
    assert "apt list --installed" in summary["answer"]
    assert summary["sources"][0]["source"] == "apt.md § Packages"
    assert summary["sources"][0]["text"].startswith("Use apt list")


def test_settings_are_validated_and_applied_in_place() -> None:
    s, _ = session(CALC)
    applied = json.loads(s.configure(json.dumps({"constrained": False, "max_steps": 3})))
    assert applied["constrained"] is False
    assert s.agent.constrained is False
    assert s.agent.budget.max_steps == 3
    for bad, field in [
        ({"max_steps": 0}, "max_steps"),
        ({"max_steps": "3"}, "max_steps"),
        ({"constrained": 1}, "constrained"),
        ({"temperature": True}, "temperature"),
        ({"top_p": 2.0}, "top_p"),
        ({"max_seconds": 1}, "max_seconds"),
        ({"color": "red"}, "color"),
    ]:
        with pytest.raises(ValueError, match=field):
            s.configure(json.dumps(bad))
    with pytest.raises(ValueError, match="JSON object"):
        Settings.from_json("[1]")
    assert Settings.from_json("") == Settings()


def test_bad_input_and_engine_failures_come_back_as_errors_not_exceptions() -> None:
    s, engine = session(CALC)
    assert "error" in json.loads(s.ask("\x00" * 3, lambda e: None))
    engine.fail = True
    out = json.loads(s.ask("What is 2 + 2?", lambda e: None))
    assert out["error"] == "RuntimeError: out of memory"
    assert engine.cached == 0


def test_reset_forgets_the_conversation() -> None:
    s, engine = session(CALC)
    s.ask("What is 17 * 23?", lambda e: None)
    assert s.agent.history
    s.reset()
    assert not s.agent.history
    assert engine.cached == 0


class AsyncRunEngine(ScriptEngine):
    """Like the WebGPU engine: `run` hands back something to wait on."""

    def run(self, ids_json: str) -> str:  # type: ignore[override]
        super().run(ids_json)
        return f"promise:{ids_json}"


def test_an_asynchronous_engine_is_waited_on_and_refused_without_a_way_to_wait() -> None:
    waited: list[str] = []
    engine = ForeignEngine(AsyncRunEngine(CALC), wait=waited.append)
    engine.run([5, 6])
    assert waited == ["promise:[5, 6]"]
    with pytest.raises(RuntimeError, match="asynchronous"):
        ForeignEngine(AsyncRunEngine(CALC)).run([5])


def test_user_documents_are_chunked_searched_beside_the_corpus_and_cited() -> None:
    ps = passages()
    search = load_docs_search(
        json.dumps({"passages": [p.to_json() for p in ps]}),
        json.dumps(Bm25Index.from_passages(ps).to_json()),
    )
    s, _ = session(CALC, search)
    note = "# Boat\n\nThe boat called Marigold has a blue sail and sleeps four people."
    chunked = json.loads(s.chunk("notes.md", note))
    assert chunked["passages"][0]["source"] == "notes.md"
    assert chunked["passages"][0]["heading"] == "Boat"
    assert s.set_user_documents(json.dumps([chunked])) == 1
    hits = search.search("Marigold sail colour", 2)
    assert hits[0].passage.source == "notes.md"
    assert hits[0].ranks == {"bm25-user": 1}
    assert search.passages[hits[0].passage.id] == hits[0].passage  # rows follow the shipped ones
    # The user's passages count when search_docs decides whether a name is a topic.
    assert search.document_frequency("marigold") == 1
    assert s.set_user_documents("[]") == 0
    assert search.document_frequency("marigold") == 0
    assert all(h.passage.source != "notes.md" for h in search.search("Marigold sail", 3))


def test_bad_user_documents_are_named() -> None:
    s, _ = session(
        CALC,
        load_docs_search('{"passages": []}', json.dumps(Bm25Index.from_passages([]).to_json())),
    )
    assert "unsupported document type" in json.loads(s.chunk("scan.pdf", "x"))["error"]
    assert "has no text" in json.loads(s.chunk("empty.txt", "   "))["error"]
    huge = "word " * 500_000
    assert "too large" in json.loads(s.chunk("big.txt", huge))["error"]
    bare, _ = session(CALC)
    with pytest.raises(RuntimeError, match="no document search"):
        bare.set_user_documents("[]")
    with pytest.raises(RuntimeError, match="no embedder tokenizer"):
        bare.embedding_ids('["x"]')
    bare.wordpiece = WordPiece({"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "sail": 3})
    assert json.loads(bare.embedding_ids('["sail", "boat"]')) == [[1, 3, 2], [1, 0, 2]]


def test_dense_search_goes_through_the_page_and_waits_when_asked() -> None:
    vocab = {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "sail": 3}
    seen: list[tuple[str, int]] = []

    def js_search(ids_json: str, k: int) -> str:
        seen.append((ids_json, k))
        return "[[4, 0.9], [1, 0.5]]"

    dense = ForeignDense(WordPiece(vocab), js_search)
    assert dense("Sail!", 2) == [(4, 0.9), (1, 0.5)]
    assert seen == [("[1, 3, 0, 2]", 2)]
    waited = ForeignDense(WordPiece(vocab), lambda ids, k: "promise", wait=lambda p: "[[0, 1.0]]")
    assert waited("sail", 1) == [(0, 1.0)]


def test_warming_up_runs_the_instructions_once_and_the_question_reuses_them() -> None:
    s, engine = session(CALC)
    warm = json.loads(s.warm_up())
    assert warm["tokens"] > 100  # the instructions: tool list and format
    text = "".join(TEXTS[i] for i in engine.tokens)
    assert text.startswith("Answer the question.")
    assert "Question: What is" not in text  # no example, no question: every prompt starts so
    assert json.loads(s.warm_up())["tokens"] == 0  # already there
    cold, _ = session(CALC)
    asked_cold = json.loads(cold.ask("What is 17 * 23?", lambda e: None))
    asked_warm = json.loads(s.ask("What is 17 * 23?", lambda e: None))
    assert asked_warm["answer"] == asked_cold["answer"] == "391"
    # The warmed tokens were reused, all but the margin at the end.
    assert asked_warm["prefill_tokens"] <= asked_cold["prefill_tokens"] - warm["tokens"] + 2
