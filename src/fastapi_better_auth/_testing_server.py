"""The testing kit's JWKS server: a real HTTP server on loopback whose answers the test controls.

:meth:`fastapi_better_auth.testing.TokenIssuer.serve` runs one for its keys; the library's own
tests run the same one to make a JWKS fail (a status, a body, headers, a hang, an endless body).
It runs the standard library's ``ThreadingHTTPServer`` in a thread, so a request the test makes
hang blocks only the server's own thread, never the event loop under test. Every request is
counted and its path recorded, so tests assert on counts, not on time.
"""

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ._settings import BetterAuthSettings

__all__ = ["JWKS_PATH", "JWKSServer", "running_jwks_server"]

#: Where Better-Auth serves its JWKS (``BetterAuthSettings.jwks_path``'s default).
JWKS_PATH: str = BetterAuthSettings.model_fields["jwks_path"].default
#: How long a hanging request waits for :meth:`JWKSServer.release` before answering anyway.
_HANG_LIMIT_SECONDS = 60.0
_CHUNK = b" " * 16384


class JWKSServer:
    """What the next JWKS requests get: keys, or a status, a body, headers, a hang or an endless body.

    Args:
        host: the loopback address to bind (a free port is picked).
        path: the only path answered (others get 404); ``None`` answers every path.
        document: the JWK Set to serve, read on every request; defaults to ``{"keys": keys}``.
        on_request: called with each request's path, before it is answered.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        *,
        path: str | None = None,
        document: Callable[[], dict[str, Any]] | None = None,
        on_request: Callable[[str], None] | None = None,
    ) -> None:
        self.keys: list[dict[str, Any]] = []
        self.status = 200
        self.body: bytes | None = None  # served instead of the document
        self.content_type = "application/json"
        self.headers: dict[str, str] = {}
        self.hang = False  # hold each request until release()
        self.endless = False  # stream body bytes until the client goes away
        # without Content-Length the body ends when the connection closes
        self.send_length = True
        self.hits = 0
        self.paths: list[str] = []
        self.bytes_sent = 0
        self._path = path
        self._document = document or (lambda: {"keys": self.keys})
        self._on_request = on_request
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server = ThreadingHTTPServer((host, 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )

    @property
    def url(self) -> str:
        """The origin: ``http://127.0.0.1:<port>``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def jwks_url(self) -> str:
        return self.url + JWKS_PATH

    def serve(self, *keys: dict[str, Any]) -> None:
        """Answer 200 with these keys from now on."""
        self.keys = list(keys)
        self.status, self.body, self.hang, self.endless = 200, None, False, False
        self.send_length = True
        self.content_type, self.headers = "application/json", {}

    def release(self) -> None:
        """Let every hanging request (and later ones) answer."""
        self._released.set()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _record(self, path: str) -> bool:
        """Count the request; whether its path is answered."""
        with self._lock:
            self.hits += 1
            self.paths.append(path)
        if self._on_request is not None:
            self._on_request(path)
        return self._path is None or path.split("?")[0] == self._path


def _handler_for(state: JWKSServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # silence stderr
            return

        def do_GET(self) -> None:
            if not state._record(self.path):
                self.send_error(404)
                return
            if state.hang:
                state._released.wait(_HANG_LIMIT_SECONDS)
            body = state.body
            if body is None:
                body = json.dumps(state._document()).encode()
            self.send_response(state.status)
            self.send_header("Content-Type", state.content_type)
            for name, value in state.headers.items():
                self.send_header(name, value)
            if state.endless:
                self.end_headers()
                self._stream_until_closed()
                return
            if state.send_length and "Content-Length" not in state.headers:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _stream_until_closed(self) -> None:
            try:
                for _ in range(4096):  # 64 MiB at most
                    self.wfile.write(_CHUNK)
                    self.wfile.flush()
                    with state._lock:
                        state.bytes_sent += len(_CHUNK)
            except OSError:
                return

    return Handler


@contextmanager
def running_jwks_server(
    host: str = "127.0.0.1",
    *,
    path: str | None = None,
    document: Callable[[], dict[str, Any]] | None = None,
    on_request: Callable[[str], None] | None = None,
) -> Iterator[JWKSServer]:
    """A started :class:`JWKSServer`, stopped (hanging requests released) on exit."""
    server = JWKSServer(host, path=path, document=document, on_request=on_request)
    server.start()
    try:
        yield server
    finally:
        server.stop()
