"""parse_list_page (`kind: html`): saved list pages in the shape of real Swedish library sites.

The two shipped sites have golden files (page in, entries out) next to the pages in
tests/data/pages/; regenerate with SCANNER_REGEN_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest

from scanner.parse.html import (
    MAX_ITEMS_PER_PAGE,
    ListPageResult,
    candidate_items,
    check_selectors,
    parse_list_page,
)
from scanner.parse.page import load_html

PAGES = Path(__file__).resolve().parent.parent / "data" / "pages"
FETCHED_AT = datetime(2021, 1, 14, 12, 0, tzinfo=timezone.utc)
HTML = {"Content-Type": "text/html; charset=utf-8"}
REGENERATE = os.environ.get("SCANNER_REGEN_GOLDEN") == "1"

# The selectors shipped in sources.yaml for the two sites (see the README).
SITEVISION = {
    "item": "div.sv-channel li.sv-channel-item",
    "title": ".sv-channel-item-title",
    "link": "a.sv-channel-item-link",
    "date": ".sv-channel-item-date",
    "summary": ".sv-channel-item-summary",
}
SITEVISION_URL = "https://www.regionorebrolan.se/kultur-och-fritid/regionbiblioteket/nyheter.html"
WORDPRESS = {
    "item": "article.post",
    "title": "h2.entry-title a",
    "link": "h2.entry-title a",
    "date": "time.entry-date",
    "summary": ".entry-summary",
    "next_page": "a.next.page-numbers",
}
WORDPRESS_URL = "https://regionbibliotekstockholm.se/nyheter/"


def parse(name: str, selectors: dict, url: str = SITEVISION_URL, headers=HTML,
          fetched_at: datetime = FETCHED_AT) -> ListPageResult:
    return parse_list_page((PAGES / name).read_bytes(), headers, url, selectors, fetched_at)


def to_jsonable(result: ListPageResult) -> dict:
    data = dataclasses.asdict(result)
    data["entries"] = [{k: v.isoformat() if isinstance(v, datetime) else v for k, v in e.items()}
                       for e in data["entries"]]
    data["warnings"] = list(data["warnings"])
    return data


@pytest.mark.parametrize("name, selectors, url", [
    ("sitevision-nyheter.html", SITEVISION, SITEVISION_URL),
    ("wordpress-nyheter.html", WORDPRESS, WORDPRESS_URL),
    ("wordpress-nyheter-sida-2.html", WORDPRESS, WORDPRESS_URL + "page/2/"),
])
def test_golden(name, selectors, url):
    actual = to_jsonable(parse(name, selectors, url))
    expected = PAGES / f"{name}.expected.json"
    if REGENERATE or not expected.exists():
        expected.write_text(json.dumps(actual, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
                            encoding="utf-8")
        if not REGENERATE:
            pytest.fail(f"wrote missing {expected.name}: review it, then rerun")
    assert actual == json.loads(expected.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- Sitevision


def test_sitevision_items_are_read_with_swedish_dates_and_absolute_links():
    result = parse("sitevision-nyheter.html", SITEVISION)
    assert not result.failed
    first = result.entries[0]
    assert first.title == "Läsfrämjande i hela länet"
    assert first.url == ("https://www.regionorebrolan.se/kultur-och-fritid/regionbiblioteket/"
                         "nyheter/2021-01-13-lasframjande-i-hela-lanet.html")
    assert first.published == datetime(2021, 1, 12, 23, 0, tzinfo=timezone.utc)  # 00:00 CET
    assert first.summary.startswith("Regionbiblioteket startar ett läsfrämjande nätverk")
    assert first.guid is None and not first.date_missing
    assert result.entries[1].title == "Digital delaktighet – ny utbildning för bibliotekspersonal"
    assert result.entries[2].url == "https://www.regionorebrolan.se/4.5e7f8a9b16c2a5c3e0a2001.html"
    assert result.entries[3].published == datetime(2020, 12, 1, 23, tzinfo=timezone.utc)
    assert result.entries[4].published == datetime(2020, 11, 20, 13, 30, tzinfo=timezone.utc)
    assert result.page_title == "Nyheter från Regionbiblioteket - Region Örebro län"


def test_item_without_readable_date_gets_fetch_time_marked_date_missing():
    result = parse("sitevision-nyheter.html", SITEVISION)
    undated = result.entries[-1]
    assert undated.title == "Save the date: länets bibliotekskonferens"
    assert undated.date_missing and undated.published == FETCHED_AT
    assert result.warnings == (
        "item 6 \"Save the date: länets bibliotekskonferens\": date 'Kommer snart' could not be "
        "read; using fetch time",)


def test_diagnostics_count_what_each_selector_matched():
    result = parse("sitevision-nyheter.html", SITEVISION)
    assert result.diagnostics == {"item": 6, "title": 6, "link": 6, "date": 6, "summary": 6}
    result = parse("sitevision-nyheter.html", {**SITEVISION, "summary": ".ingress"})
    assert result.diagnostics["summary"] == 0
    assert "the summary selector '.ingress' matched in 0 of 6 items" in result.warnings


def test_without_next_page_selector_rel_next_is_followed():
    result = parse("sitevision-nyheter.html", SITEVISION)
    assert result.next_page_url == (
        "https://www.regionorebrolan.se/kultur-och-fritid/regionbiblioteket/nyheter.html"
        "?sv.12.5e7f8a9b16c2a5c3e0a1006.route=/&page=2")


def test_only_item_given_finds_heading_link_and_no_date():
    result = parse("sitevision-nyheter.html", {"item": "li.sv-channel-item"})
    assert [e.title for e in result.entries][:2] == [
        "Läsfrämjande i hela länet", "Digital delaktighet – ny utbildning för bibliotekspersonal"]
    assert result.entries[0].url.endswith("2021-01-13-lasframjande-i-hela-lanet.html")
    assert all(e.date_missing for e in result.entries)
    assert result.diagnostics == {"item": 6}


# --------------------------------------------------------------------------- WordPress


def test_wordpress_items_use_the_datetime_attribute():
    result = parse("wordpress-nyheter.html", WORDPRESS, WORDPRESS_URL)
    assert [e.title for e in result.entries] == [
        "Nu öppnar ansökan för utvecklingsmedel",
        "Omvärldsbevakning vecka 2: bibliotekslagen och medieplaner",  # &shy; removed
        "Nytt nätverk för barnbibliotekarier",
        "God jul och gott nytt år!",
    ]
    first = result.entries[0]
    assert first.published == datetime(2021, 1, 13, 8, 30, 12, tzinfo=timezone.utc)
    assert first.url == ("https://regionbibliotekstockholm.se/2021/01/13/"
                         "nu-oppnar-ansokan-for-utvecklingsmedel/")
    assert first.summary.endswith("skolbiblioteken […]")
    assert "<p>" in first.content_html and "<script" not in first.content_html
    assert result.entries[2].summary.startswith("Vi startar ett regionalt nätverk för "
                                                "barnbibliotekarier & skolbibliotekarier.")
    assert result.diagnostics == {"item": 4, "next_page": 1, "title": 4, "link": 4, "date": 4,
                                  "summary": 4}
    assert result.warnings == ()


def test_wordpress_pagination_relative_next_link_is_resolved():
    first = parse("wordpress-nyheter.html", WORDPRESS, WORDPRESS_URL)
    assert first.next_page_url == "https://regionbibliotekstockholm.se/nyheter/page/2/"
    second = parse("wordpress-nyheter-sida-2.html", WORDPRESS, first.next_page_url)
    assert second.next_page_url is None
    assert second.diagnostics["next_page"] == 0
    assert [e.title for e in second.entries][0] == "Rapport: folkbibliotek i förändring"
    assert second.page_title == "Nyheter – Sida 2 – Regionbibliotek Stockholm"


def test_pages_followed_over_loopback_http(http_server):
    """The caller's loop (fetch, parse, follow next_page_url up to max_pages) on a real server."""
    http_server.route("/nyheter/", body=(PAGES / "wordpress-nyheter.html").read_bytes(),
                      headers=HTML)
    http_server.route("/nyheter/page/2/", headers=HTML,
                      body=(PAGES / "wordpress-nyheter-sida-2.html").read_bytes())
    url, titles, pages = http_server.url("/nyheter/"), [], 0
    with httpx.Client() as client:
        while url and pages < 3:
            response = client.get(url)
            result = parse_list_page(response.content, response.headers, str(response.url),
                                     WORDPRESS, FETCHED_AT)
            titles += [e.title for e in result.entries]
            url, pages = result.next_page_url, pages + 1
    assert pages == 2 and len(titles) == 7
    assert http_server.hits["/nyheter/page/2/"] == 1


