"""The extractive backend: no language model; the answer is the best retrieved passages,
cited and clearly labelled as extractive."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from serving.llm.base import (
    Completion,
    GenerationParams,
    LLMBackend,
    Message,
    Passage,
    StreamDelta,
    StreamEnd,
    StreamEvent,
    estimate_tokens,
)

EXTRACTIVE_LABEL = "Extractive answer (no language model configured): the most relevant passages from your documents."
NO_PASSAGES = (
    "Extractive answer (no language model configured): no passage in the ingested documents "
    "matches this question. Ingest documents with `llmops ingest PATH`, or configure an LLM."
)


def extractive_answer(passages: Sequence[Passage], max_passages: int) -> str:
    """The labelled answer text built from the top passages."""
    if not passages:
        return NO_PASSAGES
    parts = [EXTRACTIVE_LABEL, ""]
    for p in list(passages)[:max_passages]:
        body = " ".join(p.text.split())
        if len(body) > 700:
            body = body[:700].rsplit(" ", 1)[0] + " ..."
        parts.append(f"[{p.index}] {p.source}: {body}")
    return "\n".join(parts)


class ExtractiveLLM(LLMBackend):
    """Answers with the retrieved passages themselves."""

    label = "extractive"

    def __init__(self, max_passages: int = 3) -> None:
        self.max_passages = max_passages

    async def generate(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        passages: Sequence[Passage] = (),
    ) -> Completion:
        text = extractive_answer(passages, self.max_passages)
        prompt = "\n".join(m["content"] for m in messages)
        return Completion(
            text=text,
            prompt_tokens=estimate_tokens(prompt),
            completion_tokens=estimate_tokens(text),
            backend=self.label,
            extractive=True,
        )

    async def stream(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        passages: Sequence[Passage] = (),
    ) -> AsyncIterator[StreamEvent]:
        done = await self.generate(messages, params, passages)
        for line in done.text.splitlines(keepends=True):
            yield StreamDelta(line)
        yield StreamEnd(done.prompt_tokens, done.completion_tokens, extractive=True)
