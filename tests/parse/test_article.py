"""extract_article and is_thin: full text and date of an article page for thin feeds."""

from __future__ import annotations

import socket
from datetime import datetime, timezone
from pathlib import Path

import pytest

from scanner.models import Entry
from scanner.parse.article import extract_article, is_thin

PAGES = Path(__file__).resolve().parent.parent / "data" / "pages"
NOW = datetime(2021, 1, 20, 12, 0, tzinfo=timezone.utc)
HTML = {"Content-Type": "text/html; charset=utf-8"}
WP_URL = "https://regionbibliotekstockholm.se/2021/01/13/nu-oppnar-ansokan-for-utvecklingsmedel/"


def article_page(body: str) -> bytes:
    paragraphs = "".join(
        f"<p>Stycke {n} om bibliotekens arbete med läsfrämjande och digital delaktighet i länet, "
        "skrivet så att sidan har en riktig brödtext att hitta.</p>" for n in range(1, 4))
    return (f"<html><head><title>Artikel</title>{body.split('|')[0]}</head><body><main><article>"
            f"<h1>Rubriken</h1>{body.split('|')[1]}{paragraphs}</article></main></body></html>"
            ).encode()


def test_wordpress_article_text_and_meta_published_time():
    article = extract_article((PAGES / "artikel.html").read_bytes(), HTML, WP_URL, now=NOW)
    assert article.title == "Nu öppnar ansökan för utvecklingsmedel"
    assert article.published == datetime(2021, 1, 13, 8, 30, 12, tzinfo=timezone.utc)
    assert article.date_source == "meta"
    assert article.text.startswith("Kommunbiblioteken i Stockholms län kan nu söka medel")
    assert "Högst 200 000 kronor per projekt" in article.text
    lines = article.text.splitlines()
    assert "Hem" not in lines and "Kontakt" not in lines and "Nyheter" not in lines
    for gone in ("Läs också", "Omvärldsbevakning vecka 2", "Publicerat i", "Regionbibliotek "
                 "Stockholm ·"):
        assert gone not in article.text, gone
    assert article.content_html.startswith("<p>Kommunbiblioteken i Stockholms län")
    assert not article.failed


def test_sitevision_article_date_from_the_publicerad_line_with_time():
    article = extract_article((PAGES / "artikel-sitevision.html").read_bytes(), HTML,
                              "https://www.regionorebrolan.se/nyheter/lasframjande.html", now=NOW)
    assert article.title == "Läsfrämjande i hela länet"
    assert article.published == datetime(2021, 1, 13, 9, 15, tzinfo=timezone.utc)  # 10.15 CET
    assert article.date_source == "text"
    assert article.text.startswith("Regionbiblioteket startar ett läsfrämjande nätverk")
    assert "Publicerad" not in article.text and "019-602" not in article.text


@pytest.mark.parametrize("head_and_body, expected, source", [
    ('<script type="application/ld+json">{"@context": "https://schema.org", "@graph": '
     '[{"@type": "NewsArticle", "datePublished": "2021-01-10T07:00:00Z"}]}</script>|',
     datetime(2021, 1, 10, 7, tzinfo=timezone.utc), "meta"),
    ('<meta itemprop="datePublished" content="2021-01-11">|',
     datetime(2021, 1, 10, 23, tzinfo=timezone.utc), "meta"),
    ("|<p>Publicerad: 12 januari kl. 08.00</p>",
     datetime(2021, 1, 12, 7, tzinfo=timezone.utc), "text"),
    ("|<p>Posted January 9, 2021</p>", datetime(2021, 1, 8, 23, tzinfo=timezone.utc), "text"),
    ('|<p class="byline"><time datetime="2021-01-08T12:00:00+01:00">8 jan</time></p>',
     datetime(2021, 1, 8, 11, tzinfo=timezone.utc), None),
])
def test_date_fallbacks(head_and_body, expected, source):
    article = extract_article(article_page(head_and_body), HTML, "https://x.se/a", now=NOW)
    assert article.published == expected
    if source:
        assert article.date_source == source


def test_page_without_any_date_gives_none():
    article = extract_article(article_page("|"), HTML, "https://x.se/a", now=NOW)
    assert article.published is None and article.date_source is None
    assert article.title == "Rubriken"
    assert "Stycke 1 om bibliotekens arbete" in article.text


def test_year_less_date_needs_now():
    body = article_page("|<p>Publicerad: 12 januari kl. 08.00</p>")
    assert extract_article(body, HTML, "https://x.se/a").published is None


def test_walls_and_non_html_are_errors():
    login = extract_article((PAGES / "inloggning.html").read_bytes(), HTML, "https://x.se/")
    assert login.error_key == "login_wall" and login.text == ""
    feed = extract_article(b'<rss version="2.0"></rss>', {}, "https://x.se/")
    assert feed.error_key == "not_html"


def test_extraction_never_touches_the_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access during extraction")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    article = extract_article((PAGES / "artikel.html").read_bytes(), HTML, WP_URL, now=NOW)
    assert article.published is not None


def entry(title: str, summary: str, content_html: str = "") -> Entry:
    return Entry(title=title, url="https://x.se/a", guid=None, summary=summary,
                 content_html=content_html, published=NOW)


@pytest.mark.parametrize("title, summary, content_html, thin", [
    ("Nytt nätverk", "", "", True),
    ("Nytt nätverk", "Nytt nätverk", "<p>Nytt nätverk</p>", True),
    ("Nytt nätverk", "Vi startar ett nätverk för barnbibliotekarier.", "", True),
    ("Nytt nätverk", "Kort ingress.", "<p>" + "Hela texten om nätverket. " * 20 + "</p>", False),
    ("Nytt nätverk", "Lång text om nätverket och vad det ska göra i länet. " * 6, "", False),
    ("Nytt nätverk", "Utdrag ur texten om nätverket för barnbibliotekarier. " * 5 + "[…]", "",
     True),
    ("Nytt nätverk", "Utdrag ur texten om nätverket. " * 8 + "Läs mer", "", True),
])
def test_is_thin(title, summary, content_html, thin):
    assert is_thin(entry(title, summary, content_html)) is thin


def test_wordpress_list_excerpts_are_thin():
    from scanner.parse.html import parse_list_page

    selectors = {"item": "article.post", "title": "h2.entry-title a",
                 "date": "time.entry-date", "summary": ".entry-summary"}
    result = parse_list_page((PAGES / "wordpress-nyheter.html").read_bytes(), HTML,
                             "https://regionbibliotekstockholm.se/nyheter/", selectors, NOW)
    assert all(is_thin(e) for e in result.entries)
