"""The extractive backend: no language model; the answer is the best retrieved passages,
cited and labelled as extractive. The label says why: no model is configured, or the
configured ones failed (and which)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

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
    estimate_tokens,
    message_text,
)

NO_MODEL = "no language model configured"

#: Characters per token of :func:`estimate_tokens` (used to honour ``max_tokens``).
_CHARS_PER_TOKEN = 4


def _why(failed: Sequence[Attempt]) -> str:
    if not failed:
        return NO_MODEL
    tried = ", ".join(f"{a.backend} ({a.kind})" for a in failed)
    return f"the language model is unavailable: {tried}"


def extractive_answer(
    passages: Sequence[Passage], max_passages: int, failed: Sequence[Attempt] = ()
) -> str:
    """The labelled answer text built from the top passages."""
    why = _why(failed)
    if not passages:
        return (
            f"Extractive answer ({why}): no passage in the ingested documents matches this "
            "question. Ingest documents with `llmops ingest PATH`"
            + (", or configure an LLM." if not failed else ".")
        )
    parts = [f"Extractive answer ({why}): the most relevant passages from your documents.", ""]
    for p in list(passages)[:max_passages]:
        body = " ".join(p.text.split())
        if len(body) > 700:
            body = body[:700].rsplit(" ", 1)[0] + " ..."
        parts.append(f"[{p.index}] {p.source}: {body}")
    return "\n".join(parts)


def truncate_to_tokens(text: str, max_tokens: int | None) -> tuple[str, bool]:
    """``text`` cut to about ``max_tokens`` tokens (at a word boundary where there is one);
    returns (text, cut)."""
    if max_tokens is None or estimate_tokens(text) <= max_tokens:
        return text, False
    limit = max_tokens * _CHARS_PER_TOKEN
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut, True


class ExtractiveLLM(LLMBackend):
    """Answers with the retrieved passages themselves."""

    label = "extractive"
    options = frozenset({"seed"})  # deterministic anyway

    def __init__(self, max_passages: int = 3) -> None:
        self.max_passages = max_passages

    async def generate(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        passages: Sequence[Passage] = (),
        failed: Sequence[Attempt] = (),
    ) -> Completion:
        full = extractive_answer(passages, self.max_passages, failed)
        text, cut = truncate_to_tokens(full, params.max_tokens)
        prompt = "\n".join(message_text(m) for m in messages)
        return Completion(
            text=text,
            prompt_tokens=estimate_tokens(prompt),
            completion_tokens=estimate_tokens(text),
            finish_reason="length" if cut else "stop",
            backend=self.label,
            extractive=True,
        )

    async def stream(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        passages: Sequence[Passage] = (),
        failed: Sequence[Attempt] = (),
    ) -> AsyncIterator[StreamEvent]:
        done = await self.generate(messages, params, passages, failed)
        for line in done.text.splitlines(keepends=True):
            yield StreamDelta(line)
        yield StreamEnd(
            done.prompt_tokens, done.completion_tokens, done.finish_reason, extractive=True
        )
