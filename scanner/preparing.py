"""What a parse worker does with a fetched body: parse, filter, dedup within the batch, sign
for stories, and tag — everything of a scan cycle but fetching and storing.

It lives apart from cycle.py so that worker processes import only parsing, dedup and tagging
(not the store, the fetcher or config validation): they start sooner and hold less memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from scanner import dedup
from scanner.filters import passes_filters
from scanner.models import Item, ParseResult, Source, item_with
from scanner.parse.feed import parse_feed

if TYPE_CHECKING:
    from scanner.tagging import TaggerSpec

log = logging.getLogger("scanner")
# Cyclic garbage collection of the young generation every 10,000 allocations, not 700: a scan
# cycle allocates millions of objects (feedparser's dicts, items, rows), hardly any of them in
# reference cycles, and the collections took about 4% of a parse worker's and 6% of the main
# process's time; this way about a third of that.
GC_THRESHOLDS = (10_000, 10, 10)


@dataclass(frozen=True)
class Prepared:
    """A fetched body turned into tagged items (in a worker process or in this one)."""

    parsed: ParseResult  # without its entries: they are the items now
    items: tuple[Item, ...] = ()
    skipped: int = 0
    warnings: tuple[str, ...] = ()


_TAGGER_SPEC: TaggerSpec | None = None  # set once per (worker) process by use_tagger


def use_tagger(spec: TaggerSpec | None) -> None:
    global _TAGGER_SPEC
    _TAGGER_SPEC = spec


def warm_up() -> None:
    """Build this worker's tagger now, not on its first batch."""
    if _TAGGER_SPEC is not None:
        from scanner.tagging import build_tagger
        build_tagger(_TAGGER_SPEC)


def tag_texts(rows: list[tuple[int, str, str]]) -> list[tuple[int, object]]:
    """(id, decision) for (id, title, text) rows, with this process's tagger (for retag)."""
    from scanner.tagging import build_tagger
    decisions = build_tagger(_TAGGER_SPEC).tag_many([(title, text) for _, title, text in rows])
    return [(row[0], decision) for row, decision in zip(rows, decisions)]


def prepare(source: Source, body: bytes, headers: dict, url: str,
            fetched_at: datetime) -> Prepared:
    """Parse, filter, dedup within the batch, and tag: everything but storing."""
    return prepare_parsed(source, parse_feed(body, headers, url, fetched_at), fetched_at)


def prepare_parsed(source: Source, parsed: ParseResult, fetched_at: datetime) -> Prepared:
    if parsed.failed:
        return Prepared(parsed)
    batch, skipped, warnings = items_from(source, parsed, fetched_at)
    batch, tag_warning = _tagged(batch)
    return Prepared(replace(parsed, entries=()), tuple(batch), skipped,
                    warnings + tag_warning)


def _tagged(batch: list[Item]) -> tuple[list[Item], tuple[str, ...]]:
    if _TAGGER_SPEC is None or not batch:
        return batch, ()
    from scanner.tagging import build_tagger, tag_items  # numpy and scipy: only when tagging
    try:
        return tag_items(build_tagger(_TAGGER_SPEC), _TAGGER_SPEC.version, batch), ()
    except Exception as exc:  # nothing half-tagged: the batch is stored untagged
        log.warning("tagging failed: %s", exc)
        return batch, (f"tagging failed ({exc}); the items were stored untagged — fix the "
                       "cause and run `scanner retag`",)


def items_from(source: Source, parsed: ParseResult,
               fetched_at: datetime) -> tuple[list[Item], int, tuple[str, ...]]:
    """Entries to items: filters applied, duplicates collapsed, source tags added."""
    kept = [e for e in parsed.entries if passes_filters(source, e.title, e.summary)]
    converted = dedup.to_items_with_stories(  # new items have no tags of their own
        source.id, source.language, kept, fetched_at, tuple(dict.fromkeys(source.tags)))
    batch = list(converted.items)
    warnings = list(parsed.warnings)
    if converted.duplicates:
        warnings.append(f"{converted.duplicates} entries repeat the guid or link of an earlier "
                        "entry in the same feed and were stored once")
    return batch, len(parsed.entries) - len(kept) + converted.duplicates, tuple(warnings)


def with_story_signature(item: Item, source_tags: tuple[str, ...] = ()) -> Item:
    """The item with its story signature and, after its own tags, the source's (items_from
    builds its items with both at once: dedup.to_items_with_stories)."""
    signature = dedup.story_signature(item.title, item.summary)
    tags = tuple(dict.fromkeys(item.tags + source_tags)) if source_tags else item.tags
    return item_with(item, tags=tags, story_tokens=dedup.signature_tokens_text(signature),
                     story_bands=signature.bands, story_sketch=dedup.story_sketch(signature))
