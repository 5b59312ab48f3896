"""scanner.pages: list pages, article pages, watched pages and sniffed feeds, fetched for real
from the loopback server (saved Sitevision/WordPress pages in tests/data/pages/)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest

from scanner import pages
from scanner.fetch import Fetcher
from scanner.models import SourceState
from scanner.pages import PageOutcome, describe_page_check, run_page_source, run_page_sources
from tests.fetch.helpers import make_settings, make_source
from tests.httpserver import Reply, conditional, redirect
from tests.parse.test_html import SITEVISION, WORDPRESS
from tests.test_core import clean_environment  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("clean_environment")

PAGES = Path(__file__).resolve().parent / "data" / "pages"
FEEDS = Path(__file__).resolve().parent / "data" / "feeds"
NOW = datetime(2021, 1, 14, 12, 0, tzinfo=timezone.utc)
HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
WP_HOST = b"https://regionbibliotekstockholm.se"
SV_LIST = "/kultur-och-fritid/regionbiblioteket/nyheter.html"
SV_ARTICLES = "/kultur-och-fritid/regionbiblioteket/nyheter/"
SV_FIRST = SV_ARTICLES + "2021-01-13-lasframjande-i-hela-lanet.html"
NO_DATE = {key: css for key, css in SITEVISION.items() if key != "date"}


def page_bytes(name: str, server=None) -> bytes:
    """A saved page; the WordPress site's absolute links pointed at the loopback server."""
    body = (PAGES / name).read_bytes()
    return body.replace(WP_HOST, server.base_url.encode()) if server else body


def serve(server, path: str, name: str, **kwargs) -> str:
    return server.route(path, body=page_bytes(name, server), headers=HTML, **kwargs)


def run(source, state=None, known=lambda urls: set(), now=NOW) -> PageOutcome:
    async def go() -> PageOutcome:
        async with Fetcher(make_settings()) as fetcher:
            return await run_page_source(fetcher, source, state, now, known)

    return asyncio.run(go())


def html_source(url: str, selectors=WORDPRESS, **fields):
    return make_source(url, "rbs", kind="html", selectors=tuple(selectors.items()), **fields)


def state_after(outcome: PageOutcome, **fields) -> SourceState:
    fetched = outcome.fetched
    return SourceState("rbs", etag=fetched.etag, last_modified=fetched.last_modified,
                       body_hash=fetched.body_hash, **fields)


def wordpress_site(server, second: str = "wordpress-nyheter-sida-2.html") -> str:
    serve(server, "/nyheter/page/2/", second)
    return serve(server, "/nyheter/", "wordpress-nyheter.html")


# --------------------------------------------------------------------------- kind: html


def test_two_list_pages_are_read_with_max_pages_2(http_server):
    outcome = run(html_source(wordpress_site(http_server), max_pages=2))
    assert outcome.fetched.outcome == "ok" and outcome.fetched.body_hash
    entries = outcome.parsed.entries
    assert len(entries) == 7 and len({e.url for e in entries}) == 7
    assert entries[4].title == "Rapport: folkbibliotek i förändring"
    assert all(e.url.startswith(http_server.base_url) for e in entries)
    assert outcome.pages == (http_server.url("/nyheter/"), http_server.url("/nyheter/page/2/"))
    assert dict(outcome.diagnostics)["item"] == 7
    assert http_server.hits["/nyheter/page/2/"] == 1


def test_only_the_first_list_page_by_default(http_server):
    outcome = run(html_source(wordpress_site(http_server)))
    assert len(outcome.parsed.entries) == 4
    assert http_server.hits["/nyheter/page/2/"] == 0


def test_pages_are_deduplicated_by_link_and_never_read_twice(http_server):
    url = wordpress_site(http_server, "wordpress-nyheter-sida-2-forskjuten.html")
    outcome = run(html_source(url, max_pages=5))
    urls = [e.url for e in outcome.parsed.entries]
    assert len(urls) == 7 and len(set(urls)) == 7  # "God jul" is on both pages, kept once
    assert http_server.hits["/nyheter/"] == 1 and http_server.hits["/nyheter/page/2/"] == 1
    assert any("repeated a link already listed" in w for w in outcome.warnings)


def test_a_next_page_redirecting_to_the_first_is_not_read_twice(http_server):
    url = serve(http_server, "/nyheter/", "wordpress-nyheter.html")
    http_server.route("/nyheter/page/2/", handler=redirect("/nyheter/"))
    outcome = run(html_source(url, max_pages=3))
    assert outcome.pages == (url,) and len(outcome.parsed.entries) == 4


