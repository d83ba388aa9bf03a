"""An attack corpus of JWTs, session cookies and bearer session tokens, sent to the real app over HTTP.

Every token here is refused with 401 in the documented shape (never a 5xx, never a traceback),
and none of them makes the app fetch a URL it names: the JWKS server's hit count stays put
and the attacker's server is never called. The verifier-level cases of ``tests/unit/test_jwks_*.py``
are not repeated one by one; this is the same story told end to end, with more variants.
"""

import base64
import datetime
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient

from fastapi_better_auth._cookies import sign_token
from fastapi_better_auth._testing_server import JWKSServer, running_jwks_server
from fastapi_better_auth.testing import TokenIssuer, session_cookie, user_claims
from tests.hardening.conftest import (
    ALGORITHMS,
    SECRET,
    Keys,
    World,
    assert_error_shape,
    bearer,
)

pytestmark = pytest.mark.postgres

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
ED25519_ORDER = 2**252 + 27742317777372353535851937790883648493


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def segment(value: Any) -> str:
    """A JSON value (or raw bytes / text as they are) as one base64url segment."""
    if isinstance(value, bytes):
        return b64(value)
    if isinstance(value, str):
        return b64(value.encode("utf-8"))
    return b64(json.dumps(value, separators=(",", ":")).encode())


Signer = Callable[[bytes], bytes]


def compact(header: Any, payload: Any, sign: Signer) -> str:
    """``header.payload.signature`` with the signature over exactly the first two segments."""
    signing_input = f"{segment(header)}.{segment(payload)}"
    return f"{signing_input}.{b64(sign(signing_input.encode('ascii')))}"


def ecdsa_raw(key: ec.EllipticCurvePrivateKey, data: bytes) -> tuple[int, int]:
    return decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))


@dataclass(frozen=True)
class Ctx:
    """What a corpus case needs: the published keys, a valid payload, and the attacker's server."""

    keys: Keys
    claims: dict[str, Any]
    attacker: JWKSServer

    def kid(self, algorithm: str) -> str:
        return self.keys[algorithm].current.kid

    def private(self, algorithm: str) -> Any:
        return self.keys[algorithm].current.private_key

    def public(self, algorithm: str) -> Any:
        return self.private(algorithm).public_key()

    def sign(self, algorithm: str) -> Signer:
        """The signer of the published key for ``algorithm``, in JWS form (raw r||s for ECDSA)."""
        key = self.private(algorithm)
        if algorithm == "EdDSA":
            return lambda data: bytes(key.sign(data))
        if algorithm == "ES256":
            return lambda data: b"".join(
                n.to_bytes(32, "big") for n in ecdsa_raw(key, data)
            )
        scheme = (
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            if algorithm == "PS256"
            else padding.PKCS1v15()
        )
        return lambda data: bytes(key.sign(data, scheme, hashes.SHA256()))

    def header(self, algorithm: str, **extra: Any) -> dict[str, Any]:
        return {"alg": algorithm, "kid": self.kid(algorithm), **extra}

    def valid(self, algorithm: str = "EdDSA", **extra: Any) -> str:
        return compact(
            self.header(algorithm, **extra), self.claims, self.sign(algorithm)
        )


def hmac_signer(secret: bytes) -> Signer:
    return lambda data: hmac.new(secret, data, hashlib.sha256).digest()


def public_encodings(key: Any) -> dict[str, bytes]:
    """Every form a confused verifier might use a public key as an HMAC secret in."""
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    forms = {
        "pem": key.public_bytes(serialization.Encoding.PEM, spki),
        "der": key.public_bytes(serialization.Encoding.DER, spki),
        "openssh": key.public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        ),
    }
    if isinstance(key, rsa.RSAPublicKey):
        forms["pkcs1-pem"] = key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
        )
    if isinstance(key, ed25519.Ed25519PublicKey):
        forms["raw"] = key.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
    return forms


def self_signed_certificate(key: ec.EllipticCurvePrivateKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "attacker")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return base64.b64encode(
        certificate.public_bytes(serialization.Encoding.DER)
    ).decode()


# --- the corpus: (id, builder) pairs; every builder returns one token string ---------------

Case = tuple[str, Callable[[Ctx], str]]


