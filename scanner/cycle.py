"""One scan cycle: fetched bodies are parsed in worker processes while fetching goes on;
each source's batch is stored in one transaction as soon as it is parsed.

Fetches that store no items (304, unchanged body, failures) are written in groups, so a
rescan of a thousand unchanged sources costs a few transactions, not a thousand.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.forkserver
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent import futures
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from importlib.machinery import ModuleSpec
from typing import TYPE_CHECKING

try:
    import fcntl
except ImportError:  # Windows has none
    fcntl = None

from scanner import dedup
from scanner.fetch import next_state
from scanner.models import FetchResult, ParseResult, Source, SourceScanResult, SourceState
from scanner.preparing import Prepared, prepare, prepare_parsed, use_tagger, warm_up
from scanner.settings import Settings
from scanner.store import BatchCounts, Store, StoryIndex

if TYPE_CHECKING:
    from scanner.tagging import TaggerSpec

log = logging.getLogger("scanner")
QUIET_GROUP = 200
PIPE_BYTES = 1 << 20  # Linux's default limit for a pipe's size (/proc/sys/fs/pipe-max-size)
PARSE_AHEAD = 3  # bodies per parse worker handed out ahead of storing
PARSE_SOURCES_PER_WORKER = 8  # below this many sources per worker, parsing in-process wins


@dataclass
class Pending:
    source: Source
    fetched: FetchResult
    prepared: Future


# What a parse worker runs: imported once in the fork server, so every worker starts warm.
PARSER_MODULES = ("scanner.preparing", "scanner.tagging", "scanner.classify.combine",
                  "scanner.parse.language", "scanner.forkserver_ready")


def parse_workers_for(settings: Settings, sources: int) -> int:
    """How many processes parse a cycle of `sources` sources (1: this one)."""
    return min(settings.parse_workers, max(1, sources // PARSE_SOURCES_PER_WORKER))


def surely_parses_in_workers(settings: Settings, sources: list[Source],
                             states: dict[str, SourceState]) -> bool:
    """Enough of the sources have never sent a body (so they will) to keep workers busy."""
    workers = parse_workers_for(settings, len(sources))
    never_fetched = sum(1 for s in sources if _never_sent_a_body(states.get(s.id)))
    return workers >= 2 and never_fetched >= workers * PARSE_SOURCES_PER_WORKER


def _never_sent_a_body(state: SourceState | None) -> bool:
    return state is None or state.body_hash is None


def start_fork_server(preload: tuple[str, ...]) -> None:
    """The fork server, importing `preload` once (not in every worker); returns at once."""
    multiprocessing.get_context("forkserver").set_forkserver_preload(list(preload))
    multiprocessing.forkserver.ensure_running()


def worker_pool(workers: int, spec: TaggerSpec | None,
                preload: tuple[str, ...] = PARSER_MODULES) -> ProcessPoolExecutor:
    """Processes that parse and tag with `spec`, started and warmed up (each has built its
    tagger) when this returns. forkserver, not fork: a forked child would inherit (and on
    exit close) the parent's open SQLite connections, which can remove the WAL under the
    parent's feet."""
    context = multiprocessing.get_context("forkserver")
    # Imported once in the fork server (the first time it starts), so each worker starts warm
    # instead of importing numpy, scipy and the parsers while the parent waits to hand it work.
    start_fork_server(preload)
    executor = ProcessPoolExecutor(max_workers=workers, mp_context=context,
                                   initializer=use_tagger, initargs=(spec,))
    _widen_pipes(executor)
    try:
        with main_module_not_imported_by_workers():
            warming = [executor.submit(warm_up) for _ in range(workers)]
        for future in warming:
            future.result()
    except BaseException:
        executor.shutdown(cancel_futures=True)
        raise
    return executor


