"""The identity of a token under ``freshness='never'`` (``_identity.py``)."""

from typing import Any

import pytest

from fastapi_better_auth._errors import TokenExpiredError
from fastapi_better_auth._testing_server import JWKSServer
from tests.unit.jwks_support import (
    NOW,
    FakeClock,
    Signer,
    good_claims,
    make_settings,
    open_verifier,
)


@pytest.mark.anyio
async def test_never_mode_identity_is_built_once_per_token_and_never_outlives_it(
    ed: Signer, server: JWKSServer
) -> None:
    """The frozen identity of a token is reused only after the verifier accepted it again."""
    from fastapi_better_auth._identity import Authenticator
    from fastapi_better_auth.models import get_models

    async def no_reads(*_args: Any) -> Any:
        raise AssertionError("freshness='never' reads no row")

    clock = FakeClock(NOW + 10)
    token = ed.token(good_claims(email="a@example.com", role="admin"))
    settings = make_settings(server, freshness="never")
    async with open_verifier(server, clock=clock, freshness="never") as verifier:
        authenticator = Authenticator(settings, verifier, no_reads, get_models())
        first = await authenticator.from_jwt(token)
        assert first.user.email == "a@example.com" and first.user.roles == {"admin"}
        assert await authenticator.from_jwt(token) is first
        other = await authenticator.from_jwt(
            ed.token(good_claims(email="b@example.com"))
        )
        assert other.user.email == "b@example.com"
        clock.now = NOW + 906
        with pytest.raises(TokenExpiredError):
            await authenticator.from_jwt(token)