def _algorithm_confusion() -> list[Case]:
    cases: list[Case] = []
    for algorithm in ALGORITHMS:
        for form in ("pem", "der", "openssh", "pkcs1-pem", "raw", "jwk-json", "jwk-x"):
            for hs in ("HS256", "HS384", "HS512"):

                def build(
                    ctx: Ctx, algorithm: str = algorithm, form: str = form, hs: str = hs
                ) -> str:
                    jwk = ctx.keys[algorithm].current.public_jwk()
                    encodings = public_encodings(ctx.public(algorithm))
                    encodings["jwk-json"] = json.dumps(jwk).encode()
                    encodings["jwk-x"] = (jwk.get("x") or jwk["n"]).encode()
                    secret = encodings.get(form, encodings["pem"])
                    header = {"alg": hs, "kid": ctx.kid(algorithm)}
                    return compact(header, ctx.claims, hmac_signer(secret))

                if form in ("pkcs1-pem",) and algorithm not in ("RS256", "PS256"):
                    continue
                if form == "raw" and algorithm != "EdDSA":
                    continue
                cases.append((f"{hs}-with-{algorithm}-public-key-as-{form}", build))
    # A token whose header names one key type but is signed by another (or by the right key
    # under the wrong algorithm): the key's own algorithm decides, never the header.
    cross = [
        ("RS256", "ES256", "RS256"),  # EC key, RS256 header, RSA signature
        ("ES256", "RS256", "ES256"),  # RSA key, ES256 header, EC signature
        ("EdDSA", "ES256", "EdDSA"),
        ("ES256", "EdDSA", "ES256"),
        (
            "PS256",
            "RS256",
            "RS256",
        ),  # RS256 key, PS256 header, signed with PSS by that key
        ("RS256", "PS256", "PS256"),  # PS256 key, RS256 header, PKCS#1 v1.5 by that key
        ("ES512", "ES256", "ES256"),
    ]
    for header_alg, kid_alg, signer in cross:

        def build_cross(
            ctx: Ctx,
            header_alg: str = header_alg,
            kid_alg: str = kid_alg,
            signer: str = signer,
        ) -> str:
            if signer == kid_alg and kid_alg in (
                "RS256",
                "PS256",
            ):  # right key, other padding
                key = ctx.private(kid_alg)
                scheme = (
                    padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
                    if header_alg == "PS256"
                    else padding.PKCS1v15()
                )

                def sign(data: bytes) -> bytes:
                    return bytes(key.sign(data, scheme, hashes.SHA256()))

            else:
                sign = ctx.sign(signer)  # type: ignore[assignment]
            return compact(
                {"alg": header_alg, "kid": ctx.kid(kid_alg)}, ctx.claims, sign
            )

        cases.append(
            (f"{header_alg}-header-on-{kid_alg}-key-signed-{signer}", build_cross)
        )
    return cases


def _none_variants() -> list[Case]:
    cases: list[Case] = []
    for alg in ("none", "None", "NONE", "nOnE", "nonE", " none", "none\u0000"):
        for signature in ("", "AAAA", "sig"):

            def build(ctx: Ctx, alg: str = alg, signature: str = signature) -> str:
                header = {"alg": alg, "kid": ctx.kid("EdDSA")}
                return f"{segment(header)}.{segment(ctx.claims)}.{signature}"

            cases.append((f"alg-{json.dumps(alg)}-sig-{signature or 'empty'}", build))
    odd_algs: tuple[Any, ...] = (
        None,
        0,
        ["EdDSA"],
        {"EdDSA": True},
        "",
        "eddsa",
        "EDDSA",
        "ED25519",
        "HS256",
    )
    for bad_alg in odd_algs:

        def build_bad(ctx: Ctx, alg: Any = bad_alg) -> str:
            return compact(
                {"alg": alg, "kid": ctx.kid("EdDSA")}, ctx.claims, ctx.sign("EdDSA")
            )

        cases.append((f"alg-{json.dumps(bad_alg)}", build_bad))
    cases.append(
        (
            "alg-missing",
            lambda ctx: compact(
                {"kid": ctx.kid("EdDSA")}, ctx.claims, ctx.sign("EdDSA")
            ),
        )
    )
    return cases


KID_INJECTIONS = {
    "path-traversal": "../../../../../../etc/passwd",
    "path-traversal-encoded": "..%2F..%2F..%2Fetc%2Fpasswd",
    "windows-path": "..\\..\\windows\\win.ini",
    "dev-null": "/dev/null",
    "sql-or": "' OR '1'='1",
    "sql-union": "x' UNION SELECT publicKey FROM jwks --",
    "sql-stacked": '1; DROP TABLE "user"; --',
    "nul": "abc\u0000def",
    "crlf": "abc\r\nX-Injected: 1",
    "unicode": "ключ-🔑-鍵",
    "rtl-override": "\u202ekid",
    "lone-surrogate": "\ud800",
    "url": "http://127.0.0.1:1/jwks",
    "empty": "",
    "space": " ",
    "len-257": "k" * 257,
    "len-64k": "k" * 65536,
}


