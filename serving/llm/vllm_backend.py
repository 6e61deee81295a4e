"""vLLM backend for GPUs (continuous batching, paged attention). ``vllm`` is imported lazily:
it is only installed in GPU images."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

from serving.config import VLLMBackend
from serving.llm.base import (
    Attempt,
    Completion,
    GenerationParams,
    LLMBackend,
    Message,
    Passage,
    StreamDelta,
    StreamEnd,
    StreamEvent,
    render_plain_prompt,
)


class VLLMEngineLLM(LLMBackend):
    """A model served by vLLM's ``AsyncLLMEngine`` inside the replica."""

    label = "vllm"

    def __init__(self, cfg: VLLMBackend) -> None:
        from vllm import AsyncEngineArgs, AsyncLLMEngine

        self.cfg = cfg
        self.options = cfg.options
        args = AsyncEngineArgs(
            model=cfg.model_id,
            revision=cfg.revision,
            tensor_parallel_size=cfg.tensor_parallel_size,
            gpu_memory_utilization=cfg.gpu_memory_utilization,
            max_model_len=cfg.max_model_len,
            dtype=cfg.dtype,
        )
        self.engine = AsyncLLMEngine.from_engine_args(args)
        self._tokenizer: Any = None

    async def _tok(self) -> Any:
        if self._tokenizer is None:
            self._tokenizer = await self.engine.get_tokenizer()
        return self._tokenizer

    def count_tokens(self, text: str) -> int:
        if self._tokenizer is None:
            return super().count_tokens(text)
        return len(self._tokenizer.encode(text, add_special_tokens=False))

    async def _prompt(self, messages: Sequence[Message]) -> str:
        tok = await self._tok()
        if getattr(tok, "chat_template", None):
            return str(
                tok.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
            )
        return render_plain_prompt(messages)

    def _sampling(self, params: GenerationParams) -> Any:
        from vllm import SamplingParams

        opts = params.options
        return SamplingParams(
            max_tokens=min(params.max_tokens or self.cfg.max_new_tokens, self.cfg.max_new_tokens),
            temperature=params.temperature,
            top_p=params.top_p,
            stop=list(params.stop) or None,
            seed=opts.get("seed"),
            presence_penalty=float(opts.get("presence_penalty", 0.0)),
            frequency_penalty=float(opts.get("frequency_penalty", 0.0)),
        )

    async def stream(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        passages: Sequence[Passage] = (),
        failed: Sequence[Attempt] = (),
    ) -> AsyncIterator[StreamEvent]:
        prompt = await self._prompt(messages)
        emitted = ""
        final: Any = None
        async for out in self.engine.generate(prompt, self._sampling(params), uuid.uuid4().hex):
            final = out
            text = out.outputs[0].text
            if len(text) > len(emitted):
                yield StreamDelta(text[len(emitted) :])
                emitted = text
        n_in = len(final.prompt_token_ids) if final is not None else 0
        n_out = len(final.outputs[0].token_ids) if final is not None else 0
        reason = (final.outputs[0].finish_reason if final is not None else None) or "stop"
        yield StreamEnd(n_in, n_out, reason)

    async def generate(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        passages: Sequence[Passage] = (),
        failed: Sequence[Attempt] = (),
    ) -> Completion:
        text = ""
        end: StreamEnd | None = None
        async for ev in self.stream(messages, params, passages, failed):
            if isinstance(ev, StreamDelta):
                text += ev.text
            else:
                end = ev
        assert end is not None
        return Completion(
            text, end.prompt_tokens, end.completion_tokens, end.finish_reason, self.label
        )
