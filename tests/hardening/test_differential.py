"""Differential test: every token through our verifier and through PyJWT 2.15 configured strictly.

Our JOSE code stays only while it agrees with a reference everyone audits. The attack corpus of
``test_token_corpus.py`` and property-generated tokens (each algorithm, mutated headers, payloads,
signatures and encodings, alg confusion, ``kid`` games, claim types and boundaries, huge and nested
JSON) go through :class:`JWKSVerifier` and through ``jwt.decode`` with the same JWK Set, the key
picked by ``kid`` as ``PyJWKClient`` does, the allowlist narrowed to that key's own algorithm (what
PyJWT does by default for a ``PyJWK``), every claim Better-Auth signs required, and the same issuer,
audiences, leeway and frozen clock. A verdict (accept or reject) may differ only where one of
:data:`STRICTER` explains it, and then only one way: we reject what PyJWT accepts (one entry,
fractional dates compared exactly, explains either way). Each entry names the rule, why we hold
it, and a test below that shows it.

``FUZZ_LONG=1`` runs the long profile (5 000 examples per property instead of 500).
"""

import asyncio
import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import math
import os
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, replace
from typing import Any

import jwt
import pytest
from hypothesis import event, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from fastapi_better_auth import BetterAuthSettings
from fastapi_better_auth._errors import InvalidTokenError
from fastapi_better_auth._jwks import JWKSVerifier
from fastapi_better_auth._jwks._claims import ClaimRules
from fastapi_better_auth._testing_server import JWKSServer, running_jwks_server
from fastapi_better_auth.testing import make_user, user_claims
from tests.hardening.conftest import ALGORITHMS, Keys
from tests.hardening.test_token_corpus import CORPUS, Ctx, compact, segment

NOW = 1_795_543_923
ACCEPTED = frozenset({*ALGORITHMS, "ES512"})
REQUIRED = ["exp", "iat", "sub", "iss", "aud"]
LONG = os.environ.get("FUZZ_LONG") == "1"
PROFILE = hypothesis_settings(
    max_examples=5000 if LONG else 500,
    deadline=None,
    database=None,
    print_blob=True,
)
TIME_CLAIMS = ("exp", "iat", "nbf")
OTHER_ORIGIN = "https://evil.example"


# --- the two verifiers ---------------------------------------------------------------------


def run_sync(coro: Coroutine[Any, Any, Any]) -> Any:
    """The result of a coroutine that never suspends: keys are warm and refetching is cooling down."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise AssertionError("verify suspended: it tried to fetch")


@dataclass(frozen=True)
class Judges:
    settings: BetterAuthSettings
    ours: JWKSVerifier
    keyset: jwt.PyJWKSet
    rules: ClaimRules

    def our_verdict(self, token: str) -> bool:
        try:
            run_sync(self.ours.verify(token))
        except InvalidTokenError:
            return False
        return True

    def pyjwt_verdict(self, token: str) -> bool:
        """``jwt.decode`` as a careful user calls it with a JWKS (any other exception is a bug)."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = next(k for k in self.keyset.keys if k.key_id == kid)
        except (jwt.PyJWTError, StopIteration):
            return False
        own = key.algorithm_name
        try:
            jwt.decode(
                token,
                key,
                algorithms=[own] if own in ACCEPTED else [],
                audience=sorted(self.settings.expected_audiences),
                issuer=self.settings.expected_issuer,
                leeway=self.settings.jwt_leeway_seconds,
                options={"require": REQUIRED},
            )
        except jwt.PyJWTError:
            return False
        return True


class _FrozenDatetime(dt.datetime):
    """PyJWT reads ``datetime.now(tz=utc)``; both judges see the same instant."""

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> "_FrozenDatetime":
        return cls.fromtimestamp(NOW, tz)


