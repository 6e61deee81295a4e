"""Creating backends from config, including the vLLM-or-transformers selection."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

from serving.config import (
    Backend,
    ExtractiveBackend,
    OpenAIBackend,
    TransformersBackend,
    VLLMBackend,
)
from serving.llm.base import BackendConfigError, LLMBackend


def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU (False when torch is missing)."""
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def vllm_installed() -> bool:
    """Whether the ``vllm`` package can be imported."""
    return importlib.util.find_spec("vllm") is not None


def resolve_backend_config(
    cfg: Backend,
    has_cuda: Callable[[], bool] = cuda_available,
    has_vllm: Callable[[], bool] = vllm_installed,
) -> Backend:
    """The backend config that will actually run: a ``vllm`` entry stays vLLM only when a GPU
    is visible and vLLM is installed; otherwise ``if_unavailable: transformers`` turns it
    into the equivalent transformers config, and ``error`` raises with the reason."""
    if not isinstance(cfg, VLLMBackend):
        return cfg
    gpu, vllm = has_cuda(), has_vllm()
    if gpu and vllm:
        return cfg
    missing = " and ".join(
        w for w, ok in (("a CUDA GPU", gpu), ("the vllm package", vllm)) if not ok
    )
    if cfg.if_unavailable == "transformers":
        return TransformersBackend(
            model_id=cfg.model_id,
            revision=cfg.revision,
            max_new_tokens=cfg.max_new_tokens,
            device="cuda" if gpu else "cpu",
        )
    raise BackendConfigError(
        f"vllm backend for {cfg.model_id!r} needs {missing}, which this replica lacks: run it "
        "on a GPU node with vLLM installed (num_gpus > 0 in the deployment resources), or set "
        "if_unavailable: transformers to fall back to the transformers backend"
    )


def create_backend(
    cfg: Backend,
    has_cuda: Callable[[], bool] = cuda_available,
    has_vllm: Callable[[], bool] = vllm_installed,
) -> LLMBackend:
    """Instantiate the backend for ``cfg`` (loads model weights for local backends; a model
    with ``s3_uri`` is fetched from S3 first, see :mod:`serving.model_store`)."""
    if isinstance(cfg, TransformersBackend | VLLMBackend) and cfg.s3_uri is not None:
        from serving.model_store import ModelStoreError, localize

        try:
            cfg = localize(cfg)
        except ModelStoreError as exc:
            raise BackendConfigError(str(exc)) from None
    resolved = resolve_backend_config(cfg, has_cuda, has_vllm)
    if isinstance(resolved, VLLMBackend):
        from serving.llm.vllm_backend import VLLMEngineLLM

        return VLLMEngineLLM(resolved)
    if isinstance(resolved, TransformersBackend):
        from serving.llm.transformers_backend import TransformersLLM

        return TransformersLLM(resolved)
    if isinstance(resolved, OpenAIBackend):
        from serving.llm.openai_backend import OpenAICompatibleLLM

        return OpenAICompatibleLLM(resolved)
    if isinstance(resolved, ExtractiveBackend):
        from serving.llm.extractive import ExtractiveLLM

        return ExtractiveLLM(resolved.max_passages)
    raise BackendConfigError(f"unknown backend kind {getattr(cfg, 'kind', cfg)!r}")
