"""The RAG chain's pure parts: prompt assembly from templates and citations."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from serving.config import PromptTemplates
from serving.llm.base import Message, Passage

_CITE_RE = re.compile(r"\[(\d{1,3})\]")


def build_messages(
    messages: Sequence[Message], passages: Sequence[Passage], templates: PromptTemplates
) -> list[Message]:
    """The messages sent to the model. Without passages the conversation is passed through.
    With passages, the template's system prompt comes first (before the caller's own system
    messages) and the last user message becomes the context-plus-question template."""
    if not passages:
        return [dict(m) for m in messages]
    context = "\n\n".join(
        templates.passage.format(
            index=p.index, source=p.source, title=p.title or p.source, text=p.text
        )
        for p in passages
    )
    last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
    out: list[Message] = [{"role": "system", "content": templates.system}]
    for i, m in enumerate(messages):
        if i == last_user:
            out.append(
                {
                    "role": "user",
                    "content": templates.user.format(context=context, question=m["content"]),
                }
            )
        else:
            out.append(dict(m))
    return out


def citations(
    passages: Sequence[Passage], answer: str, snippet_chars: int = 240
) -> list[dict[str, Any]]:
    """Citation objects for the response: every passage given to the model, with ``cited``
    telling whether the answer refers to it as ``[n]``."""
    referenced = {int(n) for n in _CITE_RE.findall(answer)}
    out = []
    for p in passages:
        snippet = " ".join(p.text.split())
        if len(snippet) > snippet_chars:
            snippet = snippet[:snippet_chars].rsplit(" ", 1)[0] + " ..."
        out.append(
            {
                "index": p.index,
                "source": p.source,
                "title": p.title,
                "score": round(p.score, 4),
                "snippet": snippet,
                "cited": p.index in referenced,
                "matched": list(p.matched),
            }
        )
    return out