def _kid_injection() -> list[Case]:
    cases: list[Case] = []
    for name, kid in KID_INJECTIONS.items():

        def build(ctx: Ctx, kid: str = kid) -> str:
            return compact({"alg": "EdDSA", "kid": kid}, ctx.claims, ctx.sign("EdDSA"))

        cases.append((f"kid-{name}", build))
    odd_kids: dict[str, Any] = {
        "null": None,
        "number": 1,
        "list": [],
        "object": {},
        "true": True,
    }
    for name, value in odd_kids.items():

        def build_type(ctx: Ctx, value: Any = value) -> str:
            return compact(
                {"alg": "EdDSA", "kid": value}, ctx.claims, ctx.sign("EdDSA")
            )

        cases.append((f"kid-{name}", build_type))
    cases.append(
        (
            "kid-missing",
            lambda ctx: compact({"alg": "EdDSA"}, ctx.claims, ctx.sign("EdDSA")),
        )
    )
    return cases


def _embedded_keys() -> list[Case]:
    """Headers that name their own key or key URL; the attacker signs with that key."""
    attacker_key = ed25519.Ed25519PrivateKey.generate()
    ec_attacker = ec.generate_private_key(ec.SECP256R1())
    attacker_jwk = {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64(
            attacker_key.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
        ),
        "kid": "attacker",
    }
    sign: Signer = lambda data: bytes(attacker_key.sign(data))  # noqa: E731

    def with_header(
        name: str, value: Callable[[Ctx], Any], own_kid: bool
    ) -> Callable[[Ctx], str]:
        def build(ctx: Ctx) -> str:
            kid = "attacker" if own_kid else ctx.kid("EdDSA")
            header = {"alg": "EdDSA", "kid": kid, name: value(ctx)}
            return compact(header, ctx.claims, sign)

        return build

    members: dict[str, Callable[[Ctx], Any]] = {
        "jwk": lambda ctx: attacker_jwk,
        "jku": lambda ctx: ctx.attacker.jwks_url,
        "x5u": lambda ctx: ctx.attacker.url + "/cert.pem",
        "x5c": lambda ctx: [self_signed_certificate(ec_attacker)],
        "x5t": lambda ctx: b64(b"\x00" * 20),
    }
    cases: list[Case] = []
    for name, value in members.items():
        for own_kid in (True, False):
            suffix = "attacker-kid" if own_kid else "published-kid"
            cases.append(
                (f"embedded-{name}-{suffix}", with_header(name, value, own_kid))
            )
    return cases


def _header_semantics() -> list[Case]:
    def signed(**extra: Any) -> Callable[[Ctx], str]:
        return lambda ctx: ctx.valid("EdDSA", **extra)

    cases: list[Case] = [
        ("crit-unknown-extension", signed(crit=["x-unknown"], **{"x-unknown": 1})),
        ("crit-exp", signed(crit=["exp"])),
        ("crit-empty", signed(crit=[])),
        ("crit-b64", signed(crit=["b64"], b64=False)),
        ("b64-false", signed(b64=False)),
        ("b64-string", signed(b64="false")),
        ("b64-zero", signed(b64=0)),
        ("zip-deflate", signed(zip="DEF")),
        ("cty-jwt", signed(cty="JWT")),
        ("typ-jwe", signed(typ="JWE")),
        ("typ-at-jwt", signed(typ="at+jwt")),
        ("typ-number", signed(typ=1)),
    ]

    def unencoded_payload(ctx: Ctx) -> str:
        header = ctx.header("EdDSA", b64=False, crit=["b64"])
        raw = json.dumps(ctx.claims)
        signing_input = f"{segment(header)}.{raw}".encode()
        return f"{segment(header)}.{raw}.{b64(ctx.sign('EdDSA')(signing_input))}"

    cases.append(("b64-false-unencoded-payload", unencoded_payload))
    return cases


