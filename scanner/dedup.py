"""Normalisation and identity: canonical URLs, item identities, content fingerprints.

Within one source, an item's identity says "this is the same item as last time"; its content
hash says whether it changed. Cross-source story clustering will live here too (not yet).
May import only scanner.models, scanner.errors and third-party libraries.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from scanner.models import Entry, Item

TRACKING_PARAMETERS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid",
        "mc_cid", "mc_eid", "_hsenc", "_hsmi", "__hstc", "__hssc", "__hsfp", "hsctatracking",
        "ref_src", "ref_url", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "_ga", "_gl",
        "wt.mc_id", "s_cid", "twclid", "ttclid", "li_fat_id", "srsltid", "at_medium",
        "at_campaign",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")  # Google Analytics, Piwik/Matomo campaign tags
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str | None) -> str | None:
    """The URL with scheme and host lower-cased, default port, fragment and tracking parameters
    dropped and the remaining query sorted; path case and trailing slashes kept as given (an
    empty path is "/", which RFC 3986 says is the same). A "#!" fragment (a client-side route
    naming a page) is kept. None for empty, unparsable or non-http(s) URLs."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    netloc = _netloc(parts.username, parts.password, host, port, scheme)
    fragment = parts.fragment if parts.fragment.startswith("!") else ""  # "#!" routes are pages
    return urlunsplit((scheme, netloc, parts.path or "/", _clean_query(parts.query), fragment))


def _netloc(
    user: str | None, password: str | None, host: str, port: int | None, scheme: str
) -> str:
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    if user:
        host = f"{user}:{password}@{host}" if password else f"{user}@{host}"
    return host


def _clean_query(query: str) -> str:
    """Tracking parameters dropped, the rest sorted; each pair kept byte for byte."""
    pairs = [pair for pair in query.split("&") if pair and not _is_tracking(pair)]
    return "&".join(sorted(pairs))


def _is_tracking(pair: str) -> bool:
    name = unquote_plus(pair.split("=", 1)[0]).lower()
    return name in TRACKING_PARAMETERS or name.startswith(TRACKING_PREFIXES)


def item_identity(guid: str | None, canonical: str | None, title: str, text: str) -> str:
    """"guid:<guid>", else "url:<canonical URL>", else "hash:<sha1 of normalised title+text>".

    The prefixes keep the three kinds from ever colliding.
    """
    guid = (guid or "").strip()
    if guid:
        return f"guid:{guid}"
    if canonical:
        return f"url:{canonical}"
    return f"hash:{_sha1(normalise_text(title), normalise_text(text))}"


def content_hash(title: str, summary: str, url: str | None) -> str:
    """A stable fingerprint (sha1 hex) of what a reader sees: title, summary text and link.

    Whitespace, case and Unicode form do not count, so re-rendering the same text is no change.
    """
    return _sha1(normalise_text(title), normalise_text(summary), canonical_url(url) or "")


def normalise_text(text: str) -> str:
    """NFC, case-folded, whitespace collapsed: the form hashes are taken of."""
    return " ".join(unicodedata.normalize("NFC", text or "").casefold().split())


def _sha1(*fields: str) -> str:
    return hashlib.sha1("\x1f".join(fields).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ItemBatch:
    """Items built from one source's entries, and how many duplicate identities were dropped."""

    items: tuple[Item, ...]
    duplicates: int = 0


def to_items(
    source_id: str, language: str, entries: Iterable[Entry], fetched_at: datetime
) -> ItemBatch:
    """Items for one source's batch: identity, canonical URL, content hash; lang is the entry's
    own language or `language` (the source's); the first of several entries with the same
    identity is kept and the rest counted in ItemBatch.duplicates."""
    items: dict[str, Item] = {}
    duplicates = 0
    for entry in entries:
        item = to_item(source_id, language, entry, fetched_at)
        if item.identity in items:
            duplicates += 1
            continue
        items[item.identity] = item
    return ItemBatch(items=tuple(items.values()), duplicates=duplicates)


def to_item(source_id: str, language: str, entry: Entry, fetched_at: datetime) -> Item:
    """One Entry as an Item (tags empty: classification comes later)."""
    canonical = canonical_url(entry.url)
    return Item(
        source_id=source_id,
        identity=item_identity(entry.guid, canonical, entry.title, entry.summary),
        url=entry.url,
        canonical_url=canonical,
        title=entry.title,
        summary=entry.summary,
        content_html=entry.content_html,
        published=entry.published,
        fetched=fetched_at,
        date_missing=entry.date_missing,
        content_hash=content_hash(entry.title, entry.summary, entry.url),
        lang=entry.language or language,
        author=entry.author,
    )
