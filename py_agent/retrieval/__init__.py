"""Retrieval for the agent's `search_docs` tool: passages, BM25 and rank fusion.

Standard library only (it runs in Pyodide). Dense search (embeddings + the Rust vector index)
plugs in beside BM25; `reciprocal_rank_fusion` merges the two rankings.
"""

from py_agent.retrieval.bm25 import Bm25Index, analyze
from py_agent.retrieval.fusion import reciprocal_rank_fusion
from py_agent.retrieval.passages import Passage

__all__ = ["Bm25Index", "Passage", "analyze", "reciprocal_rank_fusion"]
