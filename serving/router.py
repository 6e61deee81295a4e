"""Model routing: per-request model choice, and weighted traffic splits for A/B tests and
canaries. Pure logic (no Ray), used by the ingress."""

from __future__ import annotations

import bisect
import hashlib
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

#: Model names a client may send to let the router choose.
AUTO_MODEL_NAMES = frozenset({"", "auto", "default"})


class UnknownModelError(LookupError):
    """The request named a model this application does not serve."""

    def __init__(self, model: str, known: Iterable[str]) -> None:
        self.model = model
        self.known = sorted(known)
        super().__init__(f"model {model!r} does not exist; available: {', '.join(self.known)}")


@dataclass(frozen=True)
class Route:
    """The router's decision: which model serves, and why."""

    model: str
    reason: str  # "requested", "split" or "default"


class ModelRouter:
    """Picks the model for each request.

    - A request naming a model (or one of its ``aliases``) gets that model
      (``UnknownModelError`` if it does not exist).
    - Otherwise, with weighted ``splits``, a model is drawn with probability proportional to
      its weight. With a ``sticky_key`` (e.g. the caller's key id or ``user`` field) the draw
      is a stable hash, so one user always sees the same arm of an A/B test.
    - Otherwise the default model serves.
    """

    def __init__(
        self,
        models: Sequence[str],
        default_model: str | None = None,
        splits: Sequence[tuple[str, float]] = (),
        rng: random.Random | None = None,
        aliases: Mapping[str, str] | None = None,
    ) -> None:
        if not models:
            raise ValueError("a router needs at least one model")
        self.models = tuple(models)
        self.aliases = dict(aliases or {})
        known = set(self.models)
        if default_model is not None and default_model not in known:
            raise UnknownModelError(default_model, known)
        self.default_model = default_model or self.models[0]
        legs = [(m, float(w)) for m, w in splits if w > 0]
        for m, _ in legs:
            if m not in known:
                raise UnknownModelError(m, known)
        if splits and not legs:
            raise ValueError("splits: all weights are 0")
        self._legs = tuple(m for m, _ in legs)
        self._cum: list[float] = []
        total = 0.0
        for _, w in legs:
            total += w
            self._cum.append(total)
        self._total = total
        self._rng = rng or random.Random()

    @property
    def weights(self) -> dict[str, float]:
        """Normalised split weights (empty without splits)."""
        out: dict[str, float] = {}
        prev = 0.0
        for m, c in zip(self._legs, self._cum, strict=True):
            out[m] = (c - prev) / self._total
            prev = c
        return out

    def _pick(self, u: float) -> str:
        return self._legs[bisect.bisect_right(self._cum, u * self._total)]

    def choose(self, requested: str | None, sticky_key: str | None = None) -> Route:
        """The model for one request."""
        if requested is not None and requested.strip().lower() not in AUTO_MODEL_NAMES:
            name = self.aliases.get(requested, requested)
            if name not in self.models:
                raise UnknownModelError(requested, self.models)
            return Route(name, "requested")
        if self._legs:
            if sticky_key:
                digest = hashlib.sha256(sticky_key.encode("utf-8")).digest()
                u = int.from_bytes(digest[:8], "big") / 2**64
            else:
                u = self._rng.random()
            return Route(self._pick(min(u, 1.0 - 1e-12)), "split")
        return Route(self.default_model, "default")
