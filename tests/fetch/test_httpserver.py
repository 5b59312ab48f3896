"""The loopback server other tests rely on: routes, handlers, counters, streaming."""

import http.client
import time

from tests.httpserver import LoopbackServer, Reply, conditional, drip, endless


def get(server: LoopbackServer, path: str, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    return conn, response


def test_fixed_route_unknown_path_and_hits():
    with LoopbackServer() as server:
        server.route("/a", body=b"hello", headers={"X-Test": "1"})
        conn, response = get(server, "/a?x=1")
        assert (response.status, response.read(), response.getheader("X-Test")) == (
            200, b"hello", "1")
        conn.request("GET", "/nope")  # same keep-alive connection
        assert conn.getresponse().status == 404
        assert server.hits == {"/a": 1, "/nope": 1} and server.connections == 1
        assert server.requests[0].query == "x=1"


def test_handler_sees_headers_and_conditional_answers_304():
    with LoopbackServer() as server:
        server.route("/f", handler=conditional(b"body", etag='"e"'))
        _, response = get(server, "/f", {"If-None-Match": '"e"'})
        assert response.status == 304
        _, response = get(server, "/f")
        assert (response.status, response.read()) == (200, b"body")


def test_drip_and_endless_stream_chunks():
    with LoopbackServer() as server:
        server.route("/drip", handler=drip([b"a", b"b", b"c"], delay=0.05))
        server.route("/endless", handler=endless(b"x" * 1000))
        started = time.perf_counter()
        _, response = get(server, "/drip")
        assert response.read() == b"abc" and time.perf_counter() - started >= 0.15
        conn, response = get(server, "/endless")
        assert response.read(50_000) == b"x" * 50_000
        conn.close()  # the server notices the hang-up and stops


def test_callable_handler_and_fixture(http_server):
    http_server.route("/echo", handler=lambda request: Reply(201, {}, request.host.encode()))
    _, response = get(http_server, "/echo")
    assert (response.status, response.read()) == (201, f"127.0.0.1:{http_server.port}".encode())