def test_to_parse_result_is_what_the_cycle_stores():
    result = parse("wordpress-nyheter.html", WORDPRESS, WORDPRESS_URL).to_parse_result()
    assert result.format == "html" and not result.failed
    assert len(result.entries) == 4
    assert result.feed_title == "Nyheter – Regionbibliotek Stockholm"


# --------------------------------------------------------------------------- selector problems


def test_nothing_matched_names_the_page_repeated_elements():
    result = parse("wordpress-nyheter.html", {"item": "li.news"}, WORDPRESS_URL)
    assert result.error_key == "no_items"
    assert result.message == (
        "the item selector 'li.news' matched 0 elements; the page has 4 `article.post` "
        "elements and 2 `li`; use one of them as `item`")
    assert result.diagnostics == {"item": 0}
    assert result.to_parse_result().failed


def test_nothing_matched_suggests_a_close_class():
    result = parse("sitevision-nyheter.html", {"item": "li.sv-channel"})
    assert result.message == ("the item selector 'li.sv-channel' matched 0 elements; the page "
                              "has 6 `li.sv-channel-item` elements; did you mean "
                              "`li.sv-channel-item`?")


def test_candidates_leave_out_navigation_and_wrappers():
    root, _ = load_html((PAGES / "sitevision-nyheter.html").read_bytes(), HTML)
    assert candidate_items(root) == [("li.sv-channel-item", 6)]


