"""`kind: html` list pages: news items read from a web page with CSS selectors.

    parse_list_page(body, headers, page_url, {"item": "li.sv-channel-item", ...}, fetched_at)
    -> ListPageResult(entries=(Entry, ...), next_page_url=..., diagnostics={"item": 12, ...})

Selector keys (the contract with sources.yaml): `item` (required, on the page), and relative
to each item `title`, `link` (its `href`; may be the same element as the title), `date` (the
`datetime` attribute where present, else the text, read by parse_swedish_date), `summary`;
`next_page` (on the page) names the link to the next list page. Without `title` the item's
first heading is used, without `link` the title's link or the item's first link, without
`date` a <time> element in the item, without `next_page` <link/a rel="next">.

Problems for the whole page are values (error_key + message), never exceptions: "empty_body",
"not_html", "invalid_selector", "no_items" (with a hint naming the page's repeated elements),
"login_wall", "cookie_wall", "navigation_items". Problems with single items are warnings.
"""

from __future__ import annotations

import difflib
import html
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from urllib.parse import urldefrag, urljoin, urlsplit

from cssselect import HTMLTranslator, SelectorError
from lxml import etree

from scanner.models import Entry, ParseResult
from scanner.parse.dates import parse_swedish_date
from scanner.parse.page import (
    WALL_MESSAGES,
    candidate_items,
    detect_wall,
    load_html,
    not_html_message,
)
from scanner.parse.text import clean_line, html_to_text, parse_date_utc
from scanner.parse.text import sanitize_html, trim_text

SELECTOR_KEYS = ("item", "title", "link", "date", "summary", "next_page")
MAX_ITEMS_PER_PAGE = 500  # more is a selector matching far too much; the rest is left unread
MAX_ITEM_WARNINGS = 5  # per kind of warning; the rest are counted
SUMMARY_MAX_CHARS = 1000
FUTURE_TOLERANCE = timedelta(days=1)
NAV_TITLES = frozenset([
    "hem", "start", "startsida", "kontakt", "kontakta oss", "om oss", "om webbplatsen", "sök",
    "meny", "english", "in english", "logga in", "tillgänglighet", "tillgänglighetsredogörelse",
    "cookies", "press", "lediga jobb", "lyssna", "webbkarta", "home", "contact", "about",
    "about us", "search", "menu", "sitemap", "nyheter", "kalender", "evenemang", "aktuellt",
])  # titles of menu links: items with such titles are navigation, not news
_CHROME = ("ancestor-or-self::*[self::nav or @role='navigation' or ((self::header or "
           "self::footer) and not(ancestor::article or ancestor::main))]")


@dataclass(frozen=True)
class ListPageResult:
    """One parsed list page. `diagnostics`: how many elements `item` and `next_page` matched on
    the page, and for title/link/date/summary in how many items they matched (only the keys
    that were given). Entries without a date on the page have published = fetched_at and
    date_missing = True."""

    entries: tuple[Entry, ...] = ()
    next_page_url: str | None = None
    diagnostics: dict[str, int] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    page_title: str | None = None
    error_key: str | None = None
    message: str | None = None

    @property
    def failed(self) -> bool:
        return self.error_key is not None

    def to_parse_result(self) -> ParseResult:
        return ParseResult(entries=self.entries, warnings=self.warnings,
                           feed_title=self.page_title, format="html",
                           error_key=self.error_key, message=self.message)


def parse_list_page(body: bytes, headers: Mapping[str, str], page_url: str,
                    selectors: Mapping[str, str] | Iterable[tuple[str, str]],
                    fetched_at: datetime) -> ListPageResult:
    """Read the items of one list page. `page_url` is the URL the body came from (after
    redirects); `selectors` a mapping or Source.selectors' (key, css) pairs; `fetched_at`
    (aware; naive is UTC) stands in for missing dates. Never raises."""
    selectors = dict(selectors)
    problems = check_selectors(selectors)
    if problems:
        return ListPageResult(error_key="invalid_selector", message="; ".join(problems))
    if not body or not body.strip():
        return ListPageResult(error_key="empty_body", message="the server sent an empty page")
    root, warnings = load_html(body, headers)
    if root is None:
        return ListPageResult(error_key="not_html", message=not_html_message(body, headers))
    return _ListReader(root, page_url, dict(selectors), _utc(fetched_at), list(warnings)).read()