def _signatures() -> list[Case]:
    def es256(
        transform: Callable[[int, int], tuple[int, int] | bytes],
    ) -> Callable[[Ctx], str]:
        def build(ctx: Ctx) -> str:
            key = ctx.private("ES256")

            def sign(data: bytes) -> bytes:
                r, s = ecdsa_raw(key, data)
                out = transform(r, s)
                if isinstance(out, bytes):
                    return out
                return b"".join(n.to_bytes(32, "big") for n in out)

            return compact(ctx.header("ES256"), ctx.claims, sign)

        return build

    def ed(transform: Callable[[bytes], bytes]) -> Callable[[Ctx], str]:
        def build(ctx: Ctx) -> str:
            key = ctx.private("EdDSA")
            return compact(
                ctx.header("EdDSA"), ctx.claims, lambda data: transform(key.sign(data))
            )

        return build

    def ed_s_plus_l(signature: bytes) -> bytes:
        s = int.from_bytes(signature[32:], "little") + ED25519_ORDER
        return signature[:32] + s.to_bytes(32, "little")

    def rsa_value(value: Callable[[int], int]) -> Callable[[Ctx], str]:
        def build(ctx: Ctx) -> str:
            n = ctx.public("RS256").public_numbers().n
            forged = value(n)
            return compact(
                ctx.header("RS256"),
                ctx.claims,
                lambda data: (
                    forged.to_bytes(256, "big")
                    if forged < 2**2048
                    else forged.to_bytes(257, "big")
                ),
            )

        return build

    return [
        ("es256-zero", es256(lambda r, s: b"\x00" * 64)),
        ("es256-r-zero", es256(lambda r, s: (0, s))),
        ("es256-s-zero", es256(lambda r, s: (r, 0))),
        ("es256-r-order", es256(lambda r, s: (P256_ORDER, s))),
        ("es256-s-order", es256(lambda r, s: (r, P256_ORDER))),
        ("es256-r-all-ones", es256(lambda r, s: (2**256 - 1, s))),
        ("es256-der-encoded", es256(lambda r, s: encode_dss_signature(r, s))),
        ("es256-swapped-r-s", es256(lambda r, s: (s, r))),
        (
            "es256-63-bytes",
            es256(lambda r, s: (r.to_bytes(32, "big") + s.to_bytes(32, "big"))[:63]),
        ),
        (
            "es256-65-bytes",
            es256(lambda r, s: b"\x00" + r.to_bytes(32, "big") + s.to_bytes(32, "big")),
        ),
        ("eddsa-zero", ed(lambda sig: b"\x00" * 64)),
        ("eddsa-identity-r-zero-s", ed(lambda sig: b"\x01" + b"\x00" * 63)),
        ("eddsa-s-plus-order", ed(ed_s_plus_l)),
        ("eddsa-s-all-ones", ed(lambda sig: sig[:32] + b"\xff" * 32)),
        ("eddsa-flipped-bit", ed(lambda sig: bytes([sig[0] ^ 1]) + sig[1:])),
        ("eddsa-63-bytes", ed(lambda sig: sig[:63])),
        ("eddsa-65-bytes", ed(lambda sig: sig + b"\x00")),
        ("rs256-zero", rsa_value(lambda n: 0)),
        ("rs256-one", rsa_value(lambda n: 1)),
        ("rs256-n-minus-one", rsa_value(lambda n: n - 1)),
        ("rs256-n", rsa_value(lambda n: n)),
        ("rs256-n-plus-one", rsa_value(lambda n: n + 1)),
        ("rs256-all-ones", rsa_value(lambda n: 2**2048 - 1)),
        ("rs256-257-bytes", rsa_value(lambda n: 2**2048)),
    ]


