"""Sources without a plain feed: list pages (`kind: html`), watched pages (`kind: page`), feeds
found by sniffing (`kind: auto`), and article pages fetched for thin entries (`fetch_article`).

    async with Fetcher(settings) as fetcher:
        outcome = await run_page_source(fetcher, source, state, now, store.known_urls)
        outcomes = await run_page_sources(fetcher, [(source, state), ...], now, known, on_outcome)

Every request goes through the one Fetcher, so robots.txt and the per-host limits apply to
next pages and article pages too. A PageOutcome carries the list page's FetchResult (its
validators only on success: a page that yields an error is parsed again next time), the entries
as a ParseResult (None when nothing was fetched: 304, unchanged body, fetch error), for `kind:
page` the text to keep in SourceState.page_text (None: keep the stored one), and warnings.
Nothing here raises: a bug becomes error_key "unexpected".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from scanner.fetch import Fetcher
from scanner.models import Entry, FetchResult, ParseResult, Source, SourceState
from scanner.parse.article import extract_article, is_thin
from scanner.parse.discover import discover_feeds
from scanner.parse.feed import parse_feed
from scanner.parse.html import ListPageResult, parse_list_page
from scanner.parse.page import extract_page_text, page_change
from scanner.parse.text import text_to_html, trim_text

log = logging.getLogger("scanner")
MAX_ARTICLES = 20  # article pages fetched per source per cycle
MAX_ARTICLE_WARNINGS = 5  # failed articles named one by one; the rest are counted
SUMMARY_MAX_CHARS = 1000
SHOWN_ENTRIES = 10
STOCKHOLM = ZoneInfo("Europe/Stockholm")
KnownUrls = Callable[[list[str]], set[str]]


@dataclass(frozen=True)
class PageOutcome:
    """What one page source gave. `diagnostics`: for kind html, how many elements each selector
    matched, summed over the list pages read (`pages`, in order); `text`: for kind page, the
    page's current main text whether or not it changed (page_text is set only on a change)."""

    fetched: FetchResult
    parsed: ParseResult | None
    page_text: str | None = None
    warnings: tuple[str, ...] = ()
    diagnostics: tuple[tuple[str, int], ...] = ()
    pages: tuple[str, ...] = ()
    text: str | None = None

    @property
    def failed(self) -> bool:
        return self.fetched.failed


async def run_page_source(fetcher: Fetcher, source: Source, state: SourceState | None,
                          now: datetime, known_urls: KnownUrls) -> PageOutcome:
    """Fetch and read one source of kind html, page or auto (or feed, for fetch_article)."""
    try:
        if source.kind == "html":
            return await _run_list(fetcher, source, state, now, known_urls)
        if source.kind == "page":
            return await _run_page(fetcher, source, state, now)
        return await _run_feed(fetcher, source, state, now, known_urls)
    except Exception as exc:  # noqa: BLE001 - one broken source never stops the others
        log.exception("reading %s failed", source.id)
        return PageOutcome(_unexpected(source, now, exc), None)


async def run_page_sources(fetcher: Fetcher, pairs: list[tuple[Source, SourceState | None]],
                           now: datetime, known_urls: KnownUrls,
                           on_outcome: Callable[[PageOutcome], None] | None = None,
                           ) -> list[PageOutcome]:
    """All concurrently (the Fetcher enforces the limits); outcomes in input order,
    `on_outcome` called as each ends."""
    async def one(source: Source, state: SourceState | None) -> PageOutcome:
        outcome = await run_page_source(fetcher, source, state, now, known_urls)
        if on_outcome is not None:
            on_outcome(outcome)
        return outcome

    return list(await asyncio.gather(*(one(source, state) for source, state in pairs)))


# --------------------------------------------------------------------------- kind: html


async def _run_list(fetcher, source, state, now, known_urls) -> PageOutcome:
    fetched = await fetcher.fetch(source, state, now)
    if fetched.outcome != "ok":
        return PageOutcome(fetched, None)
    first = _parse_list(source, fetched)
    counts = _add_counts({}, first)
    if first.failed:
        return PageOutcome(failure(source, fetched, first.error_key, first.message), None,
                           warnings=first.warnings, diagnostics=tuple(counts.items()),
                           pages=(_page_url(source, fetched),))
    pages, entries, warnings = await _follow_pages(fetcher, source, fetched, first, now, counts)
    entries, extra = await enrich_entries(fetcher, source, entries, now, known_urls)
    parsed = ParseResult(entries=tuple(entries), warnings=tuple(warnings + extra),
                         feed_title=first.page_title, format="html")
    return PageOutcome(fetched, parsed, warnings=parsed.warnings,
                       diagnostics=tuple(counts.items()), pages=pages)


