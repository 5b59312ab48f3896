"""200, conditional GET (ETag, Last-Modified), unchanged body hash, compressed bodies."""

import hashlib

import pytest

from scanner.fetch import next_state, user_agent
from scanner.models import SourceState
from tests.fetch.helpers import NOW, fetch, make_settings, make_source
from tests.httpserver import conditional, encoded

FEED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>KB</title></channel></rss>"
LAST_MODIFIED = "Mon, 23 Nov 2026 08:00:00 GMT"


def test_ok_returns_body_headers_and_validators(http_server):
    url = http_server.route("/feed.xml", handler=conditional(
        FEED, etag='"v1"', last_modified=LAST_MODIFIED,
        headers={"Content-Type": "application/rss+xml; charset=utf-8"}))
    result = fetch(url)
    assert (result.outcome, result.status, result.body) == ("ok", 200, FEED)
    assert result.etag == '"v1"' and result.last_modified == LAST_MODIFIED
    assert result.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert result.body_hash == hashlib.sha256(FEED).hexdigest()
    assert result.final_url == url and result.fetched_at == NOW and not result.failed
    state = next_state(make_source(url), None, result, NOW, make_settings())
    assert (state.etag, state.last_modified, state.body_hash) == (
        '"v1"', LAST_MODIFIED, result.body_hash)


def test_etag_gives_not_modified(http_server):
    url = http_server.route("/feed.xml", handler=conditional(FEED, etag='"v1"'))
    state = SourceState("kb-nyheter", etag='"v1"', body_hash="abc")
    result = fetch(url, state)
    assert (result.outcome, result.status, result.body) == ("not_modified", 304, None)
    assert http_server.requests[-1].headers["if-none-match"] == '"v1"'


def test_last_modified_gives_not_modified(http_server):
    url = http_server.route("/feed.xml", handler=conditional(FEED, last_modified=LAST_MODIFIED))
    result = fetch(url, SourceState("kb-nyheter", last_modified=LAST_MODIFIED))
    assert result.outcome == "not_modified"
    assert http_server.requests[-1].headers["if-modified-since"] == LAST_MODIFIED


def test_not_modified_keeps_stored_validators(http_server):
    url = http_server.route("/feed.xml", handler=conditional(FEED, etag='"v1"'))
    old = SourceState("kb-nyheter", etag='"v1"', last_modified=LAST_MODIFIED, body_hash="abc")
    result = fetch(url, old)
    state = next_state(make_source(url), old, result, NOW, make_settings())
    assert (state.etag, state.last_modified, state.body_hash) == ('"v1"', LAST_MODIFIED, "abc")


def test_no_validators_sent_without_state(http_server):
    url = http_server.route("/feed.xml", handler=conditional(FEED, etag='"v1"'))
    assert fetch(url, None).outcome == "ok"
    headers = http_server.requests[-1].headers
    assert "if-none-match" not in headers and "if-modified-since" not in headers


def test_same_body_is_unchanged_without_body(http_server):
    url = http_server.route("/feed.xml", body=FEED)
    state = SourceState("kb-nyheter", body_hash=hashlib.sha256(FEED).hexdigest())
    result = fetch(url, state)
    assert (result.outcome, result.body, result.body_hash) == ("unchanged", None, state.body_hash)


def test_changed_body_is_ok(http_server):
    url = http_server.route("/feed.xml", body=FEED)
    result = fetch(url, SourceState("kb-nyheter", body_hash="0" * 64))
    assert (result.outcome, result.body) == ("ok", FEED)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_compressed_bodies_are_decoded(http_server, encoding):
    url = http_server.route("/feed.xml", handler=encoded(FEED, encoding))
    result = fetch(url)
    assert (result.outcome, result.body) == ("ok", FEED)
    assert result.headers["content-encoding"] == encoding


def test_request_headers_name_the_project(http_server):
    url = http_server.route("/feed.xml", body=FEED)
    settings = make_settings(contact_url="https://example.org/kontakt")
    fetch(url, settings=settings)
    headers = http_server.requests[-1].headers
    assert headers["user-agent"] == user_agent(settings)
    assert headers["user-agent"].startswith("scanner/")
    assert headers["user-agent"].endswith("(+https://example.org/kontakt)")
    assert {"gzip", "deflate", "br"} <= {e.strip() for e in headers["accept-encoding"].split(",")}
    assert "application/rss+xml" in headers["accept"]
