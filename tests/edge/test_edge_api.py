"""The edge worker's happy paths on real workerd: tokenizer ids, counts and text identical to the
native tokenizer (`gea_tokenizer`), search results identical to the native hybrid search
(py_agent's DocsSearch over the same index: BM25, and BM25 + the `gea_vector` HNSW index when a
query vector is sent) — same passages, same order, same fused scores and ranks."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from build_tools.corpus_index import INDEX_ID, load_embeddings
from build_tools.docs_search import open_docs_search
from build_tools.model_folder import open_model
from build_tools.paths import MODELS_CACHE
from py_agent.retrieval.search import DocsSearch, Hit
from tests.edge.conftest import Edge

TEXTS = [
    "Hello world",
    "",
    " leading and trailing spaces  ",
    "Tabs\tand\nnewlines\n\n\nand   runs of   spaces",
    "Straße, ÉCOLE, naïve café — “quotes” … ellipsis",
    "日本語のテキストと中文文本，还有한국어.",  # noqa: RUF001
    "emoji 👩‍👩‍👧‍👦 🇫🇷 ❤️ and a lone surrogate-free astral 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",  # noqa: RUF001
    "def f(x):\n    return x ** 2  # code\n",
    "<start_of_turn>user\nnot special when typed<end_of_turn>",
    "ﬁ ligature, full-width ＡＢＣ１２３, Ǆ, İstanbul",  # noqa: RUF001
    "numbers 3.14159 1,000,000 0x1F 1e-9",
]


@pytest.fixture(scope="module")
def native(default_model: Path) -> Any:
    from gea_tokenizer import Tokenizer

    return Tokenizer.from_bytes(open_model(default_model.name).tokenizer_vocab.read_bytes())


def test_health_is_public_and_describes_the_bundle(edge: Edge) -> None:
    reply = edge.request("GET", "/v1/health")
    assert reply.status == 200
    doc = reply.json
    assert doc["status"] == "ok"
    assert doc["model"] == "gemma-3-270m"
    assert doc["index"]["dim"] == 384
    assert doc["index"]["passages"] > 100


@pytest.mark.parametrize("add_bos", [True, False])
def test_tokenize_matches_the_native_tokenizer(edge: Edge, native: Any, add_bos: bool) -> None:
    long_text = " ".join(TEXTS) * 80  # ~36 k characters
    for text in [*TEXTS, long_text]:
        reply = edge.post("/v1/tokenize", {"text": text, "add_bos": add_bos})
        assert reply.status == 200, reply.raw
        assert reply.json == {"ids": native.encode(text, add_bos, False)}, text[:40]


def test_add_bos_defaults_to_true_like_the_native_binding(edge: Edge, native: Any) -> None:
    assert edge.post("/v1/tokenize", {"text": "Hi"}).json["ids"] == native.encode("Hi")
    assert edge.post("/v1/tokenize", {"text": "Hi"}).json["ids"][0] == native.bos_id


def test_count_tokens_matches(edge: Edge, native: Any) -> None:
    for text in TEXTS:
        for add_bos in (True, False):
            reply = edge.post("/v1/count_tokens", {"text": text, "add_bos": add_bos})
            assert reply.json == {"count": len(native.encode(text, add_bos, False))}


def test_detokenize_matches(edge: Edge, native: Any) -> None:
    for text in TEXTS:
        ids = native.encode(text, True, True)
        for skip in (False, True):
            reply = edge.post("/v1/detokenize", {"ids": ids, "skip_special": skip})
            assert reply.status == 200
            assert reply.json == {"text": native.decode(ids, skip)}
    assert edge.post("/v1/detokenize", {"ids": []}).json == {"text": ""}


@pytest.fixture(scope="module")
def index_dir(edge: Edge) -> Path:
    return MODELS_CACHE / INDEX_ID


@pytest.fixture(scope="module")
def bm25_only(index_dir: Path) -> DocsSearch:
    return open_docs_search(index_dir, dense=False)


def queries(search: DocsSearch) -> list[str]:
    """Headings and passage openings of the corpus, plus Unicode edge cases of the analyzer."""
    passages = search.passages
    picked = [passages[i] for i in range(0, len(passages), max(1, len(passages) // 40))]
    out = [p.heading or p.title for p in picked] + [" ".join(p.text.split()[:8]) for p in picked]
    return [
        *out,
        "how do I list installed packages?",
        "set up sudo",
        "APT-GET INSTALL",
        "STRASSE straße Straße",
        "ﬁle systems and ＮＥＴＷＯＲＫ",  # noqa: RUF001
        "ΣΊΣΥΦΟΣ ς σ",  # noqa: RUF001
        "İstanbul kelvin K Å",
        "a b c 1 2 3 x",
        "日本語",
        "under_score snake_case",
        "zzzzqqqq not in the corpus",
    ]


def hits_json(hits: list[Hit]) -> list[dict[str, Any]]:
    return [{**h.passage.to_json(), "score": h.score, "ranks": h.ranks} for h in hits]


@pytest.mark.parametrize("k", [1, 3, 20])
def test_bm25_search_matches_the_native_search(edge: Edge, bm25_only: DocsSearch, k: int) -> None:
    for query in queries(bm25_only):
        reply = edge.post("/v1/search", {"query": query, "k": k})
        assert reply.status == 200, reply.raw
        assert reply.json["retrievers"] == ["bm25"]
        assert reply.json["results"] == hits_json(bm25_only.search(query, k)), query


def test_default_k_is_three(edge: Edge, bm25_only: DocsSearch) -> None:
    reply = edge.post("/v1/search", {"query": "package management"})
    assert reply.json["results"] == hits_json(bm25_only.search("package management"))


def test_hybrid_search_matches_bm25_plus_the_native_hnsw_index(
    edge: Edge, bm25_only: DocsSearch, index_dir: Path
) -> None:
    from gea_vector import HnswIndex

    hnsw = HnswIndex.load((index_dir / "dense.idx").read_bytes())
    embeddings = load_embeddings(index_dir)
    rng = np.random.default_rng(8)
    rows = rng.choice(len(embeddings), size=25, replace=False)
    for n, row in enumerate(rows):
        # The passage's own vector, and a noisy one (a query near, not at, a passage).
        noise = 0.0 if n % 2 == 0 else 0.05
        vector = embeddings[row] + noise * rng.standard_normal(384).astype(np.float32)
        as_list = [float(v) for v in vector.astype(np.float32)]
        query = " ".join(bm25_only.passages[int(row)].text.split()[:6])

        def dense(_query: str, k: int, v: list[float] = as_list) -> list[tuple[int, float]]:
            return [(int(i), float(d)) for i, d in hnsw.search(v, k)]

        native = DocsSearch(bm25_only.passages, bm25_only.bm25, dense)
        reply = edge.post("/v1/search", {"query": query, "k": 10, "vector": as_list})
        assert reply.status == 200, reply.raw
        assert reply.json["retrievers"] == ["bm25", "dense"]
        assert reply.json["results"] == hits_json(native.search(query, 10)), query
        assert any("dense" in hit["ranks"] for hit in reply.json["results"])


def test_search_results_carry_citations(edge: Edge) -> None:
    hit = edge.post("/v1/search", {"query": "sudo"}).json["results"][0]
    assert set(hit) == {
        "id", "source", "start", "end", "title", "heading", "text", "score", "ranks"
    }  # fmt: skip
    assert hit["end"] > hit["start"]
    assert json.dumps(hit)  # plain JSON