def _widen_pipes(executor: ProcessPoolExecutor) -> None:
    """Let a whole body (to a worker) or parsed batch (back) fit in its pipe, as far as Linux
    allows. In a 64 kB pipe one goes over in several reads, and this process's reading
    thread needs the GIL back for each, while the scan's own thread holds it storing: the
    worker waits, blocked in its write, for up to a switch interval per piece."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    if set_size is None:
        return
    for queue in ("_call_queue", "_result_queue"):  # CPython's executor's own
        try:
            fcntl.fcntl(getattr(executor, queue)._reader.fileno(), set_size, PIPE_BYTES)
        except (AttributeError, OSError):  # another Python's executor, or a lower system limit
            pass


@contextmanager
def main_module_not_imported_by_workers() -> Iterator[None]:
    """While worker processes start: multiprocessing imports the parent's __main__ in each of
    them (to find functions defined there) unless it is a package's __main__ module, which it
    never re-imports. Workers run only scanner.preparing, and for the `scanner` command
    __main__ is the script that imports the whole CLI, so it is presented as one."""
    main = sys.modules["__main__"]
    if getattr(main, "__spec__", None) is not None:  # `python -m ...`: handled by its name
        yield
        return
    main.__spec__ = ModuleSpec("scanner.__main__", None)
    try:
        yield
    finally:
        main.__spec__ = None


class ScanCycle:
    """Receives fetch results as they finish; stores what they hold; reports each source."""

    def __init__(self, store: Store, settings: Settings, sources: dict[str, Source],
                 states: dict[str, SourceState], now: datetime, parser: "ParsePool",
                 on_result: Callable[[SourceScanResult], None] | None = None):
        self.store, self.settings, self.sources, self.states = store, settings, sources, states
        self.now, self.parser, self.on_result = now, parser, on_result
        self.pending: list[Pending] = []  # handed to the parser, not stored yet
        self.unparsed: deque[tuple[Source, FetchResult]] = deque()  # bodies waiting for it
        self.quiet: list[tuple[Source, FetchResult]] = []
        self.results: list[SourceScanResult] = []
        self.page_texts: dict[str, str | None] = {}  # kind page: the text to remember
        self.stories = story_index()

    def fetched(self, fetched: FetchResult) -> None:
        """Called as each fetch finishes (inside the event loop): queue parsing, store what's done."""
        source = self.sources[fetched.source_id]
        if fetched.outcome == "ok":
            self.unparsed.append((source, fetched))
        else:
            self.quiet.append((source, fetched))
        self._store_parsed(wait=False)
        if len(self.quiet) >= QUIET_GROUP:
            self._store_quiet()

    def page_done(self, outcome) -> None:
        """A page source's job finished (pages.run_page_source): store what it found."""
        source, fetched = self.sources[outcome.fetched.source_id], outcome.fetched
        if fetched.outcome != "ok" or outcome.parsed is None:
            self.quiet.append((source, fetched))
            return
        prepared = prepare_parsed(source, outcome.parsed, fetched.fetched_at)
        if source.kind == "page":  # every change is its own item, all at the page's one URL
            prepared = replace(prepared, items=tuple(replace(i, canonical_url=None)
                                                     for i in prepared.items))
        done: Future = Future()
        done.set_result(prepared)
        self.page_texts[source.id] = outcome.page_text
        self.pending.append(Pending(source, fetched, done))
        self._store_parsed(wait=False)

    def finish(self) -> list[SourceScanResult]:
        while self.pending or self.unparsed:
            self._store_parsed(wait=True)
        self._store_quiet()
        return self.results

    def _hand_out(self) -> None:
        """Give the parser bodies while fewer than PARSE_AHEAD per worker are parsed and not
        stored: parsed items take several times the memory of their body, so they must not
        pile up when storing is the slower side."""
        while self.unparsed and len(self.pending) < PARSE_AHEAD * self.parser.workers:
            source, fetched = self.unparsed.popleft()
            parsing = self.parser.submit(source, fetched.body or b"", fetched.headers,
                                         fetched.final_url or source.url, fetched.fetched_at)
            self.pending.append(Pending(source, replace(fetched, body=None), parsing))

    def _store_parsed(self, wait: bool) -> None:
        """Store what is parsed (with `wait`, once something is), then hand out more."""
        self._hand_out()
        if wait and self.pending and not self.parser.parse_one_waiting():
            futures.wait([p.prepared for p in self.pending], return_when=futures.FIRST_COMPLETED)
        done, self.pending = _split(self.pending, lambda pending: pending.prepared.done())
        self._hand_out()  # before storing: the workers parse the next bodies meanwhile
        for pending in done:
            self._report(self._safely(pending.source, pending.fetched, self._store_one,
                                      pending))

    def _store_one(self, pending: Pending) -> SourceScanResult | None:
        source, fetched = pending.source, pending.fetched
        prepared = _prepared(pending.prepared)
        if prepared.parsed.failed:
            self.quiet.append((source, _as_parse_failure(source, fetched, prepared.parsed)))
            return None
        counts = self.store.store_batch(list(prepared.items), fetched,
                                        self._next_state(source, fetched),
                                        skipped=prepared.skipped, story_index=self.stories)
        warnings = tuple(f"{source.id}: {w}" for w in prepared.warnings)
        return scan_result(source, fetched, counts, prepared.skipped, warnings)

    def _store_quiet(self) -> None:
        quiet, self.quiet = self.quiet, []
        records = [(fetched, self._next_state(source, fetched)) for source, fetched in quiet]
        try:
            self.store.record_fetches(records)
        except Exception:  # fall back to one transaction each, so one bad row fails alone
            log.exception("grouped fetch records failed; writing them one by one")
            return self._store_quiet_one_by_one(quiet)
        for source, fetched in quiet:
            self._report(scan_result(source, fetched, BatchCounts(), 0, ()))

    def _store_quiet_one_by_one(self, quiet) -> None:
        for source, fetched in quiet:
            self._report(self._safely(source, fetched, self._record_one, (source, fetched)))

    def _record_one(self, pair) -> SourceScanResult:
        source, fetched = pair
        self.store.record_fetches([(fetched, self._next_state(source, fetched))])
        return scan_result(source, fetched, BatchCounts(), 0, ())

    def _next_state(self, source: Source, fetched: FetchResult) -> SourceState:
        state = next_state(source, self.states.get(source.id), fetched, self.now, self.settings)
        page_text = self.page_texts.get(source.id) or state.page_text
        return replace(state, url=source.url, page_text=page_text)

    def _safely(self, source, fetched, action, argument) -> SourceScanResult | None:
        try:
            return action(argument)
        except Exception as exc:  # one broken source never stops the rest
            log.exception("processing %s failed", source.id)
            message = (f"{source.id}: internal error while storing ({exc.__class__.__name__}: "
                       f"{exc}); nothing of this source was stored — run with --verbose and "
                       "report it")
            return SourceScanResult(source.id, fetch_outcome=fetched.outcome,
                                    error_key="unexpected", message=message)

    def _report(self, result: SourceScanResult | None) -> None:
        if result is None:
            return
        self.results.append(result)
        if self.on_result:
            self.on_result(result)