@pytest.mark.parametrize("item, examples", [
    ("header li", "('Hem', 'Kontakt', 'Om oss')"),
    ("li.sv-menu-item", "('Hem', 'Kontakt', 'Om oss')"),
])
def test_selector_matching_navigation_is_refused(item, examples):
    result = parse("sitevision-nyheter.html", {"item": item})
    assert result.error_key == "navigation_items"
    assert result.message == (
        f"the item selector '{item}' matches the site's navigation, not news: 5 of 5 items are "
        f"menu links {examples}; narrow it to the news list; the page's news may be in "
        "`li.sv-channel-item` (6 elements)")


def test_menu_titles_outside_nav_elements_are_navigation_too():
    body = ("<html><body><div class='menu'><ul>" + "".join(
        f"<li><a href='/{t.lower()}'>{t}</a></li>" for t in ("Hem", "Nyheter", "Kontakt", "Om oss"))
        + "</ul></div></body></html>").encode()
    result = parse_list_page(body, HTML, "https://x.se/", {"item": "li"}, FETCHED_AT)
    assert result.error_key == "navigation_items"


def test_broad_selector_with_mostly_menu_links_is_refused():
    result = parse("wordpress-nyheter.html", {"item": "li"}, WORDPRESS_URL)
    assert result.error_key == "navigation_items"
    assert "5 of 7 items are menu links" in result.message
    assert "`article.post` (4 elements)" in result.message


