"""The release section of a stack file (``stacks/Pulumi.<stack>.yaml``): read it, replace
it with another stack's, or set one value in it, keeping everything else byte for byte.

Edits are made on the text: ruamel.yaml's round-trip loader says where the keys are (line
and column), and only the lines of the release block change. Comments, key order, blank
lines, quoting and flow lists everywhere else stay exactly as they were. A copied release
keeps its own comments and layout, re-indented to where it lands.

Every edit is checked before anything is written: the new text, parsed again, must equal
the old document with exactly the intended change (so an unusual layout can never change
something else silently), else :class:`~llmops.release.errors.StackFileError` is raised
and the file is not touched. Writes replace the file atomically.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from llmops.release.errors import StackFileError

SERVING_KEY = "llmops:serving"
RELEASE_KEY = "release"
ENVIRONMENT_KEY = "llmops:environment"
HEADER_PREFIX = "# llmops promote:"
"""Comment lines right above ``release:`` that start with this are promotion records; each
promotion replaces them."""
RELEASE_PATH = f"{SERVING_KEY}.{RELEASE_KEY}"


@dataclass(frozen=True)
class StackFile:
    """One stack file as read from disk."""

    path: Path
    text: str
    document: Mapping[str, Any]
    """The file parsed with PyYAML's safe loader (plain values)."""

    @property
    def config(self) -> Mapping[str, Any]:
        config = self.document.get("config")
        return config if isinstance(config, Mapping) else {}

    @property
    def environment(self) -> str | None:
        """``llmops:environment``, when the file sets it."""
        value = self.config.get(ENVIRONMENT_KEY)
        return str(value).strip().lower() if isinstance(value, str) and value.strip() else None

    @property
    def release(self) -> dict[str, Any] | None:
        """The mapping under ``llmops:serving.release``; ``None`` when the file pins none."""
        serving = self.config.get(SERVING_KEY)
        release = serving.get(RELEASE_KEY) if isinstance(serving, Mapping) else None
        if release is None:
            return None
        if not isinstance(release, Mapping):
            raise StackFileError(
                f"{self.path}: {RELEASE_PATH} must be a mapping (modelId, modelRevision, image, ...); "
                f"it is {type(release).__name__}"
            )
        return dict(release)


def read_stack_file(path: Path) -> StackFile:
    """Reads and parses ``path``; a clear error when it is not a Pulumi stack file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StackFileError(f"{path} does not exist") from None
    return parse_stack_file(path, text)


def parse_stack_file(path: Path, text: str) -> StackFile:
    """``text`` as the content of the stack file ``path``."""
    return StackFile(path=path, text=text, document=_parse(path, text))


def _parse(path: Path, text: str) -> dict[str, Any]:
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise StackFileError(f"{path} is not valid YAML ({exc}); fix it first") from None
    if not isinstance(document, dict) or not isinstance(document.get("config"), dict):
        raise StackFileError(f"{path} has no 'config:' mapping; it is not a Pulumi stack file")
    return document


# --------------------------------------------------------------------------- lines of text


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _is_content(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _block_end(lines: Sequence[str], key_line: int, key_column: int) -> int:
    """Index after the last content line of the block whose key sits at ``key_line`` /
    ``key_column`` (trailing comments and blank lines stay outside the block)."""
    last = key_line
    for index in range(key_line + 1, len(lines)):
        line = lines[index]
        if not _is_content(line):
            continue
        if _indent(line) > key_column:
            last = index
            continue
        break
    return last + 1


def _shift(lines: Sequence[str], column: int) -> list[str]:
    """``lines`` (a block whose key is at column 0) moved right by ``column`` spaces."""
    return [(" " * column + line) if line.strip() else "" for line in lines]


def _join(lines: Sequence[str], like: str) -> str:
    newline = "\r\n" if "\r\n" in like else "\n"
    return newline.join(lines) + (newline if like.endswith(("\n", "\r")) else "")


def scalar(value: str) -> str:
    """``value`` as a YAML scalar: plain when it reads back as the same string under YAML
    1.1 (PyYAML) and 1.2 (ruamel.yaml, and the Pulumi CLI), else double-quoted (JSON string
    syntax is valid YAML): ``0123456``, ``1e3`` and ``yes`` are quoted."""
    if value and value == value.strip() and "\n" not in value:
        from ruamel.yaml import YAML
        from ruamel.yaml.error import YAMLError

        line = f"k: {value}"
        try:
            if yaml.safe_load(line) == {"k": value} and YAML(typ="safe", pure=True).load(line) == {"k": value}:
                return value
        except (yaml.YAMLError, YAMLError):
            pass
    return json.dumps(value, ensure_ascii=False)


# --------------------------------------------------------------------------- locating


@dataclass(frozen=True)
class _Node:
    """Where a mapping sits in the text: its key (line, column) and its children's column."""

    key_line: int
    key_column: int
    child_column: int | None
    """Column of its first key; ``None`` when the mapping is empty or null."""


