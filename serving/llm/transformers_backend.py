"""Hugging Face transformers backend: a causal LM on CPU (or one GPU), for small models.
Generation runs in a worker thread so the replica's event loop stays responsive; one
generation runs at a time per replica (Serve spreads load across replicas)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Sequence
from typing import Any

from serving.config import TransformersBackend
from serving.llm.base import (
    Attempt,
    BackendConfigError,
    Completion,
    GenerationParams,
    LLMBackend,
    Message,
    Passage,
    StreamDelta,
    StreamEnd,
    StreamEvent,
    apply_stop,
    render_plain_prompt,
)


class _Cancelled:
    """Stopping criterion that ends generation once ``event`` is set."""

    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool)


class TransformersLLM(LLMBackend):
    """A causal LM loaded with ``AutoModelForCausalLM`` (never downloaded when
    ``local_files_only``)."""

    label = "transformers"

    def __init__(self, cfg: TransformersBackend) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.cfg = cfg
        self.options = cfg.options
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        device = cfg.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = device
        dtype: Any = "auto" if cfg.dtype == "auto" else getattr(torch, cfg.dtype)
        if device == "cpu" and cfg.dtype == "auto":
            dtype = torch.float32
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(
                cfg.model_id, revision=cfg.revision, local_files_only=cfg.local_files_only
            )
            model: Any = AutoModelForCausalLM.from_pretrained(
                cfg.model_id,
                revision=cfg.revision,
                local_files_only=cfg.local_files_only,
                dtype=dtype,
            )
            self.model: Any = model.to(device)
        except OSError as exc:
            raise BackendConfigError(
                f"transformers backend cannot load {cfg.model_id!r} (revision {cfg.revision}): "
                f"{str(exc).splitlines()[0]}. Point model_id at a local directory, or download "
                "the model into the HF cache beforehand (local_files_only is "
                f"{cfg.local_files_only})"
            ) from None
        self.model.eval()
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def _prompt(self, messages: Sequence[Message]) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            return str(
                self.tokenizer.apply_chat_template(
                    list(messages), tokenize=False, add_generation_prompt=True
                )
            )
        return render_plain_prompt(messages)

    def _seed(self, params: GenerationParams) -> None:
        """Seed sampling when the request asks for it (called under the generation lock)."""
        seed = params.options.get("seed")
        if seed is not None and params.temperature > 0:
            import torch

            torch.manual_seed(int(seed))

    def _gen_kwargs(self, params: GenerationParams) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "max_new_tokens": min(
                params.max_tokens or self.cfg.max_new_tokens, self.cfg.max_new_tokens
            ),
        }
        if params.temperature > 0:
            kwargs.update(do_sample=True, temperature=params.temperature, top_p=params.top_p)
        else:
            kwargs.update(do_sample=False)
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = self.tokenizer.eos_token_id
        if pad is not None:
            kwargs["pad_token_id"] = pad
        return kwargs

    def _encode(self, messages: Sequence[Message]) -> Any:
        enc = self.tokenizer(self._prompt(messages), return_tensors="pt", add_special_tokens=False)
        return {k: v.to(self.device) for k, v in enc.items()}

    def _generate_sync(self, messages: Sequence[Message], params: GenerationParams) -> Completion:
        import torch

        enc = self._encode(messages)
        n_in = int(enc["input_ids"].shape[1])
        kwargs = self._gen_kwargs(params)
        with self._lock, torch.inference_mode():
            self._seed(params)
            out = self.model.generate(**enc, **kwargs)
        new = out[0, n_in:]
        text = str(self.tokenizer.decode(new, skip_special_tokens=True))
        text, stopped = apply_stop(text, params.stop)
        hit_eos = bool(len(new)) and int(new[-1]) == self.tokenizer.eos_token_id
        finish = "stop" if stopped or hit_eos or len(new) < kwargs["max_new_tokens"] else "length"
        n_out = self.count_tokens(text) if stopped else len(new)
        return Completion(text, n_in, n_out, finish, self.label)

    async def generate(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        passages: Sequence[Passage] = (),
        failed: Sequence[Attempt] = (),
    ) -> Completion:
        return await asyncio.to_thread(self._generate_sync, messages, params)

    async def stream(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        passages: Sequence[Passage] = (),
        failed: Sequence[Attempt] = (),
    ) -> AsyncIterator[StreamEvent]:
        import torch
        from transformers import StoppingCriteriaList, TextIteratorStreamer

        enc = self._encode(messages)
        n_in = int(enc["input_ids"].shape[1])
        kwargs = self._gen_kwargs(params)
        streamer = TextIteratorStreamer(
            self.tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=300.0
        )
        result: dict[str, Any] = {}

        def run() -> None:
            try:
                with self._lock, torch.inference_mode():
                    self._seed(params)
                    result["out"] = self.model.generate(**enc, **kwargs, streamer=streamer)
            except BaseException as exc:  # surfaced to the consumer below
                result["error"] = exc
                streamer.end()  # type: ignore[no-untyped-call]

        cancel = threading.Event()
        kwargs["stopping_criteria"] = StoppingCriteriaList([_Cancelled(cancel)])
        thread = threading.Thread(target=run, name="transformers-generate", daemon=True)
        thread.start()
        emitted = ""
        stopped = False
        sentinel = object()
        it = iter(streamer)
        try:
            while True:
                piece = await asyncio.to_thread(next, it, sentinel)
                if piece is sentinel:
                    break
                assert isinstance(piece, str)
                candidate, stopped = apply_stop(emitted + piece, params.stop)
                if len(candidate) > len(emitted):
                    yield StreamDelta(candidate[len(emitted) :])
                    emitted = candidate
                if stopped:
                    break
        finally:
            # a stop sequence, or a client that went away, ends generation early
            cancel.set()
            await asyncio.to_thread(thread.join)
        if "error" in result:
            raise result["error"]
        out = result.get("out")
        n_new = int(out.shape[1] - n_in) if out is not None else self.count_tokens(emitted)
        n_out = self.count_tokens(emitted) if stopped else n_new
        finish = "stop" if stopped or n_new < kwargs["max_new_tokens"] else "length"
        yield StreamEnd(n_in, n_out, finish)
