"""End to end through the Scanner facade: sources.yaml -> real HTTP on 127.0.0.1 -> parse ->
dedup -> store (SQLite, and PostgreSQL where SCANNER_TEST_DATABASE_URL is set).

No mocks and no network: every feed is served by tests/httpserver.py on loopback, from the
short Swedish fixtures in tests/data/core/. Time is stepped by passing `now` explicitly.

The "bad input" cases each check the same three promises: a clear message naming the source
and the fix, everything stored before is kept, and a good source in the same scan finishes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from scanner.core import ScanReport, Scanner
from scanner.errors import UnknownSourceError
from scanner.preparing import GC_THRESHOLDS
from scanner.settings import Settings
from tests.httpserver import Reply, conditional, drip, endless, redirect

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
DATA = Path(__file__).resolve().parent / "data" / "core"
RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
ATOM = {"Content-Type": "application/atom+xml; charset=utf-8"}
JSON_FEED = {"Content-Type": "application/feed+json"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
FAST = dict(timeout=2.0, connect_timeout=1.0, max_body_bytes=64 * 1024)


def feed(name: str) -> bytes:
    return (DATA / name).read_bytes()


def write_sources(folder: Path, *entries: dict, defaults: dict | None = None) -> Path:
    """sources.yaml with these entries (values written as JSON, which YAML reads as is)."""
    lines = []
    if defaults:
        lines.append("defaults:")
        lines += [f"  {key}: {json.dumps(value, ensure_ascii=False)}"
                  for key, value in defaults.items()]
    lines.append("sources:")
    for entry in entries:
        entry = {"name": entry["id"].replace("-", " ").capitalize(), **entry}
        for n, (key, value) in enumerate(entry.items()):
            prefix = "  - " if n == 0 else "    "
            lines.append(f"{prefix}{key}: {json.dumps(value, ensure_ascii=False)}")
    path = folder / "sources.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def by_id(report: ScanReport) -> dict:
    return {r.source_id: r for r in report.results}


class Pipeline:
    """One test's config folder, database and loopback server, seen through the facade."""

    def __init__(self, folder: Path, database_url: str, server) -> None:
        self.folder, self.database_url, self.server = folder, database_url, server
        self._scanners: dict[tuple, Scanner] = {}
        self._store = None  # one Store for the whole test, shared by its Scanners

    def sources(self, *entries: dict, **kwargs) -> None:
        write_sources(self.folder, *entries, **kwargs)
        self._scanners.clear()  # a Scanner reads sources.yaml once

    def source(self, source_id: str, path: str, **keys) -> dict:
        """A source entry whose url is `path` on the loopback server."""
        return {"id": source_id, "url": self.server.url(path), **keys}

    def scanner(self, **overrides) -> Scanner:
        """The Scanner with these settings (FAST by default) on the test's database."""
        key = tuple(sorted(overrides.items()))
        if key not in self._scanners:
            settings = Settings(config_dir=self.folder, database_url=self.database_url,
                                **{**FAST, **overrides})
            self._scanners[key] = Scanner(settings, store=self._store)
            self._store = self._scanners[key].store
        return self._scanners[key]

    def scan(self, *source_ids: str, now: datetime = NOW, all_sources: bool = False,
             **overrides) -> ScanReport:
        return self.scanner(**overrides).scan(list(source_ids) or None, all_sources, now=now)

    def items(self, source_id: str | None = None):
        return self.scanner().latest_items(source_id, limit=100000)

    def count(self, source_id: str | None = None) -> int:
        return len(self.items(source_id))

    def health(self, now: datetime = NOW) -> dict:
        return {h.source_id: h for h in self.scanner().source_health(now)}

    def state(self, source_id: str):
        return self.scanner().store.load_states().get(source_id)

    def due(self, now: datetime) -> list[str]:
        return [s.id for s in self.scanner().select_sources(None, False, now)]

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No proxy (it would catch 127.0.0.1 too) and no SCANNER_* setting from the developer's
    shell; SCANNER_TEST_DATABASE_URL stays for the database_url fixture."""
    for name in list(os.environ):
        proxy = name.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
        if proxy or (name.startswith("SCANNER_") and name != "SCANNER_TEST_DATABASE_URL"):
            monkeypatch.delenv(name)


@pytest.fixture
def pipe(tmp_path, database_url, http_server):
    pipeline = Pipeline(tmp_path, database_url, http_server)
    yield pipeline
    pipeline.close()


# --- the happy path -----------------------------------------------------------------------------


def test_a_scan_stores_rss_and_atom_items_with_clean_fields(pipe, http_server):
    http_server.route("/lan.rss", body=feed("lansbibliotek-1.rss"), headers=RSS)
    http_server.route("/stad.atom", body=feed("stadsbibliotek.atom"), headers=ATOM)
    pipe.sources(pipe.source("lansbibliotek", "/lan.rss"),
                 pipe.source("stadsbibliotek", "/stad.atom"))

    report = pipe.scan()

    assert report.exit_code == 0
    assert {r.source_id: (r.new, r.fetch_outcome) for r in report.results} == {
        "lansbibliotek": (2, "ok"), "stadsbibliotek": (2, "ok")}
    items = {i.title: i for i in pipe.items()}
    assert set(items) == {
        "Ny fortbildning i källkritik för bibliotekspersonal",
        "Läsfrämjande nätverk träffas i Örebro",
        "Språkcafé varje torsdag under hösten",
        "Digitala lånekort för alla över 13 år",
    }
    first = items["Ny fortbildning i källkritik för bibliotekspersonal"]
    assert first.summary.startswith("Under våren erbjuder länsbiblioteket")
    assert "<p>" not in first.summary
    assert first.published == datetime(2026, 11, 16, 7, 30, tzinfo=timezone.utc)
    assert first.fetched == NOW and first.revision == 1 and first.date_missing is False
    assert (first.source, first.sources, first.lang) == ("lansbibliotek", ("lansbibliotek",), "sv")
    # newest first
    assert [i.title for i in pipe.items()][0] == "Digitala lånekort för alla över 13 år"


# --- bad input: one broken source beside a good one ---------------------------------------------


def _route_loop(server) -> None:
    server.route("/flaky.xml", handler=redirect("/flaky-b.xml"))
    server.route("/flaky-b.xml", handler=redirect("/flaky.xml"))


BROKEN = {
    # case: (route the broken /flaky.xml, error key, words of the fix, settings overrides)
    "malformed_xml": (lambda s: s.route("/flaky.xml", body=feed("trasig.xml"), headers=RSS),
                      "malformed_feed", ["broken", "feed validator"], {}),
    "html_page": (lambda s: s.route("/flaky.xml", body=feed("startsida.html"), headers=HTML),
                  "not_a_feed", ["HTML page", "feed URL"], {}),
    "empty_body": (lambda s: s.route("/flaky.xml", body=b"", headers=RSS),
                   "empty_body", ["empty body", "open the URL in a browser"], {}),
    "http_404": (lambda s: s.route("/flaky.xml", status=404, body=b"saknas"),
                 "http_404", ["404", "update sources.yaml"], {}),
    "http_410": (lambda s: s.route("/flaky.xml", status=410, body=b"borta"),
                 "http_410", ["410", "disabled"], {}),
    "http_429": (lambda s: s.route("/flaky.xml", status=429, headers={"Retry-After": "600"}),
                 "http_429", ["429", "10 min", "raise interval"], {}),
    "http_500": (lambda s: s.route("/flaky.xml", status=500, body=b"fel"),
                 "http_500", ["500", "retries with backoff", "contact the site owner"], {}),
    "slow_drip": (lambda s: s.route("/flaky.xml", handler=drip([b"<rss>"] * 40, delay=0.05)),
                  "timeout", ["longer than 1 s", "raise SCANNER_TIMEOUT"], {"timeout": 1.0}),
    "endless_body": (lambda s: s.route("/flaky.xml", handler=endless()),
                     "body_too_large", ["65,536 bytes", "SCANNER_MAX_BODY_BYTES"], {}),
    "redirect_loop": (_route_loop, "redirect_loop", ["redirect loop", "browser"], {}),
    "robots_disallowed": (lambda s: s.route("/robots.txt", body=b"User-agent: *\n"
                                            b"Disallow: /flaky.xml\n"),
                          "robots_disallowed", ["robots.txt", "ask the site owner"], {}),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_source_fails_alone_keeps_its_items_and_names_the_fix(pipe, http_server, case):
    route_broken, error_key, fix_words, overrides = BROKEN[case]
    http_server.route("/good.rss", body=feed("lansbibliotek-1.rss"), headers=RSS)
    http_server.route("/flaky.xml", body=feed("stadsbibliotek.atom"), headers=ATOM)
    pipe.sources(pipe.source("lansbibliotek", "/good.rss"),
                 pipe.source("kommunbibliotek", "/flaky.xml"))
    assert pipe.scan().exit_code == 0
    assert (pipe.count(), pipe.count("kommunbibliotek")) == (4, 2)

    # Two hours later both are due: the good feed has a new item, the other one is broken.
    http_server.route("/good.rss", body=feed("lansbibliotek-2.rss"), headers=RSS)
    route_broken(http_server)
    started = time.perf_counter()
    report = pipe.scan(now=NOW + 2 * HOUR, **overrides)
    elapsed = time.perf_counter() - started

    results = by_id(report)
    broken, good = results["kommunbibliotek"], results["lansbibliotek"]
    assert (broken.failed, broken.error_key, broken.new) == (True, error_key, 0)
    assert broken.message.startswith("kommunbibliotek: "), broken.message
    for words in fix_words:
        assert words in broken.message, broken.message
    assert (good.failed, good.new, good.unchanged) == (False, 1, 2)
    assert report.exit_code == 1
    # Nothing stored before was lost; the good source's new item is there.
    assert (pipe.count(), pipe.count("kommunbibliotek"), pipe.count("lansbibliotek")) == (5, 2, 3)
    health = pipe.health(NOW + 2 * HOUR)["kommunbibliotek"]
    assert (health.error_streak, health.last_error_key) == (1, error_key)
    assert health.last_success == NOW and health.last_error == broken.message
    assert elapsed < 6  # the slow server was cut off at SCANNER_TIMEOUT, not waited for


def test_check_source_reports_a_parse_failure_and_stores_nothing(pipe, http_server):
    http_server.route("/trasig.xml", body=feed("trasig.xml"), headers=RSS)
    pipe.sources(pipe.source("bokbussen", "/trasig.xml"))
    check = pipe.scanner().check_source("bokbussen", now=NOW)
    assert check.fetch.outcome == "ok" and check.parse.failed
    assert check.parse.error_key == "malformed_feed" and "line 5" in check.parse.message
    assert check.items == ()
    assert pipe.count() == 0 and pipe.state("bokbussen") is None


def test_windows_1252_bytes_labelled_utf8_are_stored_right(pipe, http_server):
    http_server.route("/cp1252.rss", body=feed("teckenkodning-cp1252.rss"), headers=RSS)
    http_server.route("/good.rss", body=feed("lansbibliotek-1.rss"), headers=RSS)
    pipe.sources(pipe.source("regionbibliotek", "/cp1252.rss"),
                 pipe.source("lansbibliotek", "/good.rss"))

    report = pipe.scan()

    result = by_id(report)["regionbibliotek"]
    assert (result.failed, result.new) == (False, 2)
    assert any("declares charset utf-8" in w and "cp1252" in w for w in result.warnings)
    assert all(w.startswith("regionbibliotek: ") for w in result.warnings)
    titles = {i.title for i in pipe.items("regionbibliotek")}
    assert titles == {"Åtta kommuner får stöd för läsfrämjande på förskolor",
                      "Öppen föreläsning: äldres digitala delaktighet"}
    summaries = " ".join(i.summary for i in pipe.items("regionbibliotek"))
    assert "högläsning" in summaries and "Ã" not in summaries and "\ufffd" not in summaries
    assert by_id(report)["lansbibliotek"].new == 2


def test_duplicate_guids_in_one_feed_are_stored_once(pipe, http_server):
    http_server.route("/dubbla.rss", body=feed("dubbla-guid.rss"), headers=RSS)
    pipe.sources(pipe.source("kulturforvaltningen", "/dubbla.rss"))

    result = by_id(pipe.scan())["kulturforvaltningen"]

    assert (result.new, result.skipped_entries, result.failed) == (2, 1, False)
    titles = [i.title for i in pipe.items()]
    assert sorted(titles) == ["Biblioteksplanen antagen av kommunfullmäktige",
                              "Sommarboken 2027 – anmälan öppnar"]


def test_entries_without_links_or_dates_are_stored_with_date_missing(pipe, http_server):
    body = feed("utan-lank-och-datum.rss")
    http_server.route("/kort.rss", body=body, headers=RSS)
    pipe.sources(pipe.source("skolbibliotek", "/kort.rss"))

    assert by_id(pipe.scan())["skolbibliotek"].new == 2
    items = pipe.items()
    assert len(items) == 2
    assert all(i.date_missing and i.published == NOW and i.url is None for i in items)

    # A day later the same entries (the body differs only in whitespace): no duplicates,
    # and their stand-in date stays the time they were first seen.
    http_server.route("/kort.rss", body=body.replace(b"</channel>", b"\n</channel>"), headers=RSS)
    later = by_id(pipe.scan(now=NOW + 24 * HOUR))["skolbibliotek"]
    assert (later.fetch_outcome, later.new, later.unchanged) == ("ok", 0, 2)
    assert [(i.published, i.revision) for i in pipe.items()] == [(NOW, 1), (NOW, 1)]


# --- conditional GET and unchanged bodies -------------------------------------------------------


def test_304_via_etag_is_not_modified_and_keeps_the_validators(pipe, http_server):
    body = feed("lansbibliotek-1.rss")
    etag, modified = '"lan-v1"', "Wed, 18 Nov 2026 12:00:00 GMT"

    def handler(request):  # like many servers, the 304 repeats no validators
        if request.headers.get("if-none-match") == etag:
            return Reply(304, {})
        return Reply(200, {**RSS, "ETag": etag, "Last-Modified": modified}, body)

    http_server.route("/lan.rss", handler=handler)
    pipe.sources(pipe.source("lansbibliotek", "/lan.rss"))
    assert by_id(pipe.scan())["lansbibliotek"].new == 2

    second = by_id(pipe.scan(now=NOW + 2 * HOUR))["lansbibliotek"]

    assert (second.fetch_outcome, second.new, second.updated, second.failed) == (
        "not_modified", 0, 0, False)
    state = pipe.state("lansbibliotek")
    assert (state.etag, state.last_modified) == (etag, modified)
    assert state.last_success == NOW + 2 * HOUR and state.next_fetch == NOW + 3 * HOUR
    assert pipe.count() == 2
    # The validators are still sent on the next fetch.
    pipe.scan(now=NOW + 4 * HOUR)
    feed_requests = [r for r in http_server.requests if r.path == "/lan.rss"]
    assert [r.headers.get("if-none-match") for r in feed_requests] == [None, etag, etag]
    assert feed_requests[-1].headers.get("if-modified-since") == modified


def test_304_via_conditional_handler_with_last_modified_only(pipe, http_server):
    modified = "Wed, 18 Nov 2026 12:00:00 GMT"
    http_server.route("/lan.rss", handler=conditional(feed("lansbibliotek-1.rss"),
                                                      last_modified=modified, headers=RSS))
    pipe.sources(pipe.source("lansbibliotek", "/lan.rss"))
    pipe.scan()
    second = by_id(pipe.scan(now=NOW + 2 * HOUR))["lansbibliotek"]
    assert second.fetch_outcome == "not_modified"
    assert pipe.state("lansbibliotek").last_modified == modified and pipe.count() == 2


def test_same_body_without_validators_is_unchanged(pipe, http_server):
    http_server.route("/lan.rss", body=feed("lansbibliotek-1.rss"), headers=RSS)
    pipe.sources(pipe.source("lansbibliotek", "/lan.rss"))
    pipe.scan()

    second = by_id(pipe.scan(now=NOW + 2 * HOUR))["lansbibliotek"]

    assert (second.fetch_outcome, second.new, second.updated, second.failed) == (
        "unchanged", 0, 0, False)
    assert pipe.count() == 2
    state = pipe.state("lansbibliotek")
    assert state.last_success == NOW + 2 * HOUR and state.error_streak == 0


# --- HTTP failures and the schedule -------------------------------------------------------------


def test_404_sets_error_key_streak_and_pushes_next_fetch_back(pipe, http_server):
    http_server.route("/saknas.rss", status=404, body=b"Sidan finns inte")
    pipe.sources(pipe.source("kommunbibliotek", "/saknas.rss", interval="1h"))

    result = by_id(pipe.scan())["kommunbibliotek"]

    assert (result.error_key, result.fetch_outcome) == ("http_404", "error")
    assert http_server.url("/saknas.rss") in result.message
    health = pipe.health()["kommunbibliotek"]
    assert (health.error_streak, health.last_error_key) == (1, "http_404")
    assert NOW + 0.9 * HOUR <= health.next_fetch <= NOW + 1.1 * HOUR
    assert pipe.due(NOW + timedelta(minutes=30)) == []
    assert pipe.due(NOW + 1.2 * HOUR) == ["kommunbibliotek"]


def test_410_disables_the_source_for_later_scans(pipe, http_server):
    http_server.route("/borta.rss", status=410, body=b"Gone")
    http_server.route("/lan.rss", body=feed("lansbibliotek-1.rss"), headers=RSS)
    pipe.sources(pipe.source("nedlagd", "/borta.rss"), pipe.source("lansbibliotek", "/lan.rss"))

    report = pipe.scan()

    assert by_id(report)["nedlagd"].error_key == "http_410"
    assert "disabled" in by_id(report)["nedlagd"].message
    assert pipe.health()["nedlagd"].disabled_reason
    later = NOW + 30 * 24 * HOUR
    assert pipe.due(later) == ["lansbibliotek"]
    assert [s.id for s in pipe.scanner().select_sources(None, True, later)] == ["lansbibliotek"]
    assert list(by_id(pipe.scan(now=later))) == ["lansbibliotek"]
    assert list(by_id(pipe.scan(now=later, all_sources=True))) == ["lansbibliotek"]
    assert http_server.hits["/borta.rss"] == 1
    # Named explicitly, staff can still try it (e.g. after fixing the url).
    assert list(by_id(pipe.scan("nedlagd", now=later))) == ["nedlagd"]


def test_429_retry_after_is_respected(pipe, http_server):
    http_server.route("/hett.rss", status=429, headers={"Retry-After": "7200"})
    pipe.sources(pipe.source("trafikerad", "/hett.rss", interval="1h"))

    result = by_id(pipe.scan())["trafikerad"]

    assert result.error_key == "http_429" and "2.0 h" in result.message
    assert pipe.health()["trafikerad"].next_fetch >= NOW + 2 * HOUR
    assert pipe.due(NOW + 1.5 * HOUR) == []
    assert pipe.due(NOW + 2 * HOUR) == ["trafikerad"]


def test_500_backs_off_exponentially_then_recovers(pipe, http_server):
    http_server.route("/fel.rss", status=500, body=b"Internal Server Error")
    pipe.sources(pipe.source("instabil", "/fel.rss", interval="1h"))

    now, delays = NOW, []
    for streak in (1, 2, 3):
        assert pipe.due(now) == ["instabil"]
        assert by_id(pipe.scan(now=now))["instabil"].error_key == "http_500"
        health = pipe.health(now)["instabil"]
        assert health.error_streak == streak
        delays.append(health.next_fetch - now)
        now = health.next_fetch
    for streak, delay in enumerate(delays, start=1):
        base = HOUR * 2 ** (streak - 1)
        assert 0.9 * base <= delay <= 1.1 * base, (streak, delay)

    http_server.route("/fel.rss", body=feed("lansbibliotek-1.rss"), headers=RSS)
    assert by_id(pipe.scan(now=now))["instabil"].new == 2
    health = pipe.health(now)["instabil"]
    assert (health.error_streak, health.last_error_key, health.last_success) == (0, None, now)
    assert health.next_fetch == now + HOUR


def test_301_permanent_redirect_is_followed_and_reported(pipe, http_server):
    http_server.route("/ny.rss", body=feed("lansbibliotek-1.rss"), headers=RSS)
    http_server.route("/gammal.rss", handler=redirect("/ny.rss", status=301))
    pipe.sources(pipe.source("lansbibliotek", "/gammal.rss"))

    report = pipe.scan()

    assert report.moved == (("lansbibliotek", http_server.url("/ny.rss")),)
    result = by_id(report)["lansbibliotek"]
    assert (result.failed, result.new) == (False, 2)
    assert http_server.url("/ny.rss") in result.message and "sources.yaml" in result.message
    assert pipe.health()["lansbibliotek"].moved_to == http_server.url("/ny.rss")
    assert report.exit_code == 0


def test_temporary_redirect_is_not_reported_as_moved(pipe, http_server):
    http_server.route("/ny.rss", body=feed("lansbibliotek-1.rss"), headers=RSS)
    http_server.route("/tillfallig.rss", handler=redirect("/ny.rss", status=302))
    pipe.sources(pipe.source("lansbibliotek", "/tillfallig.rss"))
    report = pipe.scan()
    assert report.moved == () and by_id(report)["lansbibliotek"].new == 2


# --- items over time and across sources ---------------------------------------------------------


def test_changed_item_is_updated_in_place(pipe, http_server):
    http_server.route("/konsulent.rss", body=feed("andrad-1.rss"), headers=RSS)
    pipe.sources(pipe.source("konsulenterna", "/konsulent.rss"))
    pipe.scan()

    http_server.route("/konsulent.rss", body=feed("andrad-2.rss"), headers=RSS)
    result = by_id(pipe.scan(now=NOW + 2 * HOUR))["konsulenterna"]

    assert (result.new, result.updated, result.unchanged) == (0, 1, 0)
    [item] = pipe.items()
    assert item.title == "Konferens om barns läsning flyttas till april"
    assert item.summary.startswith("Konferensen flyttas till den 14 april")
    assert (item.revision, item.fetched) == (2, NOW)


def _story_sources(pipe, http_server):
    """Two sources carrying the same story, one link with utm_* parameters, one without."""
    http_server.route("/a.rss", body=feed("samma-nyhet-a.rss"), headers=RSS)
    http_server.route("/b.json", body=feed("samma-nyhet-b.json"), headers=JSON_FEED)
    pipe.sources(pipe.source("bibliotekstidningen", "/a.rss"),
                 pipe.source("nyhetsbrevet", "/b.json"))


STORY_URL = "https://nyheter.example.se/2026/11/skolbiblioteksutredning"


def test_same_story_from_two_sources_is_one_item_with_both(pipe, http_server):
    _story_sources(pipe, http_server)

    report = pipe.scan()

    assert report.exit_code == 0
    results = by_id(report)
    assert results["bibliotekstidningen"].new + results["nyhetsbrevet"].new == 3
    items = pipe.items()
    assert len(items) == 2
    [story] = [i for i in items if i.canonical_url == STORY_URL]
    assert set(story.sources) == {"bibliotekstidningen", "nyhetsbrevet"}
    assert story.source in story.sources
    assert story in pipe.items("nyhetsbrevet") and story in pipe.items("bibliotekstidningen")


def test_the_source_that_carried_a_story_first_is_listed_first(pipe, http_server):
    _story_sources(pipe, http_server)
    pipe.scan("bibliotekstidningen")
    pipe.scan("nyhetsbrevet", now=NOW + HOUR)
    [story] = [i for i in pipe.items() if i.canonical_url == STORY_URL]
    assert (story.source, story.sources) == ("bibliotekstidningen",
                                             ("bibliotekstidningen", "nyhetsbrevet"))
    assert story.title == "Regeringen tillsätter utredning om skolbibliotek"
    assert story.revision == 1 and pipe.count() == 2


def test_a_shared_story_is_not_rewritten_by_the_second_source_when_it_did_not_change(
        pipe, http_server):
    _story_sources(pipe, http_server)
    pipe.scan("bibliotekstidningen")
    pipe.scan("nyhetsbrevet", now=NOW + HOUR)

    # The newsletter gets a new, unrelated item; its copy of the shared story is unchanged.
    data = json.loads(feed("samma-nyhet-b.json"))
    data["items"].append({
        "id": "nb-443", "url": "https://nyhetsbrev.example.se/2026/11/e-medier",
        "title": "Ny modell för e-medier på remiss",
        "content_text": "Kommunerna får lämna synpunkter på den nya ersättningsmodellen.",
        "date_published": "2026-11-21T09:00:00+01:00"})
    http_server.route("/b.json", body=json.dumps(data, ensure_ascii=False).encode(),
                      headers=JSON_FEED)
    result = by_id(pipe.scan("nyhetsbrevet", now=NOW + 2 * HOUR))["nyhetsbrevet"]

    [story] = [i for i in pipe.items() if i.canonical_url == STORY_URL]
    assert (result.new, result.updated) == (1, 0)
    assert story.revision == 1
    assert story.title == "Regeringen tillsätter utredning om skolbibliotek"


def test_include_and_exclude_filters(pipe, http_server):
    http_server.route("/kommun.rss", body=feed("filter.rss"), headers=RSS)
    pipe.sources(pipe.source("kommunen", "/kommun.rss", include=["bibliotek*", "LÄS*"],
                             exclude=["fotboll*"]))

    result = by_id(pipe.scan())["kommunen"]

    assert (result.new, result.skipped_entries) == (2, 2)
    assert sorted(i.title for i in pipe.items()) == [
        "Biblioteket i Centrum får längre öppettider", "Läsårets sista föräldramöte"]


def test_filters_from_defaults_are_inherited(pipe, http_server):
    http_server.route("/kommun.rss", body=feed("filter.rss"), headers=RSS)
    pipe.sources(pipe.source("kommunen", "/kommun.rss"), defaults={"exclude": ["cykelväg"]})
    assert by_id(pipe.scan())["kommunen"].new == 3
    assert "Ny gång- och cykelväg vid skolan" not in {i.title for i in pipe.items()}


def test_source_tags_are_added_to_items(pipe, http_server):
    _story_sources(pipe, http_server)
    http_server.route("/lan.rss", body=feed("lansbibliotek-1.rss"), headers=RSS)
    pipe.sources(pipe.source("bibliotekstidningen", "/a.rss", tags=["skolbibliotek"]),
                 pipe.source("nyhetsbrevet", "/b.json",
                             tags=["skolbibliotek", "styrning-finansiering"]),
                 pipe.source("lansbibliotek", "/lan.rss"),
                 defaults={"tags": ["kompetens-ledarskap"]})

    pipe.scan()

    tags = {i.title: set(i.tags) for i in pipe.items()}  # automatic tags come on top
    story = next(i for i in pipe.items() if i.canonical_url == STORY_URL)
    # the shared story carries the tags of both sources
    assert set(story.tags) >= {"skolbibliotek", "styrning-finansiering"}
    assert tags["Bibliotekslagen tio år – vad har hänt?"] >= {
        "skolbibliotek", "styrning-finansiering"}
    assert "kompetens-ledarskap" in tags["Läsfrämjande nätverk träffas i Örebro"]
    lan = next(i for i in pipe.items() if i.title == "Läsfrämjande nätverk träffas i Örebro")
    assert [t.origin for t in lan.tag_details if t.tag == "kompetens-ledarskap"] == ["source"]


# --- which sources a scan takes -----------------------------------------------------------------


def test_a_source_fetched_now_is_not_due_until_its_interval_passed(pipe, http_server):
    http_server.route("/lan.rss", body=feed("lansbibliotek-1.rss"), headers=RSS)
    http_server.route("/stad.atom", body=feed("stadsbibliotek.atom"), headers=ATOM)
    pipe.sources(pipe.source("lansbibliotek", "/lan.rss", interval="30m"),
                 pipe.source("stadsbibliotek", "/stad.atom", interval="2h"),
                 pipe.source("avstangd", "/stad.atom", enabled=False))
    minutes = timedelta(minutes=1)

    assert pipe.due(NOW) == ["lansbibliotek", "stadsbibliotek"]
    assert list(by_id(pipe.scan())) == ["lansbibliotek", "stadsbibliotek"]
    hits = http_server.hits["/lan.rss"]

    assert pipe.due(NOW + 10 * minutes) == []
    empty = pipe.scan(now=NOW + 10 * minutes)
    assert (empty.results, empty.exit_code) == ((), 0)
    assert http_server.hits["/lan.rss"] == hits  # nothing was fetched
    assert pipe.due(NOW + 30 * minutes) == ["lansbibliotek"]
    assert list(by_id(pipe.scan(now=NOW + 30 * minutes))) == ["lansbibliotek"]
    assert pipe.due(NOW + 60 * minutes) == ["lansbibliotek"]
    assert pipe.due(NOW + 120 * minutes) == ["lansbibliotek", "stadsbibliotek"]
    # --all takes every enabled source, due or not; a named source is taken even if disabled.
    assert [s.id for s in pipe.scanner().select_sources(None, True, NOW)] == [
        "lansbibliotek", "stadsbibliotek"]
    assert [s.id for s in pipe.scanner().select_sources(["avstangd"], False, NOW)] == [
        "avstangd"]


def test_unknown_source_id_is_a_clear_error(pipe, http_server):
    pipe.sources(pipe.source("lansbibliotek", "/lan.rss"))
    with pytest.raises(UnknownSourceError, match="unknown source 'finns-inte'.*lansbibliotek"):
        pipe.scanner().scan(["finns-inte"], now=NOW)


# --- exit codes ---------------------------------------------------------------------------------


def test_exit_codes_0_when_all_ok_1_when_some_failed_3_when_all_failed(pipe, http_server):
    http_server.route("/lan.rss", body=feed("lansbibliotek-1.rss"), headers=RSS)
    http_server.route("/stad.atom", body=feed("stadsbibliotek.atom"), headers=ATOM)
    pipe.sources(pipe.source("lansbibliotek", "/lan.rss"),
                 pipe.source("stadsbibliotek", "/stad.atom"))
    assert pipe.scan().exit_code == 0

    http_server.route("/stad.atom", status=503, headers={"Retry-After": "60"})
    later = pipe.scan(now=NOW + 3 * HOUR)
    assert [r.failed for r in later.results] == [False, True] and later.exit_code == 1

    http_server.route("/lan.rss", body=feed("startsida.html"), headers=HTML)
    worst = pipe.scan(all_sources=True, now=NOW + 9 * HOUR)
    assert [r.error_key for r in worst.results] == ["not_a_feed", "http_503"]
    assert worst.exit_code == 3
    assert pipe.count() == 4


# --- sources check --fetch: a test fetch stores nothing -----------------------------------------


def test_check_source_shows_items_and_stores_nothing(pipe, http_server):
    http_server.route("/lan.rss", handler=conditional(feed("lansbibliotek-1.rss"),
                                                      etag='"v1"', headers=RSS))
    pipe.sources(pipe.source("lansbibliotek", "/lan.rss", tags=["kompetens-ledarskap"]))
    assert (pipe.count(), pipe.state("lansbibliotek")) == (0, None)

    check = pipe.scanner().check_source("lansbibliotek", now=NOW)

    assert check.fetch.outcome == "ok" and check.parse.format == "rss20"
    assert [i.title for i in check.items] == ["Ny fortbildning i källkritik för bibliotekspersonal",
                                              "Läsfrämjande nätverk träffas i Örebro"]
    assert all(i.tags == ("kompetens-ledarskap",) for i in check.items)
    assert (pipe.count(), pipe.state("lansbibliotek")) == (0, None)

    # After a real scan (which stored an ETag) a test fetch still gets the whole feed,
    # even one with a new item, and still stores nothing.
    pipe.scan()
    http_server.route("/lan.rss", body=feed("lansbibliotek-2.rss"), headers=RSS)
    state_before = pipe.state("lansbibliotek")
    check = pipe.scanner().check_source("lansbibliotek", now=NOW + HOUR)
    assert len(check.items) == 3
    assert pipe.count() == 2 and pipe.state("lansbibliotek") == state_before


def test_check_source_of_a_failing_source_gives_the_message(pipe, http_server):
    http_server.route("/saknas.rss", status=404)
    pipe.sources(pipe.source("kommunbibliotek", "/saknas.rss"))
    check = pipe.scanner().check_source("kommunbibliotek", now=NOW)
    assert check.fetch.error_key == "http_404" and check.parse is None and check.items == ()
    assert check.fetch.message.startswith("kommunbibliotek: HTTP 404")
    assert pipe.count() == 0 and pipe.state("kommunbibliotek") is None


FREEZE_IN_A_FRESH_PROCESS = """
import gc, sys
from pathlib import Path
from scanner.core import Scanner
from scanner.settings import Settings
folder = Path(sys.argv[1])
(folder / "sources.yaml").write_text("sources: []\\n", encoding="utf-8")
scanner = Scanner(Settings(config_dir=folder, database_url=f"sqlite:///{folder / 'db'}"))
before = gc.get_freeze_count()
scanner.scan(all_sources=True)
first = gc.get_freeze_count()
scanner.scan(all_sources=True)
print(before, first, gc.get_freeze_count(), *gc.get_threshold())
"""


def test_a_process_freezes_its_imports_out_of_garbage_collection_at_its_first_scan(tmp_path):
    done = subprocess.run([sys.executable, "-c", FREEZE_IN_A_FRESH_PROCESS, str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    before, first, second, *thresholds = map(int, done.stdout.split())
    assert before == 0 and first > 20_000  # the imported modules' objects
    assert second == first  # once per process: later scans freeze nothing new
    assert tuple(thresholds) == GC_THRESHOLDS  # and it collects less often