def test_login_wall_is_reported():
    result = parse("inloggning.html", {"item": "li.news"})
    assert result.error_key == "login_wall"
    assert result.message.startswith("the page is a login page")


def test_cookie_banner_page_is_reported():
    result = parse("kakvagg.html", {"item": "li.news"})
    assert result.error_key == "cookie_wall"
    assert "cookie banner" in result.message


def test_a_page_with_content_and_a_cookie_banner_is_no_wall():
    body = (PAGES / "strategi-v1.html").read_bytes()
    result = parse_list_page(body, HTML, "https://x.se/", {"item": "li.news"}, FETCHED_AT)
    assert result.error_key == "no_items"


@pytest.mark.parametrize("selectors, problem", [
    ({"title": "h2"}, "selectors.item is missing"),
    ({"item": "li..news"}, "selectors.item: 'li..news' is not a CSS selector scanner can use"),
    ({"item": "li", "titel": "h2"}, "selectors.titel: unknown selector key; did you mean `title`?"),
    ({"item": "li", "date": "span[["}, "selectors.date: 'span[[' is not a CSS selector"),
])
def test_selector_problems(selectors, problem):
    assert any(p.startswith(problem) for p in check_selectors(selectors))
    result = parse("sitevision-nyheter.html", selectors)
    assert result.error_key == "invalid_selector" and problem in result.message


def test_check_selectors_accepts_the_shipped_ones():
    assert check_selectors(SITEVISION) == [] and check_selectors(WORDPRESS) == []


@pytest.mark.parametrize("body, key, message", [
    (b"", "empty_body", "empty page"),
    (b"   \n", "empty_body", "empty page"),
    (b'<?xml version="1.0"?><rss version="2.0"><channel></channel></rss>', "not_html",
     "set kind: feed"),
    (b'{"items": []}', "not_html", "did not return an HTML page"),
])
def test_bodies_that_are_not_list_pages(body, key, message):
    result = parse_list_page(body, HTML, "https://x.se/", {"item": "li"}, FETCHED_AT)
    assert result.error_key == key and message in result.message


# --------------------------------------------------------------------------- odd pages


def test_future_date_is_kept_with_a_warning():
    body = (PAGES / "sitevision-nyheter.html").read_bytes().replace(
        "den 13 januari 2021".encode(), "den 13 januari 2031".encode())
    result = parse_list_page(body, HTML, SITEVISION_URL, SITEVISION, FETCHED_AT)
    assert result.entries[0].published.year == 2031 and not result.entries[0].date_missing
    assert ('item 1 "Läsfrämjande i hela länet": date 2031-01-12T23:00:00+00:00 is more than '
            "a day after the fetch; kept as given") in result.warnings


@pytest.mark.parametrize("name, headers", [
    ("windows-1252.html", {"Content-Type": "text/html"}),  # declared in <meta> only
    ("windows-1252-odeklarerad.html", {}),  # declared nowhere
    ("windows-1252.html", {"Content-Type": "text/html; charset=iso-8859-1"}),
])
def test_windows_1252_pages_are_decoded(name, headers):
    selectors = {"item": "li.nyhet", "title": "a", "date": ".datum", "summary": "p"}
    result = parse(name, selectors, "https://alvdalen.example.se/nyheter/", headers)
    assert [e.title for e in result.entries] == [
        "Läsfrämjande för äldre – nytt projekt",
        "Öppettider under sportlovet",
        "Författarbesök: Åsa Öberg läser ”Snö”",
    ]
    assert result.entries[1].summary.endswith("Gäller även filialen i Särna. Kostnad: 0 €.")
    assert result.entries[0].published == datetime(2020, 2, 11, 23, tzinfo=timezone.utc)
    assert result.warnings == ()