def test_a_missing_next_page_is_a_warning_not_a_failure(http_server):
    url = serve(http_server, "/nyheter/", "wordpress-nyheter.html")  # page 2 answers 404
    outcome = run(html_source(url, max_pages=2))
    assert not outcome.failed and len(outcome.parsed.entries) == 4
    assert any("list page 2" in w and "404" in w for w in outcome.warnings)


@pytest.mark.parametrize("etag", ['"v1"', None])
def test_an_unchanged_list_page_fetches_nothing_else(http_server, etag):
    body = page_bytes("wordpress-nyheter.html", http_server)
    http_server.route("/nyheter/", handler=conditional(body, etag=etag, headers=HTML))
    serve(http_server, "/nyheter/page/2/", "wordpress-nyheter-sida-2.html")
    source = html_source(http_server.url("/nyheter/"), max_pages=2, fetch_article=True)
    first = run(source, known=lambda urls: set(urls))
    second = run(source, state_after(first), known=lambda urls: set())
    assert second.fetched.outcome == ("not_modified" if etag else "unchanged")
    assert second.parsed is None
    assert http_server.hits["/nyheter/"] == 2 and http_server.hits["/nyheter/page/2/"] == 1
    paths = [r.path for r in http_server.requests if r.path != "/robots.txt"]
    assert paths == ["/nyheter/", "/nyheter/page/2/", "/nyheter/"]  # no article, no page 2


def test_selectors_matching_nothing_fail_the_source_with_a_hint(http_server):
    body = page_bytes("wordpress-nyheter.html", http_server)
    http_server.route("/nyheter/", handler=conditional(body, etag='"v1"', headers=HTML))
    outcome = run(html_source(http_server.url("/nyheter/"), {"item": "li.news-item"}))
    fetched = outcome.fetched
    assert (fetched.outcome, fetched.error_key, outcome.parsed) == ("error", "no_items", None)
    assert fetched.message.startswith("rbs: the item selector 'li.news-item' matched 0 elements")
    assert "`article.post`" in fetched.message or "`article`" in fetched.message
    assert (fetched.etag, fetched.last_modified, fetched.body_hash, fetched.body) == (None,) * 4
    assert dict(outcome.diagnostics)["item"] == 0


@pytest.mark.parametrize("kind", ["html", "page"])
def test_a_login_wall_fails_the_source(http_server, kind):
    url = serve(http_server, "/intranat/", "inloggning.html")
    source = replace(html_source(url, {"item": "article"}), kind=kind)
    outcome = run(source)
    assert outcome.fetched.error_key == "login_wall" and outcome.fetched.body_hash is None
    assert outcome.fetched.message.startswith("rbs: the page is a login page")


def test_a_cookie_wall_fails_the_source(http_server):
    url = serve(http_server, "/nyheter/", "kakvagg.html")
    outcome = run(html_source(url, {"item": "li.news"}))
    assert outcome.fetched.error_key == "cookie_wall"


# --------------------------------------------------------------------------- articles


def sitevision_site(server) -> str:
    serve(server, SV_FIRST, "artikel-sitevision.html")
    return serve(server, SV_LIST, "sitevision-nyheter.html")


def test_articles_fill_the_date_and_text_of_undated_entries(http_server):
    outcome = run(html_source(sitevision_site(http_server), NO_DATE))
    first = outcome.parsed.entries[0]
    assert first.date_missing is False
    assert first.published == datetime(2021, 1, 13, 9, 15, tzinfo=timezone.utc)  # 10.15 in Örebro
    assert "Den första träffen hålls digitalt i februari" in first.summary
    assert "Publicerad" not in first.summary and len(first.summary) <= 1000
    assert "<p>" in first.content_html
    assert len(outcome.parsed.entries) == 6  # the other articles answer 404: kept, with warnings
    assert all(e.date_missing for e in outcome.parsed.entries[1:])
    assert sum("was not fetched" in w for w in outcome.warnings) == 5
    assert not outcome.failed