def _claims_and_json() -> list[Case]:
    def with_claims(**changes: Any) -> Callable[[Ctx], str]:
        return lambda ctx: compact(
            ctx.header("EdDSA"), {**ctx.claims, **changes}, ctx.sign("EdDSA")
        )

    def raw_payload(text: Callable[[Ctx], str | bytes]) -> Callable[[Ctx], str]:
        return lambda ctx: compact(
            ctx.header("EdDSA"),
            text(ctx) if isinstance(text(ctx), bytes) else str(text(ctx)).encode(),
            ctx.sign("EdDSA"),
        )

    def raw_header(text: Callable[[Ctx], str]) -> Callable[[Ctx], str]:
        return lambda ctx: compact(text(ctx).encode(), ctx.claims, ctx.sign("EdDSA"))

    def claims_json(ctx: Ctx) -> str:
        return json.dumps(ctx.claims, separators=(",", ":"))

    return [
        ("exp-string", lambda ctx: with_claims(exp=str(ctx.claims["exp"]))(ctx)),
        ("iat-string", lambda ctx: with_claims(iat=str(ctx.claims["iat"]))(ctx)),
        ("exp-bool", with_claims(exp=True)),
        ("exp-float-string", with_claims(exp="1e20")),
        ("exp-null", with_claims(exp=None)),
        ("exp-list", lambda ctx: with_claims(exp=[ctx.claims["exp"]])(ctx)),
        ("exp-huge-int", with_claims(exp=10**400)),
        (
            "exp-overflow-float",
            raw_payload(lambda ctx: claims_json(ctx)[:-1] + ',"nbf":1e400}'),
        ),
        (
            "exp-nan",
            raw_payload(
                lambda ctx: claims_json(ctx).replace(
                    '"exp":' + str(ctx.claims["exp"]), '"exp":NaN'
                )
            ),
        ),
        (
            "exp-infinity",
            raw_payload(
                lambda ctx: claims_json(ctx).replace(
                    '"exp":' + str(ctx.claims["exp"]), '"exp":Infinity'
                )
            ),
        ),
        ("sub-number", with_claims(sub=1)),
        ("sub-empty", with_claims(sub="")),
        ("aud-object", with_claims(aud={"x": 1})),
        ("aud-list-of-numbers", with_claims(aud=[1, 2])),
        ("iss-list", lambda ctx: with_claims(iss=[ctx.claims["iss"]])(ctx)),
        ("sid-number", with_claims(sid=5)),
        ("sid-empty", with_claims(sid="")),
        (
            "payload-duplicate-sub",
            raw_payload(lambda ctx: claims_json(ctx)[:-1] + ',"sub":"someone-else"}'),
        ),
        (
            "payload-duplicate-exp",
            raw_payload(lambda ctx: claims_json(ctx)[:-1] + ',"exp":99999999999}'),
        ),
        (
            "header-duplicate-alg",
            raw_header(
                lambda ctx: f'{{"alg":"EdDSA","kid":"{ctx.kid("EdDSA")}","alg":"none"}}'
            ),
        ),
        (
            "header-duplicate-kid",
            raw_header(
                lambda ctx: (
                    f'{{"alg":"EdDSA","kid":"{ctx.kid("EdDSA")}","kid":"other"}}'
                )
            ),
        ),
        ("header-array", raw_header(lambda ctx: f'["EdDSA","{ctx.kid("EdDSA")}"]')),
        ("header-null", raw_header(lambda ctx: "null")),
        (
            "header-bom",
            raw_header(lambda ctx: "\ufeff" + json.dumps(ctx.header("EdDSA"))),
        ),
        (
            "header-trailing-garbage",
            raw_header(lambda ctx: json.dumps(ctx.header("EdDSA")) + "x"),
        ),
        (
            "header-two-objects",
            raw_header(lambda ctx: json.dumps(ctx.header("EdDSA")) * 2),
        ),
        (
            "header-single-quotes",
            raw_header(lambda ctx: json.dumps(ctx.header("EdDSA")).replace('"', "'")),
        ),
        (
            "header-deep-nesting",
            raw_header(
                lambda ctx: (
                    json.dumps(ctx.header("EdDSA"))[:-1]
                    + ',"n":'
                    + "[" * 700
                    + "]" * 700
                    + "}"
                )
            ),
        ),
        ("payload-array", raw_payload(lambda ctx: "[]")),
        ("payload-string", raw_payload(lambda ctx: '"hello"')),
        ("payload-empty", raw_payload(lambda ctx: b"")),
        ("payload-invalid-utf8", raw_payload(lambda ctx: b'{"sub":"\xff\xfe"}')),
        (
            "payload-deep-nesting",
            raw_payload(
                lambda ctx: (
                    claims_json(ctx)[:-1] + ',"n":' + "[" * 5000 + "]" * 5000 + "}"
                )
            ),
        ),
        (
            "payload-deep-objects",
            raw_payload(
                lambda ctx: (
                    claims_json(ctx)[:-1]
                    + ',"n":'
                    + '{"a":' * 3000
                    + "1"
                    + "}" * 3000
                    + "}"
                )
            ),
        ),
    ]


def _encoding_and_shape() -> list[Case]:
    def mutate(change: Callable[[str], str]) -> Callable[[Ctx], str]:
        return lambda ctx: change(ctx.valid("EdDSA"))

    def pad(index: int) -> Callable[[str], str]:
        def change(token: str) -> str:
            parts = token.split(".")
            parts[index] += "=" * (-len(parts[index]) % 4 or 2)
            return ".".join(parts)

        return change

    def standard_alphabet(token: str) -> str:
        head, payload, signature = token.split(".")
        return ".".join(
            [
                head,
                payload,
                base64.b64encode(base64.urlsafe_b64decode(signature + "=="))
                .decode()
                .rstrip("=")
                + "+/",
            ]
        )

    def spare_bits(token: str) -> str:
        head, payload, signature = token.split(".")
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        last = alphabet[
            alphabet.index(signature[-1]) | 1
        ]  # EdDSA: 86 chars, 2 spare bits
        return f"{head}.{payload}.{signature[:-1]}{last}"

    jwe_header = {"alg": "dir", "enc": "A256GCM", "kid": "k"}
    return [
        ("padded-header", mutate(pad(0))),
        ("padded-payload", mutate(pad(1))),
        ("padded-signature", mutate(pad(2))),
        ("standard-base64-signature", mutate(standard_alphabet)),
        ("non-zero-spare-bits", mutate(spare_bits)),
        ("one-segment", lambda ctx: segment(ctx.header("EdDSA"))),
        ("two-segments", mutate(lambda t: t.rsplit(".", 1)[0])),
        ("two-segments-trailing-dot", mutate(lambda t: t.rsplit(".", 1)[0] + ".")),
        ("four-segments", mutate(lambda t: t + ".AAAA")),
        (
            "empty-payload-segment",
            mutate(lambda t: t.split(".")[0] + ".." + t.split(".")[2]),
        ),
        ("only-dots", lambda ctx: ".."),
        ("many-dots", lambda ctx: "." * 100),
        ("inner-space", mutate(lambda t: t.replace(".", ". ", 1))),
        ("tab-separated", mutate(lambda t: t.replace(".", "\t"))),
        ("percent-encoded-dots", mutate(lambda t: t.replace(".", "%2E"))),
        (
            "jwe-five-segments",
            lambda ctx: ".".join(
                [
                    segment(jwe_header),
                    "",
                    b64(b"\x00" * 12),
                    b64(b"x" * 32),
                    b64(b"\x00" * 16),
                ]
            ),
        ),
        (
            "jwe-five-full-segments",
            lambda ctx: ".".join(
                [
                    segment(jwe_header),
                    "AAAA",
                    b64(b"\x00" * 12),
                    b64(b"x" * 32),
                    b64(b"\x00" * 16),
                ]
            ),
        ),
        ("six-segments", mutate(lambda t: t + ".a.b.c")),
        (
            "json-serialization",
            lambda ctx: json.dumps({"payload": segment(ctx.claims), "signatures": []}),
        ),
        ("token-16k-plus-one", mutate(lambda t: t + "A" * (16 * 1024 + 1 - len(t)))),
        ("token-1mb", lambda ctx: "eyJ" + "A" * (1024 * 1024) + ".eyJ.AAAA"),
        (
            "token-1mb-header",
            lambda ctx: (
                segment({"alg": "EdDSA", "kid": ctx.kid("EdDSA"), "p": "x" * 786_000})
                + "."
                + segment(ctx.claims)
                + ".AAAA"
            ),
        ),
    ]


