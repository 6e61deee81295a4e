"""Property tests (hypothesis) for the two judgements many policies lean on: whether a set of
CIDR blocks opens something to the internet, and whether a named value is a secret."""

from __future__ import annotations

import base64
import ipaddress
import json
from typing import Any

import yaml
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from policies.common import cidrs
from policies.security import credentials

WORDS = credentials.SECRET_WORDS.default
relaxed = settings(deadline=None)  # shared CI machines: timing is no part of these properties

# --------------------------------------------------------------------------- CIDRs


def split(version: int, prefix: int) -> list[str]:
    """The whole address space of ``version`` cut into blocks of ``prefix``."""
    return [str(n) for n in cidrs.WHOLE[version].subnets(new_prefix=prefix)]


networks_v4 = st.builds(
    lambda address, prefix: str(ipaddress.ip_network((address, prefix), strict=False)),
    st.integers(0, 2**32 - 1),
    st.integers(0, 32),
)
networks_v6 = st.builds(
    lambda address, prefix: str(ipaddress.ip_network((address, prefix), strict=False)),
    st.integers(0, 2**128 - 1),
    st.integers(0, 128),
)


@relaxed
@given(
    st.sampled_from([4, 6]),
    st.integers(1, 6),
    st.randoms(use_true_random=False),
    st.lists(networks_v4, max_size=5),
)
def test_any_split_of_the_address_space_covers_the_internet(
    version: int, prefix: int, rnd: object, extra: list[str]
) -> None:
    blocks = split(version, prefix)
    rnd.shuffle(blocks)  # type: ignore[attr-defined]
    assert cidrs.covers_internet(blocks)
    assert cidrs.covers_internet(blocks + extra)  # more blocks never close anything
    assert cidrs.internet_families(blocks) == [str(cidrs.WHOLE[version])]


@relaxed
@given(st.sampled_from([4, 6]), st.integers(1, 8), st.data())
def test_leaving_out_a_block_opens_a_gap_unless_the_block_is_not_internet(
    version: int, prefix: int, data: st.DataObject
) -> None:
    blocks = split(version, prefix)
    removed = data.draw(st.sampled_from(blocks))
    rest = [b for b in blocks if b != removed]
    assert cidrs.covers_internet(rest) == cidrs.special_purpose(removed)


def test_the_internet_without_private_ranges_is_still_the_internet() -> None:
    public = [
        "0.0.0.0/5",
        "8.0.0.0/7",
        "11.0.0.0/8",
        "12.0.0.0/6",
        "16.0.0.0/4",
        "32.0.0.0/3",
        "64.0.0.0/2",
        "128.0.0.0/1",
    ]
    assert cidrs.covers_internet(public)
    assert not cidrs.covers_internet(public[:-1])
    assert not cidrs.covers_internet(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"])


@settings(max_examples=200, deadline=None)
@given(st.lists(networks_v4, max_size=8), st.lists(networks_v6, max_size=4))
def test_an_uncovered_internet_address_is_a_real_witness(v4: list[str], v6: list[str]) -> None:
    blocks = v4 + v6
    for version in (4, 6):
        witness = cidrs.uncovered_global(blocks, version)
        if witness is None:
            continue
        assert not any(
            witness in ipaddress.ip_network(b)
            for b in blocks
            if ipaddress.ip_network(b).version == version
        )
        assert not cidrs.special_purpose(f"{witness}/{witness.max_prefixlen}")
    assert cidrs.covers_internet(blocks) == (
        cidrs.uncovered_global(blocks, 4) is None or cidrs.uncovered_global(blocks, 6) is None
    )


@settings(max_examples=100, deadline=None)
@given(
    st.lists(networks_v4, min_size=1, max_size=6), st.integers(11, 99), st.integers(0, 2**24 - 1)
)
def test_covering_means_every_public_address_is_in_some_block(
    v4: list[str], first_octet: int, rest: int
) -> None:
    ip = ipaddress.IPv4Address(
        (first_octet << 24) + rest
    )  # 11.0.0.0-99.255.255.255: internet addresses only
    assert not cidrs.special_purpose(f"{ip}/32")
    if cidrs.uncovered_global(v4, 4) is None:
        assert any(ip in ipaddress.ip_network(b) for b in v4)


# --------------------------------------------------------------------------- secrets

prefixes = st.sampled_from(["DB", "APP", "REDIS", "OPENAI", "SERVING", "UPSTREAM", "HF", "PG"])
secret_words = st.sampled_from(
    [
        "PASSWORD",
        "TOKEN",
        "SECRET",
        "API_KEY",
        "AUTH",
        "CLIENT_SECRET",
        "PRIVATE_KEY",
        "ACCESS_KEY",
        "PASSWD",
    ]
)
settings_suffixes = st.sampled_from(
    sorted(credentials.SETTING_SUFFIXES | credentials.REFERENCE_SUFFIXES)
)


def camel(snake: str) -> str:
    first, *rest = snake.lower().split("_")
    return first + "".join(w.capitalize() for w in rest)


@relaxed
@given(prefixes, secret_words, st.booleans())
def test_names_that_end_in_a_secret_word_are_secret(
    prefix: str, word: str, camel_case: bool
) -> None:
    name = f"{prefix}_{word}"
    assert credentials.looks_secret(camel(name) if camel_case else name, WORDS, [])


@relaxed
@given(st.lists(prefixes, max_size=2), secret_words, settings_suffixes, st.booleans())
def test_settings_about_secrets_and_references_to_them_are_not_secret(
    parts: list[str], word: str, suffix: str, camel_case: bool
) -> None:
    name = "_".join([*parts, word, suffix.upper().replace("-", "_")])
    assert not credentials.looks_secret(camel(name) if camel_case else name, WORDS, [])


@relaxed
@given(
    prefixes,
    secret_words,
    st.one_of(
        st.integers(-10, 10**6).map(str),
        st.sampled_from(["true", "false", "on", "off", "30s", "/run/secrets/db"]),
    ),
)
def test_secret_names_with_values_no_secret_takes_pass(prefix: str, word: str, value: str) -> None:
    props = {"environment": {"variables": {f"{prefix}_{word}": value}}}
    assert (
        credentials.plaintext_secret_problems("aws:lambda/function:Function", props, WORDS, [])
        == []
    )


userinfo = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=16)


