"""Ray Serve runtime of the llmops platform: embeddings, LLM backends, the RAG ingress with an
OpenAI-compatible API, the vector store, the semantic cache and access control.

Importing this package is cheap: heavy dependencies (ray, torch, transformers, psycopg) are
imported by the modules that need them. ``serving.config`` in particular depends only on
pydantic and the standard library, so the Pulumi program can render ``serveConfigV2`` from it.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
