"""Frozen dataclasses shared by all stages. No logic beyond small derived properties, and
building and copying them without their generic __init__ where that runs for every item."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Source:
    """One entry of sources.yaml after defaults were applied and validation passed."""

    id: str
    name: str
    url: str
    kind: str = "feed"  # feed | html | page | auto
    homepage: str | None = None
    language: str = "sv"
    owner: str | None = None
    weight: float = 1.0
    interval: timedelta = timedelta(hours=1)
    enabled: bool = True
    tags: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    notes: str | None = None
    selectors: tuple[tuple[str, str], ...] = ()  # (key, CSS selector) pairs for kind html/page
    max_pages: int | None = None  # html/page: how many listing pages to follow
    fetch_article: bool = False  # html/page: fetch each article page for its full text


@dataclass(frozen=True)
class SourceState:
    """What the store remembers about a source between cycles."""

    source_id: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    next_fetch: datetime | None = None
    error_streak: int = 0
    last_error: str | None = None
    last_error_key: str | None = None
    last_success: datetime | None = None
    last_attempt: datetime | None = None
    disabled_reason: str | None = None
    moved_to: str | None = None  # permanent redirect target, for staff to copy into sources.yaml
    url: str | None = None  # the url last fetched: a 410 disables the source until it changes
    page_text: str | None = None  # kind: page — the watched page's main text at the last change


@dataclass(frozen=True)
class FetchResult:
    """The outcome of one HTTP fetch of one source.

    outcome: "ok" (new body), "not_modified" (304), "unchanged" (200 but same body hash),
    "skipped" (not fetched: robots, disabled) or "error".
    """

    source_id: str
    url: str
    outcome: str
    fetched_at: datetime
    status: int | None = None
    error_key: str | None = None
    message: str | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    final_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    retry_after: timedelta | None = None
    moved_to: str | None = None
    disable: bool = False
    elapsed: float = 0.0

    @property
    def failed(self) -> bool:
        return self.outcome == "error"


@dataclass(frozen=True)
class Entry:
    """One entry as parsed from a feed: cleaned, links resolved, dates in UTC."""

    title: str
    url: str | None
    guid: str | None
    summary: str  # clean plain text
    content_html: str  # sanitised HTML copy
    published: datetime  # UTC
    date_missing: bool = False  # True when published is the fetch time
    updated: datetime | None = None
    author: str | None = None
    language: str | None = None


@dataclass(frozen=True)
class ParseResult:
    """A parsed feed: its entries, per-entry warnings, or an error for the whole body."""

    entries: tuple[Entry, ...] = ()
    warnings: tuple[str, ...] = ()
    feed_title: str | None = None
    feed_language: str | None = None
    format: str | None = None  # rss20, atom10, json11, ...
    error_key: str | None = None
    message: str | None = None

    @property
    def failed(self) -> bool:
        return self.error_key is not None


@dataclass(frozen=True)
class ItemTag:
    """One tag on an item: score 0–1, the reason, and where it came from.

    origin: source (sources.yaml), rule, model, rule+model, or human (a label).
    """

    tag: str
    score: float
    why: str
    origin: str


@dataclass(frozen=True)
class Item:
    """An entry ready to store: normalised, with its identity within the source."""

    source_id: str
    identity: str  # guid, else canonical URL, else hash of title and text
    url: str | None
    canonical_url: str | None
    title: str
    summary: str
    content_html: str
    published: datetime
    fetched: datetime
    date_missing: bool
    content_hash: str
    lang: str
    author: str | None = None
    tags: tuple[str, ...] = ()  # the source's tags from sources.yaml
    tag_scores: tuple[ItemTag, ...] = ()  # automatic tags (rules and model)
    relevant: bool | None = None  # automatic verdict; None when not tagged
    tagger_version: str | None = None
    story_tokens: str = ""  # dedup.signature_tokens_text: what "same story" compares
    story_bands: tuple[str, ...] = ()  # LSH keys: items sharing one are story candidates
    story_sketch: tuple[int, ...] | None = None  # dedup.story_sketch (not stored): spares the
    # main process reading story_tokens again


def built(cls: type[T], **attributes) -> T:
    """cls(**attributes) for a plain frozen dataclass (no __post_init__, no slots) given every
    field, without the frozen __init__, which sets each field through object.__setattr__: for
    the objects made for every tag of every item."""
    instance = object.__new__(cls)
    instance.__dict__.update(attributes)
    return instance


def item_with(item: Item, **changes) -> Item:
    """dataclasses.replace(item, **changes) without its generic keyword __init__, which costs
    a few per cent of preparing an item: Item is a plain frozen dataclass, so a copy of its
    attributes is what replace() builds."""
    if type(item) is not Item or not _PLAIN_ITEM:
        return replace(item, **changes)
    copy = object.__new__(Item)
    copy.__dict__.update(item.__dict__, **changes)
    return copy


_PLAIN_ITEM = not hasattr(Item, "__post_init__") and not hasattr(Item, "__slots__")


@dataclass(frozen=True)
class SourceScanResult:
    """What one cycle did for one source."""

    source_id: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_entries: int = 0
    fetch_outcome: str = "ok"
    error_key: str | None = None
    message: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.error_key is not None


@dataclass(frozen=True)
class ArchivedItem:
    """An item as the archive holds it, with every source that carried it."""

    id: int
    source: str
    sources: tuple[str, ...]
    url: str | None
    title: str
    summary: str
    published: datetime
    fetched: datetime
    lang: str
    tags: tuple[str, ...]
    date_missing: bool = False
    revision: int = 1
    canonical_url: str | None = None
    relevant: bool | None = None  # a human verdict wins over the automatic one
    tag_details: tuple[ItemTag, ...] = ()  # every tag in effect, human labels included
    story: int | None = None  # shared by every item of one story across sources


@dataclass(frozen=True)
class SourceHealth:
    """One row of `scanner sources list`."""

    source_id: str
    last_success: datetime | None
    last_error: str | None
    last_error_key: str | None
    error_streak: int
    items_7d: int
    items_30d: int
    next_fetch: datetime | None
    disabled_reason: str | None = None
    moved_to: str | None = None


@dataclass(frozen=True)
class TaxonomyTag:
    """One tag of taxonomy.yaml; a child (parent set) rolls up to its parent when tagging."""

    id: str
    label_sv: str
    label_en: str = ""
    description: str = ""
    priority: int = 2  # 1 = highest
    parent: str | None = None
    keywords: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    weight: float = 1.0


@dataclass(frozen=True)
class Taxonomy:
    """A validated taxonomy.yaml: every tag (children flattened, in file order) and the
    relevance keywords that mark an item as being about libraries or reading at all."""

    tags: tuple[TaxonomyTag, ...] = ()
    relevance_keywords: tuple[str, ...] = ()
    path: str = "taxonomy.yaml"

    def by_id(self, tag_id: str) -> TaxonomyTag:
        """The tag with this id; KeyError if there is none."""
        for tag in self.tags:
            if tag.id == tag_id:
                return tag
        raise KeyError(f"unknown tag '{tag_id}' (not in {self.path})")

    @property
    def top_level(self) -> tuple[str, ...]:
        """Ids of the tags without a parent, highest priority (1) first, then file order."""
        roots = [tag for tag in self.tags if tag.parent is None]
        return tuple(tag.id for tag in sorted(roots, key=lambda tag: tag.priority))

    def root_of(self, tag_id: str) -> str:
        """The top-level ancestor of a tag (the tag itself when it has no parent)."""
        tag = self.by_id(tag_id)
        for _ in range(len(self.tags)):
            if tag.parent is None:
                break
            tag = self.by_id(tag.parent)
        return tag.id

    def children_of(self, tag_id: str) -> tuple[str, ...]:
        """Ids of the direct children of a tag."""
        return tuple(tag.id for tag in self.tags if tag.parent == tag_id)