def _split(values: list, test: Callable) -> tuple[list, list]:
    """(the values that pass `test`, the others), each in order."""
    passed, failed = [], []
    for value in values:
        (passed if test(value) else failed).append(value)
    return passed, failed


def _prepared(future: Future) -> Prepared:
    try:
        return future.result()
    except Exception as exc:  # a crash in the parser (or its worker) fails this source only
        log.exception("parser crashed")
        return Prepared(ParseResult(
            error_key="parser_crashed",
            message=f"the parser crashed ({exc.__class__.__name__}: {exc}); run with --verbose "
                    "and report it with the feed URL"))


class DedupJudge:
    """The dedup stage's story verdict in the forms a story index keeps."""

    known = staticmethod(dedup.stored_tokens)
    new = dedup.StoryProbe
    same = staticmethod(dedup.same_as_stored)


def story_index() -> StoryIndex:
    """An index that clusters a scan cycle's new items into stories by the dedup verdict."""
    return StoryIndex(DedupJudge())


def same_story(tokens_a: str, tokens_b: str) -> bool:
    """The dedup stage's verdict on two stored items, for the store's story assignment."""
    return dedup.same_story_tokens(tokens_a, tokens_b)


def _as_parse_failure(source: Source, fetched: FetchResult, parsed: ParseResult) -> FetchResult:
    """A body that cannot be parsed fails the source; its validators are not kept."""
    return replace(fetched, outcome="error", error_key=parsed.error_key, body=None,
                   message=f"{source.id}: {parsed.message}", etag=None, last_modified=None,
                   body_hash=None)


def scan_result(source, fetched, counts, skipped, warnings) -> SourceScanResult:
    return SourceScanResult(
        source.id, new=counts.new, updated=counts.updated, unchanged=counts.unchanged,
        skipped_entries=skipped, fetch_outcome=fetched.outcome, error_key=fetched.error_key,
        message=fetched.message, warnings=warnings)


