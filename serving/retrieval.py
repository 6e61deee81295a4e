"""Retrieval for the RAG chain: the question's embedding and its words go to the vector
store, which answers by vector search alone or by hybrid search (vector + full-text, fused
by reciprocal rank; see :meth:`serving.vectorstore.PgVectorStore.hybrid_search`)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from serving.config import RAGConfig
from serving.llm.base import Passage
from serving.metrics import ServingMetrics
from serving.questions import specifics
from serving.vectorstore import SearchHit


class SearchBackend(Protocol):
    """What retrieval needs of the store (:class:`serving.vectorstore.PgVectorStore`)."""

    def search(self, embedding: np.ndarray, top_k: int = 4) -> list[SearchHit]: ...

    def hybrid_search(
        self,
        embedding: np.ndarray,
        query: str,
        top_k: int = 4,
        candidates: int = 40,
        rrf_k: float = 10.0,
        text_weight: float = 1.0,
    ) -> list[SearchHit]: ...


@dataclass(frozen=True)
class RetrievalSettings:
    """How one request retrieves."""

    mode: Literal["hybrid", "vector"] = "hybrid"
    top_k: int = 4
    min_score: float = 0.2
    candidates: int = 40
    rrf_k: float = 10.0
    text_weight: float = 1.0
    identifier_text_weight: float = 5.0

    @classmethod
    def from_config(cls, rag: RAGConfig) -> RetrievalSettings:
        return cls(
            rag.retrieval,
            rag.top_k,
            rag.min_score,
            rag.hybrid_candidates,
            rag.rrf_k,
            rag.text_weight,
            rag.identifier_text_weight,
        )

    def text_weight_for(self, question: str) -> float:
        """The full-text ranking's weight for ``question``: higher when it names an
        identifier (tuned on the documentation benchmark in ``benchmarks/serving.py``)."""
        return self.identifier_text_weight if specifics(question) else self.text_weight


def passages_from(hits: list[SearchHit], min_score: float) -> list[Passage]:
    """Numbered passages from search hits. The cosine floor ``min_score`` drops weak vector
    matches; a chunk the full-text search found is kept whatever its cosine (an exact
    identifier match is relevant even when the embedding disagrees)."""
    kept = [h for h in hits if h.score >= min_score or "text" in h.matched]
    return [
        Passage(
            index=i + 1,
            source=h.source,
            text=h.text,
            score=h.score,
            title=h.title,
            chunk_id=h.chunk_id,
            matched=h.matched,
        )
        for i, h in enumerate(kept)
    ]


class Retriever:
    """Runs searches off the event loop and times them."""

    def __init__(self, store: SearchBackend, metrics: ServingMetrics) -> None:
        self.store = store
        self.metrics = metrics

    async def retrieve(
        self, embedding: np.ndarray, question: str, settings: RetrievalSettings
    ) -> list[Passage]:
        t0 = time.perf_counter()
        if settings.mode == "hybrid":
            hits = await asyncio.to_thread(
                self.store.hybrid_search,
                embedding,
                question,
                settings.top_k,
                settings.candidates,
                settings.rrf_k,
                settings.text_weight_for(question),
            )
        else:
            hits = await asyncio.to_thread(self.store.search, embedding, settings.top_k)
        self.metrics.retrieval_latency.labels(mode=settings.mode).observe(time.perf_counter() - t0)
        return passages_from(hits, settings.min_score)
