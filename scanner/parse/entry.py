"""From the raw fields of one feed entry (RSS, Atom or JSON Feed alike) to a clean models.Entry.

The format readers (feed.py, jsonfeed.py) only map their structures to `RawEntry`; cleaning,
link resolution, date rules, skip rules and warnings live here once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from scanner.models import Entry, built
from scanner.parse.text import (
    clean_line,
    fix_mojibake,
    html_to_text,
    joined_url_and_scheme,
    sanitize_html,
    text_to_html,
    tidy_lines,
    trim_text,
)

SUMMARY_MAX_CHARS = 1000  # the summary is a teaser; the full text stays in content_html
TITLE_FROM_TEXT_CHARS = 90  # an entry without a title is named by the start of its text
FUTURE_TOLERANCE = timedelta(days=1)


@dataclass(frozen=True)
class RawEntry:
    """One entry's fields as the format gave them: possibly HTML, possibly relative, unchecked."""

    index: int  # 1-based position in the feed, for warnings
    title: str = ""
    title_is_html: bool = False
    link: str | None = None
    guid: str | None = None
    summary: str = ""
    summary_is_html: bool = True
    content: str = ""
    content_is_html: bool = True
    published: datetime | None = None  # aware UTC, already read
    updated: datetime | None = None
    date_text: str | None = None  # the raw date string, named in the warning if unreadable
    author: str | None = None
    language: str | None = None  # normalised, only when the entry itself declares one
    base: str | None = None  # absolute base URL for this entry's relative links


class SkipEntry(Exception):
    """Raised inside entry building when an entry cannot be kept; the message says why."""


def build_entries(
    natives: Iterable[object], to_raw: Callable[[int, object], RawEntry], fetched_at: datetime
) -> tuple[tuple[Entry, ...], tuple[str, ...]]:
    """Build every entry; one that fails is skipped with a warning naming it and why."""
    entries: list[Entry] = []
    warnings: list[str] = []
    for index, native in enumerate(natives, start=1):
        try:
            raw = to_raw(index, native)
            entry, notes = build_entry(raw, fetched_at)
        except SkipEntry as skip:
            warnings.append(f"{describe(index, native)}: skipped: {skip}")
            continue
        except Exception as exc:  # noqa: BLE001 - one broken entry must not sink the feed
            warnings.append(f"{describe(index, native)}: skipped: {type(exc).__name__}: {exc}")
            continue
        entries.append(entry)
        warnings.extend(f"{describe(index, native)}: {note}" for note in notes)
    return tuple(entries), tuple(warnings)


def describe(index: int, native: object) -> str:
    """'entry 3 "Title"' or 'entry 3 (id urn:x)' or 'entry 3', for warnings staff can act on."""
    label = f"entry {index}"
    if not isinstance(native, Mapping):
        return label
    title = native.get("title")
    if isinstance(title, str) and title.strip():
        return f'{label} "{_short(clean_line(title), 60)}"'
    ident = native.get("id") or native.get("url") or native.get("link")
    return f"{label} (id {_short(str(ident), 80)})" if ident else label


def build_entry(raw: RawEntry, fetched_at: datetime) -> tuple[Entry, list[str]]:
    """A clean Entry and the notes (warnings) about it; raises SkipEntry when nothing is left."""
    notes: list[str] = []
    url = resolve_link(raw.link, raw.base, notes)
    text = _entry_text(raw)
    title = clean_line(raw.title, raw.title_is_html)
    if not (url or title or text):
        raise SkipEntry("it has no title, link or text")
    published, date_missing = _published(raw, fetched_at, notes)
    return (
        built(  # Entry(...) without its frozen __init__, which sets each field in turn
            Entry,
            title=title or _title_from_text(text) or url or "",
            url=url,
            guid=(raw.guid or "").strip() or None,
            summary=trim_text(text, SUMMARY_MAX_CHARS),
            content_html=_content_html(raw),
            published=published,
            date_missing=date_missing,
            updated=raw.updated,
            author=clean_line(raw.author) or None,
            language=raw.language,
        ),
        notes,
    )


def resolve_link(link: str | None, base: str | None, notes: list[str]) -> str | None:
    """The entry link made absolute; None (with a note) when it is not an http(s) URL."""
    link = (link or "").strip()
    if not link:
        return None
    try:
        absolute, scheme = joined_url_and_scheme(base, link)
    except ValueError:
        notes.append(f"link {_short(link, 80)!r} is not a valid URL; kept without link")
        return None
    if scheme not in ("http", "https"):
        notes.append(f"link {_short(link, 80)!r} is not an http(s) URL; kept without link")
        return None
    return absolute


def _entry_text(raw: RawEntry) -> str:
    """Plain text from the summary, or from the content when there is no summary."""
    if raw.summary.strip():
        return _to_text(raw.summary, raw.summary_is_html)
    return _to_text(raw.content, raw.content_is_html)


def _to_text(value: str, is_html: bool) -> str:
    """Mojibake is repaired before (raw "Ã¥") and after (entity-encoded "&#195;&#165;")."""
    value = fix_mojibake(value)
    return fix_mojibake(html_to_text(value) if is_html else tidy_lines(value))


def _content_html(raw: RawEntry) -> str:
    """The sanitised HTML copy: content (content:encoded, Atom content) first, else summary."""
    value, is_html = (raw.content, raw.content_is_html)
    if not value.strip():
        value, is_html = (raw.summary, raw.summary_is_html)
    if not is_html:
        return text_to_html(_to_text(value, False))
    return fix_mojibake(sanitize_html(fix_mojibake(value), raw.base))


def _published(raw: RawEntry, fetched_at: datetime, notes: list[str]) -> tuple[datetime, bool]:
    """published, else updated, else the fetch time (date_missing); future dates kept, noted."""
    moment = raw.published or raw.updated
    if moment is None:
        if raw.date_text:
            notes.append(f"date {_short(raw.date_text, 60)!r} could not be read; using fetch time")
        return fetched_at, True
    if moment > fetched_at + FUTURE_TOLERANCE:
        notes.append(f"date {moment.isoformat()} is more than a day after the fetch; kept as given")
    return moment, False


def _title_from_text(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    return trim_text(first_line, TITLE_FROM_TEXT_CHARS)


def _short(value: str, limit: int) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"
