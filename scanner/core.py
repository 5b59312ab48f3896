"""The Scanner facade the entry points use: scan, check a source, read the archive."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from scanner import config, dedup
from scanner.errors import UnknownSourceError
from scanner.fetch import Fetcher, next_state
from scanner.models import (
    ArchivedItem, FetchResult, Item, ParseResult, Source, SourceHealth, SourceScanResult,
    SourceState,
)
from scanner.parse.feed import parse_feed
from scanner.settings import Settings
from scanner.store import BatchCounts, Store

log = logging.getLogger("scanner")


@dataclass(frozen=True)
class ScanReport:
    results: tuple[SourceScanResult, ...]
    moved: tuple[tuple[str, str], ...] = ()  # (source id, new URL) after permanent redirects

    @property
    def exit_code(self) -> int:
        failed = sum(r.failed for r in self.results)
        if failed and failed == len(self.results):
            return 3
        return 1 if failed else 0


@dataclass(frozen=True)
class CheckResult:
    """What a test fetch of one source would store."""

    source: Source
    fetch: FetchResult
    parse: ParseResult | None
    items: tuple[Item, ...]
    filtered_out: int


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class Scanner:
    """Wires config, fetch, parse, dedup and store. Entry points talk only to this."""

    def __init__(self, settings: Settings, store: Store | None = None,
                 sources_path: Path | None = None):
        self.settings = settings
        self.sources_path = sources_path or settings.config_dir / "sources.yaml"
        self._store = store
        self._sources: tuple[Source, ...] | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open(self.settings.resolved_database_url())
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()

    def sources(self) -> tuple[Source, ...]:
        if self._sources is None:
            self._sources = config.load_sources(self.sources_path).sources
        return self._sources

    def source(self, source_id: str) -> Source:
        by_id = {s.id: s for s in self.sources()}
        if source_id not in by_id:
            raise UnknownSourceError(source_id, by_id)
        return by_id[source_id]

    # -- scanning -----------------------------------------------------------------------------

    def select_sources(self, source_ids: list[str] | None, all_sources: bool,
                       now: datetime) -> list[Source]:
        """Named sources; else every enabled one (--all); else the enabled ones that are due."""
        if source_ids:
            return [self.source(sid) for sid in source_ids]
        states = self.store.load_states()
        enabled = [s for s in self.sources() if s.enabled and not _gone(states.get(s.id))]
        if all_sources:
            return enabled
        return [s for s in enabled if _is_due(states.get(s.id), now)]

    def scan(self, source_ids: list[str] | None = None, all_sources: bool = False,
             now: datetime | None = None,
             on_result: Callable[[SourceScanResult], None] | None = None) -> ScanReport:
        now = now or utc_now()
        chosen = self.select_sources(source_ids, all_sources, now)
        states = self.store.load_states()
        pairs = [(s, states.get(s.id)) for s in chosen]
        by_id = {s.id: s for s in chosen}
        results: list[SourceScanResult] = []

        def handle(fetched: FetchResult) -> None:
            source = by_id[fetched.source_id]
            result = self._process_safely(source, states.get(source.id), fetched, now)
            results.append(result)
            if on_result:
                on_result(result)

        fetched = asyncio.run(self._fetch_all(pairs, now, handle))
        moved = tuple((f.source_id, f.moved_to) for f in fetched if f.moved_to)
        order = {s.id: n for n, s in enumerate(chosen)}
        return ScanReport(tuple(sorted(results, key=lambda r: order[r.source_id])), moved)

    async def _fetch_all(self, pairs, now, handle) -> list[FetchResult]:
        async with Fetcher(self.settings) as fetcher:
            return await fetcher.fetch_all(pairs, now, on_result=handle)

    def _process_safely(self, source: Source, state: SourceState | None, fetched: FetchResult,
                        now: datetime) -> SourceScanResult:
        try:
            return self._process(source, state, fetched, now)
        except Exception as exc:  # one broken source never stops the rest
            log.exception("processing %s failed", source.id)
            message = (f"{source.id}: internal error while storing ({exc.__class__.__name__}: "
                       f"{exc}); nothing of this source was stored — run with --verbose and "
                       "report it")
            return SourceScanResult(source.id, fetch_outcome=fetched.outcome,
                                    error_key="unexpected", message=message)

    def _process(self, source, state, fetched, now) -> SourceScanResult:
        if fetched.outcome != "ok":
            return self._record_without_items(source, state, fetched, now)
        parsed = parse_feed(fetched.body or b"", fetched.headers, fetched.final_url or source.url,
                            fetched.fetched_at)
        if parsed.failed:
            failure = _as_parse_failure(source, fetched, parsed)
            return self._record_without_items(source, state, failure, now)
        batch, skipped = self._items_from(source, parsed, fetched.fetched_at)
        new_state = next_state(source, state, fetched, now, self.settings)
        counts = self.store.store_batch(batch, fetched, new_state, skipped=skipped)
        warnings = tuple(f"{source.id}: {w}" for w in parsed.warnings)
        return _scan_result(source, fetched, counts, skipped, warnings)

    def _record_without_items(self, source, state, fetched, now) -> SourceScanResult:
        new_state = next_state(source, state, fetched, now, self.settings)
        unchanged = BatchCounts()
        self.store.record_fetch(fetched, new_state, unchanged)
        return _scan_result(source, fetched, unchanged, 0, ())

    def _items_from(self, source: Source, parsed: ParseResult,
                    fetched_at: datetime) -> tuple[list[Item], int]:
        """Entries to items: filters applied, duplicates collapsed, source tags added."""
        kept = [e for e in parsed.entries if config.passes_filters(source, e.title, e.summary)]
        language = parsed.feed_language or source.language
        converted = dedup.to_items(source.id, language, kept, fetched_at)
        batch = [replace(item, tags=tuple(dict.fromkeys(item.tags + source.tags)))
                 for item in converted.items]
        return batch, len(parsed.entries) - len(kept) + converted.duplicates

    # -- staff tools --------------------------------------------------------------------------

    def check_source(self, source_id: str, now: datetime | None = None) -> CheckResult:
        """Fetch and parse one source as a scan would, storing nothing."""
        source, now = self.source(source_id), now or utc_now()
        fetched = asyncio.run(self._fetch_one(source, now))
        if fetched.outcome != "ok":
            return CheckResult(source, fetched, None, (), 0)
        parsed = parse_feed(fetched.body or b"", fetched.headers, fetched.final_url or source.url,
                            fetched.fetched_at)
        batch, skipped = self._items_from(source, parsed, fetched.fetched_at)
        return CheckResult(source, fetched, parsed, tuple(batch), skipped)

    async def _fetch_one(self, source: Source, now: datetime) -> FetchResult:
        async with Fetcher(self.settings) as fetcher:
            return await fetcher.fetch(source, None, now)

    def source_health(self, now: datetime | None = None) -> list[SourceHealth]:
        return self.store.source_health([s.id for s in self.sources()], now or utc_now())

    def latest_items(self, source_id: str | None = None, since: datetime | None = None,
                     limit: int = 50) -> list[ArchivedItem]:
        if source_id:
            self.source(source_id)
        return self.store.latest_items(source_id, since, limit)


def _is_due(state: SourceState | None, now: datetime) -> bool:
    return state is None or state.next_fetch is None or state.next_fetch <= now


def _gone(state: SourceState | None) -> bool:
    return state is not None and state.disabled_reason is not None


def _as_parse_failure(source: Source, fetched: FetchResult, parsed: ParseResult) -> FetchResult:
    """A body that cannot be parsed fails the source; its validators are not kept."""
    return replace(fetched, outcome="error", error_key=parsed.error_key, body=None,
                   message=f"{source.id}: {parsed.message}", etag=None, last_modified=None,
                   body_hash=None)


def _scan_result(source, fetched, counts, skipped, warnings) -> SourceScanResult:
    return SourceScanResult(
        source.id, new=counts.new, updated=counts.updated, unchanged=counts.unchanged,
        skipped_entries=skipped, fetch_outcome=fetched.outcome, error_key=fetched.error_key,
        message=fetched.message, warnings=warnings)