class ParsePool:
    """Parses and tags feed bodies: in worker processes when the cycle is big enough to gain
    from them, else in this process. Workers start (from a thread, so the fetch loop never
    waits) when the first body arrives, or at once with `start_now` (a cycle that surely
    parses in workers): a cycle of 304s and failures starts none. Bodies that arrive while
    they start wait in a queue, which this process works on meanwhile (parse_one_waiting).

    `tagger` is the cycle's TaggerSpec (None: items stay untagged), or a function giving it,
    called once, when the workers start or the first body is to be parsed: a cycle of 304s
    never reads the taxonomy or the model, and with workers it is called from their starting
    thread, not the fetch loop."""

    def __init__(self, settings: Settings, sources: int,
                 tagger: TaggerSpec | None | Callable[[], TaggerSpec | None],
                 start_now: bool = False):
        self.workers = parse_workers_for(settings, sources)
        self._tagger_source = tagger if callable(tagger) else (lambda: tagger)
        self._tagger_lock = threading.Lock()
        self._tagger: tuple[TaggerSpec | None] | None = None  # (spec,) once known
        self.executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._queued: list[tuple[Future, tuple]] | None = None  # None until workers start
        self._starter: threading.Thread | None = None
        self._started_early = start_now and self.workers >= 2
        if self.workers < 2:
            self.tagger()
            warm_up()
        elif start_now:
            with self._lock:
                self._start()

    def tagger(self) -> TaggerSpec | None:
        """The cycle's tagger spec, known from the first call on, and used by this process's
        parsing too."""
        with self._tagger_lock:
            if self._tagger is None:
                self._tagger = (self._tagger_source(),)
                use_tagger(self._tagger[0])
            return self._tagger[0]

    def submit(self, *arguments) -> Future:
        if self.workers < 2:
            return _settled(Future(), arguments)
        with self._lock:
            if self.executor is not None:
                return self.executor.submit(prepare, *arguments)
            waiting: Future = Future()
            if self._queued is None:
                self._start()
            self._queued.append((waiting, arguments))
            return waiting

    def parse_one_waiting(self) -> bool:
        """Parse, in this process, a body that waits for the workers to start (so nothing
        idles while they do); False when none waits, or when the workers started with the
        cycle: they are nearly up when fetching ends, and parsing here would first load the tag
        model into this process (a third of a second of CPU and 25 MB, for two or three
        bodies)."""
        if self._started_early:
            return False
        with self._lock:
            if not self._queued:
                return False
            waiting, arguments = self._queued.pop(0)
        self.tagger()
        _settled(waiting, arguments)
        return True

    def _start(self) -> None:
        """Start the workers from a thread (holding self._lock); bodies queue meanwhile."""
        self._queued = []
        self._starter = threading.Thread(target=self._start_workers, daemon=True)
        self._starter.start()

    def _start_workers(self) -> None:
        try:
            start_fork_server(PARSER_MODULES)  # its imports run while the tagger is chosen
            executor = worker_pool(self.workers, self.tagger())
        except Exception as exc:  # a worker that cannot start fails its batches, per source
            log.exception("parse workers failed to start")
            executor, failure = None, exc
        with self._lock:
            self.executor, queued, self._queued = executor, self._queued, []
        for waiting, arguments in queued:
            if executor is None:
                waiting.set_exception(failure)
            else:
                _forward(executor.submit(prepare, *arguments), waiting)

    def __enter__(self) -> "ParsePool":
        return self

    def __exit__(self, *exc) -> None:
        if self._starter is not None:
            self._starter.join()
        if self.executor is not None:
            self.executor.shutdown(cancel_futures=True)


def _settled(future: Future, arguments: tuple) -> Future:
    """`future` settled with prepare(*arguments), in this process."""
    try:
        future.set_result(prepare(*arguments))
    except Exception as exc:  # noqa: BLE001 - the source fails, reported like a worker's crash
        future.set_exception(exc)
    return future


def _forward(source: Future, target: Future) -> None:
    """Settle `target` as `source` settles."""
    def settle(finished: Future) -> None:
        if finished.cancelled():
            target.cancel()
        elif finished.exception() is not None:
            target.set_exception(finished.exception())
        else:
            target.set_result(finished.result())
    source.add_done_callback(settle)
