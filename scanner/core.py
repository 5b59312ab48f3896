"""The Scanner facade the entry points use: scan, check a source, read the archive."""

from __future__ import annotations

import asyncio
import functools
import gc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from scanner import config, dedup
from scanner.cycle import ParsePool, ScanCycle, surely_parses_in_workers
from scanner.preparing import GC_THRESHOLDS, items_from
from scanner.errors import ConfigError, UnknownSourceError
from scanner.fetch import Fetcher
from scanner.pages import PageOutcome, describe_page_check, run_page_source, run_page_sources
from scanner.models import (
    ArchivedItem, FetchResult, Item, ParseResult, Source, SourceHealth, SourceScanResult,
    SourceState, Taxonomy,
)
from scanner.parse.feed import parse_feed
from scanner.settings import Settings
from scanner.store import Store

if TYPE_CHECKING:
    from scanner import digesting
    from scanner.classify import Tagger
    from scanner.tagging import TaggerSpec

@dataclass(frozen=True)
class ScanReport:
    results: tuple[SourceScanResult, ...]
    moved: tuple[tuple[str, str], ...] = ()  # (source id, new URL) after permanent redirects
    notes: tuple[str, ...] = ()  # problems of the whole cycle, e.g. an invalid taxonomy.yaml

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
    page_lines: tuple[str, ...] = ()  # kind html/page: what the selectors and extraction found


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@functools.cache
def freeze_imports() -> None:
    """Once per process, before its first scan: the objects it holds by then (the imported
    modules, settings, configuration) are frozen out of cyclic garbage collection, which would
    otherwise walk them all again at each full collection that storing a cycle's items sets off
    (about a third of the main process's collection time); and it collects less often
    (preparing.GC_THRESHOLDS)."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


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
        enabled = [s for s in self.sources() if s.enabled and not _gone(s, states.get(s.id))]
        if all_sources:
            return enabled
        return [s for s in enabled if _is_due(states.get(s.id), now)]

    def scan(self, source_ids: list[str] | None = None, all_sources: bool = False,
             now: datetime | None = None,
             on_result: Callable[[SourceScanResult], None] | None = None,
             chosen: list[Source] | None = None) -> ScanReport:
        """One cycle over `chosen` (as select_sources chose them), else over the sources
        that select_sources(source_ids, all_sources) chooses now."""
        now = now or utc_now()
        freeze_imports()
        if chosen is None:
            chosen = self.select_sources(source_ids, all_sources, now)
        states = self.store.load_states()
        notes: list[str] = []
        # Chosen when the first body is to be parsed, or as the workers start (never inside the
        # fetch loop, where loading or, once per machine, training the tagger would stall the
        # fetches in flight). Workers start with the cycle when it surely parses in them.
        spec = functools.partial(self._tagger_for_scan, now, notes) if chosen else None
        feeds = [s for s in chosen if _plain_feed(s)]  # page sources parse in this process
        early = surely_parses_in_workers(self.settings, feeds, states)
        with ParsePool(self.settings, len(chosen), spec, start_now=early) as parser:
            cycle = ScanCycle(self.store, self.settings, {s.id: s for s in chosen}, states, now,
                              parser, on_result)
            fetched = asyncio.run(self._fetch_all([(s, states.get(s.id)) for s in chosen], now,
                                                  cycle))
            results = cycle.finish()
        moved = tuple((f.source_id, f.moved_to) for f in fetched if f.moved_to)
        order = {s.id: n for n, s in enumerate(chosen)}
        return ScanReport(tuple(sorted(results, key=lambda r: order[r.source_id])), moved,
                          tuple(notes))

    def tagger_spec(self, now: datetime | None = None) -> TaggerSpec:
        """taxonomy.yaml with the newest trained model, else the bootstrap model."""
        from scanner.classify import load_taxonomy
        from scanner.tagging import TaggerSpec, bootstrap_spec, taxonomy_path
        path = taxonomy_path(self.settings.config_dir)
        stored = self.store.latest_model()
        if stored is not None:
            return TaggerSpec(str(path), stored.model, stored.version, load_taxonomy(path))
        return bootstrap_spec(path, self.settings.cache_dir, now or utc_now())

    def taxonomy(self) -> Taxonomy:
        from scanner.classify import load_taxonomy
        from scanner.tagging import taxonomy_path
        return load_taxonomy(taxonomy_path(self.settings.config_dir))

    # -- digests ------------------------------------------------------------------------------

    def digest_definitions(self) -> list:
        from scanner import digesting  # Jinja2 and the renderer: only for digests
        return digesting.definitions(self.settings.config_dir, self.taxonomy())

    def digest_inputs(self, digest_id: str | None, week: str | None,
                      now: datetime | None = None) -> list:
        from scanner import digesting
        now = now or utc_now()
        taxonomy = self.taxonomy()
        chosen = digesting.choose_digests(self.digest_definitions(), digest_id)
        week = digesting.choose_week(week, now)
        return [digesting.gather(self, d, week, taxonomy, now) for d in chosen]

    def build_digests(self, digest_id: str | None = None, week: str | None = None,
                      now: datetime | None = None) -> list[digesting.Preview]:
        """Build each digest for a preview reader, store the build, write its files."""
        now = now or utc_now()
        return [self._preview(inputs, now) for inputs in self.digest_inputs(digest_id, week, now)]

    def _preview(self, inputs, now: datetime) -> digesting.Preview:
        from scanner import digesting
        definition = inputs.definition
        reader = digesting.preview_recipient(definition)
        rendered = digesting.render_for(inputs, reader, set(), self.settings, now)
        message = digesting.message_for(rendered, definition, reader, self.settings, now)
        folder = self.settings.config_dir / "var" / "digests" / definition.id / inputs.week
        paths = digesting.write_preview(folder, rendered, message)
        shown = list(rendered.content.item_ids)
        self.store.save_digest_build(definition.id, inputs.week, rendered.subject, shown, now)
        return digesting.Preview(definition.id, inputs.week, rendered.subject, paths,
                                 len(rendered.content.entries))

    def send_digests(self, digest_id: str | None = None, week: str | None = None,
                     dry_run: bool = False, now: datetime | None = None) -> dict[str, list]:
        from scanner import digesting
        now = now or utc_now()
        return {inputs.definition.id: digesting.send(self, inputs, now, dry_run)
                for inputs in self.digest_inputs(digest_id, week, now)}

    # -- labels, training, tagging ------------------------------------------------------------

    def label(self, item_id: int, action: str, tag: str | None, who: str,
              now: datetime | None = None) -> None:
        """A person's label; it wins over automatic tags in every view."""
        from scanner import training
        training.check_item(self.store, item_id)
        if tag is not None:
            training.check_tag(self.taxonomy(), tag)
        self.store.add_label(item_id, action, tag, who, "cli", now or utc_now())

    def train(self, now: datetime | None = None):
        from scanner import training
        from scanner.tagging import taxonomy_path
        path = taxonomy_path(self.settings.config_dir)
        return training.train(self.store, self.taxonomy(), str(path), now or utc_now())

    def retag(self, since: datetime | None = None, now: datetime | None = None) -> int:
        from scanner import training
        return training.retag(self.store, self.tagger_spec(now), since, now or utc_now(),
                              self.settings.parse_workers)

    def classify(self, rows: list[dict]) -> list[dict]:
        from scanner import training
        return training.classify_rows(self.tagger(), rows, self._source_tags())

    def _source_tags(self) -> dict[str, tuple[str, ...]]:
        try:
            return {s.id: s.tags for s in self.sources()}
        except ConfigError:  # classify works on any text, with or without sources.yaml
            return {}

    def evaluate(self, path: Path, now: datetime | None = None):
        from scanner import training
        stored = self.store.latest_model()
        return training.evaluate_file(path, self.taxonomy(), self.tagger(now),
                                      stored.info if stored else {}, now or utc_now())

    def tagger(self, now: datetime | None = None) -> Tagger:
        from scanner.tagging import build_tagger
        return build_tagger(self.tagger_spec(now))

    def _tagger_for_scan(self, now: datetime, notes: list[str]) -> TaggerSpec | None:
        """A broken taxonomy must not stop the scan: items are stored untagged, and said so."""
        try:
            return self.tagger_spec(now)
        except ConfigError as exc:
            notes.append(f"{exc}\nItems are stored untagged; fix taxonomy.yaml, then run "
                         "`scanner retag`.")
            return None

    async def _fetch_all(self, pairs, now, cycle: ScanCycle) -> list[FetchResult]:
        """Feeds through the fetcher directly; pages (and feeds whose articles are fetched)
        through their own jobs, sharing the fetcher's limits."""
        feeds = [(s, st) for s, st in pairs if _plain_feed(s)]
        pages = [(s, st) for s, st in pairs if not _plain_feed(s)]
        async with Fetcher(self.settings) as fetcher:
            fed, paged = await asyncio.gather(
                fetcher.fetch_all(feeds, now, on_result=cycle.fetched),
                run_page_sources(fetcher, pages, now, self._known_urls, cycle.page_done))
        return list(fed) + [outcome.fetched for outcome in paged]

    def _known_urls(self, urls: list[str]) -> set[str]:
        return self.store.known_urls(urls, [dedup.canonical_url(u) for u in urls])

    # -- staff tools --------------------------------------------------------------------------

    def check_source(self, source_id: str, now: datetime | None = None) -> CheckResult:
        """Fetch and parse one source as a scan would, storing nothing."""
        source, now = self.source(source_id), now or utc_now()
        if not _plain_feed(source):
            return self._check_page_source(source, now)
        fetched = asyncio.run(self._fetch_one(source, now))
        if fetched.outcome != "ok":
            return CheckResult(source, fetched, None, (), 0)
        parsed = parse_feed(fetched.body or b"", fetched.headers, fetched.final_url or source.url,
                            fetched.fetched_at)
        batch, skipped, _ = items_from(source, parsed, fetched.fetched_at)
        if batch:
            from scanner.tagging import build_tagger, tag_items
            spec = self.tagger_spec(now)
            batch = tag_items(build_tagger(spec), spec.version, batch)
        return CheckResult(source, fetched, parsed, tuple(batch), skipped)

    def _check_page_source(self, source: Source, now: datetime) -> CheckResult:
        outcome = asyncio.run(self._run_page_job(source, now))
        parsed = outcome.parsed
        batch, skipped = [], 0
        if parsed is not None and not parsed.failed:
            batch, skipped, _ = items_from(source, parsed, outcome.fetched.fetched_at)
        return CheckResult(source, outcome.fetched, parsed, tuple(batch), skipped,
                           tuple(describe_page_check(outcome, source)))

    async def _run_page_job(self, source: Source, now: datetime) -> PageOutcome:
        async with Fetcher(self.settings) as fetcher:
            return await run_page_source(fetcher, source, None, now, lambda urls: set())

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


def _plain_feed(source: Source) -> bool:
    return source.kind == "feed" and not source.fetch_article


def _is_due(state: SourceState | None, now: datetime) -> bool:
    return state is None or state.next_fetch is None or state.next_fetch <= now


def _gone(source: Source, state: SourceState | None) -> bool:
    """Answered 410 Gone at the url sources.yaml still gives (a new url re-enables it)."""
    return state is not None and state.disabled_reason is not None and state.url == source.url