async def _follow_pages(fetcher, source, fetched, first, now, counts):
    """(list page URLs read, entries of all pages deduplicated by link, warnings)."""
    pages = [_page_url(source, fetched)]
    seen = {source.url, pages[0]}
    entries, warnings = list(first.entries), list(first.warnings)
    next_url = first.next_page_url
    while next_url and next_url not in seen and len(pages) < (source.max_pages or 1):
        seen.add(next_url)
        page, url = await _next_page(fetcher, source, next_url, now, len(pages) + 1, warnings)
        if page is None or url in pages:  # unreadable, or redirected to a page already read
            break
        pages.append(url)
        _add_counts(counts, page)
        entries += page.entries
        warnings += [f"page {len(pages)}: {w}" for w in page.warnings]
        next_url = page.next_page_url
    return tuple(pages), _unique_links(entries, warnings), warnings


async def _next_page(fetcher, source, url, now, number, warnings):
    """(list page `number`, its URL after redirects); page None (with a warning) when it
    cannot be fetched or read."""
    fetched = await fetcher.fetch(replace(source, url=url), None, now)
    if fetched.outcome != "ok":
        warnings.append(f"list page {number} ({url}) was not read: {_own(source, fetched)}; "
                        "the earlier pages were kept")
        return None, url
    page = _parse_list(source, fetched)
    if page.failed:
        warnings.append(f"list page {number} ({url}) was not read: {page.message}; the earlier "
                        "pages were kept")
        return None, url
    return page, fetched.final_url or url


def _parse_list(source: Source, fetched: FetchResult) -> ListPageResult:
    return parse_list_page(fetched.body or b"", fetched.headers, _page_url(source, fetched),
                           source.selectors, fetched.fetched_at)


def _add_counts(counts: dict[str, int], page: ListPageResult) -> dict[str, int]:
    for key, value in page.diagnostics.items():
        counts[key] = counts.get(key, 0) + value
    return counts


def _unique_links(entries: list[Entry], warnings: list[str]) -> list[Entry]:
    kept, seen = [], set()
    for entry in entries:
        if entry.url is None or entry.url not in seen:
            seen.add(entry.url)
            kept.append(entry)
    if len(kept) < len(entries):
        warnings.append(f"{len(entries) - len(kept)} entries on later list pages repeated a "
                        "link already listed (the list moved while it was read); each link was "
                        "kept once")
    return kept


# --------------------------------------------------------------------------- articles


async def enrich_entries(fetcher: Fetcher, source: Source, entries: list[Entry], now: datetime,
                         known_urls: KnownUrls, limit: int | None = None,
                         ) -> tuple[list[Entry], list[str]]:
    """Thin entries (with `fetch_article: true`: a teaser or no date; without: no date) whose
    URL is not in the archive get their article page's text and date, at most `limit`
    (MAX_ARTICLES) of them. (entries, warnings); a failed article is a warning and the entry is
    kept as it was."""
    limit = MAX_ARTICLES if limit is None else limit
    wanted = [n for n, entry in enumerate(entries) if entry.url and _wants_article(source, entry)]
    known = _known(known_urls, [entries[n].url for n in wanted]) if wanted else set()
    todo = [n for n in wanted if entries[n].url not in known]
    warnings = []
    if len(todo) > limit:
        warnings.append(f"{len(todo)} entries need their article page; only the first {limit} "
                        f"were fetched this cycle, the other {len(todo) - limit} keep the list "
                        "page's text")
        todo = todo[:limit]
    results = await asyncio.gather(*(_article(fetcher, source, entries[n], now) for n in todo))
    enriched = list(entries)
    for n, (entry, _) in zip(todo, results):
        enriched[n] = entry
    return enriched, warnings + _counted([warning for _, warning in results if warning])


