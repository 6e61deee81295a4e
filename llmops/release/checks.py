"""What the smoke test and the evaluation report: one :class:`Check` per thing checked,
and the shape rules for the OpenAI-compatible answers they read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_PART = re.compile(r"[^.\[\]]+|\[\d+\]")


@dataclass(frozen=True)
class Check:
    """One check: its name, whether it passed, and what was found, in one line."""

    name: str
    passed: bool
    detail: str
    latency_ms: float | None = None

    def to_document(self) -> dict[str, Any]:
        document: dict[str, Any] = {"name": self.name, "passed": self.passed, "detail": self.detail}
        if self.latency_ms is not None:
            document["latencyMs"] = round(self.latency_ms, 1)
        return document


_TYPE_NAMES: dict[type, str] = {
    dict: "an object", list: "a list", str: "a string", bool: "true/false", int: "a whole number",
    float: "a number", type(None): "null",
}


def _kind(value: Any) -> str:
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def expect(body: Any, path: str, kind: type, problems: list[str], *, non_empty: bool = False) -> Any:
    """The value at ``path`` (``choices[0].message.content``) when it is of ``kind``; else
    ``None``, with the problem (naming the path) appended to ``problems``."""
    value = body
    walked = ""
    for part in _PART.findall(path):
        if part.startswith("["):
            index = int(part[1:-1])
            if not isinstance(value, list) or len(value) <= index:
                problems.append(f"{walked}{part} is missing ({walked or 'the body'} is {_kind(value)}"
                                + (f" of {len(value)}" if isinstance(value, list) else "") + ")")
                return None
            value = value[index]
            walked += part
            continue
        if not isinstance(value, dict) or part not in value:
            where = f"{walked}.{part}" if walked else part
            keys = f"; keys: {', '.join(sorted(map(str, value)))}" if isinstance(value, dict) and value else ""
            problems.append(f"{where} is missing{keys}")
            return None
        value = value[part]
        walked = f"{walked}.{part}" if walked else part
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        problems.append(f"{path} must be {_TYPE_NAMES.get(kind, kind.__name__)} (got {_kind(value)})")
        return None
    if non_empty and not value:
        problems.append(f"{path} is empty")
    return value


def chat_problems(body: Any) -> list[str]:
    """What is wrong with a chat completion (OpenAI's ``chat.completion`` object)."""
    problems: list[str] = []
    if expect(body, "object", str, problems) not in (None, "chat.completion"):
        problems.append(f"object is {body['object']!r}, not 'chat.completion'")
    expect(body, "id", str, problems, non_empty=True)
    role = expect(body, "choices[0].message.role", str, problems)
    if role is not None and role != "assistant":
        problems.append(f"choices[0].message.role is {role!r}, not 'assistant'")
    expect(body, "choices[0].message.content", str, problems, non_empty=True)
    expect(body, "choices[0].finish_reason", str, problems)
    for name in ("prompt_tokens", "completion_tokens", "total_tokens"):
        expect(body, f"usage.{name}", int, problems)
    return problems


def answer_text(body: Any) -> str:
    """The assistant's text of a chat completion ('' when absent)."""
    problems: list[str] = []
    text = expect(body, "choices[0].message.content", str, problems)
    return text or ""


def stream_problems(chunks: list[Any], done: bool) -> tuple[list[str], str]:
    """What is wrong with a streamed completion, and the text it streamed."""
    problems: list[str] = []
    text = ""
    finished = False
    for index, chunk in enumerate(chunks):
        if isinstance(chunk, dict) and "error" in chunk:
            error = chunk["error"]
            message = error.get("message") if isinstance(error, dict) else error
            problems.append(f"the stream reported an error at chunk {index}: {message}")
            break
        local: list[str] = []
        if expect(chunk, "object", str, local) not in (None, "chat.completion.chunk"):
            local.append(f"object is {chunk['object']!r}, not 'chat.completion.chunk'")
        delta = expect(chunk, "choices[0].delta", dict, local)
        if local:
            problems.append(f"chunk {index}: " + "; ".join(local))
            break
        content = delta.get("content") if delta is not None else None
        if content is not None and not isinstance(content, str):
            problems.append(f"chunk {index}: choices[0].delta.content must be a string")
            break
        text += content or ""
        finished = finished or bool(chunk["choices"][0].get("finish_reason"))
    if not chunks:
        problems.append("the stream sent no chunk")
    elif not problems:
        if not text.strip():
            problems.append("the stream carried no text")
        if not finished:
            problems.append("no chunk set finish_reason")
    if not done and not problems:
        problems.append("the stream did not end with 'data: [DONE]'")
    return problems, text


def embedding_problems(body: Any, inputs: int) -> list[str]:
    """What is wrong with an embeddings answer for ``inputs`` texts."""
    problems: list[str] = []
    if expect(body, "object", str, problems) not in (None, "list"):
        problems.append(f"object is {body['object']!r}, not 'list'")
    data = expect(body, "data", list, problems)
    if data is None:
        return problems
    if len(data) != inputs:
        problems.append(f"data has {len(data)} embedding(s) for {inputs} input(s)")
    sizes = set()
    for index in range(min(len(data), inputs)):
        vector = expect(body, f"data[{index}].embedding", list, problems, non_empty=True)
        if vector is None:
            continue
        if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in vector):
            problems.append(f"data[{index}].embedding holds non-numbers")
        sizes.add(len(vector))
        if expect(body, f"data[{index}].index", int, problems) not in (None, index):
            problems.append(f"data[{index}].index is {data[index]['index']}, not {index}")
    if len(sizes) > 1:
        problems.append(f"embeddings differ in length ({', '.join(map(str, sorted(sizes)))})")
    return problems


def citations_of(body: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """The ``citations`` of a RAG answer (objects with a ``source``), and what is wrong
    with them."""
    problems: list[str] = []
    if isinstance(body, dict) and "citations" not in body:
        return [], ["the answer carries no citations (no 'citations' list)"]
    found = expect(body, "citations", list, problems)
    if found is None:
        return [], problems
    valid = []
    for index, item in enumerate(found):
        if isinstance(item, dict) and isinstance(item.get("source"), str):
            valid.append(item)
        else:
            problems.append(f"citations[{index}] has no source")
    return valid, problems


def is_cited(citation: dict[str, Any], answer: str) -> bool:
    """Whether the answer refers to ``citation``: its ``cited`` flag when the server sets
    one, else an ``[n]`` marker for its ``index`` in the text."""
    flag = citation.get("cited")
    if isinstance(flag, bool):
        return flag
    index = citation.get("index")
    return isinstance(index, int) and f"[{index}]" in answer