def test_articles_already_in_the_archive_are_not_fetched(http_server):
    list_url = sitevision_site(http_server)
    asked = []

    def known(urls):
        asked.append(list(urls))
        return {url for url in urls if url != http_server.url(SV_FIRST)}

    outcome = run(html_source(list_url, NO_DATE), known=known)
    assert len(asked) == 1 and len(asked[0]) == 6
    assert http_server.hits[SV_FIRST] == 1
    assert [p for p in http_server.hits if p.startswith(SV_ARTICLES)] == [SV_FIRST]
    assert outcome.parsed.entries[0].date_missing is False and not outcome.warnings


def test_robots_txt_disallowing_articles_is_a_warning_and_the_entry_stays(http_server):
    list_url = sitevision_site(http_server)
    http_server.route("/robots.txt", body=f"User-agent: *\nDisallow: {SV_ARTICLES}\n".encode(),
                      headers={"Content-Type": "text/plain"})
    outcome = run(html_source(list_url, NO_DATE))
    assert not outcome.failed and len(outcome.parsed.entries) == 6
    assert outcome.parsed.entries[0].date_missing is True
    assert http_server.hits[SV_FIRST] == 0
    assert any("robots.txt" in w and SV_FIRST in w for w in outcome.warnings)


def test_fetch_article_replaces_thin_teasers_with_the_article_text(http_server):
    url = wordpress_site(http_server)
    article = "/2021/01/13/nu-oppnar-ansokan-for-utvecklingsmedel/"
    serve(http_server, article, "artikel.html")
    outcome = run(html_source(url, fetch_article=True))
    first = outcome.parsed.entries[0]
    assert "Fyll i ansökningsformuläret" in first.summary
    assert first.published == datetime(2021, 1, 13, 8, 30, 12, tzinfo=timezone.utc)
    assert http_server.hits[article] == 1


def test_at_most_max_articles_per_cycle(http_server, monkeypatch):
    monkeypatch.setattr(pages, "MAX_ARTICLES", 2)
    outcome = run(html_source(sitevision_site(http_server), NO_DATE))
    fetched = [p for p in http_server.hits if p.startswith(SV_ARTICLES) or p.startswith("/4.")]
    assert len(fetched) == 2
    assert any("only the first 2 were fetched" in w for w in outcome.warnings)


# --------------------------------------------------------------------------- kind: page


class Watched:
    """A page whose version the test changes between scans."""

    def __init__(self, server, name: str) -> None:
        self.name = name
        server.route("/biblioteksplan.html", handler=lambda r: Reply(200, HTML, self.body()))
        self.url = server.url("/biblioteksplan.html")

    def body(self) -> bytes:
        return page_bytes(self.name)


def test_a_watched_page_first_sighting_unchanged_and_changed(http_server):
    page = Watched(http_server, "strategi-v1.html")
    source = make_source(page.url, "plan", kind="page")
    first = run(source)
    entry, = first.parsed.entries
    assert entry.title == "Ny bevakad sida: Regional biblioteksplan 2021–2024 - Region Örebro län"
    assert entry.url == page.url and entry.guid.startswith("page:plan:")
    assert entry.published == NOW and "Sidan bevakas från och med nu" in entry.summary
    assert "fyra prioriterade områden" in first.page_text

    state = SourceState("plan", body_hash=first.fetched.body_hash, page_text=first.page_text)
    page.name = "strategi-v2-datum.html"  # only the date and the view counter differ
    quiet = run(source, state)
    assert quiet.fetched.outcome == "ok" and quiet.parsed.entries == ()
    assert quiet.page_text is None and quiet.text

    page.name = "strategi-v3-nytt-stycke.html"
    changed = run(source, replace(state, body_hash=quiet.fetched.body_hash))
    entry, = changed.parsed.entries
    assert entry.title.startswith("Ändrad sida: Regional biblioteksplan")
    assert "Nytt stycke: ”Från och med 2022 ingår även meröppna bibliotek" in entry.summary
    assert "% av texten har ändrats" in entry.summary
    assert entry.guid != first.parsed.entries[0].guid and entry.url == page.url
    assert "meröppna bibliotek" in changed.page_text


def test_an_unchanged_watched_page_is_not_read(http_server):
    body = page_bytes("strategi-v1.html")
    http_server.route("/plan", handler=conditional(body, etag='"p1"', headers=HTML))
    source = make_source(http_server.url("/plan"), "plan", kind="page")
    first = run(source)
    again = run(source, SourceState("plan", etag='"p1"', page_text=first.page_text))
    assert again.fetched.outcome == "not_modified" and again.parsed is None
    assert again.page_text is None


# --------------------------------------------------------------------------- kind: auto