def _counted(failed: list[str]) -> list[str]:
    if len(failed) <= MAX_ARTICLE_WARNINGS:
        return failed
    rest = len(failed) - MAX_ARTICLE_WARNINGS
    return failed[:MAX_ARTICLE_WARNINGS] + [f"… and {rest} more articles like that"]


def _wants_article(source: Source, entry: Entry) -> bool:
    return entry.date_missing or (source.fetch_article and is_thin(entry))


def _known(known_urls: KnownUrls, urls: list[str]) -> set[str]:
    try:
        return set(known_urls(urls))
    except Exception:  # noqa: BLE001 - a failed lookup costs some fetches, not the source
        log.exception("looking up known article URLs failed")
        return set()


async def _article(fetcher, source, entry: Entry, now) -> tuple[Entry, str | None]:
    """The entry with its article's text and date, or unchanged with a warning."""
    fetched = await fetcher.fetch(replace(source, url=entry.url), None, now)
    if fetched.outcome != "ok":
        return entry, f"article {entry.url} was not fetched: {_own(source, fetched)}"
    article = extract_article(fetched.body or b"", fetched.headers,
                              fetched.final_url or entry.url, now=fetched.fetched_at)
    if article.failed:
        return entry, f"article {entry.url} was not read: {article.message}"
    return _with_article(entry, article), None


def _with_article(entry: Entry, article) -> Entry:
    """Text when the article has more than the list page; its date when the list had none."""
    if len(article.text) > len(entry.summary):
        entry = replace(entry, summary=trim_text(article.text, SUMMARY_MAX_CHARS),
                        content_html=article.content_html)
    if entry.date_missing and article.published is not None:
        entry = replace(entry, published=article.published, date_missing=False)
    return replace(entry, title=entry.title or article.title)


# --------------------------------------------------------------------------- kind: page


async def _run_page(fetcher, source, state, now) -> PageOutcome:
    fetched = await fetcher.fetch(source, state, now)
    if fetched.outcome != "ok":
        return PageOutcome(fetched, None)
    page = extract_page_text(fetched.body or b"", fetched.headers, _page_url(source, fetched))
    if page.failed:
        return PageOutcome(failure(source, fetched, page.error_key, page.message), None)
    if not page.text.strip():
        return PageOutcome(failure(source, fetched, "empty_body", _NO_TEXT), None)
    change = page_change(state.page_text if state else None, page)
    title = page.title or source.name
    if change is None:
        parsed = ParseResult(feed_title=title, format="page")
        return PageOutcome(fetched, parsed, page_text=None, text=page.text)
    entry = Entry(title=f"{'Ny bevakad sida' if change.first else 'Ändrad sida'}: {title}",
                  url=source.url, guid=f"page:{source.id}:{page.fingerprint}",
                  summary=change.summary, content_html=text_to_html(change.summary),
                  published=fetched.fetched_at)
    parsed = ParseResult(entries=(entry,), feed_title=title, format="page")
    return PageOutcome(fetched, parsed, page_text=page.text, text=page.text)


_NO_TEXT = ("the page has no readable text (a page built by JavaScript shows nothing to "
            "scanner); watch another page or use the site's feed")


# --------------------------------------------------------------------------- kind: auto / feed


async def _run_feed(fetcher, source, state, now, known_urls) -> PageOutcome:
    fetched = await fetcher.fetch(source, state, now)
    if fetched.outcome != "ok":
        return PageOutcome(fetched, None)
    url = _page_url(source, fetched)
    parsed = parse_feed(fetched.body or b"", fetched.headers, url, fetched.fetched_at)
    if parsed.failed:
        key, message = _feed_problem(source, fetched, parsed)
        return PageOutcome(failure(source, fetched, key, message), None)
    entries, warnings = await enrich_entries(fetcher, source, list(parsed.entries), now,
                                             known_urls)
    parsed = replace(parsed, entries=tuple(entries), warnings=parsed.warnings + tuple(warnings))
    return PageOutcome(fetched, parsed, warnings=parsed.warnings)


def _feed_problem(source, fetched, parsed) -> tuple[str, str]:
    """A page advertising feeds names them; any other failure is the parser's."""
    if parsed.error_key != "not_a_feed":
        return parsed.error_key, parsed.message
    links = discover_feeds(fetched.body or b"", fetched.headers, _page_url(source, fetched))
    if not links:
        return "not_a_feed", (f"{parsed.message}; the page names no feed — try `scanner sources "
                              "discover URL`, or set kind: html with selectors (kind: page to "
                              "watch the page for changes)")
    named = ", ".join(link.url for link in links[:5])
    return "not_a_feed", (f"the URL is a web page, not a feed; it advertises {named} — set "
                          "`url:` to one of them and `kind: feed`")


