"""``llmops smoke``: does a deployed (or local) endpoint answer like the platform's API?

Checks, in order, each with a one-line verdict:

- ``health``: ``GET /healthz`` answers 200 with ``status: ok``;
- ``models``: ``GET /v1/models`` lists at least one model;
- ``chat``: a plain chat completion has OpenAI's shape and some text;
- ``stream``: the same request streamed (server-sent events) carries text, a
  ``finish_reason`` and ends with ``[DONE]``;
- ``embeddings``: ``POST /v1/embeddings`` returns one vector per input, all the same length;
- ``rag``: a question about a probe document (ingested first, idempotently, unless
  ``ingest`` is off) is answered with citations, and the answer cites the probe;
- ``latency``: the slowest of those requests stays within the latency budget.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from llmops.release.api import ApiClient, Reply
from llmops.release.checks import (
    Check,
    answer_text,
    chat_problems,
    citations_of,
    embedding_problems,
    expect,
    is_cited,
    stream_problems,
)

PROBE_SOURCE = "llmops-smoke/probe.md"
PROBE_TEXT = (
    "# llmops smoke probe\n\n"
    "The llmops smoke probe is a short document the smoke test stores and asks about. "
    "Its code word is heliotrope-seven, and it is kept under the source name llmops-smoke/probe.md.\n"
)
PROBE_QUESTION = "What is the code word of the llmops smoke probe?"
CHAT_PROMPT = "Reply with one short sentence: is the service up?"
EMBEDDING_INPUTS = ("smoke test: the first sentence", "smoke test: another, different sentence")
DEFAULT_LATENCY_BUDGET_MS = 5000.0
MAX_TOKENS = 32


@dataclass(frozen=True)
class SmokeOptions:
    latency_budget_ms: float = DEFAULT_LATENCY_BUDGET_MS
    model: str | None = None
    """Model for the chat checks (default: the server's choice)."""
    ingest: bool = True
    """Store the probe document before the RAG check (idempotent)."""
    rag_question: str | None = None
    """Ask this instead of the probe question (with ``ingest`` off, for stores that must not be written)."""


@dataclass
class SmokeReport:
    endpoint: str
    options: SmokeOptions
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def summary(self) -> str:
        return f"{sum(c.passed for c in self.checks)}/{len(self.checks)} checks passed"

    def to_document(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "latencyBudgetMs": self.options.latency_budget_ms,
            "model": self.options.model,
            "checks": [c.to_document() for c in self.checks],
            "summary": self.summary,
        }


def _verdict(name: str, reply: Reply, problems: list[str], ok_detail: str) -> Check:
    if problems:
        return Check(name, False, "bad shape: " + "; ".join(problems), reply.elapsed_ms)
    return Check(name, True, ok_detail, reply.elapsed_ms)


def check_health(client: ApiClient) -> Check:
    reply = client.get("/healthz")
    if reply.error is not None:
        return Check("health", False, reply.error, None)
    problems: list[str] = []
    status = expect(reply.body, "status", str, problems)
    if reply.status != 200 or status != "ok":
        shown = status if status is not None else (reply.text[:120] or "no body")
        extra = {k: v for k, v in reply.body.items() if k != "status"} if isinstance(reply.body, dict) else {}
        details = ", ".join(f"{k}: {v}" for k, v in extra.items() if isinstance(v, str))
        return Check("health", False, f"HTTP {reply.status}, status {shown}" + (f" ({details})" if details else ""), reply.elapsed_ms)
    parts = [f"{k} {v}" for k, v in reply.body.items() if k != "status" and isinstance(v, str)]
    return Check("health", True, "status ok" + (f" ({', '.join(parts)})" if parts else ""), reply.elapsed_ms)


def check_models(client: ApiClient) -> Check:
    reply = client.get("/v1/models")
    failure = reply.problem()
    if failure:
        return Check("models", False, failure, None if reply.error else reply.elapsed_ms)
    problems: list[str] = []
    data = expect(reply.body, "data", list, problems, non_empty=True) or []
    ids = [m["id"] for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]
    if data and len(ids) != len(data):
        problems.append("every item of data needs a string id")
    return _verdict("models", reply, problems, f"{len(ids)} model(s): {', '.join(ids)}")


def _chat_body(options: SmokeOptions, content: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": content}], "max_tokens": MAX_TOKENS, **extra}
    if options.model:
        body["model"] = options.model
    return body


def check_chat(client: ApiClient, options: SmokeOptions) -> Check:
    reply = client.post("/v1/chat/completions", _chat_body(options, CHAT_PROMPT, retrieval=False))
    failure = reply.problem()
    if failure:
        return Check("chat", False, failure, None if reply.error else reply.elapsed_ms)
    text = answer_text(reply.body)
    return _verdict("chat", reply, chat_problems(reply.body), f"{reply.body.get('model', '?')} answered {len(text)} characters")


def check_stream(client: ApiClient, options: SmokeOptions) -> Check:
    streamed = client.stream("/v1/chat/completions", _chat_body(options, CHAT_PROMPT, retrieval=False, stream=True))
    reply = streamed.reply
    failure = reply.problem() if reply.error or not reply.ok else None
    if failure:
        return Check("stream", False, failure, None if reply.error else reply.elapsed_ms)
    problems, text = stream_problems(streamed.chunks, streamed.done)
    if streamed.bad_lines:
        problems.insert(0, f"{len(streamed.bad_lines)} data line(s) are not JSON, e.g. {streamed.bad_lines[0]!r}")
    first = f", first chunk after {streamed.first_chunk_ms:.0f} ms" if streamed.first_chunk_ms is not None else ""
    return _verdict("stream", reply, problems, f"{len(streamed.chunks)} chunks, {len(text)} characters{first}")


def check_embeddings(client: ApiClient) -> Check:
    reply = client.post("/v1/embeddings", {"input": list(EMBEDDING_INPUTS)})
    failure = reply.problem()
    if failure:
        return Check("embeddings", False, failure, None if reply.error else reply.elapsed_ms)
    problems = embedding_problems(reply.body, len(EMBEDDING_INPUTS))
    data = reply.body.get("data") if isinstance(reply.body, dict) else None
    size = len(data[0]["embedding"]) if not problems and data else 0
    return _verdict("embeddings", reply, problems, f"{len(EMBEDDING_INPUTS)} vectors of {size} dimensions")


def check_rag(client: ApiClient, options: SmokeOptions) -> Check:
    if options.ingest:
        stored = client.post("/v1/documents", {"documents": [{"source": PROBE_SOURCE, "text": PROBE_TEXT}]})
        failure = stored.problem()
        if failure:
            return Check("rag", False, f"could not store the probe document: {failure}")
    question = options.rag_question or PROBE_QUESTION
    reply = client.post("/v1/chat/completions", _chat_body(options, question))
    failure = reply.problem()
    if failure:
        return Check("rag", False, failure, None if reply.error else reply.elapsed_ms)
    problems = chat_problems(reply.body)
    citations, cite_problems = citations_of(reply.body)
    problems += cite_problems
    answer = answer_text(reply.body)
    if not problems:
        if not citations:
            problems.append("the answer has no citations")
        else:
            wanted = [c for c in citations if c["source"] == PROBE_SOURCE] if options.rag_question is None else citations
            if not wanted:
                sources = ", ".join(sorted({c["source"] for c in citations}))
                problems.append(f"no citation of {PROBE_SOURCE} (cited sources: {sources})")
            elif not any(is_cited(c, answer) for c in wanted):
                problems.append("the answer does not refer to its sources (no [n] marker)")
    if problems:
        return Check("rag", False, "; ".join(problems), reply.elapsed_ms)
    cited = sorted({c["source"] for c in citations if is_cited(c, answer)})
    return Check("rag", True, f"{len(citations)} citation(s), cites {', '.join(cited)}", reply.elapsed_ms)


def check_latency(checks: list[Check], budget_ms: float) -> Check:
    timed = [(c.name, c.latency_ms) for c in checks if c.latency_ms is not None and c.name != "health"]
    if not timed:
        return Check("latency", False, "no request was answered, so there is nothing to time")
    name, slowest = max(timed, key=lambda item: item[1])
    median = statistics.median(ms for _, ms in timed)
    detail = f"slowest {name} {slowest:.0f} ms, median {median:.0f} ms, budget {budget_ms:.0f} ms"
    if slowest > budget_ms:
        return Check("latency", False, f"{name} took {slowest:.0f} ms, over the {budget_ms:.0f} ms budget (median {median:.0f} ms)")
    return Check("latency", True, detail)


def run_smoke(client: ApiClient, options: SmokeOptions) -> SmokeReport:
    """Runs every check against ``client``'s endpoint; never raises for a bad server."""
    report = SmokeReport(client.endpoint, options)
    report.checks.append(check_health(client))
    report.checks.append(check_models(client))
    report.checks.append(check_chat(client, options))
    report.checks.append(check_stream(client, options))
    report.checks.append(check_embeddings(client))
    report.checks.append(check_rag(client, options))
    report.checks.append(check_latency(report.checks, options.latency_budget_ms))
    return report