def check_selectors(selectors: Mapping[str, str]) -> list[str]:
    """Problems with a `selectors:` mapping: unknown keys, no `item`, CSS that cannot be used."""
    problems = [_unknown_key(key) for key in selectors if key not in SELECTOR_KEYS]
    if not (selectors.get("item") or "").strip():
        problems.append("selectors.item is missing: name the element that holds one news item, "
                        "e.g. item: li.sv-channel-item")
    for key, css in selectors.items():
        if key in SELECTOR_KEYS and css and _translate(css) is None:
            problems.append(f"selectors.{key}: '{css}' is not a CSS selector scanner can use; "
                            "write e.g. 'li.news-item' or 'h2.entry-title a'")
    return problems


def no_items_hint(root: etree._Element, item_css: str) -> str:
    """'the item selector 'li.news' matched 0 elements; the page has 12 `article` elements and
    12 `li.news-item`; did you mean …?' ("use one of them as `item`" when none is close)."""
    found = candidate_items(root)
    head = f"the item selector '{item_css}' matched 0 elements"
    if not found:
        return (f"{head}, and the page has no repeated elements with links; check the URL in a "
                "browser (a page built by JavaScript shows nothing to scanner: look for a feed)")
    parts = [f"{n} `{css}`" for css, n in found]
    parts[0] += " elements"
    listing = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    close = difflib.get_close_matches(item_css, [css for css, _ in found], n=1, cutoff=0.6)
    advice = f"did you mean `{close[0]}`?" if close else "use one of them as `item`"
    return f"{head}; the page has {listing}; {advice}"


# --------------------------------------------------------------------------- reading items


