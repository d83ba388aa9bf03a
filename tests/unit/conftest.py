"""Fixtures of the JWKS verifier's unit tests: one signer per algorithm and a loopback JWKS server."""

from collections.abc import Iterator

import pytest

from fastapi_better_auth._testing_server import JWKSServer, running_jwks_server
from tests.unit.jwks_support import ALL_ALGORITHMS, Signer, make_signer


@pytest.fixture(scope="module")
def signers() -> dict[str, Signer]:
    return {alg: make_signer(alg) for alg in sorted(ALL_ALGORITHMS)}


@pytest.fixture
def ed(signers: dict[str, Signer]) -> Signer:
    return signers["EdDSA"]


@pytest.fixture
def server(ed: Signer) -> Iterator[JWKSServer]:
    with running_jwks_server() as jwks_server:
        jwks_server.serve(ed.jwk)
        yield jwks_server
