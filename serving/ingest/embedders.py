"""What turns chunk texts into vectors inside the ingest pipeline's embedding actors.

An :class:`EmbedderSpec` is a small picklable description sent to each actor, which builds
its :class:`Embedder` there once (loading a model is the expensive part):

- :class:`ModelSpec`: the serving runtime's sentence-transformers model
  (:mod:`serving.embeddings`, the same code and settings the Embedder deployment uses, so
  ingested vectors and query vectors come from one model);
- :class:`HashingSpec`: feature hashing of words, no model: deterministic, instant and
  light, for exercising the pipeline where the model is not what is measured.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from serving.config import EmbeddingsConfig


class Embedder(Protocol):
    """Embeds texts: one unit-length float32 row per text."""

    @property
    def dimensions(self) -> int: ...

    def encode(self, texts: list[str]) -> np.ndarray: ...


class EmbedderSpec(Protocol):
    """Builds an :class:`Embedder` where it runs (an actor, or this process)."""

    @property
    def dimensions(self) -> int: ...

    def build(self, num_threads: int | None = None) -> Embedder: ...


@dataclass(frozen=True)
class _ModelEmbedder:
    model: Any
    cfg: EmbeddingsConfig

    @property
    def dimensions(self) -> int:
        return self.cfg.dimensions

    def encode(self, texts: list[str]) -> np.ndarray:
        from serving.embeddings import encode

        return encode(self.model, texts, self.cfg.encode_batch_size, self.cfg.normalize)


@dataclass(frozen=True)
class ModelSpec:
    """The app's embedding model (``embeddings`` of the serve config)."""

    config: EmbeddingsConfig

    @property
    def dimensions(self) -> int:
        return self.config.dimensions

    def build(self, num_threads: int | None = None) -> Embedder:
        from serving.embeddings import load_embedding_model

        cfg = self.config
        if num_threads and not cfg.num_threads:
            cfg = cfg.model_copy(update={"num_threads": num_threads})
        return _ModelEmbedder(load_embedding_model(cfg), cfg)


_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class HashingEmbedder:
    """Bag of words hashed into ``dimensions`` signed buckets, L2-normalised: texts sharing
    words are close, as with a real model, at no cost. Not a language model: retrieval
    quality is not its point."""

    dimensions: int

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in _WORD.findall(text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
                out[i, h % self.dimensions] += 1.0 if (h >> 32) & 1 else -1.0
            norm = float(np.linalg.norm(out[i]))
            out[i] = out[i] / norm if norm > 0 else np.eye(1, self.dimensions, dtype=np.float32)[0]
        return out


@dataclass(frozen=True)
class HashingSpec:
    """A :class:`HashingEmbedder` of ``dimensions``."""

    dimensions: int = 64

    def build(self, num_threads: int | None = None) -> Embedder:
        return HashingEmbedder(self.dimensions)
