"""discover_feeds, probe_urls and source_yaml_for: from a homepage to sources.yaml entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.config import parse_sources_text
from scanner.parse.discover import (
    COMMON_FEED_PATHS,
    FeedLink,
    discover_feeds,
    probe_urls,
    slugify,
    source_yaml_for,
    yaml_scalar,
)

PAGES = Path(__file__).resolve().parent.parent / "data" / "pages"
HOME = "https://bibliotek.exempelkommun.se/start.html"
SITE = "https://bibliotek.exempelkommun.se"
SITEVISION_RSS = (f"{SITE}/4.3a2b1c0d16e5f4a3b2c1001/12.3a2b1c0d16e5f4a3b2c1002.portlet"
                  "?state=rss&sv.contenttype=text/xml;charset=UTF-8")


def homepage_links() -> list[FeedLink]:
    return discover_feeds((PAGES / "hemsida-floden.html").read_bytes(), {}, HOME)


def test_alternate_links_first_then_feed_like_anchors():
    assert homepage_links() == [
        FeedLink(f"{SITE}/nyheter/feed/", "Biblioteken i Exempelkommun » Nyheter", "rss"),
        FeedLink(f"{SITE}/evenemang/atom.xml", "Biblioteken i Exempelkommun » Evenemang", "atom"),
        FeedLink(f"{SITE}/feed.json", "JSON-flöde", "json"),
        FeedLink(SITEVISION_RSS, "Nyheter som RSS", "", origin="anchor"),
    ]  # comment feed, wp-json and oEmbed left out; /nyheter/feed/ once; "Vad är RSS?" is no feed


def test_wordpress_page_feed_found_and_comments_left_out():
    links = discover_feeds((PAGES / "wordpress-nyheter.html").read_bytes(), {},
                           "https://regionbibliotekstockholm.se/nyheter/")
    assert links == [FeedLink("https://regionbibliotekstockholm.se/feed/",
                              "Regionbibliotek Stockholm » Flöde", "rss")]


def test_sitevision_rss_portlet_link_in_a_list_page():
    links = discover_feeds((PAGES / "sitevision-nyheter.html").read_bytes(), {},
                           "https://www.regionorebrolan.se/kultur-och-fritid/nyheter.html")
    assert [link.url for link in links] == [
        "https://www.regionorebrolan.se/4.5e7f8a9b16c2a5c3e0a1006/12.5e7f8a9b16c2a5c3e0a1006"
        ".portlet?state=rss&sv.contenttype=text/xml;charset=UTF-8"]
    assert links[0].title == "Prenumerera på nyheter (RSS)"


@pytest.mark.parametrize("body", [b"", b'<?xml version="1.0"?><rss version="2.0"/>',
                                  b"<html><body><p>Inga fl\xc3\xb6den</p></body></html>"])
def test_no_feeds(body):
    assert discover_feeds(body, {}, HOME) == []


def test_probe_urls_are_common_paths_on_the_site_minus_found_ones():
    urls = probe_urls(HOME, homepage_links())
    assert urls[0] == f"{SITE}/feed/"
    assert f"{SITE}/rss.xml" in urls and f"{SITE}/nyheter/rss" in urls
    assert f"{SITE}/feed.json" not in urls and f"{SITE}/nyheter/feed/" not in urls  # found
    assert len(urls) == len(COMMON_FEED_PATHS) - 2


def test_yaml_entries_validate_as_sources_yaml():
    text = source_yaml_for(homepage_links(), f"{SITE}/", "Biblioteken i Exempelkommun",
                           existing_ids={"biblioteken-i-exempelkommun-json"})
    document = "sources:\n" + text
    sources = parse_sources_text(document).sources
    assert [s.id for s in sources] == [
        "biblioteken-i-exempelkommun-nyheter",
        "biblioteken-i-exempelkommun-evenemang",
        "biblioteken-i-exempelkommun-json-2",
        "biblioteken-i-exempelkommun-nyheter-2",
    ]
    assert sources[0].name == "Biblioteken i Exempelkommun – Nyheter"
    assert sources[3].url == SITEVISION_RSS
    assert all(s.kind == "feed" and s.language == "sv" and s.homepage == f"{SITE}/"
               for s in sources)


def test_one_feed_is_named_after_the_site():
    link = FeedLink("https://regionbibliotekstockholm.se/feed/",
                    "Regionbibliotek Stockholm » Flöde", "rss")
    text = source_yaml_for([link], "https://regionbibliotekstockholm.se/",
                           "Regionbibliotek Stockholm")
    assert text == ("  - id: regionbibliotek-stockholm\n"
                    "    name: Regionbibliotek Stockholm\n"
                    "    url: https://regionbibliotekstockholm.se/feed/\n"
                    "    kind: feed\n"
                    "    homepage: https://regionbibliotekstockholm.se/\n"
                    "    language: sv\n")
    assert source_yaml_for([], "https://x.se/", "X") == ""


@pytest.mark.parametrize("text, slug", [
    ("Region Örebro län – Nyheter", "region-orebro-lan-nyheter"),
    ("Kulturrådet: Pressmeddelanden!", "kulturradet-pressmeddelanden"),
    ("Svensk biblioteksförening och Regionbibliotek Stockholm i samverkan om läsfrämjande",
     "svensk-biblioteksforening-och-regionbibliotek"),
    ("???", "kalla"),
])
def test_slugify(text, slug):
    assert slugify(text) == slug


@pytest.mark.parametrize("value, expected", [
    ("Region Örebro län – biblioteksutveckling", "Region Örebro län – biblioteksutveckling"),
    ("Save the date: konferens", '"Save the date: konferens"'),
    ("yes", '"yes"'),
    ("#1 i länet", '"#1 i länet"'),
    ("https://x.se/a?b=1&c=2", "https://x.se/a?b=1&c=2"),
    ("https://x.se/a #b", '"https://x.se/a #b"'),
])
def test_yaml_scalar(value, expected):
    assert yaml_scalar(value) == expected
