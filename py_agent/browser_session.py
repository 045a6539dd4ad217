"""The agent as the page runs it: inside Pyodide, in a Web Worker, on the page's engines.

The worker (`web/agent_worker.js`) hands over JavaScript objects — the decoder engine, the
tokenizer, the document index as JSON text — and this module does everything else in plain
Python, so it is tested under CPython with fakes and runs unchanged in Pyodide. Everything that
crosses back to the page is a JSON string: no proxies to leak, nothing to misinterpret.
"""

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from py_agent.backends.stepwise import Sampling, StepEngine, StepwiseModel, TextCodec
from py_agent.events import Event
from py_agent.react_format import fixed_prefix, prompt_format_of
from py_agent.react_loop import Agent, Budget
from py_agent.retrieval import Bm25Index, Passage
from py_agent.retrieval.chunking import ChunkingError, chunk_document, kind_of, parse
from py_agent.retrieval.search import DenseSearch, DocsSearch, Hit
from py_agent.retrieval.wordpiece import WordPiece
from py_agent.tools.builtin import builtin_tools
from py_agent.tools.search_docs import cite
from py_agent.validators import InputError

MAX_DOCUMENT_CHARS = 2_000_000
_CITATION = re.compile(r"\s*\[\d+\]")
# The page keeps the decoder's cache this long at most: attention cost grows with it.
BROWSER_WINDOW = 4096


def _py(value: Any) -> Any:
    """A JavaScript array or object as Python data (Pyodide's JsProxy); Python data unchanged."""
    to_py = getattr(value, "to_py", None)
    return to_py() if callable(to_py) else value


class ForeignEngine:
    """A `StepEngine` over the page's engine object (`web/engine.js`, `web/engine_webgpu.js`).

    An engine whose `run` is asynchronous (WebGPU) returns a promise: `wait` blocks on it (in
    Pyodide, `pyodide.ffi.run_sync`, which needs JavaScript promise integration)."""

    def __init__(self, engine: Any, wait: Callable[[Any], Any] | None = None) -> None:
        self._engine = engine
        self._wait = wait

    @property
    def cached(self) -> int:
        return int(self._engine.cached)

    def truncate(self, length: int) -> None:
        self._engine.truncate(length)

    def run(self, ids: Sequence[int]) -> None:
        pending = self._engine.run(json.dumps(list(ids)))
        if pending is not None:
            if self._wait is None:
                raise RuntimeError("this engine is asynchronous and no way to wait was given")
            self._wait(pending)

    def top_k(self, k: int) -> tuple[list[int], list[float]]:
        ids, scores = json.loads(self._engine.top_k(k))
        return [int(i) for i in ids], [float(s) for s in scores]

    def scores_of(self, ids: Sequence[int]) -> list[float]:
        return [float(s) for s in json.loads(self._engine.scores_of(json.dumps(list(ids))))]


class ForeignCodec:
    """A `TextCodec` over the page's tokenizer (`web/tokenizer.js`)."""

    def __init__(self, tokenizer: Any) -> None:
        self._tokenizer = tokenizer

    def encode(self, text: str, allow_special: bool) -> list[int]:
        return [int(i) for i in json.loads(self._tokenizer.encode(text, allow_special))]

    def decode(self, ids: Sequence[int]) -> str:
        return str(self._tokenizer.decode(json.dumps(list(ids))))


class RecordingSearch(DocsSearch):
    """The shipped index plus the user's own documents (their passages follow the shipped ones;
    their BM25 is a ranking of its own, their vectors are in the page's dense index), and a
    memory of what a run's searches returned, for the answer's sources."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.returned: list[Hit] = []
        self.shipped = len(self.passages)
        self.user_bm25: Bm25Index | None = None

    def set_user_passages(self, passages: Sequence[Passage]) -> None:
        self.passages = self.passages[: self.shipped] + list(passages)
        self.user_bm25 = Bm25Index.from_passages(list(passages)) if passages else None

    def document_frequency(self, term: str) -> int:
        user = self.user_bm25.document_frequency(term) if self.user_bm25 is not None else 0
        return super().document_frequency(term) + user

    def rankings(self, query: str) -> dict[str, list[int]]:
        rankings = super().rankings(query)
        if self.user_bm25 is not None:
            found = self.user_bm25.search(query, self.candidates)
            rankings["bm25-user"] = [row for row, _ in found]  # ids are rows already
        return rankings

    def search(self, query: str, k: int = 3) -> list[Hit]:
        hits = super().search(query, k)
        self.returned += hits
        return hits


class ForeignDense:
    """Dense search through the page: the query's WordPiece ids go to `search` (JavaScript:
    the embedder on onnxruntime-web, then the wasm vector indexes), which answers — through
    `wait` when it is asynchronous — JSON [[row, score], …] best first."""

    def __init__(
        self, wordpiece: WordPiece, search: Any, wait: Callable[[Any], Any] | None = None
    ) -> None:
        self.wordpiece = wordpiece
        self._search = search
        self._wait = wait

    def __call__(self, query: str, k: int) -> list[tuple[int, float]]:
        result = self._search(json.dumps(self.wordpiece.encode(query)), k)
        if self._wait is not None:
            result = self._wait(result)
        return [(int(row), float(score)) for row, score in json.loads(result)]


def load_docs_search(
    passages_json: str, bm25_json: str, dense: DenseSearch | None = None
) -> RecordingSearch:
    """The shipped index's passages.json and bm25.json (their text, as fetched)."""
    passages = [Passage.from_json(p) for p in json.loads(passages_json)["passages"]]
    return RecordingSearch(passages, Bm25Index.from_json(json.loads(bm25_json)), dense)


