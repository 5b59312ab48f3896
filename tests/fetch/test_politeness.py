"""robots.txt, per-host and global limits, fetch_all isolation and order."""

import asyncio
from datetime import timedelta

from scanner.fetch import Fetcher
from scanner.models import SourceState
from tests.fetch.helpers import NOW, closed_port, fetch, make_settings, make_source
from tests.httpserver import conditional, drip, fixed, slow

ROBOTS = b"User-agent: *\nDisallow: /private/\n"


def fetch_all(pairs, settings=None, robots_cache=None, now=NOW, on_result=None):
    async def run():
        async with Fetcher(settings or make_settings(), robots_cache=robots_cache) as fetcher:
            return await fetcher.fetch_all(pairs, now, on_result=on_result)

    return asyncio.run(run())


def test_robots_disallow(http_server):
    http_server.route("/robots.txt", body=ROBOTS)
    url = http_server.route("/private/feed.xml", body=b"<rss/>")
    result = fetch(url)
    assert (result.outcome, result.error_key) == ("error", "robots_disallowed")
    assert http_server.hits["/private/feed.xml"] == 0
    assert "robots.txt" in result.message and "sources.yaml" in result.message


def test_robots_for_our_agent_only(http_server):
    http_server.route("/robots.txt", body=b"User-agent: scanner\nDisallow: /\n\n"
                                          b"User-agent: *\nAllow: /\n")
    url = http_server.route("/feed.xml", body=b"<rss/>")
    assert fetch(url).error_key == "robots_disallowed"


def test_robots_not_obeyed_when_switched_off(http_server):
    http_server.route("/robots.txt", body=ROBOTS)
    url = http_server.route("/private/feed.xml", body=b"<rss/>")
    assert fetch(url, settings=make_settings(respect_robots=False)).outcome == "ok"
    assert http_server.hits["/robots.txt"] == 0


def test_robots_fetched_once_per_host(http_server):
    http_server.route("/robots.txt", body=ROBOTS)
    http_server.route("/feed.xml", body=b"<rss/>")
    pairs = [(make_source(http_server.url("/feed.xml"), f"s{n}"), None) for n in range(20)]
    pairs += [(make_source(http_server.url("/feed.xml", host="localhost"), "other-host"), None)]
    results = fetch_all(pairs)
    assert {r.outcome for r in results} == {"ok"}
    assert http_server.hits["/robots.txt"] == 2  # 127.0.0.1:port and localhost:port
    assert http_server.hits["/feed.xml"] == 21


def test_robots_cache_is_injectable_and_expires(http_server):
    http_server.route("/robots.txt", body=ROBOTS)
    http_server.route("/feed.xml", body=b"<rss/>")
    cache, pairs = {}, [(make_source(http_server.url("/feed.xml")), None)]
    settings = make_settings(robots_cache_seconds=3600)
    fetch_all(pairs, settings, robots_cache=cache)
    fetch_all(pairs, settings, robots_cache=cache, now=NOW + timedelta(minutes=30))
    assert http_server.hits["/robots.txt"] == 1 and len(cache) == 1
    fetch_all(pairs, settings, robots_cache=cache, now=NOW + timedelta(hours=2))
    assert http_server.hits["/robots.txt"] == 2


def test_robots_4xx_and_5xx_allow(http_server):
    url = http_server.route("/feed.xml", body=b"<rss/>")
    http_server.route("/robots.txt", status=403)
    assert fetch(url).outcome == "ok"
    http_server.route("/robots.txt", status=500)
    assert fetch(url).outcome == "ok"


def test_robots_timeout_allows_and_the_fetch_reports(http_server):
    http_server.route("/robots.txt", handler=drip([b"User-agent: *\n"] * 20, delay=0.05))
    url = http_server.route("/feed.xml", handler=drip([b"<rss>"] * 20, delay=0.05))
    result = fetch(url, settings=make_settings(timeout=0.2))
    assert result.error_key == "timeout"  # robots gave up quietly; the feed itself timed out


def test_per_host_limit_is_honoured(http_server):
    http_server.route("/feed.xml", handler=slow(fixed(b"<rss/>"), 0.05))
    pairs = [(make_source(http_server.url("/feed.xml"), f"a{n}"), None) for n in range(8)]
    pairs += [(make_source(http_server.url("/feed.xml", host="localhost"), f"b{n}"), None)
              for n in range(8)]
    results = fetch_all(pairs, make_settings(per_host_limit=2, concurrency=16))
    assert {r.outcome for r in results} == {"ok"}
    by_host = http_server.max_active_by_host
    assert by_host[f"127.0.0.1:{http_server.port}"] == 2
    assert by_host[f"localhost:{http_server.port}"] == 2
    assert http_server.max_active <= 4


def test_global_limit_is_honoured(http_server):
    http_server.route("/feed.xml", handler=slow(fixed(b"<rss/>"), 0.05))
    pairs = [(make_source(http_server.url("/feed.xml"), f"a{n}"), None) for n in range(6)]
    fetch_all(pairs, make_settings(per_host_limit=8, concurrency=3))
    assert http_server.max_active == 3


def test_one_failing_source_does_not_stop_the_others(http_server):
    ok = http_server.route("/feed.xml", body=b"<rss/>")
    missing = http_server.route("/missing.xml", status=404)
    refused = f"http://127.0.0.1:{closed_port()}/feed.xml"
    sources = [make_source(ok, "ok-1"), make_source(missing, "missing"),
               make_source("ftp://nowhere/feed", "bad-url"), make_source(refused, "refused"),
               make_source(ok, "ok-2")]
    seen = []
    results = fetch_all([(s, None) for s in sources], on_result=seen.append)
    assert [r.source_id for r in results] == [s.id for s in sources]
    assert [r.error_key for r in results] == [
        None, "http_404", "invalid_url", "connection_refused", None]
    assert sorted(r.source_id for r in seen) == sorted(s.id for s in sources)


def test_fetch_all_of_nothing():
    assert fetch_all([]) == []


def test_per_host_limit_holds_for_direct_concurrent_fetches(http_server):
    http_server.route("/feed.xml", handler=slow(fixed(b"<rss/>"), 0.05))
    sources = [make_source(http_server.url("/feed.xml"), f"a{n}") for n in range(6)]

    async def run():
        async with Fetcher(make_settings(per_host_limit=2, concurrency=16)) as fetcher:
            return await asyncio.gather(*(fetcher.fetch(s, None, NOW) for s in sources))

    assert {r.outcome for r in asyncio.run(run())} == {"ok"}
    assert http_server.max_active == 2


def test_keep_alive_connections_are_reused_for_304s(http_server):
    http_server.route("/feed.xml", handler=conditional(b"<rss/>", etag='"v1"'))
    state = SourceState("x", etag='"v1"')
    pairs = [(make_source(http_server.url("/feed.xml"), f"s{n}"), state) for n in range(60)]
    results = fetch_all(pairs, make_settings(per_host_limit=2))
    assert {r.outcome for r in results} == {"not_modified"}
    assert http_server.connections <= 2