def _round_trip(stack: StackFile) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return YAML(typ="rt").load(stack.text)
    except YAMLError as exc:  # PyYAML accepted it; ruamel is stricter on a few constructs
        raise StackFileError(f"{stack.path}: cannot be edited safely ({exc}); edit it by hand") from None


def _block_mapping(node: Any, path: str, stack: StackFile) -> Any:
    """``node`` when it is a block-style mapping (or null); a clear error otherwise."""
    from ruamel.yaml.comments import CommentedMap

    if node is None:
        return None
    if not isinstance(node, CommentedMap):
        raise StackFileError(f"{stack.path}: {path} must be a mapping; it is {type(node).__name__}")
    if node.fa.flow_style():
        raise StackFileError(
            f"{stack.path}: {path} is written in flow style ({{...}}); write it as a block mapping "
            "(one key per line) so the release can be edited; nothing was written"
        )
    return node


def _node(parent: Any, key: str, child: Any) -> _Node:
    line, column = parent.lc.key(key)
    child_column = child.lc.col if child is not None and len(child) else None
    return _Node(line, column, child_column)


def _inline_value(lines: Sequence[str], node: _Node, path: str, stack: StackFile) -> None:
    """Refuses a null mapping written with an explicit value (``key: null``, ``key: ~``)."""
    line = lines[node.key_line]
    colon = line.find(":", node.key_column + len(path.rsplit(".", 1)[-1]))
    rest = line[colon + 1 :].strip() if colon >= 0 else ""
    if rest and not rest.startswith("#"):
        raise StackFileError(
            f"{stack.path}: {path} is written as '{rest}'; remove the value (or write the mapping "
            "as a block) so the release can be added; nothing was written"
        )


# --------------------------------------------------------------------------- edits


def release_block(stack: StackFile) -> list[str]:
    """The lines of ``release:`` and its block (comments inside included), re-based so the
    key is at column 0."""
    document = _round_trip(stack)
    serving = _block_mapping(document["config"].get(SERVING_KEY), SERVING_KEY, stack)
    if serving is None or RELEASE_KEY not in serving:
        raise StackFileError(f"{stack.path} pins no release ({RELEASE_PATH} is absent)")
    lines = stack.text.splitlines()
    node = _node(serving, RELEASE_KEY, None)
    block = lines[node.key_line : _block_end(lines, node.key_line, node.key_column)]
    return [line[node.key_column :] if _indent(line) >= node.key_column else line.lstrip(" ") for line in block]


def _place(stack: StackFile, block: Sequence[str], header: Sequence[str]) -> str:
    """``stack``'s text with ``block`` (key at column 0) as its release block and ``header``
    (comment lines, without ``#``) above it; the old block and promotion records go."""
    document = _round_trip(stack)
    config = _block_mapping(document["config"], "config", stack)
    lines = stack.text.splitlines()
    comments = [f"{HEADER_PREFIX} {line}" for line in header]
    if SERVING_KEY not in config:
        config_line, config_column = document.lc.key("config")
        column = config.lc.col if len(config) else config_column + 2
        at = _block_end(lines, config_line, config_column)
        added = [" " * column + f"{SERVING_KEY}:", *_shift([*comments, *block], column + 2)]
        return _join([*lines[:at], *added, *lines[at:]], stack.text)
    serving = _block_mapping(config[SERVING_KEY], SERVING_KEY, stack)
    serving_node = _node(config, SERVING_KEY, serving)
    if serving is None or RELEASE_KEY not in serving:
        if serving is None:
            _inline_value(lines, serving_node, SERVING_KEY, stack)
        column = serving_node.child_column if serving_node.child_column is not None else serving_node.key_column + 2
        at = _block_end(lines, serving_node.key_line, serving_node.key_column)
        return _join([*lines[:at], *_shift([*comments, *block], column), *lines[at:]], stack.text)
    node = _node(serving, RELEASE_KEY, None)
    start = node.key_line
    while start > 0 and lines[start - 1].strip().startswith(HEADER_PREFIX):
        start -= 1
    end = _block_end(lines, node.key_line, node.key_column)
    return _join([*lines[:start], *_shift([*comments, *block], node.key_column), *lines[end:]], stack.text)


def _verify(stack: StackFile, new_text: str, change: Callable[[dict[str, Any]], None], what: str) -> str:
    """``new_text`` when it parses to ``stack``'s document with exactly ``change`` applied."""
    expected = copy.deepcopy(dict(stack.document))
    change(expected)
    try:
        after = yaml.safe_load(new_text)
    except yaml.YAMLError:
        after = None
    if after != expected:
        raise StackFileError(
            f"could not {what} in {stack.path} without changing other parts of it (unusual "
            "indentation, anchors or aliases?); edit it by hand; nothing was written"
        )
    return new_text


def _serving_of(document: dict[str, Any]) -> dict[str, Any]:
    config = document["config"]
    if not isinstance(config.get(SERVING_KEY), dict):
        config[SERVING_KEY] = {}
    serving: dict[str, Any] = config[SERVING_KEY]
    return serving


