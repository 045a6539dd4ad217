"""The built corpus index (models_cache/corpus-index/) as py_agent's `DocsSearch`, natively:
BM25 from bm25.json, dense search with the native embedder and the Rust HNSW index
(`gea_vector`), every file checked against the index's manifest first."""

import json
from pathlib import Path

import numpy as np

from build_tools.corpus_index import DENSE_INDEX_FILE, INDEX_ID
from build_tools.errors import BuildError
from build_tools.manifest import verify_manifest
from build_tools.paths import MODELS_CACHE
from py_agent.retrieval import Bm25Index, Passage
from py_agent.retrieval.search import DocsSearch


def open_docs_search(folder: Path = MODELS_CACHE / INDEX_ID, dense: bool = True) -> DocsSearch:
    if not folder.is_dir():
        raise BuildError(f"no document index at {folder}: run `python -m build_tools index`")
    listed = {e.path for e in verify_manifest(folder)}
    doc = json.loads((folder / "index.json").read_text())
    for name in ("passages.json", "bm25.json"):
        if name not in listed:
            raise BuildError(f"{folder} lacks {name}: rebuild it (`python -m build_tools index`)")
    passages_doc = json.loads((folder / "passages.json").read_text())
    passages = [Passage.from_json(p) for p in passages_doc["passages"]]
    bm25 = Bm25Index.from_json(json.loads((folder / "bm25.json").read_text()))
    if not dense:
        return DocsSearch(passages, bm25)
    from gea_vector import HnswIndex

    from build_tools.embedder_export import Embedder

    if DENSE_INDEX_FILE not in listed:
        raise BuildError(f"{folder} lacks {DENSE_INDEX_FILE}: rebuild it")
    index = HnswIndex.load((folder / DENSE_INDEX_FILE).read_bytes())
    embedder = Embedder(variant=str(doc["embedder"]["variant"]))

    def dense_search(query: str, k: int) -> list[tuple[int, float]]:
        vector = np.asarray(embedder.embed([query])[0], dtype=np.float32)
        return index.search(vector.tolist(), k)

    return DocsSearch(passages, bm25, dense_search)