@pytest.fixture(scope="module")
def judges(keys: Keys) -> Iterator[Judges]:
    settings = BetterAuthSettings.load(
        url=keys.origin,
        database_url="sqlite+aiosqlite://",
        jwt_algorithms=ACCEPTED,
        jwks_min_refresh_seconds=3600,
        jwks_cold_retry_seconds=3600,
    )
    ours = JWKSVerifier(settings, clock=lambda: NOW, token_cache_size=0)

    async def warm() -> None:
        assert await ours.warm()
        await ours.aclose()  # keys stay cached; no fetch can start during the cooldown

    asyncio.run(warm())
    keyset = jwt.PyJWKSet.from_dict(
        {"keys": [issuer.current.public_jwk() for issuer in keys.issuers.values()]}
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jwt.api_jwt, "datetime", _FrozenDatetime)
        yield Judges(settings, ours, keyset, ClaimRules(settings, lambda: NOW))


# --- our stricter rules: the only verdicts allowed to differ --------------------------------


@dataclass(frozen=True)
class Parts:
    """A token read leniently (as PyJWT reads it), to tell which rule a difference comes from."""

    token: str
    segments: list[str]
    header: bytes | None
    payload: bytes | None
    header_json: Any
    payload_json: Any


def _lenient_b64(value: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return None


def _lenient_json(raw: bytes | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None


def read(token: str) -> Parts:
    segments = token.split(".")
    header = _lenient_b64(segments[0]) if len(segments) == 3 else None
    payload = _lenient_b64(segments[1]) if len(segments) == 3 else None
    return Parts(
        token, segments, header, payload, _lenient_json(header), _lenient_json(payload)
    )


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _not_canonical(parts: Parts) -> bool:
    """A segment that is not the one unpadded base64url spelling of its bytes (read by the stdlib)."""
    for value in parts.segments:
        raw = _lenient_b64(value)
        if raw is None or base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != value:
            return True
    return False


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON (iterative: the corpus nests 5 000 levels)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = (
            item.values()
            if isinstance(item, dict)
            else item
            if isinstance(item, list)
            else None
        )
        if children is not None:
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in children)
    return deepest


def _not_strict_json(parts: Parts) -> bool:
    """JSON the stdlib reads but with a BOM, a duplicate member, NaN/Infinity or over 32 levels."""
    for raw in (parts.header, parts.payload):
        try:
            value = json.loads(raw or b"")  # as PyJWT reads it
        except (ValueError, RecursionError):
            continue
        if (raw or b"").startswith(b"\xef\xbb\xbf") or _depth(value) > 32:
            return True
        found: list[str] = []

        def pairs(items: list[tuple[str, Any]], found: list[str] = found) -> Any:
            if len({name for name, _ in items}) != len(items):
                found.append("duplicate")
            return dict(items)

        def constant(name: str, found: list[str] = found) -> float:
            found.append(name)
            return float(name)

        json.loads(raw or b"", object_pairs_hook=pairs, parse_constant=constant)
        if found:
            return True
    return False


def _refused_header(parts: Parts) -> bool:
    header = _object(parts.header_json)
    refused = {"jku", "jwk", "x5u", "x5c", "crit", "zip", "cty"}
    return bool(refused & header.keys()) or header.get("b64", True) is not True


def _typ(parts: Parts) -> bool:
    typ = _object(parts.header_json).get("typ")
    return typ is not None and not (
        isinstance(typ, str) and typ.lower() in {"jwt", "application/jwt"}
    )


def _numeric_dates(parts: Parts) -> bool:
    claims = _object(parts.payload_json)
    for name in TIME_CLAIMS:
        if name not in claims:
            continue
        value = claims[name]
        if type(value) not in (int, float) or not -1e15 <= value <= 1e15:
            return True
    return False


def _lifetime(parts: Parts) -> bool:
    claims = _object(parts.payload_json)
    exp, iat = claims.get("exp"), claims.get("iat")
    if not all(type(value) in (int, float) for value in (exp, iat)):
        return False
    return not 0 < exp - iat <= 900  # type: ignore[operator]


def _empty_sub(parts: Parts) -> bool:
    return _object(parts.payload_json).get("sub") == ""


def _sizes(parts: Parts) -> bool:
    kid = _object(parts.header_json).get("kid")
    return (
        len(parts.token) > 16 * 1024
        or len(parts.segments[0]) > 2048
        or (isinstance(kid, str) and len(kid) > 256)
    )


def _fractional_dates(parts: Parts) -> bool:
    """PyJWT compares ``int(value)``; we compare the NumericDate as sent (RFC 7519 allows fractions)."""
    claims = _object(parts.payload_json)
    return any(
        isinstance(claims.get(name), float) and not claims[name].is_integer()
        for name in TIME_CLAIMS
    )


def truncated_dates(claims: dict[str, Any]) -> dict[str, Any]:
    """The claims with each finite time claim truncated to an integer, as PyJWT reads them."""
    return {
        name: math.floor(value)
        if name in TIME_CLAIMS and isinstance(value, float) and math.isfinite(value)
        else value
        for name, value in claims.items()
    }


@dataclass(frozen=True)
class Rule:
    id: str
    rule: str
    why: str
    test: str
    applies: Callable[[Parts], bool]
    #: ``False``: only "we reject, PyJWT accepts" is explained; ``True``: either way.
    both_ways: bool = False


STRICTER: tuple[Rule, ...] = (
    Rule(
        "canonical-base64url",
        "each segment is unpadded base64url in its one canonical form",
        "RFC 7515 §2 forbids padding; a second spelling of the same token defeats caches and logs; "
        "PyJWT accepts trailing '='",
        "test_stricter_rule_shown[canonical-base64url]",
        _not_canonical,
    ),
    Rule(
        "strict-json",
        "header and payload are I-JSON: UTF-8 without a BOM, no duplicate member, no NaN/Infinity, "
        "at most 32 levels deep",
        "RFC 7515 §5.2 / RFC 7493: with duplicates two parsers can read different claims; depth caps "
        "the parser's work on any Python version; PyJWT's json.loads keeps the last duplicate and skips "
        "a BOM",
        "test_stricter_rule_shown[strict-json]",
        _not_strict_json,
    ),
    Rule(
        "refused-header-members",
        "no jku, jwk, x5u, x5c, crit, zip or cty header member, and b64 only as true",
        "members that pick a key or change what is signed have no use with Better-Auth's JWKS and "
        "RFC 8725 §3.10 advises refusing them; PyJWT ignores them (b64=false with crit is a JWS it "
        "refuses only for want of a detached payload)",
        "test_stricter_rule_shown[refused-header-members]",
        _refused_header,
    ),
    Rule(
        "explicit-typ",
        "a typ header, when present, is JWT or application/jwt",
        "RFC 8725 §3.11: a token of another type (at+jwt, a logout token) is not a session JWT",
        "test_stricter_rule_shown[explicit-typ]",
        _typ,
    ),
    Rule(
        "numeric-dates",
        "exp, iat and nbf are JSON numbers within ±1e15 s",
        "RFC 7519 §2 NumericDate; PyJWT calls int() on them, so '1795543923' or true pass",
        "test_stricter_rule_shown[numeric-dates]",
        _numeric_dates,
    ),
    Rule(
        "bounded-lifetime",
        "0 < exp - iat <= jwt_max_lifetime_seconds (900 s, Better-Auth's expirationTime)",
        "a leaked signing key or a misconfigured issuer cannot mint a token that lives for years",
        "test_stricter_rule_shown[bounded-lifetime]",
        _lifetime,
    ),
    Rule(
        "non-empty-sub",
        "sub is a non-empty string",
        "the subject is the user id we load; PyJWT accepts ''",
        "test_stricter_rule_shown[non-empty-sub]",
        _empty_sub,
    ),
    Rule(
        "size-caps",
        "token <= 16 KiB, header segment <= 2048 characters, kid <= 256 characters",
        "bounded work before any signature check (Better-Auth's tokens are about 1 KiB)",
        "test_stricter_rule_shown[size-caps]",
        _sizes,
    ),
    Rule(
        "exact-numeric-dates",
        "a fractional exp/iat/nbf is compared as sent",
        "RFC 7519 allows fractions; PyJWT truncates with int(), so verdicts differ (either way) "
        "within one second of a boundary; Better-Auth signs whole seconds",
        "test_stricter_rule_shown[exact-numeric-dates]",
        _fractional_dates,
        both_ways=True,
    ),
)


def assert_same_verdict(judges: Judges, token: str, *, record: bool = False) -> bool:
    """Both verdicts, and a failure unless they agree or a rule of :data:`STRICTER` explains why not."""
    ours, theirs = judges.our_verdict(token), judges.pyjwt_verdict(token)
    if record:  # --hypothesis-show-statistics shows the mix of verdicts
        event(f"ours={ours} pyjwt={theirs}")
    if ours == theirs:
        return ours
    parts = read(token)
    explained = [
        rule.id
        for rule in STRICTER
        if (rule.both_ways or (theirs and not ours)) and rule.applies(parts)
    ]
    if explained == ["exact-numeric-dates"]:
        # only truncation may explain it: our claim rules on truncated dates give PyJWT's verdict
        try:
            judges.rules.check(truncated_dates(_object(parts.payload_json)))
        except InvalidTokenError:
            explained = [] if theirs else explained
        else:
            explained = explained if theirs else []
    if record:
        event(f"explained by {', '.join(explained) or 'nothing'}")
    assert explained, (
        f"verdicts differ outside the documented stricter rules: ours={ours} pyjwt={theirs}\n"
        f"header={parts.header!r}\npayload={(parts.payload or b'')[:600]!r}"
    )
    return ours


# --- the corpus ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def attacker() -> Iterator[JWKSServer]:
    with running_jwks_server() as server:
        yield server


def base_claims(origin: str, **changes: Any) -> dict[str, Any]:
    claims = {
        "iat": NOW,
        **user_claims(make_user()),
        "exp": NOW + 900,
        "iss": origin,
        "aud": origin,
    }
    claims["sub"] = claims["id"]
    claims.update(changes)
    return claims


@pytest.fixture(scope="module")
def ctx(keys: Keys, attacker: JWKSServer) -> Ctx:
    return Ctx(keys, base_claims(keys.origin), attacker)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_differential_valid_token_each_algorithm_both_accept(
    judges: Judges, ctx: Ctx, algorithm: str
) -> None:
    token = ctx.valid(algorithm)
    assert judges.our_verdict(token) and judges.pyjwt_verdict(token)


@pytest.mark.parametrize(("name", "build"), CORPUS, ids=[name for name, _ in CORPUS])
def test_differential_attack_corpus_same_verdict(
    judges: Judges, ctx: Ctx, name: str, build: Callable[[Ctx], str]
) -> None:
    assert_same_verdict(judges, build(ctx))


# --- one token per stricter rule: we refuse it, PyJWT accepts it ------------------------------


def _shown(ctx: Ctx, rule: str) -> str:
    ed, sign = ctx.header("EdDSA"), ctx.sign("EdDSA")
    if rule == "canonical-base64url":  # the payload segment with its '=' padding
        claims = {**ctx.claims, "pad": ""}
        while len(segment(claims)) % 4 == 0:
            claims["pad"] += "x"
        payload = segment(claims)
        data = f"{segment(ed)}.{payload}{'=' * (-len(payload) % 4)}"
        return f"{data}.{segment(sign(data.encode()))}"
    if rule == "strict-json":
        text = json.dumps(ctx.claims)[:-1] + ', "role": "user"}'
        return compact(ed, text.encode(), sign)
    if rule == "refused-header-members":
        return compact({**ed, "x5u": "https://evil.example/k"}, ctx.claims, sign)
    if rule == "explicit-typ":
        return compact({**ed, "typ": "at+jwt"}, ctx.claims, sign)
    if rule == "numeric-dates":
        return compact(ed, {**ctx.claims, "exp": str(NOW + 900)}, sign)
    if rule == "bounded-lifetime":
        return compact(ed, {**ctx.claims, "exp": NOW + 10 * 365 * 86400}, sign)
    if rule == "non-empty-sub":
        return compact(ed, {**ctx.claims, "sub": ""}, sign)
    if rule == "size-caps":
        return compact(ed, {**ctx.claims, "pad": "x" * 16 * 1024}, sign)
    assert rule == "exact-numeric-dates"
    # expired by PyJWT's int(exp) <= now - leeway, half a second from expiring by ours
    return compact(ed, {**ctx.claims, "iat": NOW - 800, "exp": NOW - 4.5}, sign)


@pytest.mark.parametrize("rule", [rule.id for rule in STRICTER])
def test_stricter_rule_shown(judges: Judges, ctx: Ctx, rule: str) -> None:
    """Each documented rule refuses a token PyJWT accepts (or, for fractions, the other way round)."""
    token = _shown(ctx, rule)
    assert judges.pyjwt_verdict(token) is (rule != "exact-numeric-dates")
    assert judges.our_verdict(token) is (rule == "exact-numeric-dates")
    entry = next(entry for entry in STRICTER if entry.id == rule)
    assert entry.applies(read(token))
    assert entry.test == f"test_stricter_rule_shown[{rule}]"


# --- property-generated tokens ----------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """How to build one token: the signer, the header, the claims and a final mutation."""

    signer: str
    header: dict[str, Any]
    claims: dict[str, Any]
    raw_payload: str | None = None  # JSON text instead of ``claims`` (duplicates, NaN)
    signature: str = "good"
    encoding: str = "none"


_KID = object()  # the signer's kid
_OTHER_KID = object()  # another published key's kid

times = st.one_of(
    st.integers(NOW - 1000, NOW + 1000),
    st.sampled_from(
        [NOW, NOW - 5, NOW - 6, NOW + 5, NOW + 6, NOW + 900, NOW + 901, 0, -1, 10**15]
    ),
    st.floats(NOW - 20, NOW + 920),
    st.sampled_from(
        [str(NOW), True, False, None, [NOW], 10**16, 1e16, -1e16, 1e300, 0.5]
    ),
)
json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.text(max_size=5), inner, max_size=3),
    ),
    max_leaves=12,
)


