"""The route class of the library's routers: every error of ours answers in one shape.

FastAPI answers a body it cannot decode with ``400 {"detail": "There was an error parsing the
body"}``; on our routes that becomes ``400 INVALID_REQUEST`` in the documented shape. FastAPI also
reads only the last of a query parameter sent several times and ignores the others; our routes
refuse that with a 422 naming the parameter, so no value is silently dropped. Routes of the app
that mounts us are untouched: a plugin does not change other routes' errors.
"""

from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from .._errors import InvalidRequestError
from .._http import to_http_exception

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class BetterAuthRoute(APIRoute):
    """An ``APIRoute`` that maps FastAPI's body-parsing 400 to :class:`InvalidRequestError`."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            _refuse_repeated_query_parameters(request)
            try:
                return await handler(request)
            except HTTPException as exc:
                if exc.status_code == 400 and isinstance(exc.detail, str):
                    error = InvalidRequestError("The request body is not valid JSON.")
                    raise to_http_exception(error) from exc
                raise

        return route_handler


def _refuse_repeated_query_parameters(request: Request) -> None:
    """A 422 for every query parameter sent more than once (every one of ours takes one value)."""
    query = request.query_params
    if len(query.multi_items()) == len(query):  # each name once: the usual case
        return
    sent = Counter(name for name, _ in query.multi_items())
    raise RequestValidationError(
        [
            {
                "type": "value_error",
                "loc": ("query", name),
                "msg": "Send this query parameter once.",
                "input": query.getlist(name),
            }
            for name in sorted(sent) if sent[name] > 1
        ]
    )  # fmt: skip