@relaxed
@given(
    st.sampled_from(["postgres", "postgresql", "redis", "rediss", "amqp", "mysql", "mongodb+srv"]),
    userinfo,
    userinfo,
    userinfo,
)
def test_urls_with_a_password_are_secret_whatever_the_name(
    scheme: str, user: str, password: str, host: str
) -> None:
    url = f"{scheme}://{user}:{password}@{host}.internal:5432/app"
    assert credentials.secret_shaped(url)
    assert not credentials.secret_shaped(f"{scheme}://{host}.internal:5432/app")
    props = {"environment": {"variables": {"CONNECTION": url}}}
    assert (
        len(credentials.plaintext_secret_problems("aws:lambda/function:Function", props, WORDS, []))
        == 1
    )


@relaxed
@given(
    st.dictionaries(
        st.sampled_from(["sub", "iat", "name", "role"]), st.text(max_size=12), min_size=1
    ),
    st.binary(min_size=16, max_size=32),
)
def test_jwts_are_secret(claims: dict[str, str], signature: bytes) -> None:
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    token = ".".join(
        [
            part(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()),
            part(json.dumps(claims).encode()),
            part(signature),
        ]
    )
    assert credentials.secret_shaped(token)


@relaxed
@given(
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", min_size=16, max_size=16),
    st.text(
        alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
        min_size=24,
        max_size=32,
    ),
)
def test_provider_keys_are_secret(aws_suffix: str, body: str) -> None:
    for value in (
        f"AKIA{aws_suffix}",
        f"sk_live_{body}",
        f"AIza{(body * 2)[:35]}",
        f"sk-proj-{body}",
    ):
        assert credentials.secret_shaped(value), value


@relaxed
@given(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=20),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-", max_size=24),
)
def test_plain_values_under_plain_names_pass(name: str, value: str) -> None:
    assume(not credentials.looks_secret(name, WORDS, []))
    props = {"environment": {"variables": {name: value}}}
    assert (
        credentials.plaintext_secret_problems("aws:lambda/function:Function", props, WORDS, [])
        == []
    )


# One value per alternative of SECRET_VALUE: each must pass the marker pre-check.
SHAPED = [
    "AKIA" + "A" * 16,
    "ASIA" + "B" * 16,
    "-----BEGIN RSA PRIVATE KEY-----",
    *(f"gh{c}_" + "a" * 30 for c in "pousr"),
    "github_pat_" + "a" * 30,
    "glpat-" + "a" * 20,
    "hf_" + "a" * 30,
    "sk-" + "a" * 20,
    "sk-ant-" + "a" * 20,
    "sk_live_" + "a" * 16,
    "rk_live_" + "a" * 16,
    "AIza" + "a" * 35,
    "xoxb-" + "a" * 10,
    "npm_" + "a" * 36,
    "eyJ" + "a" * 8 + ".eyJ" + "b" * 8 + "." + "c" * 8,
    "amqp://user:pass@broker",
    "AccountKey=" + "a" * 20,
]
fragments = st.sampled_from(
    [*SHAPED, *credentials.SECRET_MARKERS, "://", "@", ":", " ", "\n", "=", "-", "_", "a", "Z", "9"]
)


def test_every_kind_of_credential_passes_the_pre_check() -> None:
    for value in SHAPED:
        assert credentials.SECRET_VALUE.search(value), value
        assert credentials.secret_shaped(value), value
        assert credentials.secret_shaped(f"export X={value} # in a longer script\n" * 3), value


@relaxed
@given(st.lists(st.one_of(fragments, st.text(max_size=8)), max_size=12))
def test_the_pre_check_never_changes_the_answer(parts: list[str]) -> None:
    value = "".join(parts)
    assert credentials.secret_shaped(value) == bool(credentials.SECRET_VALUE.search(value))


def test_serve_configs_read_as_pyyaml_safe_load_reads_them(prod_plan: Any) -> None:
    texts = [
        r.inputs["spec"]["serveConfigV2"]
        for r in prod_plan.resources
        if r.type == "kubernetes:ray.io/v1:RayService"
    ]
    assert texts
    texts.append('applications: [{name: a, runtime_env: {env_vars: {X: "1", Y: [1, 2.5, null]}}}]')
    for text in texts:
        assert credentials._yaml(text) == yaml.safe_load(text)
    assert credentials._yaml("applications: [unclosed") is None  # not YAML: nothing to read