def _deep(depth: int) -> Any:
    value: Any = 1
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


VALID = Recipe(
    signer="EdDSA",
    header={"alg": "EdDSA", "kid": _KID},
    claims={
        "iat": NOW,
        "exp": NOW + 900,
        "sub": "u",
        "iss": "$origin",
        "aud": "$origin",
    },
)
_ABSENT = object()

#: Each mutation: a name and how to draw its change to a valid recipe.
_MUTATIONS: dict[str, st.SearchStrategy[Any]] = {
    "alg": st.sampled_from(
        [*ALGORITHMS, "ES512", "HS256", "none", "eddsa", "RS512", ""]
    ),
    "kid": st.sampled_from(
        [_OTHER_KID, "unknown", "", "k" * 257, 1, None, "../../jwks", _ABSENT]
    ),
    "header": st.tuples(
        st.sampled_from(
            ["typ", "crit", "b64", "jku", "jwk", "x5u", "zip", "cty", "enc", "x"]
        ),
        st.sampled_from(
            [
                *("JWT", "jwt", "application/jwt", "at+jwt", ["b64"], ["exp"], []),
                *(True, False, 1, None, "https://evil.example/jwks"),
            ]
        ),
    ),
    "exp": st.one_of(times, st.just(_ABSENT)),
    "iat": st.one_of(times, st.just(_ABSENT)),
    "nbf": times,
    "sub": st.sampled_from(["", 1, None, ["user-1"], "x" * 300, _ABSENT]),
    "iss": st.sampled_from([OTHER_ORIGIN, None, ["$origin"], "", "$origin/", _ABSENT]),
    "aud": st.sampled_from(
        [
            ["$origin"],
            ["$origin", OTHER_ORIGIN],
            [OTHER_ORIGIN],
            [],
            None,
            1,
            ["$origin", 1],
            OTHER_ORIGIN,
            _ABSENT,
        ]
    ),
    "claims": st.dictionaries(
        st.sampled_from(["name", "role", "x", "id"]),
        json_values,
        min_size=1,
        max_size=3,
    ),
    "deep": st.integers(28, 40),
    "big": st.sampled_from([1000, 12_000, 13_000, 16_000]),
    "raw_payload": st.sampled_from(
        ["duplicate-sub", "nan", "infinity", "whitespace", "array"]
    ),
    "signature": st.sampled_from(["flip", "truncate", "empty", "other-key", "hs256"]),
    "encoding": st.sampled_from(
        ["pad-payload", "pad-signature", "std-alphabet", "spare-bits"]
    ),
    "signer": st.sampled_from(ALGORITHMS),
}