class _ListReader:
    """One pass over one page: items to entries, with counts and warnings."""

    def __init__(self, root, page_url, selectors, fetched_at, warnings) -> None:
        self.root, self.page_url, self.fetched_at = root, page_url, fetched_at
        self.css = {k: v for k, v in selectors.items() if v}
        self.sel = {key: _compile(css) for key, css in self.css.items()}  # all valid: checked
        self.base = _base_url(root, page_url)
        self.warnings: list[str] = warnings
        self.counts: Counter[str] = Counter()
        self.notes: dict[str, list[str]] = {}

    def read(self) -> ListPageResult:
        items = self.sel["item"](self.root)
        diagnostics = {"item": len(items)}
        next_url = self._next_page(diagnostics)
        if not items:
            return self._failure(*self._nothing_found(), diagnostics, next_url)
        if len(items) > MAX_ITEMS_PER_PAGE:
            self.warnings.append(f"the item selector '{self.css['item']}' matched {len(items)} "
                                 f"elements; only the first {MAX_ITEMS_PER_PAGE} were read")
            items = items[:MAX_ITEMS_PER_PAGE]
        found = [self._fields(item) for item in items]
        navigation = self._navigation_problem(found)
        if navigation:
            return self._failure("navigation_items", navigation, diagnostics, next_url)
        entries = self._entries(found)
        diagnostics.update({k: self.counts[k] for k in self.css if k not in diagnostics})
        return ListPageResult(entries=tuple(entries), next_page_url=next_url,
                              diagnostics=diagnostics, warnings=tuple(self._all_warnings(items)),
                              page_title=_page_title(self.root))

    def _nothing_found(self) -> tuple[str, str]:
        wall = detect_wall(self.root)
        if wall:
            return wall, WALL_MESSAGES[wall]
        return "no_items", no_items_hint(self.root, self.css["item"])

    def _failure(self, key, message, diagnostics, next_url) -> ListPageResult:
        return ListPageResult(next_page_url=next_url, diagnostics=diagnostics, error_key=key,
                              message=message, warnings=tuple(self.warnings),
                              page_title=_page_title(self.root))

    def _fields(self, item) -> dict:
        """The elements and strings of one item (not yet an Entry)."""
        title_el = _either(self._first("title", item), lambda: _first_heading(item))
        link_el = _either(self._first("link", item), lambda: _link_near(title_el, item))
        href = _href(link_el) if link_el is not None else None
        title = clean_line(title_el.text_content()) if title_el is not None else ""
        if not title and link_el is not None:
            title = clean_line(link_el.text_content()) or (link_el.get("title") or "").strip()
        return {"item": item, "title": title, "href": href, "link_el": link_el,
                "date_el": _either(self._first("date", item),
                                   lambda: _default_date(item, "date" in self.sel)),
                "summary_el": self._first("summary", item)}

    def _first(self, key: str, item):
        selector = self.sel.get(key)
        if selector is None:
            return None
        matched = selector(item)
        if matched:
            self.counts[key] += 1
        return matched[0] if matched else None

    def _entries(self, found: list[dict]) -> list[Entry]:
        entries, seen, repeated = [], set(), 0
        for index, fields in enumerate(found, start=1):
            try:
                entry = self._entry(index, fields)
            except Exception as exc:  # noqa: BLE001 - one odd item must not sink the page
                self._note("error", f"item {index}: skipped: {type(exc).__name__}: {exc}")
                continue
            if entry is None:
                continue
            if entry.url and entry.url in seen:
                repeated += 1
                continue
            seen.add(entry.url)
            entries.append(entry)
        if repeated:
            self.warnings.append(f"{repeated} items repeated a link already listed on the page; "
                                 "each link was kept once")
        return entries

    def _entry(self, index: int, fields: dict) -> Entry | None:
        label = f'item {index} "{fields["title"][:60]}"' if fields["title"] else f"item {index}"
        url = self._absolute(fields["href"], label)
        if not (url or fields["title"]):
            self._note("no_title", f"{label}: skipped: it has neither a title nor a link")
            return None
        published = self._date(fields["date_el"], label)
        summary_el = fields["summary_el"]
        fragment = _inner_html(summary_el) if summary_el is not None else ""
        text = html_to_text(fragment) if fragment else ""
        return Entry(title=fields["title"] or trim_text(text, 90) or url or "", url=url,
                     guid=None, summary=trim_text(text, SUMMARY_MAX_CHARS),
                     content_html=sanitize_html(fragment, self.base) if fragment else "",
                     published=published or self.fetched_at, date_missing=published is None)

    def _absolute(self, href: str | None, label: str) -> str | None:
        url = _resolve(self.base, href) if href else None
        if url is None and href and href.strip() not in ("#", ""):
            self._note("bad_link", f"{label}: link '{href[:80]}' is not a web address; kept "
                                   "without link")
        return url if url != self.page_url else None  # "#" and the list page itself: no link

    def _date(self, element, label: str) -> datetime | None:
        if element is None:
            return None
        raw = (element.get("datetime") or element.get("content") or "").strip()
        raw = raw or clean_line(element.text_content())
        moment = parse_swedish_date(raw, self.fetched_at) or parse_date_utc(raw)
        if moment is None:
            self._note("bad_date", f"{label}: date '{raw[:60]}' could not be read; "
                                   "using fetch time")
        elif moment > self.fetched_at + FUTURE_TOLERANCE:
            self._note("future", f"{label}: date {moment.isoformat()} is more than a day after "
                                 "the fetch; kept as given")
        return moment

    def _note(self, kind: str, message: str) -> None:
        self.notes.setdefault(kind, []).append(message)

    def _all_warnings(self, items: list) -> list[str]:
        warnings = list(self.warnings)
        for key in ("title", "link", "date", "summary"):
            if key in self.css and self.counts[key] < len(items):
                tail = "; items without a date get the fetch time" if key == "date" else ""
                warnings.append(f"the {key} selector '{self.css[key]}' matched in "
                                f"{self.counts[key]} of {len(items)} items{tail}")
        for notes in self.notes.values():
            warnings.extend(notes[:MAX_ITEM_WARNINGS])
            if len(notes) > MAX_ITEM_WARNINGS:
                warnings.append(f"… and {len(notes) - MAX_ITEM_WARNINGS} more like that")
        return warnings

    def _navigation_problem(self, found: list[dict]) -> str | None:
        """A message when the items are the site's menu rather than news."""
        total = len(found)
        nav_titles = [f["title"] for f in found if f["title"].lower() in NAV_TITLES]
        chrome = sum(_in_chrome(f["link_el"] if f["link_el"] is not None else f["item"])
                     for f in found)
        if chrome < max(1, total / 2) and (len(nav_titles) < 2 or len(nav_titles) < total / 2):
            return None
        examples = ", ".join(f"'{t}'" for t in (nav_titles or [f["title"] for f in found])[:3])
        hint = candidate_items(self.root)
        better = f"; the page's news may be in `{hint[0][0]}` ({hint[0][1]} elements)" if hint else ""
        return (f"the item selector '{self.css['item']}' matches the site's navigation, not news: "
                f"{max(chrome, len(nav_titles))} of {total} items are menu links ({examples}); "
                f"narrow it to the news list{better}")

    def _next_page(self, diagnostics: dict[str, int]) -> str | None:
        selector = self.sel.get("next_page") or _compile("link[rel~=next], a[rel~=next]")
        matched = selector(self.root)
        if "next_page" in self.sel:
            diagnostics["next_page"] = len(matched)
        for element in matched:
            url = _resolve(self.base, _href(element) or "")
            if url and url != self.page_url:
                return url
        return None


