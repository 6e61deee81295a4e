"""Do two questions ask the same thing? A lexical check for the semantic cache.

Embedding similarity alone cannot tell "how do I run the migrations" from "how do I not run
the migrations" (MiniLM scores such pairs above 0.95), nor "port 8080" from "port 8000". So a
similarity hit is accepted only when the questions also agree on what embeddings blur:

- negation: both negated or neither (``not``, ``never``, ``don't``, ``without``, ...);
- specifics: the same numbers, identifiers and acronyms (``CMP0048``, ``v2``, ``TLS``,
  ``max_tokens``, ``os.path``);
- no opposite words across them (``enable``/``disable``, ``start``/``stop``, ``un``-words);
- enough shared content words (Jaccard of stemmed non-stopwords).

Pure functions, no dependencies.
"""

from __future__ import annotations

import re

#: Shared content words needed (intersection over union of stemmed non-stopwords).
MIN_OVERLAP = 0.6

def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_TOKEN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.:/+#'-]*[A-Za-z0-9+#])?")

NEGATIONS = _words(
    "not no never none nothing nobody nowhere neither nor without cannot cant dont doesnt "
    "didnt isnt arent wasnt werent wont wouldnt shouldnt couldnt mustnt hasnt havent hadnt "
    "neednt avoid"
)

STOPWORDS = _words(
    "a an the of to in on at for from by with about into onto over under as is are was were "
    "be been being am do does did done i me my we our you your it its this that these those "
    "there here what which who whom whose when where why how can could should would will "
    "shall may might must have has had get gets got please tell explain show give way ways "
    "and or but if then so than too very just also some any all each every one use used "
    "using make makes whats hows wheres whos thats im ive youre"
)

_PAIRS = [
    ("enable", "disable"), ("start", "stop"), ("allow", "deny"), ("allow", "block"),
    ("add", "remove"), ("install", "uninstall"), ("increase", "decrease"), ("before", "after"),
    ("min", "max"), ("minimum", "maximum"), ("open", "close"), ("encrypt", "decrypt"),
    ("public", "private"), ("true", "false"), ("on", "off"), ("include", "exclude"),
    ("import", "export"), ("upload", "download"), ("read", "write"), ("input", "output"),
    ("lock", "unlock"), ("mount", "unmount"), ("connect", "disconnect"), ("accept", "reject"),
    ("push", "pull"), ("send", "receive"), ("first", "last"), ("inbound", "outbound"),
    ("ingress", "egress"), ("upper", "lower"), ("up", "down"), ("grant", "revoke"),
    ("create", "delete"), ("create", "destroy"), ("show", "hide"), ("attach", "detach"),
    ("pause", "resume"), ("larger", "smaller"), ("more", "less"), ("old", "new"),
    ("above", "below"), ("internal", "external"), ("sync", "async"), ("encode", "decode"),
    ("compress", "decompress"), ("serialize", "deserialize"), ("valid", "invalid"),
    ("safe", "unsafe"), ("success", "failure"), ("succeed", "fail"), ("lowest", "highest"),
    ("fastest", "slowest"), ("cheapest", "most"), ("ascending", "descending"),
    ("horizontal", "vertical"), ("client", "server"), ("source", "destination"),
    ("primary", "secondary"), ("master", "replica"), ("leader", "follower"), ("left", "right"),
    ("in", "out"), ("scale-up", "scale-down"),
]
_OPPOSITE: dict[str, set[str]] = {}
for _a, _b in _PAIRS:
    _OPPOSITE.setdefault(_a, set()).add(_b)
    _OPPOSITE.setdefault(_b, set()).add(_a)


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.replace("\u2019", "'"))


def _is_specific(token: str) -> bool:
    """Numbers, identifiers and acronyms: what a one-character edit changes the meaning of."""
    if any(ch.isdigit() for ch in token):
        return True
    if any(ch in token for ch in "_./:+#"):
        return True
    if len(token) >= 2 and token.isupper():
        return True
    return any(ch.isupper() for ch in token[1:])  # camelCase, HTTPStatus


def _stem(word: str) -> str:
    """A light stemmer: plurals and -ing/-ed/-ly forms, then a final ``e`` (so change,
    changes, changed and changing agree)."""
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]
    for suffix in ("ing", "edly", "ed", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            word = word[: -len(suffix)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def _plain(token: str) -> str:
    return token.lower().replace("'", "")


def negated(text: str) -> bool:
    """Whether the text carries a negation (an odd number of them)."""
    words = [_plain(t) for t in _tokens(text)]
    return sum(1 for w in words if w in NEGATIONS) % 2 == 1


def specifics(text: str) -> frozenset[str]:
    """The numbers, identifiers and acronyms in the text (lower-cased)."""
    return frozenset(t.lower().rstrip(".:") for t in _tokens(text) if _is_specific(t))


def content_words(text: str) -> frozenset[str]:
    """Stemmed words that are neither stopwords nor negations."""
    out = set()
    for t in _tokens(text):
        w = _plain(t)
        if w in STOPWORDS or w in NEGATIONS:
            continue
        out.add(_stem(w))
    return frozenset(out)


def _opposed(left: set[str], right: set[str]) -> str | None:
    for a in left:
        for b in right:
            if b in _OPPOSITE.get(a, ()):
                return f"{a!r} vs {b!r}"
            if a in STOPWORDS or b in STOPWORDS:
                continue  # "to" / "into" are not opposites
            for prefix in ("un", "dis", "in", "non", "de"):
                if a == prefix + b or b == prefix + a:
                    return f"{a!r} vs {b!r}"
    return None


def mismatch(a: str, b: str, min_overlap: float = MIN_OVERLAP) -> str | None:
    """Why ``a`` and ``b`` may ask different things, or None when they agree."""
    if negated(a) != negated(b):
        return "one is negated"
    # a word is specific if it looks so on either side ("API" vs "api" is the same word)
    marked = specifics(a) | specifics(b)
    sa = {t.lower().rstrip(".:") for t in _tokens(a)} & marked
    sb = {t.lower().rstrip(".:") for t in _tokens(b)} & marked
    if sa != sb:
        return f"different specifics: {sorted(sa ^ sb)}"
    wa = {_plain(t) for t in _tokens(a)}
    wb = {_plain(t) for t in _tokens(b)}
    opposed = _opposed(wa - wb, wb - wa)
    if opposed:
        return f"opposite words {opposed}"
    ca, cb = content_words(a), content_words(b)
    if ca or cb:
        overlap = len(ca & cb) / len(ca | cb)
        if overlap < min_overlap:
            return f"few shared words ({overlap:.2f} < {min_overlap})"
    return None


def same_question(a: str, b: str, min_overlap: float = MIN_OVERLAP) -> bool:
    """Whether the questions agree lexically (see the module docstring)."""
    return mismatch(a, b, min_overlap) is None
