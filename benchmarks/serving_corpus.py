"""A real documentation corpus that ships with every Python: the ``help()`` text of the
standard library modules (``pydoc``, plain text) and the language reference topics of
``pydoc_data``. Used by ``benchmarks/serving.py`` to measure retrieval on documents nobody
here wrote; the labelled queries in ``serving_queries.py`` were written by hand against the
module names, not cut from these texts.

The text differs slightly between Python versions; the labels name modules, so they hold.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import os
import re
import sys
import sysconfig
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

#: Modules left out: side effects on import (this, antigravity), GUI toolkits, test suites,
#: platform-specific modules, and packaging internals.
SKIP = frozenset(
    {
        "antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "test", "lib2to3",
        "ensurepip", "pydoc_data", "__future__", "__main__", "msilib", "winreg", "winsound",
        "msvcrt", "nt", "ntpath", "nturl2path", "encodings", "venv", "distutils",
    }
)


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_ENVIRON = re.compile(r"environ\(\{[^\n]*")


def _local_paths() -> list[tuple[str, str]]:
    paths = {
        sysconfig.get_path("stdlib"): "<stdlib>",
        sysconfig.get_path("platstdlib"): "<stdlib>",
        sys.prefix: "<prefix>",
        sys.base_prefix: "<base-prefix>",
        sys.exec_prefix: "<prefix>",
        sys.base_exec_prefix: "<base-prefix>",
        os.getcwd(): "<cwd>",
        str(Path.home()): "~",
    }
    return sorted(paths.items(), key=lambda kv: -len(kv[0]))  # longest first


def _clean(text: str) -> str:
    """The same text on every machine and run: no memory addresses, no copy of this
    process's environment (``os``, ``cgi`` print ``os.environ``), no local paths."""
    text = _ADDRESS.sub("", text)
    text = _ENVIRON.sub("os.environ", text)
    for path, placeholder in _local_paths():
        text = text.replace(path, placeholder)
    return text


def stdlib_documents() -> list[tuple[str, str]]:
    """``(source, text)`` pairs: ``python/<module>`` for each importable standard library
    module, ``python-reference/<topic>`` for each language reference topic."""
    import pydoc
    from pydoc_data.topics import topics

    docs: list[tuple[str, str]] = []
    names = sorted(n for n in sys.stdlib_module_names if not n.startswith("_") and n not in SKIP)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        for name in names:
            try:
                module = importlib.import_module(name)
                text = pydoc.render_doc(module, renderer=pydoc.plaintext)
            except Exception:  # not built on this platform
                continue
            docs.append((f"python/{name}", _clean(text)))
    docs.extend((f"python-reference/{t}", topics[t]) for t in sorted(topics))
    seen: set[str] = set()
    unique = []
    for source, text in docs:  # two topics share one text ('if', 'else'): keep the first
        if text not in seen:
            seen.add(text)
            unique.append((source, text))
    return unique


def _key(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()[:16]


def cached_embeddings(
    texts: list[str], model_id: str, encode: Callable[[list[str]], np.ndarray], cache_dir: Path | None = None
) -> np.ndarray:
    """Embeddings of ``texts``; each text is embedded once per model and kept under
    ``~/.cache/llmops-bench`` (the corpus takes minutes to embed on a laptop CPU)."""
    path = (cache_dir or Path.home() / ".cache" / "llmops-bench") / (
        hashlib.sha256(model_id.encode()).hexdigest()[:16] + ".npz"
    )
    known: dict[bytes, np.ndarray] = {}
    if path.exists():
        with np.load(path) as data:
            known = dict(zip((bytes(k) for k in data["keys"]), data["vectors"], strict=True))
    keys = [_key(t) for t in texts]
    todo = sorted({k: t for k, t in zip(keys, texts, strict=True) if k not in known}.items())
    if todo:
        vecs = np.asarray(encode([t for _, t in todo]), dtype=np.float32)
        known.update(zip((k for k, _ in todo), vecs, strict=True))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, keys=np.array(list(known), dtype="S16"), vectors=np.stack(list(known.values())))
        tmp.replace(path)
    return np.stack([known[k] for k in keys])
