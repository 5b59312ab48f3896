"""Timeouts, body cap, redirects, connection and TLS failures, against the loopback server."""

import socket
import ssl
import time

import httpx
import pytest

from scanner.fetch import next_state
from scanner.models import SourceState
from tests.fetch.helpers import NOW, closed_port, fetch, make_settings, make_source, raising
from tests.httpserver import drip, endless, redirect


def test_slow_dripping_body_hits_the_total_timeout(http_server):
    # Each chunk arrives well within any read timeout; only the total deadline stops it.
    url = http_server.route("/slow", handler=drip([b"<rss>"] * 40, delay=0.05))
    started = time.perf_counter()
    result = fetch(url, settings=make_settings(timeout=0.5))
    assert (result.outcome, result.error_key) == ("error", "timeout")
    assert time.perf_counter() - started < 1.5
    assert "0.5 s" in result.message and "SCANNER_TIMEOUT" in result.message


def test_endless_body_is_cut_at_the_cap(http_server):
    url = http_server.route("/endless", handler=endless())
    result = fetch(url, settings=make_settings(max_body_bytes=64 * 1024))
    assert (result.outcome, result.error_key, result.body) == ("error", "body_too_large", None)
    assert "65,536 bytes" in result.message and "SCANNER_MAX_BODY_BYTES" in result.message


def test_declared_length_over_the_cap_is_refused_early(http_server):
    url = http_server.route("/big", body=b"x" * 5000)
    result = fetch(url, settings=make_settings(max_body_bytes=4096))
    assert result.error_key == "body_too_large"


def test_body_at_the_cap_is_fine(http_server):
    url = http_server.route("/exact", body=b"x" * 4096)
    assert fetch(url, settings=make_settings(max_body_bytes=4096)).outcome == "ok"


def test_redirect_loop(http_server):
    http_server.route("/a", handler=redirect("/b"))
    url = http_server.route("/b", handler=redirect("/a"))
    result = fetch(url)
    assert result.error_key == "redirect_loop" and "kb-nyheter" in result.message
    assert http_server.hits["/a"] == 1 and http_server.hits["/b"] == 1


def _chain(server, length: int) -> str:
    """/r0 -> /r1 -> ... -> /r{length} which serves a feed; returns the URL of /r0."""
    for n in range(length):
        server.route(f"/r{n}", handler=redirect(f"/r{n + 1}"))
    server.route(f"/r{length}", body=b"<rss/>")
    return server.url("/r0")


def test_ten_redirects_are_followed(http_server):
    result = fetch(_chain(http_server, 10))
    assert (result.outcome, result.body) == ("ok", b"<rss/>")
    assert result.final_url == http_server.url("/r10") and result.moved_to is None


def test_more_than_ten_redirects_is_an_error(http_server):
    result = fetch(_chain(http_server, 11))
    assert result.error_key == "too_many_redirects"
    assert http_server.hits["/r11"] == 0


def test_permanent_redirect_sets_moved_to(http_server):
    http_server.route("/new.xml", body=b"<rss/>")
    url = http_server.route("/old.xml", handler=redirect("/new.xml", status=301))
    result = fetch(url)
    assert result.outcome == "ok" and result.moved_to == http_server.url("/new.xml")
    assert "update the url in sources.yaml" in result.message
    state = next_state(make_source(url), None, result, NOW, make_settings())
    assert state.moved_to == http_server.url("/new.xml")


def test_308_chain_reports_the_final_url(http_server):
    http_server.route("/c", body=b"<rss/>")
    http_server.route("/b", handler=redirect(http_server.url("/c"), status=308))
    url = http_server.route("/a", handler=redirect("/b", status=301))
    assert fetch(url).moved_to == http_server.url("/c")


def test_temporary_redirect_after_a_permanent_one_stops_the_move(http_server):
    http_server.route("/c", body=b"<rss/>")
    http_server.route("/b", handler=redirect("/c", status=302))
    url = http_server.route("/a", handler=redirect("/b", status=301))
    assert fetch(url).moved_to == http_server.url("/b")


def test_temporary_redirect_is_not_a_move(http_server):
    http_server.route("/new.xml", body=b"<rss/>")
    url = http_server.route("/old.xml", handler=redirect("/new.xml", status=302))
    result = fetch(url)
    assert result.outcome == "ok" and result.moved_to is None


def test_redirect_without_location(http_server):
    url = http_server.route("/odd", status=302)
    assert fetch(url).error_key == "bad_redirect"


def test_conditional_headers_follow_redirects(http_server):
    http_server.route("/new.xml", status=304, headers={"ETag": '"v1"'})
    url = http_server.route("/old.xml", handler=redirect("/new.xml", status=301))
    result = fetch(url, SourceState("kb-nyheter", etag='"v1"'))
    assert result.outcome == "not_modified" and result.moved_to == http_server.url("/new.xml")
    assert http_server.requests[-1].headers["if-none-match"] == '"v1"'


def test_connection_refused():
    url = f"http://127.0.0.1:{closed_port()}/feed.xml"
    result = fetch(url)
    assert (result.outcome, result.error_key) == ("error", "connection_refused")
    assert result.message.startswith("kb-nyheter: connection refused by 127.0.0.1")


def test_tls_failure_on_loopback(http_server):
    # https:// to a plain-HTTP server: the TLS handshake fails for real.
    url = http_server.url("/feed.xml").replace("http://", "https://")
    result = fetch(url, settings=make_settings(respect_robots=False))
    assert result.error_key == "tls" and "certificate" in result.message


@pytest.mark.parametrize("url", ["ftp://example.org/feed", "not a url", "http://", ""])
def test_invalid_urls(url):
    result = fetch(url)
    assert (result.outcome, result.error_key) == ("error", "invalid_url")
    assert "sources.yaml" in result.message


def _connect_error(cause: BaseException) -> httpx.ConnectError:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise httpx.ConnectError(str(inner)) from inner
    except httpx.ConnectError as outer:
        return outer


@pytest.mark.parametrize("exc,key", [
    (_connect_error(socket.gaierror(-2, "Name or service not known")), "dns"),
    (_connect_error(ConnectionRefusedError(111, "Connection refused")), "connection_refused"),
    (_connect_error(ssl.SSLCertVerificationError("certificate has expired")), "tls"),
    (_connect_error(OSError(101, "Network is unreachable")), "connection_failed"),
    (httpx.ConnectTimeout("timed out"), "connect_timeout"),
    (httpx.ReadTimeout("timed out"), "read_timeout"),
    (httpx.RemoteProtocolError("illegal status line"), "protocol_error"),
    (httpx.ReadError("connection reset"), "network_error"),
    (httpx.DecodingError("bad gzip"), "decoding_error"),
    (RuntimeError("boom"), "unexpected"),
])
def test_transport_failures_become_keyed_results(exc, key):
    result = fetch("https://example.invalid/feed.xml", transport=raising(exc))
    assert (result.outcome, result.error_key) == ("error", key)
    assert result.message.startswith("kb-nyheter: ") and "\n" not in result.message