def with_release(target: StackFile, source: StackFile, header: Sequence[str] = ()) -> str:
    """``target``'s text with ``source``'s release block in place of its own (added when it
    has none), ``header`` recorded as comments above it. Checked; never writes."""
    release = source.release
    if release is None:
        raise StackFileError(f"{source.path} pins no release ({RELEASE_PATH} is absent)")
    new_text = _place(target, release_block(source), header)

    def change(document: dict[str, Any]) -> None:
        _serving_of(document)[RELEASE_KEY] = copy.deepcopy(release)

    return _verify(target, new_text, change, "replace the release")


def with_value(target: StackFile, key: str, value: str) -> str:
    """``target``'s text with ``release.<key>`` (dots for nested keys) set to the string
    ``value``; the rest of the release, comments included, is kept. Checked; never writes."""
    parts = key.split(".")
    if not all(part.strip() for part in parts):
        raise StackFileError(f"'{key}' is not a release key; use e.g. image or chartVersions.kuberay")
    lines = target.text.splitlines()
    document = _round_trip(target)
    config = _block_mapping(document["config"], "config", target)
    serving = _block_mapping(config.get(SERVING_KEY), SERVING_KEY, target)
    if serving is None or RELEASE_KEY not in serving:
        block = _nested(parts, value)
        new_text = _place(target, [f"{RELEASE_KEY}:", *_shift(block, 2)], ())
    else:
        new_text = _set_in(target, lines, serving, parts, value)

    def change(document: dict[str, Any]) -> None:
        serving = _serving_of(document)
        node = serving.get(RELEASE_KEY)
        if not isinstance(node, dict):
            node = serving[RELEASE_KEY] = {}
        for part in parts[:-1]:
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        node[parts[-1]] = value

    return _verify(target, new_text, change, f"set {RELEASE_PATH}.{key}")


def with_values(target: StackFile, values: Sequence[tuple[str, str]]) -> str:
    """:func:`with_value` for each ``(key, value)`` in turn."""
    current = target
    for key, value in values:
        current = parse_stack_file(target.path, with_value(current, key, value))
    return current.text


def _nested(parts: Sequence[str], value: str) -> list[str]:
    """Block lines (first key at column 0) for ``a.b.c = value``."""
    lines = [" " * (2 * depth) + f"{scalar(part)}:" for depth, part in enumerate(parts[:-1])]
    lines.append(" " * (2 * (len(parts) - 1)) + f"{scalar(parts[-1])}: {scalar(value)}")
    return lines


def _set_in(target: StackFile, lines: list[str], serving: Any, parts: Sequence[str], value: str) -> str:
    from ruamel.yaml.comments import CommentedMap

    path = RELEASE_PATH
    parent, name = serving, RELEASE_KEY
    node = _block_mapping(serving[RELEASE_KEY], path, target)
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if node is None or part not in node:
            owner = _node(parent, name, node)
            if node is None:
                _inline_value(lines, owner, path, target)
            column = owner.child_column if owner.child_column is not None else owner.key_column + 2
            at = _block_end(lines, owner.key_line, owner.key_column)
            added = _shift(_nested(parts[depth:], value), column)
            return _join([*lines[:at], *added, *lines[at:]], target.text)
        path = f"{path}.{part}"
        if last:
            if isinstance(node[part], CommentedMap | list):
                raise StackFileError(f"{target.path}: {path} holds a {type(node[part]).__name__}, not a single value; edit it by hand")
            key_line, key_column = node.lc.key(part)
            value_line, value_column = node.lc.value(part)
            if value_line != key_line or _block_end(lines, key_line, key_column) != key_line + 1:
                raise StackFileError(f"{target.path}: {path} spans several lines; edit it by hand")
            line = lines[key_line]
            rest = line[value_column:]
            lines[key_line] = line[:value_column] + scalar(value) + rest[_scalar_length(rest) :]
            return _join(lines, target.text)
        parent, name = node, part
        node = _block_mapping(node[part], path, target)
    raise AssertionError("unreachable")


def _scalar_length(text: str) -> int:
    """Length of the single-line scalar at the start of ``text`` (before spaces and an end
    of line comment)."""
    if text.startswith('"'):
        index = 1
        while index < len(text):
            if text[index] == "\\":
                index += 2
                continue
            if text[index] == '"':
                return index + 1
            index += 1
        return len(text)
    if text.startswith("'"):
        index = 1
        while index < len(text):
            if text[index] == "'":
                if text[index + 1 : index + 2] == "'":
                    index += 2
                    continue
                return index + 1
            index += 1
        return len(text)
    comment = text.find(" #")
    return len(text[:comment].rstrip()) if comment >= 0 else len(text.rstrip())


# --------------------------------------------------------------------------- writing


def write_atomically(path: Path, text: str) -> None:
    """Replaces (or creates) ``path`` with ``text`` in one step: a reader sees the old or
    the new file, never a half-written one. An existing file keeps its permissions."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def unified_diff(path: Path, old: str, new: str, label: str | None = None) -> str:
    """The change as a unified diff (empty when there is none)."""
    name = label or str(path)
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=f"a/{name}", tofile=f"b/{name}"
        )
    )
