"""Finding a site's feeds from its page, and sources.yaml entries for them.

    links = discover_feeds(body, headers, "https://www.example.se/")
    for url in probe_urls("https://www.example.se/", links): ...   # the caller fetches these
    print(source_yaml_for(links, "https://www.example.se/", "Example-biblioteket"))

discover_feeds reads <link rel="alternate"> with an RSS, Atom or JSON Feed type, then links in
the page that look like feeds: Sitevision's RSS portlets ("…/12.x.portlet?state=rss&…"),
"/feed/", "….rss", "rss.xml", "atom.xml", or a link named "RSS". Comment feeds are left out.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin, urlsplit

from scanner.config_yaml import slugify, unique_slug, yaml_scalar
from scanner.parse.page import load_html
from scanner.parse.text import clean_line

FEED_TYPES = {
    "application/rss+xml": "rss",
    "application/atom+xml": "atom",
    "application/feed+json": "json",
    "application/rdf+xml": "rss",
}
COMMON_FEED_PATHS = (
    "/feed/", "/rss", "/rss.xml", "/atom.xml", "/feed.xml", "/index.xml", "/nyheter/rss",
    "/nyheter/feed/", "/feed.json", "/?feed=rss2",
)  # fmt: skip
_FEED_HREF = re.compile(
    r"state=rss|[?&](?:feed|format|type)=(?:rss|atom)|/feed/?$|/rss/?$|\.rss$|"
    r"(?:rss|atom|feed)\.xml$|/rss\.aspx|/feeds?/(?:rss|atom|posts)", re.I)
_FEED_TEXT = re.compile(r"^(?:rss|atom)\b|rss-?flöde|\brss\)?$|prenumerera.*\brss\b", re.I)
_COMMENTS = re.compile(r"/comments/feed|kommentar|comments", re.I)
_GENERIC_WORDS = re.compile(r"\b(?:som rss|som flöde|rss-flöde|rss|atom|flödet|flöde|feed|"
                            r"prenumerera på)\b", re.I)
_SEPARATORS = re.compile(r"\s*[»|–—:-]\s*|\s+-\s+")


@dataclass(frozen=True)
class FeedLink:
    """A feed the page points to. type: "rss", "atom", "json", or "" when only the link's
    address or text says it is a feed; origin: "alternate" (<link rel="alternate">) or
    "anchor" (an ordinary link in the page)."""

    url: str
    title: str | None
    type: str
    origin: str = "alternate"


def discover_feeds(body: bytes, headers: Mapping[str, str], page_url: str) -> list[FeedLink]:
    """The feeds a page names, <link rel="alternate"> first, each URL once, made absolute
    against the page (or its <base href>). Never raises; [] for a body that is not HTML."""
    root, _warnings = load_html(body, headers)
    if root is None:
        return []
    base = _absolute(page_url, root.xpath("string(//head/base/@href)").strip()) or page_url
    found = _alternates(root, base) + _anchors(root, base)
    seen: set[str] = set()
    unique = []
    for link in found:
        if link.url not in seen and not _is_comments(link):
            seen.add(link.url)
            unique.append(link)
    return unique


def probe_urls(page_url: str, found: Iterable[FeedLink] = ()) -> list[str]:
    """COMMON_FEED_PATHS on the page's site, for the caller to try when the page names none
    (or to check more); the ones already found are left out."""
    parts = urlsplit(page_url)
    root = f"{parts.scheme}://{parts.netloc}"
    known = {link.url for link in found}
    return [url for url in (root + path for path in COMMON_FEED_PATHS) if url not in known]


def source_yaml_for(feed_links: Iterable[FeedLink], homepage: str, name: str,
                    existing_ids: Collection[str] = ()) -> str:
    """Ready-to-paste entries under `sources:` (2-space list indent, like sources.yaml), one per
    feed: a slug id from `name` and (with several feeds) what the feed's title adds to it, unique
    against `existing_ids` and each other; kind:
    feed; the homepage; language: sv. "" when there are no links."""
    links = list(feed_links)
    taken = set(existing_ids)
    blocks = []
    for link in links:
        label = _label(link.title, name) if len(links) > 1 else ""
        entry_name = f"{name} – {label}" if label and label.lower() != name.lower() else name
        ident = unique_slug(slugify(f"{name} {label}"), taken)
        taken.add(ident)
        blocks.append(_yaml_block(ident, entry_name, link.url, homepage))
    return "\n".join(blocks)


# --------------------------------------------------------------------------- finding


def _alternates(root, base: str) -> list[FeedLink]:
    links = []
    for element in root.xpath("//link[@href]"):
        rels = (element.get("rel") or "").lower().split()
        kind = FEED_TYPES.get((element.get("type") or "").split(";")[0].strip().lower())
        url = _absolute(base, element.get("href"))
        if "alternate" in rels and kind and url:
            links.append(FeedLink(url, clean_line(element.get("title")) or None, kind))
    return links


def _anchors(root, base: str) -> list[FeedLink]:
    links = []
    for element in root.xpath("//a[@href]"):
        href, text = element.get("href"), clean_line(element.text_content())
        if not (_FEED_HREF.search(href.split("#")[0]) or _FEED_TEXT.search(text)):
            continue
        url = _absolute(base, href)
        if url:
            title = text or clean_line(element.get("title")) or None
            links.append(FeedLink(url, title, "", origin="anchor"))
    return links


def _absolute(base: str, href: str | None) -> str | None:
    try:
        url = urldefrag(urljoin(base, (href or "").strip()))[0]
        parts = urlsplit(url)
        web = parts.scheme in ("http", "https") and parts.hostname and not re.search(r"\s", url)
        return url if web else None
    except ValueError:
        return None


def _is_comments(link: FeedLink) -> bool:
    return bool(_COMMENTS.search(link.url) or _COMMENTS.search(link.title or ""))


# --------------------------------------------------------------------------- YAML


def _strip_generic(title: str) -> str:
    text = " ".join(_GENERIC_WORDS.sub(" ", _SEPARATORS.sub(" ", title)).split())
    return text.strip(" -–—:|»()")


def _label(title: str | None, name: str) -> str:
    """What sets this feed apart from the site's others: its title without the site name and
    without words like "Flöde" or "RSS"."""
    parts = [_strip_generic(p) for p in _SEPARATORS.split(title or "")]
    kept = [p for p in parts if p and p.lower() != name.lower()]
    return " ".join(kept)


def _yaml_block(ident: str, name: str, url: str, homepage: str) -> str:
    return (f"  - id: {ident}\n"
            f"    name: {yaml_scalar(name)}\n"
            f"    url: {yaml_scalar(url)}\n"
            "    kind: feed\n"
            f"    homepage: {yaml_scalar(homepage)}\n"
            "    language: sv\n")
