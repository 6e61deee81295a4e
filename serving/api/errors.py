"""OpenAI-style errors: ``{"error": {"message", "type", "param", "code"}}``, with ``param``
naming the field as the client sent it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError

from core.catalog import closest_names
from core.problems import describe


class ApiError(Exception):
    """An error answered as ``{"error": {"message", "type", "param", "code"}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type_: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type_ or _default_type(status)
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def _default_type(status: int) -> str:
    if status in (401, 403):
        return "authentication_error" if status == 401 else "permission_error"
    if status == 429:
        return "rate_limit_error"
    if status >= 500:
        return "server_error" if status != 503 else "service_unavailable"
    return "invalid_request_error"


def _child(node: Any, part: int | str) -> tuple[bool, Any]:
    """``node[part]`` when the request has it."""
    if isinstance(node, Mapping) and isinstance(part, str) and part in node:
        return True, node[part]
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return True, node[part]
    return False, None


def client_path(loc: Sequence[int | str], data: Any, missing: bool = False) -> tuple[str, int]:
    """The location of an error as the client wrote it, and how many of its parts exist in
    the request. Pydantic puts the name of the union member it tried into locations
    (``retrieval.bool``, ``content.list[ContentPart].1.type``); those parts are not in the
    request and are dropped. For a missing field the last part is kept (it is the field)."""
    parts: list[str] = []
    node = data
    matched = 0
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        found, child = _child(node, part)
        if found:
            node = child
        elif missing and last:
            parts.append(str(part))
            continue
        else:
            continue
        parts.append(str(part))
        matched += 1
    return ".".join(parts), matched


def validation_error_to_api(
    exc: ValidationError, data: Any, model: type[BaseModel] | None = None
) -> ApiError:
    """The validation problem that goes deepest into what the client sent, as a 400 whose
    ``param`` names that field (``retrieval.top_k``, ``messages.0.role``)."""
    best: tuple[int, str, Any] | None = None
    for err in exc.errors():
        path, depth = client_path(err["loc"], data, missing=err["type"] == "missing")
        if best is None or depth > best[0]:
            best = (depth, path, err)
    assert best is not None
    _, param, err = best
    if err["type"] == "missing":
        return ApiError(400, f"Missing required field '{param}'.", param=param, code="missing_field")
    if err["type"] == "extra_forbidden":
        top = sorted(model.model_fields) if model is not None and "." not in param else []
        return unknown_parameter(param, top)
    detail = describe(err)
    return ApiError(
        400, f"Invalid value for '{param or 'body'}': {detail}.", param=param or None, code="invalid_value"
    )


def unknown_parameter(param: str, known: Sequence[str]) -> ApiError:
    """A 400 for a field the API does not have (OpenAI's wording, plus a spelling hint)."""
    hint = closest_names(param.split(".")[-1], list(known), limit=1)
    return ApiError(
        400,
        f"Unrecognized request argument supplied: {param}"
        + (f" (did you mean '{hint[0]}'?)" if hint else "")
        + ".",
        param=param,
        code="unknown_parameter",
    )