@st.composite
def recipes(draw: st.DrawFn) -> Recipe:
    """A valid token of some algorithm with none, one, two or three mutations."""
    signer = draw(st.sampled_from(ALGORITHMS))
    recipe = Recipe(
        signer=signer,
        header={"alg": signer, "kid": _KID},
        claims={**VALID.claims, "sub": "user-1"},
    )
    names = draw(st.lists(st.sampled_from(sorted(_MUTATIONS)), max_size=3, unique=True))
    for name in names:
        event(f"mutation {name}")
        change = draw(_MUTATIONS[name])
        header, claims = dict(recipe.header), dict(recipe.claims)
        if name == "alg":
            header["alg"] = change
        elif name == "kid":
            header["kid"] = change
        elif name == "header":
            header[change[0]] = change[1]
        elif name in ("exp", "iat", "nbf", "sub", "iss", "aud"):
            claims[name] = change
        elif name == "claims":
            claims.update(change)
        elif name == "deep":
            claims["deep"] = _deep(change)
        elif name == "big":
            claims["big"] = "x" * change
        elif name == "signer":  # another key signs: the header still names the first
            recipe = replace(recipe, signer=change)
        else:
            recipe = replace(recipe, **{name: change})
        header = {k: v for k, v in header.items() if v is not _ABSENT}
        claims = {k: v for k, v in claims.items() if v is not _ABSENT}
        recipe = replace(recipe, header=header, claims=claims)
    return recipe