@dataclass(frozen=True)
class Settings:
    """What the page's settings panel can change."""

    constrained: bool = True
    max_steps: int = 5
    max_seconds: float = 180.0
    temperature: float = 0.0
    top_k: int = 0
    top_p: float = 1.0

    @classmethod
    def from_json(cls, text: str) -> "Settings":
        doc = json.loads(text or "{}")
        if not isinstance(doc, dict):
            raise ValueError("settings must be a JSON object")
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(doc) - set(known))
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(unknown)}")
        checks: dict[str, tuple[type, ...]] = {
            "constrained": (bool,),
            "max_steps": (int,),
            "max_seconds": (int, float),
            "temperature": (int, float),
            "top_k": (int,),
            "top_p": (int, float),
        }
        for name, value in doc.items():
            ok = isinstance(value, checks[name])
            if ok and name != "constrained" and isinstance(value, bool):
                ok = False
            if not ok:
                raise ValueError(f"setting {name} has the wrong type: {value!r}")
        settings = cls(**doc)
        if not 1 <= settings.max_steps <= 12:
            raise ValueError(f"max_steps must be in [1, 12], got {settings.max_steps}")
        if not 5 <= settings.max_seconds <= 3600:
            raise ValueError(f"max_seconds must be in [5, 3600], got {settings.max_seconds}")
        settings.sampling()  # validates temperature, top_k, top_p
        return settings

    def sampling(self) -> Sampling:
        return Sampling(self.temperature, self.top_k, self.top_p)


