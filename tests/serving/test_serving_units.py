"""Fast unit tests without Ray: chunking, backoff and breaker, router weights, API keys and
rate limits, prompt assembly and citations, API error mapping, backend selection."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from serving.api import (
    ApiError,
    ChatCompletionRequest,
    DocumentsRequest,
    EmbeddingsRequest,
    validation_error_to_api,
)
from serving.auth import (
    AuthError,
    KeyStore,
    KeyStoreError,
    RateLimiter,
    fingerprint,
    generate_key,
    hash_key,
)
from serving.chunking import chunk_text, content_hash, title_of
from serving.config import PromptTemplates, TransformersBackend, VLLMBackend
from serving.llm.base import BackendConfigError, Passage, apply_stop
from serving.llm.factory import resolve_backend_config
from serving.rag import build_messages, citations
from serving.resilience import BackoffPolicy, BreakerState, CircuitBreaker
from serving.router import ModelRouter, UnknownModelError

# ------------------------------------------------------------------ chunking


def test_chunks_follow_paragraphs_and_overlap() -> None:
    paras = [f"Paragraph {i}. " + "word " * 40 for i in range(6)]
    text = "\n\n".join(paras)
    chunks = chunk_text(text, size=500, overlap=80)
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert all(len(c.text) <= 500 for c in chunks)
    assert chunks[0].text.startswith("Paragraph 0.")
    # each later chunk starts with the tail of the previous one
    for prev, cur in itertools.pairwise(chunks):
        head = cur.text.split("\n\n")[0]
        assert head in prev.text, (head, prev.text)
    assert chunks[1].start == text.index("Paragraph 2.")


def test_long_unbroken_text_is_hard_split() -> None:
    chunks = chunk_text("x" * 2500, size=1000, overlap=0)
    assert [len(c.text) for c in chunks] == [1000, 1000, 500]


@settings(max_examples=60, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("ab .\n"), min_size=0, max_size=3000),
    st.integers(50, 400),
    st.integers(0, 49),
)
def test_chunking_bounds_and_coverage(text: str, size: int, overlap: int) -> None:
    chunks = chunk_text(text, size=size, overlap=overlap)
    assert all(0 < len(c.text) <= size for c in chunks)
    if not text.strip():
        assert chunks == []
    # every word of the input survives in some chunk, in order
    joined = " ".join(c.text for c in chunks)
    for word in text.split():
        assert word.strip(".") in joined or not word.strip(".")


def test_content_hash_normalises_line_endings_only() -> None:
    assert content_hash("a\r\nb\n") == content_hash("a\nb")
    assert content_hash("a b") != content_hash("a  b")
    assert len(content_hash("x")) == 64


def test_title_of() -> None:
    assert title_of("intro\n## Deploying Ray ##\ntext", "f.md") == "Deploying Ray"
    assert title_of("no heading", "f.md") == "f.md"


# -------------------------------------------------------- backoff and breaker


def test_backoff_full_jitter_within_exponential_ceiling() -> None:
    p = BackoffPolicy(base_s=0.1, max_s=1.0)
    assert [p.ceiling(n) for n in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    rng = random.Random(7)
    delays = [p.delay(3, rng) for _ in range(2000)]
    assert all(0 <= d <= 0.8 for d in delays)
    assert 0.35 < sum(delays) / len(delays) < 0.45  # uniform on [0, 0.8]: mean 0.4
    assert len({round(d, 6) for d in delays}) > 1900  # jittered, not fixed


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_breaker_opens_half_opens_and_closes() -> None:
    clock = FakeClock()
    b = CircuitBreaker(failure_threshold=3, reset_s=10, clock=clock)
    for _ in range(2):
        assert b.allow()
        b.record_failure()
    assert b.state is BreakerState.CLOSED
    b.record_failure()
    assert b.state is BreakerState.OPEN and not b.allow()
    assert b.retry_after_s() == pytest.approx(10)
    clock.t += 10
    assert b.state is BreakerState.HALF_OPEN
    assert b.allow()  # one trial
    assert not b.allow()  # only one at a time
    b.record_failure()  # trial failed: open again for reset_s
    assert b.state is BreakerState.OPEN
    clock.t += 10
    assert b.allow()
    b.record_success()
    assert b.state is BreakerState.CLOSED and b.allow()


def test_breaker_success_resets_failure_count() -> None:
    b = CircuitBreaker(failure_threshold=2, reset_s=1, clock=FakeClock())
    b.record_failure()
    b.record_success()
    b.record_failure()
    assert b.state is BreakerState.CLOSED


# --------------------------------------------------------------------- router


def test_weighted_split_matches_weights() -> None:
    r = ModelRouter(
        ["stable", "canary", "other"], splits=[("stable", 90), ("canary", 10)], rng=random.Random(1)
    )
    assert r.weights == {"stable": 0.9, "canary": 0.1}
    counts = Counter(r.choose(None).model for _ in range(20000))
    assert set(counts) == {"stable", "canary"}
    assert 0.085 < counts["canary"] / 20000 < 0.115


def test_router_requested_default_and_sticky() -> None:
    r = ModelRouter(["a", "b"], default_model="b", splits=[("a", 1), ("b", 1)])
    assert r.choose("a").reason == "requested"
    assert r.choose("auto").reason == "split"
    with pytest.raises(UnknownModelError, match="available: a, b"):
        r.choose("gpt-5")
    picks = {r.choose(None, sticky_key="user-42").model for _ in range(50)}
    assert len(picks) == 1  # the same user always lands in the same arm
    spread = Counter(r.choose(None, sticky_key=f"user-{i}").model for i in range(2000))
    assert 800 < spread["a"] < 1200
    assert ModelRouter(["a", "b"], default_model="b").choose(None).model == "b"
    with pytest.raises(UnknownModelError):
        ModelRouter(["a"], splits=[("zzz", 1)])


# --------------------------------------------------------------- keys, limits


def test_keys_are_hashed_and_checked() -> None:
    key = generate_key()
    assert key.startswith("sk-llmops-") and len(key) > 40
    store = KeyStore.from_json(
        f'{{"keys": [{{"id": "svc", "sha256": "{hash_key(key)}", "team": "search", "rate_limit_per_minute": 5, "models": ["m1"]}}]}}'
    )
    assert key not in store.to_json()  # only the hash is stored
    k = store.authenticate(f"Bearer {key}")
    assert (k.id, k.team, k.rate_limit_per_minute) == ("svc", "search", 5)
    assert k.may_use("m1") and not k.may_use("m2")
    with pytest.raises(AuthError) as missing:
        store.authenticate(None)
    assert (missing.value.status, missing.value.code) == (401, "missing_api_key")
    with pytest.raises(AuthError) as basic:
        store.authenticate("Basic abc")
    assert basic.value.status == 401
    wrong = "sk-llmops-wrong-key-value"
    with pytest.raises(AuthError) as bad:
        store.authenticate(f"Bearer {wrong}")
    assert (bad.value.status, bad.value.code) == (403, "invalid_api_key")
    assert wrong not in bad.value.message and fingerprint(wrong) in bad.value.message


@pytest.mark.parametrize(
    ("doc", "words"),
    [
        (
            '{"keys": [{"id": "a", "sha256": "sk-llmops-clear"}]}',
            "keys[0].sha256: must be the 64-char hex",
        ),
        ('{"keys": [{"id": "bad id!", "sha256": "%s"}]}' % ("0" * 64), "keys[0].id"),
        (
            '{"keys": [{"id": "a", "sha256": "%s", "rate_limit_per_minute": 0}]}' % ("0" * 64),
            "rate_limit_per_minute",
        ),
        (
            '{{"keys": [{{"id": "a", "sha256": "{}"}}, {{"id": "a", "sha256": "{}"}}]}}'.format(
                "0" * 64, "1" * 64
            ),
            "duplicate key id 'a'",
        ),
        ("{not json", "not valid JSON"),
        ("[]", 'expected {"keys": [...]}'),
    ],
)
def test_key_store_errors_name_the_entry(doc: str, words: str) -> None:
    with pytest.raises(
        KeyStoreError,
        match="secret: .*"
        + words.replace("[", r"\[")
        .replace("]", r"\]")
        .replace("(", r"\(")
        .replace("{", r"\{")
        .replace("}", r"\}")
        .replace(".", r"\."),
    ):
        KeyStore.from_json(doc, source="secret")


def test_key_store_loads_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "MY_KEYS", '{{"keys": [{{"id": "e", "sha256": "{}"}}]}}'.format(hash_key("k"))
    )
    assert KeyStore.load(None, "MY_KEYS").authenticate("Bearer k").id == "e"
    assert len(KeyStore.load(None, "UNSET_VAR_X")) == 0


def test_rate_limiter_token_bucket() -> None:
    clock = FakeClock()
    lim = RateLimiter(clock=clock)
    assert [lim.check("k", 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = lim.check("k", 3)
    assert wait == pytest.approx(20.0)  # one token per 20 s at 3/min
    assert lim.check("other", 3) == 0.0  # per key
    clock.t += 20
    assert lim.check("k", 3) == 0.0
    assert lim.check("k", 3) > 0


# --------------------------------------------------------------- RAG prompts


def test_build_messages_and_citations() -> None:
    passages = [
        Passage(1, "ray.md", "Ray Serve scales replicas.", 0.8, "Ray"),
        Passage(2, "pg.md", "pgvector stores vectors.", 0.5),
    ]
    msgs = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "How to scale?"}]
    out = build_messages(msgs, passages, PromptTemplates())
    assert out[0]["role"] == "system" and "cite" in out[0]["content"]
    assert out[1] == {"role": "system", "content": "be brief"}
    assert "[1] (ray.md)\nRay Serve scales replicas." in out[2]["content"]
    assert out[2]["content"].endswith("Question: How to scale?")
    assert build_messages(msgs, [], PromptTemplates()) == msgs
    cites = citations(passages, "Use replicas [1].")
    assert [(c["source"], c["cited"]) for c in cites] == [("ray.md", True), ("pg.md", False)]


def test_truncated_embeddings_are_unit_length() -> None:
    import numpy as np

    from serving.embeddings import truncate

    out = truncate(np.array([[3.0, 4.0, 12.0], [0.0, 0.0, 1.0]], dtype=np.float32), 2)
    assert out.shape == (2, 2) and np.allclose(out[0], [0.6, 0.8])
    assert np.allclose(out[1], [0.0, 0.0])  # nothing left to normalise: zeros, not NaN


def test_apply_stop() -> None:
    assert apply_stop("hello END world", ["END"]) == ("hello ", True)
    assert apply_stop("hello", ["x", ""]) == ("hello", False)


# ------------------------------------------------------------ request errors


def _api_error(model: type[BaseModel], data: dict[str, Any]) -> ApiError:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as e:
        model.model_validate(data)
    return validation_error_to_api(e.value, data, model)


USER = [{"role": "user", "content": "x"}]


@pytest.mark.parametrize(
    ("data", "param", "code", "words"),
    [
        ({"model": "x"}, "messages", "missing_field", "Missing required field 'messages'"),
        ({"messages": [{"role": "wizard", "content": "x"}]}, "messages.0.role", "invalid_value", "must be one of"),
        ({"messages": [{"role": "system", "content": "x"}]}, "messages", "invalid_value", "role 'user'"),
        # the field the client sent, not pydantic's union member (retrieval.bool)
        ({"messages": USER, "retrieval": {"top_k": 0}}, "retrieval.top_k", "invalid_value", ">= 1"),
        ({"messages": USER, "retrieval": "maybe"}, "retrieval", "invalid_value", "true or false"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {}}]}]},
            "messages.0.content.0.type",
            "invalid_value",
            "'text'",
        ),
        ({"messages": USER, "temprature": 0.5}, "temprature", "unknown_parameter", "did you mean 'temperature'"),
        ({"messages": USER, "stream_options": {"include_usage": True}}, "stream_options", "invalid_value", "only allowed when stream"),
        ({"messages": USER, "n": 2}, "n", "invalid_value", "must be one of"),
    ],
)
def test_chat_request_errors_name_the_field_as_sent(
    data: dict[str, Any], param: str, code: str, words: str
) -> None:
    err = _api_error(ChatCompletionRequest, data)
    assert (err.status, err.param, err.code) == (400, param, code), err.message
    assert words in err.message
    assert set(err.body()["error"]) == {"message", "type", "param", "code"}
    assert err.body()["error"]["type"] == "invalid_request_error"


def test_embeddings_and_documents_request_errors() -> None:
    tokens = _api_error(EmbeddingsRequest, {"input": [[1, 2, 3]]})
    assert (tokens.param, tokens.code) == ("input", "invalid_value")
    assert "token arrays are not supported" in tokens.message
    assert _api_error(EmbeddingsRequest, {"input": [5, 6]}).param == "input"
    assert _api_error(EmbeddingsRequest, {"input": "x", "dimensions": 0}).param == "dimensions"
    assert _api_error(EmbeddingsRequest, {"input": "x", "foo": 1}).code == "unknown_parameter"
    nul = _api_error(DocumentsRequest, {"documents": [{"source": "a", "text": "x\x00y"}]})
    assert nul.param == "documents.0.text" and "NUL" in nul.message


def test_chat_options_and_unsupported_parameters() -> None:
    req = ChatCompletionRequest.model_validate(
        {
            "messages": USER,
            "presence_penalty": 0,
            "frequency_penalty": 0.0,
            "logit_bias": {},
            "response_format": {"type": "text"},
            "tool_choice": "auto",
            "parallel_tool_calls": True,
            "logprobs": False,
            "modalities": ["text"],
            "user": "u1",
            "metadata": {"a": "b"},
            "store": False,
        }
    )
    assert req.options == {}  # every value above means "not used"
    req.refuse_unsupported()
    tools = [{"type": "function", "function": {"name": "f", "parameters": {}}}]
    used = ChatCompletionRequest.model_validate(
        {"messages": USER, "tools": tools, "tool_choice": "auto", "seed": 7, "response_format": {"type": "json_object"}}
    )
    assert used.options == {
        "tools": tools,
        "tool_choice": "auto",
        "seed": 7,
        "response_format": {"type": "json_object"},
    }
    with pytest.raises(ApiError) as e:
        ChatCompletionRequest.model_validate({"messages": USER, "logprobs": True}).refuse_unsupported()
    assert (e.value.status, e.value.param, e.value.code) == (400, "logprobs", "unsupported_parameter")


# ------------------------------------------------------- backend selection


def test_vllm_selected_only_with_gpu_and_vllm() -> None:
    cfg = VLLMBackend(model_id="org/model", revision="abc123", max_new_tokens=64)
    assert resolve_backend_config(cfg, lambda: True, lambda: True) is cfg
    with pytest.raises(BackendConfigError, match="needs a CUDA GPU, which") as e:
        resolve_backend_config(cfg, lambda: False, lambda: True)
    assert "if_unavailable: transformers" in str(e.value)
    with pytest.raises(BackendConfigError, match="needs a CUDA GPU and the vllm package"):
        resolve_backend_config(cfg, lambda: False, lambda: False)
    with pytest.raises(BackendConfigError, match="needs the vllm package"):
        resolve_backend_config(cfg, lambda: True, lambda: False)
    fallback = VLLMBackend(
        model_id="org/model", revision="abc123", max_new_tokens=64, if_unavailable="transformers"
    )
    resolved = resolve_backend_config(fallback, lambda: False, lambda: False)
    assert resolved == TransformersBackend(
        model_id="org/model", revision="abc123", max_new_tokens=64, device="cpu"
    )
    assert resolve_backend_config(fallback, lambda: True, lambda: False).device == "cuda"


def test_vllm_backend_is_constructed_when_available(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    import types

    from serving.llm import factory

    created: dict[str, object] = {}

    class FakeEngineArgs:
        def __init__(self, **kw: object) -> None:
            created.update(kw)

    class FakeEngine:
        @classmethod
        def from_engine_args(cls, args: object) -> FakeEngine:
            return cls()

    fake = types.ModuleType("vllm")
    fake.AsyncEngineArgs = FakeEngineArgs  # type: ignore[attr-defined]
    fake.AsyncLLMEngine = FakeEngine  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vllm", fake)
    backend = factory.create_backend(
        VLLMBackend(model_id="org/m", revision="r1", tensor_parallel_size=2),
        lambda: True,
        lambda: True,
    )
    assert backend.label == "vllm"
    assert (
        created["model"] == "org/m"
        and created["revision"] == "r1"
        and created["tensor_parallel_size"] == 2
    )


def test_ingress_and_llm_reconfigure_apply_user_config() -> None:
    from types import SimpleNamespace

    from serving.cache import SemanticCache
    from serving.config import AppConfig, Pricing
    from serving.deployments import LLMServer
    from serving.ingress import RAGIngress

    cfg = AppConfig.model_validate(
        {
            "models": [
                {"name": "stable", "backends": [{"kind": "extractive"}], "aliases": ["gpt-4o-mini"]},
                {"name": "canary", "backends": [{"kind": "extractive"}]},
            ]
        }
    )
    cls = RAGIngress.func_or_class
    ingress = cls.__new__(cls)  # reconfigure only touches config state, no services needed
    ingress.cfg = cfg
    ingress.cache = SemanticCache(None)
    ingress.chat_pipeline = SimpleNamespace(settings=None)
    ingress.reconfigure(cfg.ingress_user_config())
    settings = ingress.chat_pipeline.settings
    assert settings.router.weights == {} and settings.router.choose(None).model == "stable"
    assert settings.router.choose("gpt-4o-mini").model == "stable"  # alias from the config
    assert (settings.retrieval.mode, settings.retrieval.top_k) == ("hybrid", 4)
    ingress.reconfigure(
        {
            "router": {
                "splits": [{"model": "stable", "weight": 3}, {"model": "canary", "weight": 1}]
            },
            "top_k": 7,
            "min_score": 0.4,
            "similarity_threshold": 0.9,
            "default_rate_limit_per_minute": 5,
        }
    )
    settings = ingress.chat_pipeline.settings
    assert settings.router.weights == {"stable": 0.75, "canary": 0.25}
    assert (
        settings.retrieval.top_k,
        settings.retrieval.min_score,
        ingress.cache.similarity_threshold,
        ingress.default_rpm,
    ) == (7, 0.4, 0.9, 5)

    llm_cls = LLMServer.func_or_class
    server = llm_cls(cfg.models[0].model_dump(mode="json"))
    assert server.pricing == Pricing()
    server.reconfigure(
        {"pricing": {"input_per_1k_tokens_usd": 1.0, "output_per_1k_tokens_usd": 3.0}}
    )
    assert server._cost(1000, 1000) == pytest.approx(4.0)


def test_local_ray_start_is_retried_when_the_raylet_is_slow(monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    from serving import local

    calls: list[str] = []

    def fake_init(**kwargs: object) -> None:
        calls.append("init")
        if len(calls) == 1:
            raise Exception("The current node timed out during startup. This could happen because ...")

    monkeypatch.setattr(ray, "init", fake_init)
    monkeypatch.setattr(ray, "shutdown", lambda: calls.append("shutdown"))
    monkeypatch.setattr(local.time, "sleep", lambda s: calls.append(f"sleep {s}"))
    local._init_ray(2, loopback=False)
    assert calls == ["init", "shutdown", "sleep 2.0", "init"]


def test_local_ray_start_does_not_retry_other_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    from serving import local

    def fake_init(**kwargs: object) -> None:
        raise ValueError("num_cpus must be positive")

    monkeypatch.setattr(ray, "init", fake_init)
    monkeypatch.setattr(ray, "shutdown", lambda: None)
    with pytest.raises(ValueError, match="num_cpus"):
        local._init_ray(0, loopback=False)