def test_page_labelled_utf8_but_in_windows_1252_is_read_with_a_warning():
    selectors = {"item": "li.nyhet", "title": "a"}
    result = parse("windows-1252.html", selectors, "https://x.se/",
                   {"Content-Type": "text/html; charset=utf-8"})
    assert result.entries[0].title == "Läsfrämjande för äldre – nytt projekt"
    assert result.warnings == ("the page declares charset utf-8 but its bytes are cp1252; "
                               "read as cp1252",)


def test_broken_html_is_read_like_a_browser_would():
    selectors = {"item": "div.news-item", "title": "h3", "link": "a", "date": ".date",
                 "summary": "p:not(.date)"}
    result = parse("trasig.html", selectors, "https://stadsbibliotek.example.se/nyheter/")
    assert [(e.title, e.url) for e in result.entries] == [
        ("Sommarläsning för barn", "https://stadsbibliotek.example.se/nyheter/sommarlasning"),
        ("Stängt under midsommar", "https://stadsbibliotek.example.se/nyheter/stangt-midsommar"),
        ("Ny bokbuss – rullar i höst", "https://stadsbibliotek.example.se/nyheter/ny-bokbuss"),
    ]
    assert [e.published.date().isoformat() for e in result.entries] == [
        "2021-05-31", "2021-06-14", "2021-05-02"]
    assert result.entries[2].summary == ("Kommunen har köpt in en ny bokbuss som börjar rulla "
                                         "i september.")


def test_links_repeated_in_one_page_are_kept_once_and_bad_links_dropped():
    body = b"""<html><body><ul>
      <li class="n"><a href="/a">Artikel A</a></li>
      <li class="n"><a href="/a#kommentarer">Artikel A igen</a></li>
      <li class="n"><a href="javascript:void(0)">Skript</a></li>
      <li class="n"><span>Varken titel eller l\xc3\xa4nk</span></li>
      <li class="n"><img src="x.png"></li>
    </ul></body></html>"""
    result = parse_list_page(body, HTML, "https://x.se/nyheter/", {"item": "li.n"}, FETCHED_AT)
    assert [(e.title, e.url) for e in result.entries] == [
        ("Artikel A", "https://x.se/a"), ("Skript", None)]
    assert ("item 3 \"Skript\": link 'javascript:void(0)' is not a web address; kept without "
            "link") in result.warnings
    assert "item 5: skipped: it has neither a title nor a link" in result.warnings
    assert ("1 items repeated a link already listed on the page; each link was kept once"
            in result.warnings)


def test_base_href_is_used_for_relative_links():
    body = b"""<html><head><base href="https://cdn.example.se/sv/"></head><body>
      <article><h2><a href="nyhet-1.html">En</a></h2></article>
      <article><h2><a href="nyhet-2.html">Tv\xc3\xa5</a></h2></article></body></html>"""
    result = parse_list_page(body, HTML, "https://www.example.se/", {"item": "article"},
                             FETCHED_AT)
    assert [e.url for e in result.entries] == ["https://cdn.example.se/sv/nyhet-1.html",
                                              "https://cdn.example.se/sv/nyhet-2.html"]


def test_two_thousand_items_are_read_quickly_and_capped():
    items = "".join(
        f'<li class="news-item"><h3><a href="/nyheter/{i}">Nyhet nummer {i}</a></h3>'
        f'<time datetime="2021-01-{1 + i % 28:02d}T10:00:00+01:00">{1 + i % 28} jan</time>'
        f"<p>Sammanfattning av nyhet {i} om biblioteken i länet.</p></li>"
        for i in range(2000))
    body = f"<html><body><main><ul>{items}</ul></main></body></html>".encode()
    selectors = {"item": "li.news-item", "title": "h3", "date": "time", "summary": "p"}
    started = time.perf_counter()
    result = parse_list_page(body, HTML, "https://x.se/nyheter/", selectors, FETCHED_AT)
    elapsed = time.perf_counter() - started
    assert len(result.entries) == MAX_ITEMS_PER_PAGE
    assert result.diagnostics["item"] == 2000
    assert result.warnings[0] == ("the item selector 'li.news-item' matched 2000 elements; only "
                                  f"the first {MAX_ITEMS_PER_PAGE} were read")
    assert result.entries[-1].title == "Nyhet nummer 499"
    assert elapsed < 2.0, f"2,000 items took {elapsed:.2f} s"


