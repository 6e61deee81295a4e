"""Errors of the offline engine, written to help: where in the program a failure happened,
which value in it the engine made up (a provider's computed value or a data source's
default answer, not anything from a real account), and for a missing provider SDK which
package to install into which environment.
"""

from __future__ import annotations

import ast
import sys
import traceback
from collections.abc import Iterable
from pathlib import Path

from core.errors import LlmopsError

_ENGINE_DIR = Path(__file__).resolve().parents[1]  # the llmops package


class ProgramError(LlmopsError):
    """The program failed while the offline engine ran it.

    ``registered`` counts the resources the program had registered before it failed
    (besides the stack itself): 0 for a config error caught up front. ``details`` holds
    the program's traceback, for ``--debug``.
    """

    registered: int = 0
    details: str | None = None


def project_error(error: BaseException) -> LlmopsError | None:
    """The project's own error somewhere in ``error``'s chain (a config error raised inside
    the program, an engine error raised inside an RPC), if any."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, LlmopsError):
            return current
        seen.add(id(current))
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    return None


def program_location(error: BaseException, roots: Iterable[Path]) -> str | None:
    """``file:line: code`` of the innermost frame of ``error``'s traceback that belongs to the
    program (a file under one of ``roots``, not a library and not the engine itself)."""
    resolved = [r.resolve() for r in roots]
    found: traceback.FrameSummary | None = None
    for frame in traceback.extract_tb(error.__traceback__):
        path = Path(frame.filename)
        if "site-packages" in path.parts or not path.is_absolute():
            continue
        path = path.resolve()
        if path.is_relative_to(_ENGINE_DIR):
            continue
        if any(path.is_relative_to(root) for root in resolved):
            found = frame
    if found is None:
        return None
    path = Path(found.filename).resolve()
    shown = next((path.relative_to(r) for r in resolved if path.is_relative_to(r)), path)
    code = f": {found.line.strip()}" if found.line else ""
    return f"{shown}:{found.lineno}{code}"


def data_source_call_site(error: BaseException, roots: Iterable[Path]) -> str | None:
    """For a failure while the SDK built a data source's result (the call itself ran in the
    background, so the traceback holds no program frame): ``data source get_ami, called at
    file:line: code`` from the program's calls of that function."""
    frames = traceback.extract_tb(error.__traceback__)
    if not any(Path(f.filename).parts[-3:] == ("pulumi", "runtime", "invoke.py") for f in frames):
        return None
    module = Path(frames[-1].filename)
    if not module.stem.startswith("get_") or not any(part.startswith("pulumi_") for part in module.parts):
        return None
    names = {module.stem, f"{module.stem}_output"}
    sites: list[tuple[Path, int, str]] = []
    for root, file in _program_files(roots):
        try:
            source = file.read_text(encoding="utf-8")
            tree = ast.parse(source)
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue
        lines = source.splitlines()
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            if called in names:
                sites.append((file.relative_to(root), node.lineno, lines[node.lineno - 1].strip()))
    sites.sort()
    if not sites:
        return f"the result of data source {module.stem}"
    if len(sites) == 1:
        return f"the result of data source {module.stem}, called at {sites[0][0]}:{sites[0][1]}: {sites[0][2]}"
    shown = ", ".join(f"{file}:{line}" for file, line, _ in sites[:3]) + (", ..." if len(sites) > 3 else "")
    return f"the result of data source {module.stem}, called {len(sites)} times in the program ({shown})"


def _program_files(roots: Iterable[Path]) -> list[tuple[Path, Path]]:
    """(root, file) for each of the program's own Python files, once, relative to the first
    root that holds it (virtualenvs, caches and hidden folders left out)."""
    seen: set[Path] = set()
    found: list[tuple[Path, Path]] = []
    for root in dict.fromkeys(r.resolve() for r in roots):
        for file in sorted(root.rglob("*.py")):
            parts = file.relative_to(root).parts
            if file in seen or any(p.startswith(".") or p in ("venv", "site-packages", "__pycache__") for p in parts):
                continue
            seen.add(file)
            found.append((root, file))
    return found


def engine_fault(error: BaseException) -> str | None:
    """``file:line`` in the engine where ``error`` was raised, when the engine itself (not
    the program) failed."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return None
    last = Path(frames[-1].filename).resolve()
    if last.is_relative_to(_ENGINE_DIR / "engine"):
        return f"{last.relative_to(_ENGINE_DIR.parent)}:{frames[-1].lineno}"
    return None


def missing_module_message(error: ModuleNotFoundError, virtualenv: Path | None, venv_site: Path | None) -> str:
    """What to install where, for a module the program imports that is not installed."""
    module = (error.name or "").split(".")[0] or str(error)
    package = module.replace("_", "-") if module.startswith("pulumi_") else module
    kind = "the provider SDK" if module.startswith("pulumi_") else "the module"
    head = f"the program imports {kind} '{module}' (PyPI package {package}), which is not installed"
    engine_env = f"{sys.executable} -m pip install {package}"
    if virtualenv is None:
        return (
            f"{head} in the environment that runs the offline engine ({sys.prefix}). Install it there: "
            f"`{engine_env}` (and list it in the program's requirements.txt)."
        )
    if not virtualenv.exists():
        return (
            f"{head}. The program's virtualenv {virtualenv} (runtime.options.virtualenv in Pulumi.yaml) does not exist: "
            f"create it with `python3 -m venv {virtualenv}`, then `{virtualenv / 'bin' / 'python'} -m pip install {package}` "
            "(or -r requirements.txt)."
        )
    if venv_site is None:
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        return (
            f"{head}. The program's virtualenv {virtualenv} (runtime.options.virtualenv in Pulumi.yaml) is not for "
            f"Python {version}, which runs the offline engine: install it into the engine's environment: `{engine_env}`."
        )
    return (
        f"{head} in the program's virtualenv {virtualenv} (runtime.options.virtualenv in Pulumi.yaml). "
        f"Install it there: `{virtualenv / 'bin' / 'python'} -m pip install {package}`."
    )


def defaults_note(message: str, stand_ins: dict[str, str], defaulted_calls: Iterable[str]) -> str:
    """Lines naming the engine-made values (``stand_ins``: value -> what it stands for) that
    appear in ``message``; else, when data sources were answered with defaults, a line
    listing them."""
    named = [(value, origin) for value, origin in sorted(stand_ins.items()) if value in message]
    if named:
        lines = [f"  note: '{value}' is not from a real account: the offline engine made it up as {origin}" for value, origin in named[:3]]
        return "\n" + "\n".join(lines)
    calls = sorted(set(defaulted_calls))
    if calls:
        return "\n  note: these data sources were answered with the engine's defaults, not a real account: " + ", ".join(calls)
    return ""