# --------------------------------------------------------------------------- small helpers


def _compile(css: str) -> etree.XPath | None:
    """The CSS selector as a compiled XPath (compiled per page: XPath objects are not shared
    between threads; the translation is cached)."""
    xpath = _translate(css)
    return etree.XPath(xpath) if xpath is not None else None


@lru_cache(maxsize=256)
def _translate(css: str) -> str | None:
    try:
        xpath = HTMLTranslator().css_to_xpath(css)
        etree.XPath(xpath)
    except (SelectorError, etree.XPathError, ValueError):
        return None
    return xpath


def _unknown_key(key: str) -> str:
    close = difflib.get_close_matches(key, SELECTOR_KEYS, n=1)
    hint = f"did you mean `{close[0]}`?" if close else "use " + ", ".join(SELECTOR_KEYS)
    return f"selectors.{key}: unknown selector key; {hint}"


def _base_url(root, page_url: str) -> str:
    base = root.xpath("string(//head/base/@href)").strip()
    return (_resolve(page_url, base) or page_url) if base else page_url


def _resolve(base: str, href: str) -> str | None:
    """`href` made absolute, without its fragment; None when empty or not an http(s) URL."""
    if not href.strip():
        return None
    try:
        url = urldefrag(urljoin(base, href.strip()))[0]
        parts = urlsplit(url)
        return url if parts.scheme in ("http", "https") and parts.hostname else None
    except ValueError:
        return None


def _either(element, fallback):
    """`element or fallback()` without truth-testing lxml elements (childless ones are falsy)."""
    return element if element is not None else fallback()


def _first_heading(item):
    found = item.xpath("(.//h1|.//h2|.//h3|.//h4|.//h5|.//h6)[1]")
    return found[0] if found else None


def _link_near(title_el, item):
    """The link of an item without a `link` selector: the title's own, enclosing or inner <a>,
    else the item's first link (or the item itself when it is an <a>)."""
    if title_el is not None:
        if title_el.get("href"):
            return title_el
        around = title_el.xpath("ancestor::a[@href][1]") or title_el.xpath(".//a[@href][1]")
        if around and (around[0] is item or item in around[0].iterancestors()):
            return around[0]
    if item.get("href"):
        return item
    found = item.xpath(".//a[@href][1]")
    return found[0] if found else None


def _href(element) -> str | None:
    if element.get("href"):
        return element.get("href")
    inner = element.xpath(".//a[@href][1]/@href")
    return inner[0] if inner else None


def _default_date(item, has_selector: bool):
    if has_selector:
        return None
    found = item.xpath(".//time[1]")
    return found[0] if found else None


def _inner_html(element) -> str:
    escaped = html.escape(element.text or "", quote=False)
    return escaped + "".join(etree.tostring(child, encoding="unicode") for child in element)


def _in_chrome(element) -> bool:
    return bool(element.xpath(_CHROME))


def _page_title(root) -> str | None:
    return clean_line(root.findtext(".//title") or "") or None


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)
