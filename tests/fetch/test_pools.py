"""One connection pool per host: each host's connections are its own, kept alive while its
sources are fetched and closed once they all are."""

import asyncio

from scanner.fetch import Fetcher
from scanner.fetch.hostqueue import HostQueues
from tests.fetch.helpers import NOW, make_settings, make_source
from tests.httpserver import drip, fixed, redirect, slow


def fetch_all_keeping(pairs, settings):
    """fetch_all's results and the hosts whose pools are still open after it."""
    async def run():
        async with Fetcher(settings) as fetcher:
            results = await fetcher.fetch_all(pairs, NOW)
            return results, fetcher._pools.open_hosts()

    return asyncio.run(run())


def test_each_host_keeps_its_own_connections_and_closes_them_when_done(http_server):
    http_server.route("/feed.xml", body=b"<rss/>")
    sources = [make_source(http_server.url("/feed.xml", host), f"{host}-{n}")
               for host in ("127.0.0.1", "localhost") for n in range(20)]
    results, still_open = fetch_all_keeping([(s, None) for s in sources],
                                            make_settings(per_host_limit=2, concurrency=8))
    assert {r.outcome for r in results} == {"ok"}
    assert http_server.connections <= 4  # two kept alive per host, reused for its sources
    assert still_open == []


def test_a_redirect_to_a_host_already_done_opens_a_new_pool(http_server):
    http_server.route("/feed.xml", body=b"<rss/>")
    http_server.route("/moved.xml", handler=slow(
        redirect(http_server.url("/feed.xml", "localhost")), 0.3))
    sources = [make_source(http_server.url("/moved.xml"), "moved"),
               make_source(http_server.url("/feed.xml", "localhost"), "done-early")]
    results, still_open = fetch_all_keeping([(s, None) for s in sources],
                                            make_settings(per_host_limit=2, concurrency=8))
    assert [(r.source_id, r.outcome) for r in results] == [("moved", "ok"), ("done-early", "ok")]
    assert still_open == [f"localhost:{http_server.port}"]  # closed with the client


def test_a_host_done_stays_open_while_a_redirect_from_another_host_still_reads_from_it(
        http_server):
    http_server.route("/feed.xml", handler=slow(fixed(b"<rss/>"), 0.3))  # ends mid-drip
    http_server.route("/slow.xml", handler=drip([b"<rss>", b"<channel/>", b"</rss>"], 0.25))
    http_server.route("/moved.xml", handler=redirect(http_server.url("/slow.xml", "localhost")))
    sources = [make_source(http_server.url("/moved.xml"), "moved"),
               make_source(http_server.url("/feed.xml", "localhost"), "done-early")]
    results, still_open = fetch_all_keeping([(s, None) for s in sources],
                                            make_settings(per_host_limit=2, concurrency=8))
    assert [(r.outcome, r.body) for r in results] == [("ok", b"<rss><channel/></rss>"),
                                                      ("ok", b"<rss/>")]
    assert still_open == []  # localhost's pool closed when the redirected body was read


def test_the_last_worker_to_leave_a_finished_host_is_told_so():
    queues = HostQueues(["a", "a", "b"], per_host=2)
    first, second = queues.claim(), queues.claim()
    assert (first, second) == ("a", "a")
    assert queues.pop("a") == 0 and queues.pop("a") == 1 and queues.pop("a") is None
    assert queues.release("a") is False  # the other worker may still be fetching from it
    assert queues.release("a") is True
    assert queues.claim() == "b" and queues.release("b") is False  # its work is still queued