def test_two_thousand_items_with_a_wrong_selector_still_hint_quickly():
    items = "".join(f'<li class="news-item"><a href="/n/{i}">Nyhet {i}</a></li>'
                    for i in range(2000))
    body = f"<html><body><ul>{items}</ul></body></html>".encode()
    started = time.perf_counter()
    result = parse_list_page(body, HTML, "https://x.se/", {"item": "li.news"}, FETCHED_AT)
    assert time.perf_counter() - started < 2.0
    assert "2000 `li.news-item` elements" in result.message


SHIPPED_YAML = """\
sources:
  - id: region-orebro
    name: Region Örebro län – biblioteksutveckling
    url: https://www.regionorebrolan.se/kultur-och-fritid/regionbiblioteket/nyheter.html
    kind: html
    interval: 6h
    selectors:
      item: div.sv-channel li.sv-channel-item
      title: .sv-channel-item-title
      link: a.sv-channel-item-link
      date: .sv-channel-item-date
      summary: .sv-channel-item-summary
    max_pages: 1
  - id: regionbibliotek-stockholm
    name: Regionbibliotek Stockholm
    url: https://regionbibliotekstockholm.se/nyheter/
    kind: html
    interval: 6h
    selectors:
      item: article.post
      title: h2.entry-title a
      link: h2.entry-title a
      date: time.entry-date
      summary: .entry-summary
      next_page: a.next.page-numbers
    max_pages: 2
"""


def test_shipped_selectors_from_sources_yaml_read_their_pages():
    from scanner.config import parse_sources_text

    orebro, stockholm = parse_sources_text(SHIPPED_YAML).sources
    assert dict(orebro.selectors) == SITEVISION and dict(stockholm.selectors) == WORDPRESS
    for source, name in ((orebro, "sitevision-nyheter.html"), (stockholm, "wordpress-nyheter.html")):
        result = parse_list_page((PAGES / name).read_bytes(), HTML, source.url, source.selectors,
                                 FETCHED_AT)  # Source.selectors: (key, css) pairs
        assert not result.failed and len(result.entries) >= 4


def test_without_link_selector_the_title_link_is_used():
    selectors = {k: v for k, v in SITEVISION.items() if k != "link"}
    assert [e.url for e in parse("sitevision-nyheter.html", selectors).entries] == [
        e.url for e in parse("sitevision-nyheter.html", SITEVISION).entries]


@pytest.mark.parametrize("href", ["http://[::1", "//", "https://", "mailto:a@b.se", " ", "#",
                                  "https://x.se/#top"])
def test_odd_links_never_raise(href):
    body = (f'<html><head><base href="{href}"></head><body><ul><li class="n"><a href="{href}">'
            f'En</a></li><li class="n"><a href="/b">Två</a></li></ul>'
            f'<a rel="next" href="{href}">Nästa</a></body></html>').encode()
    result = parse_list_page(body, HTML, "https://x.se/", {"item": "li.n"}, FETCHED_AT)
    assert [e.title for e in result.entries] == ["En", "Två"]
    assert result.entries[0].url is None and result.next_page_url is None


@pytest.mark.parametrize("name", sorted(p.name for p in PAGES.glob("*.html")))
def test_truncated_downloads_never_raise(name):
    body = (PAGES / name).read_bytes()
    for cut in range(0, len(body), max(1, len(body) // 25)):
        result = parse_list_page(body[:cut], HTML, "https://x.se/", SITEVISION, FETCHED_AT)
        assert isinstance(result, ListPageResult)
