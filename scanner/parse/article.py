"""Thin feeds and list pages: the full text and date of one article page (`fetch_article`).

    if is_thin(entry): article = extract_article(body, headers, entry.url, now=fetched_at)

The text is trafilatura's main text of the page without its navigation, header, footer and
banners (page.strip_boilerplate); the publication date, in this order: the page's metadata
(<meta property="article:published_time">, og:/itemprop/Dublin Core, JSON-LD datePublished:
these carry a time and an offset), a "Publicerad …"/"Publicerat …"/"Published …" line read by
parse_swedish_date (explicit, and often with "kl. 10.15"), trafilatura's date (htmldate: more
meta forms, the URL; often only a day), and a <time datetime> inside <article>/<main>. None
when the page gives no date. Lines like "Publicerad …" are then dropped from the text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from lxml import etree

from scanner.models import Entry
from scanner.parse.dates import parse_swedish_date
from scanner.parse.page import (
    WALL_MESSAGES,
    better_text,
    detect_wall,
    drop_volatile_lines,
    load_html,
    not_html_message,
    plain_text,
    strip_boilerplate,
)
from scanner.parse.text import clean_line, html_to_text, parse_date_utc, text_to_html, tidy_lines

THIN_CHARS = 200  # a summary shorter than this is a teaser, not the news
TRUNCATED_CHARS = 800  # a summary ending in "[…]" or "Läs mer" under this length is a teaser
_TRUNCATED = re.compile(r"(?:\[\s*(?:…|\.\.\.)\s*\]|…|\.\.\.|läs mer|read more|"
                        r"continue reading|fortsätt läsa)\W*$", re.I)
_META_DATES = (
    "//meta[@property='article:published_time']/@content",
    "//meta[@property='og:published_time']/@content",
    "//meta[@itemprop='datePublished']/@content",
    "//*[@itemprop='datePublished']/@datetime",
    "//meta[@name='DC.date.issued' or @name='dcterms.issued' or @name='dcterms.created' "
    "or @name='publish-date' or @name='publication_date' or @name='date']/@content",
)
_PUBLISHED_LINE = re.compile(r"(?:publicerad|publicerat|publiceringsdatum|published|posted|"
                             r"postat)\b[^\n]{0,80}", re.I)


@dataclass(frozen=True)
class Article:
    """One article page: main text (one paragraph a line), publication date (UTC, None when the
    page gives none), title; content_html a safe <p> copy of the text. error_key ("not_html",
    "login_wall", "cookie_wall") with a message when the page has no article to read."""

    text: str
    published: datetime | None
    title: str
    content_html: str = ""
    date_source: str | None = None  # "meta", "trafilatura", "text" or "time"
    error_key: str | None = None
    message: str | None = None

    @property
    def failed(self) -> bool:
        return self.error_key is not None


def extract_article(body: bytes, headers: Mapping[str, str], url: str,
                    now: datetime | None = None) -> Article:
    """Main text, publication date and title of an article page. `now` (the fetch time) lets
    dates without a year ("Publicerad 13 januari") be read; without it they are not. Never
    raises."""
    root, _warnings = load_html(body, headers)
    if root is None:
        return Article("", None, "", error_key="not_html", message=not_html_message(body, headers))
    wall = detect_wall(root)
    if wall:
        return Article("", None, "", error_key=wall, message=WALL_MESSAGES[wall])
    tree = strip_boilerplate(root)
    fallback = plain_text(tree)
    document = _trafilatura(tree, url, now)
    text = better_text(tidy_lines(getattr(document, "text", None) or ""), fallback)
    published, source = _published(root, document, text, now)
    text = drop_volatile_lines(text)
    title = clean_line(getattr(document, "title", None) or "") or _title(root)
    return Article(text=text, published=published, title=title,
                   content_html=text_to_html(text), date_source=source)


def is_thin(entry: Entry, min_chars: int = THIN_CHARS) -> bool:
    """True when the entry carries only a teaser worth replacing by the article's text: under
    `min_chars` characters, the title repeated, or a short excerpt cut off with "[…]"."""
    body = max(entry.summary, html_to_text(entry.content_html or ""), key=len).strip()
    if len(body) < min_chars or _same(body, entry.title):
        return True
    return len(body) < TRUNCATED_CHARS and bool(_TRUNCATED.search(body))


def _trafilatura(tree: etree._Element, url: str, now: datetime | None):
    import trafilatura  # here, not at the top: importing it takes half a second

    params = {"original_date": True, "extensive_search": False,
              "outputformat": "%Y-%m-%dT%H:%M:%S%z"}
    if now is not None:
        params["max_date"] = now.strftime("%Y-%m-%d")
    try:
        return trafilatura.bare_extraction(tree, url=url, with_metadata=True,
                                           include_comments=False, include_tables=True,
                                           date_extraction_params=params)
    except Exception:  # noqa: BLE001 - a page the extractor chokes on still has a fallback text
        return None


def _published(root, document, text: str, now: datetime | None):
    """(date, where it came from), trying the sources in the order the module doc gives."""
    for value in root.xpath(" | ".join(_META_DATES)) + _json_ld_dates(root):
        moment = _read(str(value), now)
        if moment is not None:
            return moment, "meta"
    for line in _PUBLISHED_LINE.findall(text) + _PUBLISHED_LINE.findall(plain_text(root)):
        moment = parse_swedish_date(line, now)
        if moment is not None:
            return moment, "text"
    moment = _read(getattr(document, "date", None) or "", now)
    if moment is not None:
        return moment, "trafilatura"
    for value in root.xpath("(//article//time | //main//time)/@datetime"):
        moment = _read(str(value), now)
        if moment is not None:
            return moment, "time"
    return None, None


def _read(value: str, now: datetime | None) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    return parse_swedish_date(value, now) or parse_date_utc(value, timezone.utc)


def _json_ld_dates(root) -> list[str]:
    found = []
    for script in root.xpath("//script[@type='application/ld+json']/text()"):
        try:
            data = json.loads(script)
        except ValueError:
            continue
        found += _date_published(data)
    return found


def _date_published(data) -> list[str]:
    """Every datePublished in a JSON-LD value (objects, lists and @graph alike)."""
    if isinstance(data, list):
        return [d for item in data for d in _date_published(item)]
    if not isinstance(data, dict):
        return []
    own = [data["datePublished"]] if isinstance(data.get("datePublished"), str) else []
    return own + _date_published(data.get("@graph", []))


def _title(root) -> str:
    for path in ("//meta[@property='og:title']/@content", "//h1", "//title"):
        found = root.xpath(path)
        if found:
            value = found[0] if isinstance(found[0], str) else found[0].text_content()
            if clean_line(value):
                return clean_line(value)
    return ""


def _same(a: str, b: str) -> bool:
    return " ".join(a.casefold().split()).rstrip(" .…") == " ".join(b.casefold().split()).rstrip(
        " .…")