class BrowserSession:
    """One conversation: the agent, its model and tools, and per-answer statistics."""

    def __init__(
        self,
        engine: StepEngine,
        codec: TextCodec,
        model_doc: Mapping[str, Any],
        search: RecordingSearch | None = None,
        settings: Settings | None = None,
        *,
        engine_name: str = "wasm",
        token_texts: Sequence[str] | None = None,
        wordpiece: WordPiece | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model_doc = model_doc
        self.search = search
        self.wordpiece = wordpiece
        self.clock = clock
        self.engine_name = engine_name
        config = model_doc["config"]
        window = min(BROWSER_WINDOW, int(config.get("max_position_embeddings", BROWSER_WINDOW)))
        self.settings = settings or Settings()
        self.model = StepwiseModel(
            engine,
            codec,
            name=f"{model_doc['model_id']} ({engine_name})",
            context_window=window,
            bos_id=int(model_doc["special_tokens"]["bos"]),
            stop_ids=[int(t) for t in model_doc["stop_token_ids"]],
            sampling=self.settings.sampling(),
            token_texts=token_texts,
        )
        self.agent = self._agent()

    def _agent(self) -> Agent:
        s = self.settings
        return Agent(
            self.model,
            builtin_tools(self.search),
            prompt_format=prompt_format_of(self.model_doc),
            constrained=s.constrained,
            budget=Budget(max_steps=s.max_steps, max_seconds=s.max_seconds),
            clock=self.clock,
        )

    def configure(self, settings_json: str) -> str:
        """Apply new settings (JSON); the conversation so far is kept."""
        s = self.settings = Settings.from_json(settings_json)
        self.model.sampling = s.sampling()
        # Changed in place: the agent's constraints took tokenizer work to build.
        self.agent.constrained = s.constrained
        self.agent.budget = Budget(max_steps=s.max_steps, max_seconds=s.max_seconds)
        return json.dumps(asdict(s))

    def chunk(self, name: str, text: str) -> str:
        """A user document -> its passages (JSON), or {"error": ...} naming the problem."""
        if len(text) > MAX_DOCUMENT_CHARS:
            return json.dumps(
                {
                    "error": f"{name} is too large ({len(text):,} characters; the limit is "
                    f"{MAX_DOCUMENT_CHARS:,})"
                }
            )
        try:
            doc = parse(text.replace("\r\n", "\n").replace("\r", "\n"), kind_of(name), name)
            passages = chunk_document(doc)
        except ChunkingError as exc:
            return json.dumps({"error": str(exc)})
        if not passages:
            return json.dumps({"error": f"{name} has no text to index"})
        return json.dumps({"passages": [p.to_json() for p in passages]})

    def embedding_ids(self, texts_json: str) -> str:
        """The embedder's token ids of each text (JSON list in, JSON list of lists out)."""
        if self.wordpiece is None:
            raise RuntimeError("this session has no embedder tokenizer")
        return json.dumps([self.wordpiece.encode(t) for t in json.loads(texts_json)])

    def set_user_documents(self, docs_json: str) -> int:
        """The user's documents, in the order of the page's dense index: [{"passages": …}, …].
        Returns the number of passages now searchable besides the shipped ones."""
        if self.search is None:
            raise RuntimeError("this session has no document search")
        passages: list[Passage] = []
        for doc in json.loads(docs_json):
            for p in doc["passages"]:
                passages.append(Passage.from_json({**p, "id": self.search.shipped + len(passages)}))
        self.search.set_user_passages(passages)
        return len(passages)

    def tools(self) -> list[str]:
        return list(self.agent.tools.names)

    def reset(self) -> None:
        """Forget the conversation (and the decoder's cache)."""
        self.agent.history.clear()
        self.model.reset()

    def warm_up(self) -> str:
        """Run the prompt's fixed start (the instructions) into the decoder's cache, for the page
        to call once it is idle: the first question then prefills only its own part. JSON
        {"tokens": run, "seconds": …}."""
        t0 = self.clock()
        prefix = fixed_prefix(self.agent.prompt_format, self.agent.tools)
        tokens = self.model.warm(prefix)
        return json.dumps({"tokens": tokens, "seconds": round(self.clock() - t0, 3)})

    def ask(
        self,
        question: str,
        emit: Callable[[str], None],
        cancel: Callable[[], bool] | None = None,
    ) -> str:
        """Answer one question; every event goes to `emit` as JSON as it happens. Returns the
        summary (answer, sources, statistics) as JSON; never raises for bad input or a tool or
        model failure — those come back as an `error`."""
        if self.search is not None:
            self.search.returned = []
        model = self.model
        start = (model.prefill_tokens, model.generated_tokens)
        start_seconds = (model.prefill_seconds, model.decode_seconds)
        t0 = self.clock()

        errors: list[str] = []

        def on_event(event: Event) -> None:
            if event.kind == "error":
                errors.append(event.text)
            emit(
                json.dumps({"kind": event.kind, "text": event.text, "data": _jsonable(event.data)})
            )

        try:
            result = self.agent.run(question, on_event=on_event, cancel=cancel)
        except InputError as exc:
            return json.dumps({"error": str(exc)})
        if errors:  # the decoder may have stopped half-way: its cache is not to be trusted
            model.reset()
        seconds = self.clock() - t0
        generated = model.generated_tokens - start[1]
        prefilled = model.prefill_tokens - start[0]
        prefill_s = model.prefill_seconds - start_seconds[0]
        decode_s = model.decode_seconds - start_seconds[1]
        return json.dumps(
            {
                "answer": result.answer,
                "error": errors[0] if errors else None,
                "sources": self._sources(result.answer),
                "steps": result.steps,
                "forced": result.forced,
                "cancelled": result.cancelled,
                "generated_tokens": generated,
                "prefill_tokens": prefilled,
                "seconds": round(seconds, 3),
                "prefill_tokens_per_second": _rate(prefilled, prefill_s),
                "decode_tokens_per_second": _rate(generated, decode_s),
            }
        )

    def _sources(self, answer: str) -> list[dict[str, Any]]:
        """The passages the run's searches returned, cited ones first; deduplicated."""
        if self.search is None:
            return []
        seen: dict[str, dict[str, Any]] = {}
        for hit in self.search.returned:
            where = cite(hit)
            if where not in seen:
                p = hit.passage
                seen[where] = {"source": where, "text": p.text, "start": p.start, "end": p.end}
        sources = list(seen.values())
        # An extractive answer is a sentence of a passage with "[n]" after it.
        quoted = _CITATION.sub("", answer).strip()[:60]
        cited = [s for s in sources if quoted and quoted in " ".join(s["text"].split())]
        return cited + [s for s in sources if s not in cited]


def _rate(tokens: int, seconds: float) -> float:
    return round(tokens / seconds, 2) if seconds > 0 else 0.0


def _jsonable(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, str | int | float | bool | None) else str(v) for k, v in data.items()
    }
