"""A real HTTP/1.1 server on 127.0.0.1 for tests: programmable routes, hit counts, concurrency.

    with LoopbackServer() as server:                       # or the `http_server` fixture
        server.route("/feed.xml", body=b"<rss/>", headers={"ETag": '"v1"'})
        server.route("/slow", handler=drip([b"a", b"b"], delay=0.5))
        server.route("/old", handler=redirect("/feed.xml", status=301))
        url = server.url("/feed.xml")
        ...
        server.hits["/feed.xml"], server.requests[-1].headers["user-agent"], server.max_active,
        server.max_active_by_host["127.0.0.1:<port>"], server.connections

A route is either a fixed reply (status, headers, body) or a handler: a callable taking a
`Request` and returning a `Reply`. A Reply body may be bytes or an iterable of byte chunks
(sent chunked, with `delay` seconds before each chunk), so a handler can drip bytes slowly or
stream forever. Unknown paths answer 404. Each request runs in its own daemon thread.
"""

from __future__ import annotations

import gzip
import itertools
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterable
from urllib.parse import urlsplit

DISCONNECTS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


@dataclass(frozen=True)
class Request:
    """What the server received; header names are lower-case."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes = b""

    @property
    def host(self) -> str:
        return self.headers.get("host", "")


@dataclass
class Reply:
    """What to answer. body: bytes, or an iterable of chunks sent with chunked encoding."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Iterable[bytes] = b""
    delay: float = 0.0  # seconds to sleep before each chunk of an iterable body


Handler = Callable[[Request], Reply]


class LoopbackServer:
    """ThreadingHTTPServer on 127.0.0.1, port chosen by the OS, run in a daemon thread."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Handler] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[Request] = []
        self.active = 0
        self.connections = 0  # TCP connections accepted (keep-alive reuses them)
        self.max_active = 0
        self.max_active_by_host: Counter[str] = Counter()
        self._active_by_host: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, 0), _handler_class(self))
        self._server.daemon_threads = True
        self._server.handle_error = lambda request, address: None  # clients may hang up
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/", host: str = "127.0.0.1") -> str:
        """The absolute URL of path; host="localhost" reaches the same server as another host."""
        return f"http://{host}:{self.port}{path}"

    def route(self, path: str, *, status: int = 200, body: bytes = b"",
              headers: dict[str, str] | None = None, handler: Handler | None = None) -> str:
        """Serve path (query ignored) with a fixed reply or a handler; returns its URL."""
        reply = Reply(status, dict(headers or {}), body)
        self.routes[path] = handler or (lambda request: reply)
        return self.url(path)

    def start(self) -> "LoopbackServer":
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.01}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "LoopbackServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget routes, hits, requests and concurrency figures."""
        with self._lock:
            self.routes.clear()
            self.hits.clear()
            self.requests.clear()
            self.max_active = 0
            self.max_active_by_host.clear()
            self.connections = 0

    def _enter(self, request: Request) -> Handler:
        with self._lock:
            self.hits[request.path] += 1
            self.requests.append(request)
            self.active += 1
            self._active_by_host[request.host] += 1
            self.max_active = max(self.max_active, self.active)
            peak = max(self.max_active_by_host[request.host], self._active_by_host[request.host])
            self.max_active_by_host[request.host] = peak
        return self.routes.get(request.path, _not_found)

    def _leave(self, request: Request) -> None:
        with self._lock:
            self.active -= 1
            self._active_by_host[request.host] -= 1


def _handler_class(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like real servers
        disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls between header and body
        timeout = 10  # idle keep-alive connections end after this

        def setup(self) -> None:
            super().setup()
            with server._lock:
                server.connections += 1

        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            self._dispatch()

        do_POST = do_PUT = do_DELETE = do_HEAD = do_GET

        def _dispatch(self) -> None:
            request = self._request()
            handler = server._enter(request)
            try:
                self._send(handler(request))
            except DISCONNECTS:
                self.close_connection = True
            finally:
                server._leave(request)

        def _request(self) -> Request:
            parts = urlsplit(self.path)
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            return Request(self.command, parts.path, parts.query, headers, body)

        def _send(self, reply: Reply) -> None:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if isinstance(reply.body, (bytes, bytearray)):
                self._send_bytes(reply)
            else:
                self._send_chunks(reply)

        def _send_bytes(self, reply: Reply) -> None:
            no_body = reply.status in (204, 304) or self.command == "HEAD"
            if reply.status not in (204, 304):
                self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if not no_body:
                self.wfile.write(reply.body)

        def _send_chunks(self, reply: Reply) -> None:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in reply.body:
                time.sleep(reply.delay)
                if chunk:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")

        def log_message(self, *args) -> None:  # keep test output clean
            pass

    return _Handler


def _not_found(request: Request) -> Reply:
    return Reply(404, {"Content-Type": "text/plain"}, b"not found")


# Handlers and bodies for common cases -------------------------------------------------------


def redirect(location: str, status: int = 302) -> Handler:
    """Redirect to location (absolute or relative)."""
    return lambda request: Reply(status, {"Location": location})


def conditional(body: bytes, etag: str | None = None, last_modified: str | None = None,
                headers: dict[str, str] | None = None) -> Handler:
    """200 with ETag/Last-Modified; 304 when If-None-Match or If-Modified-Since matches."""
    sent = dict(headers or {})
    sent.update({k: v for k, v in (("ETag", etag), ("Last-Modified", last_modified)) if v})

    def handle(request: Request) -> Reply:
        if etag and request.headers.get("if-none-match") == etag:
            return Reply(304, sent)
        if last_modified and request.headers.get("if-modified-since") == last_modified:
            return Reply(304, sent)
        return Reply(200, sent, body)

    return handle


def drip(chunks: Iterable[bytes], delay: float, headers: dict[str, str] | None = None,
         status: int = 200) -> Handler:
    """Send chunks with `delay` seconds before each (a slow server)."""
    chunks = list(chunks)
    return lambda request: Reply(status, dict(headers or {}), iter(chunks), delay)


def endless(chunk: bytes = b"x" * 16384, headers: dict[str, str] | None = None) -> Handler:
    """Stream the same chunk forever (until the client hangs up)."""
    return lambda request: Reply(200, dict(headers or {}), itertools.repeat(chunk))


def slow(handler: Handler, seconds: float) -> Handler:
    """Wait before answering (to hold requests open, e.g. to measure concurrency)."""
    def handle(request: Request) -> Reply:
        time.sleep(seconds)
        return handler(request)

    return handle


def fixed(body: bytes = b"", status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    return lambda request: Reply(status, dict(headers or {}), body)


def encoded(body: bytes, encoding: str, headers: dict[str, str] | None = None) -> Handler:
    """Serve body compressed with gzip, deflate or br, with the Content-Encoding header."""
    data = {"gzip": gzip.compress, "deflate": zlib.compress, "br": _brotli}[encoding](body)
    sent = {**(headers or {}), "Content-Encoding": encoding}
    return lambda request: Reply(200, sent, data)


def _brotli(body: bytes) -> bytes:
    import brotli

    return brotli.compress(body)
