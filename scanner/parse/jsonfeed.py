"""JSON Feed 1.0 and 1.1 (jsonfeed.org), which feedparser does not read."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import urljoin, urlsplit

from scanner.models import ParseResult
from scanner.parse.entry import RawEntry, SkipEntry, build_entries
from scanner.parse.text import clean_line, normalize_language, parse_date_utc

_VERSION = re.compile(r"jsonfeed\.org/version/(\d+)(?:\.(\d+))?")
NOT_JSON_FEED = (
    "the URL returned JSON that is not a JSON Feed (no version naming jsonfeed.org); "
    "use the site's feed URL (find it with `scanner sources discover URL`)"
)
MALFORMED = (
    "the JSON Feed is broken and no entries could be read ({detail}); "
    "check it with a feed validator and ask the publisher to fix it"
)


def is_json_feed(document: object) -> bool:
    """True for a decoded JSON object whose "version" names jsonfeed.org."""
    if not isinstance(document, Mapping):
        return False
    version = document.get("version")
    return isinstance(version, str) and "jsonfeed.org" in version


def parse_json_feed(text: str, base_url: str, fetched_at: datetime) -> ParseResult:
    """Parse JSON Feed text (already decoded) into a ParseResult; never raises for bad input."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        detail = f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
        return ParseResult(error_key="malformed_feed", message=MALFORMED.format(detail=detail))
    if not is_json_feed(document):
        return ParseResult(error_key="not_a_feed", message=NOT_JSON_FEED)
    items = document.get("items", [])
    if not isinstance(items, list):
        detail = '"items" is not a list'
        return ParseResult(error_key="malformed_feed", message=MALFORMED.format(detail=detail))
    feed_language = normalize_language(_string(document.get("language")))
    base = _feed_base(document, base_url)

    def to_raw(index: int, item: object) -> RawEntry:
        return _raw_entry(index, item, base, feed_language)

    entries, warnings = build_entries(items, to_raw, fetched_at)
    return ParseResult(
        entries=entries,
        warnings=warnings,
        feed_title=clean_line(_string(document.get("title"))) or None,
        feed_language=feed_language,
        format=json_format(document["version"]),
    )


def json_format(version: str) -> str:
    """'https://jsonfeed.org/version/1.1' -> 'json11'; '.../version/1' -> 'json10'."""
    found = _VERSION.search(version)
    if not found:
        return "json"
    return f"json{found.group(1)}{found.group(2) or '0'}"


def _raw_entry(index: int, item: object, base: str, feed_language: str | None) -> RawEntry:
    if not isinstance(item, Mapping):
        raise SkipEntry(f"it is a JSON {type(item).__name__}, not an object")
    content_html = _string(item.get("content_html"))
    content_text = _string(item.get("content_text"))
    language = normalize_language(_string(item.get("language")))
    return RawEntry(
        index=index,
        title=_string(item.get("title")),
        link=_string(item.get("url")) or _string(item.get("external_url")) or None,
        guid=_identifier(item.get("id")),
        summary=_string(item.get("summary")) or content_text,
        summary_is_html=False,
        content=content_html or content_text,
        content_is_html=bool(content_html),
        published=parse_date_utc(_string(item.get("date_published"))),
        updated=parse_date_utc(_string(item.get("date_modified"))),
        date_text=_string(item.get("date_published")) or _string(item.get("date_modified")),
        author=_author(item),
        language=language if language != feed_language else None,
        base=base,
    )


def _author(item: Mapping) -> str | None:
    """1.1 "authors" list, else 1.0 "author" object; the first name found."""
    authors = item.get("authors")
    candidates = authors if isinstance(authors, list) else [item.get("author")]
    for author in candidates:
        if isinstance(author, Mapping) and _string(author.get("name")):
            return _string(author.get("name"))
    return None


def _identifier(value: object) -> str | None:
    """JSON Feed ids must be strings, but numbers occur in the wild; keep them as text."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (str, int, float)):
        return str(value).strip() or None
    return None


def _feed_base(document: Mapping, base_url: str) -> str:
    """The feed's home_page_url when absolute http(s), else the URL the body came from."""
    home = _string(document.get("home_page_url"))
    try:
        joined = urljoin(base_url, home) if home else base_url
        return joined if urlsplit(joined).scheme in ("http", "https") else base_url
    except ValueError:
        return base_url


def _string(value: object) -> str:
    return value if isinstance(value, str) else ""