# --------------------------------------------------------------------------- results


def failure(source: Source, fetched: FetchResult, key: str, message: str) -> FetchResult:
    """The fetch as a failure of the source: error key, message naming the source, and no
    validators, so the next scan reads the page again instead of skipping it as unchanged."""
    return replace(fetched, outcome="error", error_key=key, message=f"{source.id}: {message}",
                   body=None, etag=None, last_modified=None, body_hash=None)


def _unexpected(source: Source, now: datetime, exc: Exception) -> FetchResult:
    message = (f"{source.id}: unexpected error while reading {source.url} "
               f"({type(exc).__name__}: {exc}) — a bug in scanner: run with --verbose and "
               "report it")
    return FetchResult(source_id=source.id, url=source.url, outcome="error", fetched_at=now,
                       error_key="unexpected", message=message)


def _page_url(source: Source, fetched: FetchResult) -> str:
    return fetched.final_url or source.url


def _own(source: Source, fetched: FetchResult) -> str:
    """A fetch message without the leading "<source id>: " (warnings get it added once)."""
    message = fetched.message or fetched.outcome
    return message.removeprefix(f"{source.id}: ")


# --------------------------------------------------------------------------- check output


def describe_page_check(outcome: PageOutcome, source: Source) -> list[str]:
    """The lines `scanner sources check --fetch ID` prints for an html/page/auto source."""
    fetched = outcome.fetched
    lines = [f"{source.id}: HTTP {fetched.status or '—'} {fetched.outcome} from "
             f"{fetched.final_url or fetched.url} in {fetched.elapsed:.2f}s"]
    lines += _describe_selectors(outcome)
    if fetched.failed:
        return lines + [f"✗ {fetched.message}"] + _describe_warnings(outcome)
    if outcome.parsed is None:
        return lines + ["nothing changed since the last fetch (nothing to read)"]
    if source.kind == "page":
        lines += _describe_page(outcome)
    else:
        lines += _describe_entries(outcome.parsed)
    return lines + _describe_warnings(outcome)


def _describe_selectors(outcome: PageOutcome) -> list[str]:
    if not outcome.diagnostics:
        return []
    counts = ", ".join(f"{key} {count}" for key, count in outcome.diagnostics)
    pages = len(outcome.pages)
    where = f" on {pages} list pages: {', '.join(outcome.pages)}" if pages > 1 else ""
    return [f"selectors matched: {counts}{where}"]


def _describe_entries(parsed: ParseResult) -> list[str]:
    entries = parsed.entries
    lines = [f"format {parsed.format}, title '{parsed.feed_title or ''}', {len(entries)} "
             "entries (nothing was stored)"]
    for entry in entries[:SHOWN_ENTRIES]:
        when = _local(entry.published)
        when += " (no date: fetch time used)" if entry.date_missing else ""
        lines += [f"- {when}  {entry.title}", f"  {entry.url or '(no link)'}"]
        lines += [f"  {_start(entry.summary, 160)}"] if entry.summary else []
    if len(entries) > SHOWN_ENTRIES:
        lines.append(f"… and {len(entries) - SHOWN_ENTRIES} more")
    return lines


def _describe_page(outcome: PageOutcome) -> list[str]:
    text = outcome.text or ""
    lines = [f"page '{outcome.parsed.feed_title or ''}': {len(text)} characters of text",
             f"  {_start(text, 300)}"]
    if not outcome.parsed.entries:
        return lines + ["no meaningful change since the stored text: nothing would be recorded"]
    entry = outcome.parsed.entries[0]
    lines.append(f"would record: {entry.title}")
    return lines + [f"  {line}" for line in entry.summary.splitlines()]


def _describe_warnings(outcome: PageOutcome) -> list[str]:
    return [f"  warning: {warning}" for warning in outcome.warnings]


def _start(text: str, limit: int) -> str:
    return trim_text(" ".join(text.split()), limit)


def _local(when: datetime) -> str:
    return when.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")
