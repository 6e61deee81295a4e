"""``llmops eval``: how well an endpoint answers from its documents.

An evaluation set lives in the repository (``evals/<name>.yaml``) next to the small corpus
it refers to. Each case is a question, the corpus document its answer must cite and the
facts the answer must contain. The corpus is ingested first (idempotently, under the
source prefix ``evals/<name>/``), every question is asked with retrieval, and three scores
come out:

- **retrieval hit rate**: share of questions whose expected document is among the
  retrieved passages (the answer's ``citations``);
- **citation accuracy**: share of answers that cite the expected document (an ``[n]``
  marker, or the server's ``cited`` flag);
- **answer grounding**: share of the expected facts the answers contain, averaged over
  questions (case- and whitespace-insensitive).

Thresholds are set per stack in the eval set (``thresholds.default`` plus overrides keyed
by stack name or environment); each score is a check that passes at or above its threshold.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.alias_generators import to_camel

from core.problems import ConfigError, Problem, problems_from, sort_key
from llmops.release.api import ApiClient
from llmops.release.checks import Check, answer_text, chat_problems, citations_of, is_cited

DEFAULT_THRESHOLDS_KEY = "default"
DOCUMENT_SUFFIXES = (".md", ".markdown", ".txt", ".rst")
_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
MAX_TOKENS = 512
_NO_DEFAULT = "needs a 'default' entry (overrides per stack or environment go beside it)"


class _Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True, str_strip_whitespace=True
    )


def _label(value: str) -> str:
    if not _LABEL.match(value) or len(value) > 63:
        raise ValueError("must be lowercase letters, digits and '-' (a DNS label), e.g. 'on-call-rotation'")
    return value


class Thresholds(_Model):
    """The scores an endpoint must reach (each from 0 to 1)."""

    retrieval_hit_rate: float = Field(default=0.8, ge=0, le=1)
    """Share of questions whose expected document is among the retrieved passages."""
    citation_accuracy: float = Field(default=0.8, ge=0, le=1)
    """Share of answers that cite the expected document."""
    grounding: float = Field(default=0.8, ge=0, le=1)
    """Share of the expected facts the answers contain, averaged over questions."""


class EvalCase(_Model):
    """One question with what its answer must cite and contain."""

    id: str
    """Stable id of the case (a DNS label), used in reports."""
    question: str = Field(min_length=1)
    """The question, as a user would ask it."""
    cite: str = Field(min_length=1)
    """The corpus document the answer must cite, relative to the corpus folder."""
    facts: list[str] = Field(min_length=1)
    """Phrases the answer must contain (matched ignoring case and extra whitespace)."""

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        return _label(value)

    @field_validator("facts")
    @classmethod
    def _facts(cls, value: list[str]) -> list[str]:
        if any(not fact.strip() for fact in value):
            raise ValueError("holds an empty fact; write each fact as a phrase the answer must contain")
        return value


class EvalSet(_Model):
    """An evaluation set: a corpus, questions about it, and the thresholds per stack."""

    name: str
    """Name of the set (a DNS label); the corpus is stored under ``evals/<name>/``."""
    description: str = ""
    """What the set covers."""
    corpus: str
    """Folder of the corpus documents (Markdown/text), relative to the set's file."""
    source_prefix: str | None = None
    """Prefix of the corpus documents' source names on the server (default ``evals/<name>/``)."""
    top_k: int | None = Field(default=None, ge=1, le=50)
    """Passages retrieved per question (default: the server's)."""
    model: str | None = None
    """Model asked (default: the server's choice)."""
    thresholds: dict[str, Thresholds]
    """``default`` plus overrides keyed by stack name or environment (missing scores fall back to ``default``)."""
    cases: list[EvalCase] = Field(min_length=1)
    """The questions."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _label(value)

    @field_validator("thresholds")
    @classmethod
    def _has_default(cls, value: dict[str, Thresholds]) -> dict[str, Thresholds]:
        if DEFAULT_THRESHOLDS_KEY not in value:
            raise ValueError(_NO_DEFAULT)
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> EvalSet:
        seen: set[str] = set()
        for case in self.cases:
            if case.id in seen:
                raise ValueError(f"case id '{case.id}' appears twice; give every case its own id")
            seen.add(case.id)
        return self

    @property
    def prefix(self) -> str:
        return self.source_prefix if self.source_prefix is not None else f"evals/{self.name}/"


@dataclass(frozen=True)
class LoadedSet:
    """An eval set with the file it came from and its corpus documents."""

    path: Path
    spec: EvalSet
    documents: Mapping[str, str]
    """Source name (with the prefix) -> text."""

    def thresholds_for(self, stack: str | None, environment: str | None) -> tuple[str, Thresholds]:
        """The thresholds for a stack: its own entry, else its environment's, else
        ``default``; a partial entry is completed from ``default``."""
        base = self.spec.thresholds[DEFAULT_THRESHOLDS_KEY]
        for key in (stack, environment):
            if key and key in self.spec.thresholds:
                override = self.spec.thresholds[key]
                values = {**base.model_dump(), **override.model_dump(include=override.model_fields_set)}
                return key, Thresholds.model_validate(values)
        return DEFAULT_THRESHOLDS_KEY, base


def load_eval_set(path: Path) -> LoadedSet:
    """Reads and checks an eval set and its corpus; every problem at once, each with its path."""
    source = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([Problem("(file)", f"{path} does not exist; pass an eval set such as evals/platform-handbook.yaml")], source, "eval set") from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem("(file)", f"not valid YAML ({exc})")], source, "eval set") from None
    document = raw if isinstance(raw, dict) else {}
    thresholds = document.get("thresholds")
    found: list[Problem] = []
    if isinstance(thresholds, dict) and DEFAULT_THRESHOLDS_KEY not in thresholds:
        # checked on the raw document too, so it is reported beside problems inside the entries
        found.append(Problem("thresholds", _NO_DEFAULT))
    try:
        spec = EvalSet.model_validate(document)
    except ValidationError as exc:
        found += [p for p in problems_from(exc, key_style=to_camel, root_model=EvalSet) if p not in found]
    if found:
        raise ConfigError(sorted(found, key=sort_key), source, "eval set")
    corpus = (path.parent / spec.corpus).resolve()
    problems: list[Problem] = []
    if not corpus.is_dir():
        problems.append(Problem("corpus", f"{corpus} is not a folder; point corpus at the folder of the set's documents"))
        raise ConfigError(problems, source, "eval set")
    files = sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix.lower() in DOCUMENT_SUFFIXES)
    names = {p.relative_to(corpus).as_posix(): p for p in files}
    for index, case in enumerate(spec.cases):
        if case.cite not in names:
            problems.append(
                Problem(f"cases[{index}].cite", f"'{case.cite}' is not a document of {spec.corpus}/ (documents: {', '.join(names) or 'none'})")
            )
    if problems:
        raise ConfigError(problems, source, "eval set")
    documents = {spec.prefix + name: file.read_text(encoding="utf-8") for name, file in names.items()}
    return LoadedSet(path=path, spec=spec, documents=documents)


def normalize(text: str) -> str:
    return " ".join(text.casefold().split())


@dataclass(frozen=True)
class CaseResult:
    """How one question was answered."""

    id: str
    expected: str
    retrieved: bool
    cited: bool
    facts_found: tuple[str, ...]
    facts_missing: tuple[str, ...]
    sources: tuple[str, ...]
    latency_ms: float | None
    error: str | None = None

    @property
    def grounding(self) -> float:
        total = len(self.facts_found) + len(self.facts_missing)
        return len(self.facts_found) / total if total else 0.0

    def to_document(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "expected": self.expected,
            "retrieved": self.retrieved,
            "cited": self.cited,
            "grounding": round(self.grounding, 4),
            "factsMissing": list(self.facts_missing),
            "sources": list(self.sources),
            "latencyMs": None if self.latency_ms is None else round(self.latency_ms, 1),
            "error": self.error,
        }


@dataclass
class EvalReport:
    endpoint: str
    eval_set: LoadedSet
    thresholds_key: str
    thresholds: Thresholds
    cases: list[CaseResult] = field(default_factory=list)
    ingest: Check | None = None

    def scores(self) -> dict[str, float]:
        count = len(self.cases) or 1
        return {
            "retrievalHitRate": sum(c.retrieved for c in self.cases) / count,
            "citationAccuracy": sum(c.cited for c in self.cases) / count,
            "grounding": sum(c.grounding for c in self.cases) / count,
        }

    def checks(self) -> list[Check]:
        scores = self.scores()
        limits = self.thresholds.model_dump(by_alias=True)
        counts = {
            "retrievalHitRate": sum(c.retrieved for c in self.cases),
            "citationAccuracy": sum(c.cited for c in self.cases),
        }
        checks = [self.ingest] if self.ingest is not None else []
        for name, score in scores.items():
            limit = float(limits[name])
            of = f"{counts[name]}/{len(self.cases)} questions" if name in counts else f"over {len(self.cases)} questions"
            passed = score >= limit
            checks.append(Check(name, passed, f"{score:.2f} {'>=' if passed else '<'} {limit:.2f} ({of})"))
        return checks

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks())

    @property
    def summary(self) -> str:
        s = self.scores()
        return (
            f"retrieval {s['retrievalHitRate']:.2f}, citations {s['citationAccuracy']:.2f}, "
            f"grounding {s['grounding']:.2f} over {len(self.cases)} questions"
        )

    def to_document(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "evalSet": self.eval_set.spec.name,
            "evalSetPath": self.eval_set.path.as_posix(),
            "thresholdsKey": self.thresholds_key,
            "thresholds": self.thresholds.model_dump(by_alias=True),
            "scores": {k: round(v, 4) for k, v in self.scores().items()},
            "checks": [c.to_document() for c in self.checks()],
            "cases": [c.to_document() for c in self.cases],
            "summary": self.summary,
        }


def ingest_corpus(client: ApiClient, documents: Mapping[str, str]) -> Check:
    reply = client.post("/v1/documents", {"documents": [{"source": s, "text": t} for s, t in documents.items()]})
    failure = reply.problem()
    if failure:
        return Check("ingest", False, f"could not store the corpus: {failure}", reply.elapsed_ms)
    statuses: dict[str, int] = {}
    data = reply.body.get("data") if isinstance(reply.body, dict) else None
    for item in data if isinstance(data, list) else []:
        status = str(item.get("status")) if isinstance(item, dict) else "?"
        statuses[status] = statuses.get(status, 0) + 1
    counted = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) or "no per-document status"
    return Check("ingest", True, f"{len(documents)} document(s): {counted}", reply.elapsed_ms)


def ask(client: ApiClient, spec: EvalSet, case: EvalCase) -> CaseResult:
    """Asks one question and scores its answer."""
    expected = spec.prefix + case.cite
    body: dict[str, Any] = {"messages": [{"role": "user", "content": case.question}], "max_tokens": MAX_TOKENS}
    if spec.model:
        body["model"] = spec.model
    if spec.top_k:
        body["retrieval"] = {"enabled": True, "top_k": spec.top_k}
    reply = client.post("/v1/chat/completions", body)
    failure = reply.problem()
    problems = [] if failure else chat_problems(reply.body)
    citations, cite_problems = ([], []) if failure else citations_of(reply.body)
    if failure or problems or cite_problems:
        error = failure or "bad shape: " + "; ".join(problems + cite_problems)
        return CaseResult(case.id, expected, False, False, (), tuple(case.facts), (), None if reply.error else reply.elapsed_ms, error)
    answer = answer_text(reply.body)
    text = normalize(answer)
    found = tuple(f for f in case.facts if normalize(f) in text)
    missing = tuple(f for f in case.facts if normalize(f) not in text)
    return CaseResult(
        id=case.id,
        expected=expected,
        retrieved=any(c["source"] == expected for c in citations),
        cited=any(c["source"] == expected and is_cited(c, answer) for c in citations),
        facts_found=found,
        facts_missing=missing,
        sources=tuple(dict.fromkeys(c["source"] for c in citations)),
        latency_ms=reply.elapsed_ms,
    )


def run_eval(
    client: ApiClient,
    loaded: LoadedSet,
    thresholds: tuple[str, Thresholds],
    *,
    ingest: bool = True,
    cases: Sequence[EvalCase] | None = None,
) -> EvalReport:
    """Ingests the corpus (unless ``ingest`` is off), asks every question, scores the answers."""
    report = EvalReport(client.endpoint, loaded, thresholds[0], thresholds[1])
    if ingest:
        report.ingest = ingest_corpus(client, loaded.documents)
    for case in cases if cases is not None else loaded.spec.cases:
        report.cases.append(ask(client, loaded.spec, case))
    return report
