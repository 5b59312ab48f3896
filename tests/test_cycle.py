"""The scan cycle's worker-process parsing path, through real HTTP on loopback."""

import fcntl
import gc
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from scanner.core import Scanner
from scanner.cycle import (
    PARSE_AHEAD, PARSER_MODULES, PIPE_BYTES, ParsePool, ScanCycle, surely_parses_in_workers,
    worker_pool,
)
from scanner.models import FetchResult, Source, SourceState
from scanner.preparing import GC_THRESHOLDS
from scanner.settings import Settings
from scanner.store import Store
from tests.httpserver import conditional

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


def rss(n: int) -> bytes:
    items = "".join(
        f"<item><title>Nyhet {n}-{i}: läsfrämjande i Åsele</title>"
        f"<link>https://bibliotek{n}.example.se/nyheter/{i}</link>"
        f"<guid>bibliotek{n}-{i}</guid><pubDate>Mon, 16 Nov 2026 09:00:00 +0000</pubDate>"
        f"<description>Biblioteket startar bokcirklar för vuxna.</description></item>"
        for i in range(3))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Bibliotek {n}</title>{items}</channel></rss>").encode()


def test_a_big_cycle_parses_in_worker_processes(http_server, tmp_path, database_url):
    lines = ["sources:"]
    for n in range(20):
        url = http_server.route(f"/feed{n}.xml", handler=conditional(rss(n), etag=f'"v{n}"'))
        lines.append(f"  - {{id: bibliotek-{n}, name: Bibliotek {n}, url: '{url}'}}")
    (tmp_path / "sources.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = Settings(config_dir=tmp_path, database_url=database_url, parse_workers=2)
    scanner = Scanner(settings)
    try:
        report = scanner.scan(all_sources=True, now=NOW)
        again = scanner.scan(all_sources=True, now=NOW)
        stored = scanner.latest_items(limit=1000)
    finally:
        scanner.close()
    assert report.exit_code == 0 and sum(r.new for r in report.results) == 60
    assert {r.fetch_outcome for r in again.results} == {"not_modified"}
    assert len(stored) == 60 and all("Åsele" in i.title for i in stored)


def test_workers_start_with_the_first_body_and_bodies_that_wait_are_parsed(tmp_path):
    settings = Settings(config_dir=tmp_path, parse_workers=2)
    source = Source(id="bibliotek", name="Bibliotek", url="https://bibliotek.example.se/rss")
    with ParsePool(settings, 20, None) as pool:
        assert pool.workers == 2 and pool.executor is None  # nothing to parse: no process yet
        waiting = [pool.submit(source, rss(n), {}, source.url, NOW) for n in range(5)]
        prepared = [future.result(timeout=120) for future in waiting]
        assert pool.executor is not None
        later = pool.submit(source, rss(9), {}, source.url, NOW).result(timeout=120)
    titles = [[item.title for item in p.items] for p in prepared + [later]]
    assert titles[0] == [f"Nyhet 0-{i}: läsfrämjande i Åsele" for i in range(3)]
    assert titles[5][2] == "Nyhet 9-2: läsfrämjande i Åsele"


def test_the_tagger_is_chosen_once_and_only_when_a_body_is_to_be_parsed(tmp_path):
    settings = Settings(config_dir=tmp_path, parse_workers=2)
    source = Source(id="bibliotek", name="Bibliotek", url="https://bibliotek.example.se/rss")
    asked = []

    def choose_tagger():
        asked.append(True)
        return None

    with ParsePool(settings, 20, choose_tagger):
        pass  # a cycle of 304s: nothing to parse
    assert asked == []
    with ParsePool(settings, 20, choose_tagger) as pool:
        waiting = [pool.submit(source, rss(n), {}, source.url, NOW) for n in range(3)]
        pool.parse_one_waiting()
        [future.result(timeout=120) for future in waiting]
    assert len(asked) == 1
    with ParsePool(Settings(config_dir=tmp_path, parse_workers=1), 20, choose_tagger):
        assert len(asked) == 2  # parsing in this process: chosen before the fetches start


def test_this_process_parses_bodies_while_the_workers_start(tmp_path):
    settings = Settings(config_dir=tmp_path, parse_workers=2)
    source = Source(id="bibliotek", name="Bibliotek", url="https://bibliotek.example.se/rss")
    with ParsePool(settings, 20, None) as pool:
        assert not pool.parse_one_waiting()  # nothing waits
        waiting = [pool.submit(source, rss(n), {}, source.url, NOW) for n in range(3)]
        # starting the workers takes seconds (a fork server, imports): the first body waits
        assert pool.parse_one_waiting() and waiting[0].done()
        prepared = [future.result(timeout=120) for future in waiting]
    assert [p.items[0].title for p in prepared] == [
        f"Nyhet {n}-0: läsfrämjande i Åsele" for n in range(3)]


def test_a_cycle_that_surely_parses_starts_its_workers_before_the_first_body(tmp_path):
    settings = Settings(config_dir=tmp_path, parse_workers=2)
    asked = []

    def choose_tagger():
        asked.append(True)
        return None

    with ParsePool(settings, 20, choose_tagger, start_now=True) as pool:
        deadline = time.monotonic() + 120
        while pool.executor is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pool.executor is not None and asked == [True]  # nothing submitted yet
    with ParsePool(settings, 20, choose_tagger) as pool:
        assert pool.executor is None  # without start_now: only with the first body
    assert len(asked) == 1


def test_bodies_wait_for_workers_that_started_with_the_cycle(tmp_path):
    """Parsing them here would load the tag model into this process for a few bodies."""
    settings = Settings(config_dir=tmp_path, parse_workers=2)
    source = Source(id="bibliotek", name="Bibliotek", url="https://bibliotek.example.se/rss")
    with ParsePool(settings, 20, None, start_now=True) as pool:
        waiting = pool.submit(source, rss(0), {}, source.url, NOW)
        assert not pool.parse_one_waiting()
        assert waiting.result(timeout=120).items[0].title == "Nyhet 0-0: läsfrämjande i Åsele"


def test_parsers_start_early_only_when_enough_sources_will_surely_send_a_body(tmp_path):
    settings = Settings(config_dir=tmp_path, parse_workers=2)
    sources = [Source(id=f"b{n}", name=f"B {n}", url=f"https://b{n}.example.se/rss")
               for n in range(40)]
    fetched_before = {s.id: SourceState(s.id, etag='"v1"', body_hash="abc") for s in sources}
    failed_before = {s.id: SourceState(s.id, error_streak=2) for s in sources}
    assert surely_parses_in_workers(settings, sources, {})  # a first scan: every one sends
    assert surely_parses_in_workers(settings, sources, failed_before)  # never had a body
    assert not surely_parses_in_workers(settings, sources, fetched_before)  # 304s likely
    half = dict(list(fetched_before.items())[:25])
    assert not surely_parses_in_workers(settings, sources, half)  # 15 new: < 2 workers x 8
    assert not surely_parses_in_workers(settings, sources[:15], {})  # one process parses
    assert not surely_parses_in_workers(Settings(config_dir=tmp_path, parse_workers=1),
                                        sources, {})


def test_workers_share_the_fork_servers_imports_frozen_out_of_garbage_collection():
    """A collection in a worker would otherwise write to every object page it inherited."""
    assert PARSER_MODULES[-1] == "scanner.forkserver_ready"
    pool = worker_pool(2, None)
    try:
        frozen = [pool.submit(gc.get_freeze_count).result(timeout=120) for _ in range(2)]
        thresholds = pool.submit(gc.get_threshold).result(timeout=120)
    finally:
        pool.shutdown()
    assert min(frozen) > 20_000  # the objects of the preloaded modules (numpy, scipy, ...)
    assert thresholds == GC_THRESHOLDS  # and they collect less often


def test_a_workers_pipes_hold_a_whole_body_and_parsed_batch():
    """Else each goes over in 64 kB pieces, and the worker waits on this process's threads
    between them."""
    pool = worker_pool(2, None)
    try:
        sizes = [fcntl.fcntl(queue._reader.fileno(), fcntl.F_GETPIPE_SZ)
                 for queue in (pool._call_queue, pool._result_queue)]
    finally:
        pool.shutdown()
    assert sizes == [PIPE_BYTES, PIPE_BYTES]


class WatchedStore(Store):
    """The real store, noting how many bodies the parser had been given at each batch."""

    def __init__(self, engine, parser_log: list):
        super().__init__(engine)
        self.parser_log, self.given_at_store = parser_log, []

    def store_batch(self, *arguments, **keywords):
        self.given_at_store.append(len(self.parser_log))
        return super().store_batch(*arguments, **keywords)


def test_the_parser_gets_the_next_bodies_before_a_parsed_batch_is_stored(tmp_path):
    """So that workers parse while this process stores, instead of waiting for it."""
    settings = Settings(config_dir=tmp_path, parse_workers=1)
    sources = {f"b{n}": Source(id=f"b{n}", name=f"B {n}", url=f"https://b{n}.example.se/rss")
               for n in range(3 * PARSE_AHEAD)}
    given: list = []
    store = WatchedStore(Store.open(f"sqlite:///{tmp_path / 'scanner.db'}").engine, given)
    with ParsePool(settings, 1, None) as parser:
        plain_submit = parser.submit
        parser.submit = lambda *arguments: given.append(arguments) or plain_submit(*arguments)
        cycle = ScanCycle(store, settings, sources, {}, NOW, parser)
        for n, source in enumerate(sources.values()):
            cycle.unparsed.append((source, FetchResult(source.id, source.url, "ok", NOW,
                                                       status=200, body=rss(n))))
        results = cycle.finish()
    store.close()
    assert [r.new for r in results] == [3] * len(sources)
    assert store.given_at_store[0] == 2 * PARSE_AHEAD  # the next ones before the first batch
    assert len(given) == len(sources)


WORKER_MAIN = """
import os, sys
sys.path.insert(0, {root!r})
if __name__ != "__main__":  # imported again, as multiprocessing does in a new process
    with open({marker!r}, "a") as marker:
        marker.write(f"{{os.getpid()}}\\n")
from scanner.cycle import worker_pool
from scanner.models import Source
from scanner.preparing import prepare
from tests.test_cycle import NOW, rss

if __name__ == "__main__":
    source = Source(id="bibliotek", name="Bibliotek", url="https://bibliotek.example.se/rss")
    pool = worker_pool(2, None)
    parsed = pool.submit(prepare, source, rss(1), {{}}, source.url, NOW).result(timeout=120)
    pool.shutdown()
    print(parsed.items[0].title)
"""


def test_workers_never_import_the_main_script(tmp_path):
    """The `scanner` command's main script imports the whole CLI; a worker needs none of it."""
    marker = tmp_path / "imported"
    script = tmp_path / "main_script.py"
    script.write_text(WORKER_MAIN.format(root=str(Path(__file__).resolve().parent.parent),
                                         marker=str(marker)), encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "Nyhet 1-0: läsfrämjande i Åsele"
    assert not marker.exists(), f"the main script was imported again in {marker.read_text()}"