def _resolve(value: Any, origin: str) -> Any:
    if value == "$origin":
        return origin
    if isinstance(value, list):
        return [_resolve(item, origin) for item in value]
    return value


def build(ctx: Ctx, recipe: Recipe) -> str:
    origin = ctx.keys.origin
    header = dict(recipe.header)
    if header.get("kid") is _KID:
        header["kid"] = ctx.kid(recipe.signer)
    elif header.get("kid") is _OTHER_KID:
        others = [alg for alg in ALGORITHMS if alg != recipe.signer]
        header["kid"] = ctx.kid(others[len(str(header)) % len(others)])
    claims = {name: _resolve(value, origin) for name, value in recipe.claims.items()}
    text = json.dumps(claims, separators=(",", ":"))
    if recipe.raw_payload == "duplicate-sub":
        text = text[:-1] + ',"sub":"someone-else"}'
    elif recipe.raw_payload == "nan":
        text = text[:-1] + ',"x":NaN}'
    elif recipe.raw_payload == "infinity":
        text = text[:-1] + ',"x":-Infinity}'
    elif recipe.raw_payload == "whitespace":
        text = " " + json.dumps(claims, indent=1) + "\n"
    elif recipe.raw_payload == "array":
        text = "[" + text + "]"
    data = f"{segment(header)}.{segment(text)}"
    if recipe.encoding == "pad-payload":
        head, payload = data.split(".")
        data = f"{head}.{payload}{'=' * (-len(payload) % 4)}"
    sign = ctx.sign(recipe.signer)
    if recipe.signature == "other-key":
        others = [alg for alg in ALGORITHMS if alg != recipe.signer]
        sign = ctx.sign(others[0])
    signature = b"" if recipe.signature == "hs256" else sign(data.encode())
    if recipe.signature == "hs256":
        secret = json.dumps(ctx.keys[recipe.signer].current.public_jwk()).encode()
        signature = hmac.new(secret, data.encode(), hashlib.sha256).digest()
    elif recipe.signature == "flip":
        signature = bytes([signature[0] ^ 1]) + signature[1:]
    elif recipe.signature == "truncate":
        signature = signature[:-1]
    elif recipe.signature == "empty":
        signature = b""
    encoded = segment(signature)
    if recipe.encoding == "pad-signature":
        encoded += "=" * (-len(encoded) % 4)
    elif recipe.encoding == "std-alphabet":
        encoded = base64.b64encode(signature).decode().rstrip("=")
    elif recipe.encoding == "spare-bits" and len(encoded) % 4:
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        encoded = encoded[:-1] + alphabet[alphabet.index(encoded[-1]) | 1]
    return f"{data}.{encoded}"