def test_auto_reads_a_feed(http_server):
    url = http_server.route("/feed.xml", body=(FEEDS / "rss20.xml").read_bytes(), headers=RSS)
    outcome = run(make_source(url, "auto-feed", kind="auto"))
    assert not outcome.failed and outcome.parsed.format == "rss20"
    assert outcome.parsed.entries and outcome.fetched.body_hash


def test_auto_on_a_page_advertising_a_feed_names_it(http_server):
    url = serve(http_server, "/", "hemsida-floden.html")
    outcome = run(make_source(url, "kommun", kind="auto"))
    fetched = outcome.fetched
    assert (fetched.error_key, fetched.body_hash) == ("not_a_feed", None)
    assert fetched.message.startswith("kommun: ")
    assert "https://bibliotek.exempelkommun.se/nyheter/feed/" in fetched.message
    assert "`url:`" in fetched.message and "kind: feed" in fetched.message
    assert "comments" not in fetched.message


def test_auto_on_a_page_without_feeds_suggests_html(http_server):
    url = serve(http_server, "/plan", "strategi-v1.html")
    outcome = run(make_source(url, "plan", kind="auto"))
    assert outcome.fetched.error_key == "not_a_feed"
    assert "kind: html" in outcome.fetched.message


# --------------------------------------------------------------------------- guard, many


def test_an_unexpected_exception_becomes_an_error_result(http_server, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(pages, "parse_list_page", boom)
    outcome = run(html_source(wordpress_site(http_server)))
    fetched = outcome.fetched
    assert (fetched.outcome, fetched.error_key, outcome.parsed) == ("error", "unexpected", None)
    assert fetched.message.startswith("rbs: ") and "RuntimeError: boom" in fetched.message
    assert "--verbose" in fetched.message and fetched.body_hash is None


def test_many_sources_concurrently_in_input_order(http_server):
    list_url = wordpress_site(http_server)
    plan = serve(http_server, "/plan", "strategi-v1.html")
    sources = [html_source(list_url), make_source(plan, "plan", kind="page"),
               make_source(http_server.url("/missing"), "gone", kind="page")]
    seen = []

    async def go():
        async with Fetcher(make_settings()) as fetcher:
            return await run_page_sources(fetcher, [(s, None) for s in sources], NOW,
                                          lambda urls: set(), seen.append)

    outcomes = asyncio.run(go())
    assert [o.fetched.source_id for o in outcomes] == ["rbs", "plan", "gone"]
    assert sorted(o.fetched.source_id for o in seen) == ["gone", "plan", "rbs"]
    assert outcomes[2].fetched.error_key == "http_404"


# --------------------------------------------------------------------------- check output


def test_check_lines_for_a_list_page(http_server):
    source = html_source(wordpress_site(http_server), max_pages=2)
    lines = describe_page_check(run(source), source)
    text = "\n".join(lines)
    assert "selectors matched: item 7, next_page 1, title 7, link 7, date 7, summary 7" in text
    assert "on 2 list pages" in text and "7 entries" in text
    assert "- 2021-01-13 09:30  Nu öppnar ansökan för utvecklingsmedel" in text
    assert text.count("\n- ") == 7


def test_check_lines_when_nothing_matched(http_server):
    source = html_source(wordpress_site(http_server), {"item": "li.news-item"})
    text = "\n".join(describe_page_check(run(source), source))
    assert "selectors matched: item 0" in text and "✗ rbs: the item selector" in text


def test_check_lines_for_a_watched_page(http_server):
    url = serve(http_server, "/plan", "strategi-v1.html")
    source = make_source(url, "plan", kind="page")
    text = "\n".join(describe_page_check(run(source), source))
    assert "Regional biblioteksplan" in text and "would record: Ny bevakad sida" in text
    state = SourceState("plan", page_text=run(source).page_text)
    text = "\n".join(describe_page_check(run(source, state), source))
    assert "nothing would be recorded" in text


def test_failed_articles_beyond_a_few_are_counted(http_server, monkeypatch):
    monkeypatch.setattr(pages, "MAX_ARTICLE_WARNINGS", 2)
    http_server.route(SV_LIST, body=page_bytes("sitevision-nyheter.html"), headers=HTML)
    outcome = run(html_source(http_server.url(SV_LIST), NO_DATE))  # every article answers 404
    assert sum("was not fetched" in w for w in outcome.warnings) == 2
    assert "… and 4 more articles like that" in outcome.warnings