CORPUS: list[Case] = [
    *_algorithm_confusion(),
    *_none_variants(),
    *_kid_injection(),
    *_embedded_keys(),
    *_header_semantics(),
    *_signatures(),
    *_claims_and_json(),
    *_encoding_and_shape(),
]


@pytest.fixture(scope="module")
def attacker() -> Iterator[JWKSServer]:
    """A server the attacker controls: any request reaching it is a failure."""
    with running_jwks_server() as server:
        yield server


@pytest.fixture(scope="module")
def ctx(keys: Keys, world: World, attacker: JWKSServer) -> Ctx:
    now = int(time.time())
    claims = {
        "iat": now,
        **user_claims(world.alice),
        "sub": world.alice.id,
        "exp": now + 900,
        "iss": keys.origin,
        "aud": keys.origin,
    }
    return Ctx(keys, claims, attacker)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_jwt_well_formed_corpus_baseline_authenticates(
    client: TestClient, ctx: Ctx, algorithm: str
) -> None:
    """The corpus builds tokens right: unmodified, each algorithm's token is accepted."""
    response = client.get("/api/v1/auth/me", headers=bearer(ctx.valid(algorithm)))
    assert response.status_code == 200, response.text
    assert response.json()["id"] == ctx.claims["sub"]


@pytest.mark.parametrize(("name", "build"), CORPUS, ids=[name for name, _ in CORPUS])
def test_jwt_attack_corpus_refused_401_without_outbound_request(
    client: TestClient, ctx: Ctx, name: str, build: Callable[[Ctx], str]
) -> None:
    token = build(ctx)
    before, attacker_before = ctx.keys.server.hits, ctx.attacker.hits
    try:
        header = f"Bearer {token}".encode("latin-1")
    except UnicodeEncodeError:
        header = f"Bearer {token}".encode()
    for path in ("/api/v1/auth/me", "/api/v1/auth/session", "/maybe"):
        response = client.get(path, headers=[(b"authorization", header)])
        assert_error_shape(response, 401)
        assert token not in response.text
    assert ctx.keys.server.hits == before
    assert ctx.attacker.hits == attacker_before == 0