@PROFILE
@given(recipes())
@example(VALID)
@example(replace(VALID, claims={**VALID.claims, "aud": [OTHER_ORIGIN]}))
@example(replace(VALID, claims={**VALID.claims, "aud": OTHER_ORIGIN}))
@example(replace(VALID, claims={**VALID.claims, "aud": []}))
@example(replace(VALID, claims={**VALID.claims, "iss": OTHER_ORIGIN}))
@example(replace(VALID, claims={"iat": NOW, "exp": NOW + 900, "iss": "$origin"}))
@example(replace(VALID, header={"alg": "EdDSA", "kid": _OTHER_KID}))
@example(replace(VALID, signature="flip"))
@example(replace(VALID, claims={**VALID.claims, "nbf": None}))
@example(replace(VALID, claims={**VALID.claims, "exp": NOW - 5}))
@example(replace(VALID, claims={**VALID.claims, "exp": NOW - 4}))
@example(replace(VALID, claims={**VALID.claims, "iat": NOW + 5, "exp": NOW + 10}))
@example(replace(VALID, claims={**VALID.claims, "iat": NOW + 6, "exp": NOW + 10}))
@example(replace(VALID, claims={**VALID.claims, "nbf": NOW + 6}))
@example(replace(VALID, header={"alg": "RS256", "kid": _KID}, signer="PS256"))
@example(
    replace(VALID, header={"alg": "EdDSA", "kid": _KID, "crit": ["b64"], "b64": False})
)
def test_differential_generated_tokens_same_verdict(
    judges: Judges, ctx: Ctx, recipe: Recipe
) -> None:
    assert_same_verdict(judges, build(ctx, recipe), record=True)


@PROFILE
@given(
    signer=st.sampled_from(ALGORITHMS),
    iat=st.integers(NOW - 1000, NOW + 20) | st.floats(NOW - 1000.0, NOW + 20.0),
    lifetime=st.integers(-5, 1000) | st.floats(-5.0, 1000.0),
    nbf=st.none() | st.integers(NOW - 20, NOW + 20) | st.floats(NOW - 20.0, NOW + 20.0),
)
def test_differential_time_boundaries_same_verdict(
    judges: Judges,
    ctx: Ctx,
    signer: str,
    iat: float,
    lifetime: float,
    nbf: float | None,
) -> None:
    claims = {**ctx.claims, "iat": iat, "exp": iat + lifetime}
    if nbf is not None:
        claims["nbf"] = nbf
    token = compact(ctx.header(signer), claims, ctx.sign(signer))
    assert_same_verdict(judges, token, record=True)