def test_ecdsa_high_s_signature_is_accepted_as_malleable(
    client: TestClient, ctx: Ctx
) -> None:
    """ECDSA is malleable: ``(r, n - s)`` verifies like ``(r, s)``. Documented, not a bypass.

    It yields a second string for the same signed claims, never different claims, so the
    library never treats a token string as a unique, one-time value.
    """
    key = ctx.private("ES256")

    def high_s(data: bytes) -> bytes:
        r, s = ecdsa_raw(key, data)
        return r.to_bytes(32, "big") + (P256_ORDER - s).to_bytes(32, "big")

    token = compact(ctx.header("ES256"), ctx.claims, high_s)
    response = client.get("/api/v1/auth/me", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json()["id"] == ctx.claims["sub"]


# --- session cookies -------------------------------------------------------------------

COOKIE = "better-auth.session_token"
SECURE_COOKIE = "__Secure-better-auth.session_token"


def _cookie_cases(world: World) -> dict[str, bytes]:
    token = world.alice_session.token
    signed = sign_token(token, SECRET)
    wrong = sign_token(token, "not-the-secret")
    return {
        "garbage": f"{COOKIE}=garbage".encode(),
        "empty": f"{COOKIE}=".encode(),
        "raw-unsigned-token": f"{COOKIE}={token}".encode(),
        "wrong-secret": f"{COOKIE}={quote(wrong, safe='')}".encode(),
        "signature-truncated": f"{COOKIE}={quote(signed[:-2], safe='')}".encode(),
        "signature-43-chars-no-pad": f"{COOKIE}={signed[:-1]}A".encode(),
        "signature-of-other-token": f"{COOKIE}={quote(world.root_session.token + signed[len(token) :], safe='')}".encode(),
        "only-signature": f"{COOKIE}={quote(signed[len(token) :], safe='')}".encode(),
        "percent-alone": f"{COOKIE}=%".encode(),
        "percent-malformed": f"{COOKIE}=%zz%E0%A4%A{signed[len(token) :]}".encode(),
        "percent-nul": f"{COOKIE}=abc%00{quote(signed[len(token) :], safe='')}".encode(),
        "percent-overlong-utf8": f"{COOKIE}=%C0%AE%C0%AE{quote(signed[len(token) :], safe='')}".encode(),
        "percent-lone-surrogate": f"{COOKIE}=%ED%A0%80{quote(signed[len(token) :], safe='')}".encode(),
        "double-encoded": f"{COOKIE}={quote(quote(signed, safe=''), safe='')}".encode(),
        "sql-injection": f"{COOKIE}={quote(chr(39) + ' OR 1=1 --' + signed[len(token) :], safe='')}".encode(),
        "nul-byte": f"{COOKIE}=ab\x00cd".encode(),
        "control-bytes": f"{COOKIE}=ab\x01\x7f\x1bcd".encode(),
        "latin1-bytes": COOKIE.encode()
        + b"=\xff\xfe\xe9"
        + signed[len(token) :].encode(),
        "utf8-bytes": f"{COOKIE}=ключ{signed[len(token) :]}".encode(),
        "huge-8k": f"{COOKIE}={'a' * 8192}".encode(),
        "huge-1mb": f"{COOKIE}={'a' * (1024 * 1024)}".encode(),
        "huge-signed-shape": f"{COOKIE}={'a' * 5000}.{'A' * 43}=".encode(),
        "many-cookies-invalid": "; ".join(f"c{i}=v{i}" for i in range(2000)).encode()
        + f"; {COOKIE}=garbage".encode(),
        "same-name-twice": f"{COOKIE}=garbage; {COOKIE}=garbage2".encode(),
        "no-equals": COOKIE.encode(),
        "semicolons-only": b";;;;;",
    }


COOKIE_CASE_NAMES = [
    "garbage", "empty", "raw-unsigned-token", "wrong-secret", "signature-truncated",
    "signature-43-chars-no-pad", "signature-of-other-token", "only-signature", "percent-alone",
    "percent-malformed", "percent-nul", "percent-overlong-utf8", "percent-lone-surrogate",
    "double-encoded", "sql-injection", "nul-byte", "control-bytes", "latin1-bytes", "utf8-bytes",
    "huge-8k", "huge-1mb", "huge-signed-shape", "many-cookies-invalid",
    "same-name-twice",
]  # fmt: skip


@pytest.mark.parametrize("case", COOKIE_CASE_NAMES)
def test_session_cookie_attack_corpus_refused_401(
    client: TestClient, world: World, case: str
) -> None:
    cookie = _cookie_cases(world)[case]
    response = client.get("/me", headers=[(b"cookie", cookie)])
    detail = assert_error_shape(response, 401)
    assert detail["code"] == "INVALID_SESSION"


@pytest.mark.parametrize("case", ["no-equals", "semicolons-only"])
def test_session_cookie_without_session_cookie_answers_not_authenticated(
    client: TestClient, world: World, case: str
) -> None:
    response = client.get("/me", headers=[(b"cookie", _cookie_cases(world)[case])])
    assert assert_error_shape(response, 401)["code"] == "NOT_AUTHENTICATED"


def test_session_cookie_valid_among_two_thousand_others_authenticates(
    client: TestClient, world: World
) -> None:
    name, value = session_cookie(world.alice_session.token, SECRET)
    junk = "; ".join(f"c{i}=v{i}" for i in range(2000))
    response = client.get("/me", headers={"Cookie": f"{junk}; {name}={value}"})
    assert response.status_code == 200, response.text
    assert response.json()["id"] == world.alice.id


def test_session_cookie_a_planted_cookie_of_the_other_name_is_ignored(
    client: TestClient, secure_client: TestClient, world: World
) -> None:
    """Cookie tossing: only the name Better-Auth sets is read. Under secure cookies a plain
    cookie planted by a sibling subdomain (another user's valid session: login CSRF) is
    ignored; on http a planted ``__Secure-`` garbage cookie cannot shadow the real one."""
    _, alice = session_cookie(world.alice_session.token, SECRET, secure=True)
    _, root = session_cookie(world.root_session.token, SECRET)
    tossed = secure_client.get(
        "/me", headers={"Cookie": f"{COOKIE}={root}; {SECURE_COOKIE}={alice}"}
    )
    assert tossed.status_code == 200, tossed.text
    assert tossed.json()["id"] == world.alice.id
    planted = secure_client.get("/me", headers={"Cookie": f"{COOKIE}={root}"})
    assert assert_error_shape(planted, 401)["code"] == "NOT_AUTHENTICATED"
    shadow = client.get(
        "/me", headers={"Cookie": f"{SECURE_COOKIE}=garbage; {COOKIE}={root}"}
    )
    assert shadow.status_code == 200, shadow.text
    assert shadow.json()["id"] == world.root.id


@pytest.mark.parametrize("case", COOKIE_CASE_NAMES)
def test_secure_session_cookie_attack_corpus_refused_401(
    secure_client: TestClient, world: World, case: str
) -> None:
    """The same corpus under the ``__Secure-`` name an https deployment reads."""
    cookie = _cookie_cases(world)[case].replace(COOKIE.encode(), SECURE_COOKIE.encode())
    response = secure_client.get("/me", headers=[(b"cookie", cookie)])
    detail = assert_error_shape(response, 401)
    assert detail["code"] == "INVALID_SESSION"


# --- bearer session tokens (Better-Auth's bearer plugin) ---------------------------------


def _bearer_cases(world: World) -> dict[str, bytes]:
    token = world.alice_session.token
    signed = sign_token(token, SECRET)
    return {
        "unknown-raw-token": b"Bearer " + b"A" * 32,
        "raw-255-chars": b"Bearer " + b"A" * 255,
        "raw-256-chars": b"Bearer " + b"A" * 256,
        "sql-injection": b"Bearer ' OR '1'='1",
        "sql-like-raw-chars": b"Bearer abc_-%25_",
        "wildcard": b"Bearer %",
        "wildcard-underscore": b"Bearer " + b"_" * 32,
        "unicode": "Bearer ключ".encode(),
        "latin1": b"Bearer \xe9\xff",
        "nul-byte": b"Bearer abc\x00def",
        "wrong-secret-signed": f"Bearer {sign_token(token, 'nope')}".encode(),
        "signed-percent-encoded-wrong": f"Bearer {quote(sign_token(token, 'nope'), safe='')}".encode(),
        "signed-malformed-percent": f"Bearer %zz{signed[len(token) :]}".encode(),
        "signature-only": f"Bearer {signed[len(token) :]}".encode(),
        "token-with-dot-no-signature": f"Bearer {token}.".encode(),
        "two-tokens": f"Bearer {token} {token}".encode(),
        "comma-list": f"Bearer {token},{token}".encode(),
        "basic-scheme": b"Basic " + base64.b64encode(b"alice:secret"),
        "digest-scheme": b'Digest username="alice"',
        "scheme-only": b"Bearer",
        "empty": b"",
        "huge-8k": b"Bearer " + b"A" * 8192,
        "huge-1mb": b"Bearer " + b"A" * (1024 * 1024),
    }


BEARER_CASE_NAMES = [
    "unknown-raw-token", "raw-255-chars", "raw-256-chars", "sql-injection", "sql-like-raw-chars",
    "wildcard", "wildcard-underscore", "unicode", "latin1", "nul-byte", "wrong-secret-signed",
    "signed-percent-encoded-wrong", "signed-malformed-percent", "signature-only",
    "token-with-dot-no-signature", "two-tokens", "comma-list", "basic-scheme", "digest-scheme",
    "scheme-only", "empty", "huge-8k", "huge-1mb",
]  # fmt: skip


@pytest.mark.parametrize("case", BEARER_CASE_NAMES)
def test_bearer_session_token_attack_corpus_refused_401(
    client: TestClient, world: World, case: str
) -> None:
    header = _bearer_cases(world)[case]
    response = client.get("/me", headers=[(b"authorization", header)])
    detail = assert_error_shape(response, 401)
    assert detail["code"] in {"INVALID_SESSION", "INVALID_TOKEN"}


def test_bearer_session_token_like_pattern_matches_no_session(
    client: TestClient, world: World
) -> None:
    """``_`` and ``%`` are LIKE wildcards: a token made of them must match no real session."""
    for pattern in ("_" * len(world.alice_session.token), "%"):
        response = client.get("/me", headers=bearer(pattern))
        assert_error_shape(response, 401)


def test_jwt_attack_corpus_size_is_meaningful() -> None:
    """A guard against a refactor silently emptying the corpus."""
    assert len(CORPUS) >= 150
    assert len({name for name, _ in CORPUS}) == len(CORPUS)


def test_token_issuer_forged_token_refused(
    client: TestClient, keys: Keys, world: World
) -> None:
    issuer: TokenIssuer = keys["EdDSA"]
    response = client.get(
        "/api/v1/auth/me", headers=bearer(issuer.forge(user_claims(world.alice)))
    )
    assert assert_error_shape(response, 401)["code"] == "INVALID_TOKEN"
