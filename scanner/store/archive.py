"""The archive: source state, fetch log, items and the sources that carried them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, bindparam, case, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from scanner.errors import StoreError
from scanner.models import ArchivedItem, FetchResult, Item, ItemTag, SourceHealth, SourceState
from scanner.store import digests, migrations, stories, tags, upsert
from scanner.store.engine import open_engine
from scanner.store.schema import fetch_log, item_sources, item_tags, items, source_state

CHUNK = 500
ITEM_COLUMNS = ("canonical_url", "url", "title", "summary", "content_html", "published",
                "date_missing", "first_seen", "last_changed", "content_hash", "lang", "author",
                "revision", "source_id", "relevant", "tagged_at", "tagger_version", "story_id",
                "story_tokens", "story_bands")
SOURCE_COLUMNS = ("item_id", "source_id", "identity", "url", "first_seen")
# Built once, the values bound as one expanding parameter (not coerced one by one per query):
_KNOWN_IDENTITIES = (
    select(item_sources.c.identity, items.c.id, items.c.content_hash, items.c.source_id)
    .join(items, items.c.id == item_sources.c.item_id)
    .where(item_sources.c.source_id == bindparam("source_id"),
           item_sources.c.identity.in_(bindparam("identities", expanding=True))))
_FIRST_ITEM_PER_URL = (
    select(items.c.canonical_url, func.min(items.c.id).label("id"))
    .where(items.c.canonical_url.in_(bindparam("urls", expanding=True)))
    .group_by(items.c.canonical_url))


@dataclass(frozen=True)
class BatchCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0


class Store:
    """The only door to the database. Open with Store.open(url)."""

    def __init__(self, engine):
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> "Store":
        store = cls(open_engine(url))
        try:
            with store.engine.begin() as conn:
                migrations.migrate(conn)
        except SQLAlchemyError as exc:
            store.close()
            raise StoreError(f"cannot open or migrate the database: {exc.__class__.__name__}: "
                             f"{str(exc).splitlines()[0]} — check SCANNER_DATABASE_URL") from exc
        return store

    def close(self) -> None:
        self.engine.dispose()

    # -- source state -------------------------------------------------------------------------

    def load_states(self) -> dict[str, SourceState]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(source_state)).mappings().all()
        return {row["source_id"]: SourceState(**row) for row in rows}

    def record_fetches(self, records: Sequence[tuple[FetchResult, SourceState]]) -> None:
        """Save fetches that stored no items (failures, 304s, unchanged bodies) in one go."""
        if not records:
            return
        with self.engine.begin() as conn:
            upsert.upsert(conn, source_state, [_state_row(state) for _, state in records],
                          key="source_id")
            _insert_log_rows(conn, [_log_row(result) for result, _ in records])

    def store_batch(self, items_in: Sequence[Item], result: FetchResult, state: SourceState,
                    skipped: int = 0, same_story: stories.SameStory | None = None,
                    story_index: stories.StoryIndex | None = None) -> BatchCounts:
        """Store one source's batch, its new state and its fetch log in one transaction.

        New items join stories through `story_index` (one per scan cycle, so batches share
        what it loaded), else through a fresh index over `same_story`, else none."""
        index = story_index or (stories.StoryIndex(stories.TextJudge(same_story))
                                if same_story else None)
        with self.engine.begin() as conn:
            counts, inserted = _merge_items(conn, items_in, index)
            self._save_state_and_log(conn, result, state, counts, skipped)
        if index is not None:
            index.add(inserted)  # only once committed: the index mirrors the archive
        return counts

    def _save_state_and_log(self, conn, result, state, counts, skipped) -> None:
        upsert.upsert(conn, source_state, [_state_row(state)], key="source_id")
        _insert_log_rows(conn, [_log_row(result, counts, skipped)])

    # -- reading ------------------------------------------------------------------------------

    def latest_items(self, source_id: str | None = None, since: datetime | None = None,
                     limit: int = 50) -> list[ArchivedItem]:
        query = select(items).order_by(items.c.published.desc(), items.c.id.desc()).limit(limit)
        if source_id:
            carried = select(item_sources.c.item_id).where(item_sources.c.source_id == source_id)
            query = query.where(items.c.id.in_(carried))
        if since:
            query = query.where(items.c.published >= since)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
            return self._archived_rows(conn, rows)

    def items_by_id(self, ids: Sequence[int]) -> list[ArchivedItem]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(items).where(items.c.id.in_(list(ids)))).mappings().all()
            return self._archived_rows(conn, rows)

    def _archived_rows(self, conn, rows) -> list[ArchivedItem]:
        ids = [row["id"] for row in rows]
        sources, details = _sources_of(conn, ids), tags.tag_details(conn, ids)
        return [_archived(row, sources.get(row["id"], ()), *details[row["id"]]) for row in rows]

    # -- tags, labels, models -----------------------------------------------------------------

    def add_label(self, item_id: int, action: str, tag: str | None, who: str, via: str,
                  at: datetime) -> None:
        with self.engine.begin() as conn:
            tags.add_label(conn, item_id, action, tag, who, via, at)

    def labelled_items(self) -> list[dict]:
        with self.engine.connect() as conn:
            return tags.labelled_items(conn)

    def items_to_tag(self, since: datetime | None, after_id: int, limit: int):
        with self.engine.connect() as conn:
            return tags.items_to_tag(conn, since, after_id, limit)

    def replace_auto_tags(self, decisions, now: datetime) -> None:
        with self.engine.begin() as conn:
            tags.replace_auto_tags(conn, decisions, now)

    def save_model(self, model: tags.StoredModel) -> None:
        with self.engine.begin() as conn:
            tags.save_model(conn, model)

    def latest_model(self) -> tags.StoredModel | None:
        with self.engine.connect() as conn:
            return tags.latest_model(conn)

    # -- digests ------------------------------------------------------------------------------

    def claim_delivery(self, digest_id: str, week: str, email: str, now: datetime) -> bool:
        with self.engine.begin() as conn:
            return digests.claim(conn, digest_id, week, email, now)

    def record_delivery(self, digest_id: str, week: str, email: str, status: str, detail: str,
                        item_ids: Iterable[int], now: datetime) -> None:
        with self.engine.begin() as conn:
            digests.record(conn, digest_id, week, email, status, detail, item_ids, now)

    def already_sent(self, digest_id: str, email: str) -> set[int]:
        with self.engine.connect() as conn:
            return digests.already_sent(conn, digest_id, email)

    def delivery_log(self, digest_id: str, week: str) -> list[dict]:
        with self.engine.connect() as conn:
            return digests.delivery_log(conn, digest_id, week)

    def save_digest_build(self, digest_id: str, week: str, subject: str, item_ids: list[int],
                          now: datetime) -> None:
        with self.engine.begin() as conn:
            digests.save_build(conn, digest_id, week, subject, item_ids, now)

    def items_published_between(self, start: datetime, end: datetime) -> list[ArchivedItem]:
        query = select(items).where(and_(items.c.published >= start, items.c.published < end))
        with self.engine.connect() as conn:
            return self._archived_rows(conn, conn.execute(query).mappings().all())

    def model_history(self):
        with self.engine.connect() as conn:
            return tags.model_history(conn)

    def source_health(self, source_ids: Iterable[str], now: datetime) -> list[SourceHealth]:
        states = self.load_states()
        with self.engine.connect() as conn:
            recent_7 = _items_per_source(conn, now - timedelta(days=7))
            recent_30 = _items_per_source(conn, now - timedelta(days=30))
        return [_health(sid, states.get(sid, SourceState(sid)), recent_7.get(sid, 0),
                        recent_30.get(sid, 0)) for sid in source_ids]

    def fetch_log(self, source_id: str | None = None, limit: int = 20) -> list[dict]:
        query = select(fetch_log).order_by(fetch_log.c.id.desc()).limit(limit)
        if source_id:
            query = query.where(fetch_log.c.source_id == source_id)
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(query).mappings()]

    def known_urls(self, urls: list[str], canonical: list[str | None]) -> set[str]:
        """Those of `urls` whose item is already archived (by link or canonical link)."""
        pairs = list(zip(urls, canonical))
        with self.engine.connect() as conn:
            found = set()
            for chunk in _chunks(pairs):
                query = select(items.c.url, items.c.canonical_url).where(
                    items.c.url.in_([u for u, _ in chunk]) |
                    items.c.canonical_url.in_([c for _, c in chunk if c]))
                for row in conn.execute(query):
                    found.update((row.url, row.canonical_url))
        return {u for u, c in pairs if u in found or c in found}

    def count_items(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(items)).scalar_one()


def _state_row(state: SourceState) -> dict:
    """The state's columns: dataclasses.asdict without its deep copy of every value (all of
    them are plain values), a tenth of a millisecond per source."""
    return dict(vars(state))


def _log_row(result: FetchResult, counts: BatchCounts = BatchCounts(), skipped: int = 0) -> dict:
    return dict(source_id=result.source_id, fetched_at=result.fetched_at, outcome=result.outcome,
                status=result.status, error_key=result.error_key, message=result.message,
                new=counts.new, updated=counts.updated, unchanged=counts.unchanged,
                skipped=skipped, elapsed=result.elapsed)


def _insert_log_rows(conn: Connection, rows: list[dict]) -> None:
    upsert.insert_rows(conn, fetch_log, list(rows[0]), [tuple(row.values()) for row in rows])


def _merge_items(conn: Connection, batch: Sequence[Item], index: stories.StoryIndex | None
                 ) -> tuple[BatchCounts, list[tuple[int, Item, int | None]]]:
    """Insert new items (each in its story), update changed ones in place, attach items seen
    via another source. Returns the counts and the inserted (id, item, story joined)."""
    known = _known_identities(conn, batch)
    fresh = [item for item in batch if item.identity not in known]
    changed = [(known[i.identity], i) for i in batch if _changed(known.get(i.identity), i)]
    by_url = _items_by_canonical_url(conn, [i.canonical_url for i in fresh if i.canonical_url])
    attach = [(by_url[i.canonical_url], i) for i in fresh if i.canonical_url in by_url]
    insert, repeats = _first_per_url([i for i in fresh if i.canonical_url not in by_url])
    joined = index.stories_for(conn, insert) if index else [None] * len(insert)
    inserted = list(zip(_insert_items(conn, insert, joined), insert))
    id_by_url = {i.canonical_url: item_id for item_id, i in inserted if i.canonical_url}
    attach += [(id_by_url[i.canonical_url], i) for i in repeats]
    _link_sources(conn, inserted + attach)
    _add_tags(conn, inserted, attach)
    _update_items(conn, changed)
    counts = BatchCounts(new=len(fresh), updated=len(changed),
                         unchanged=len(batch) - len(fresh) - len(changed))
    return counts, [(item_id, item, story) for (item_id, item), story in zip(inserted, joined)]


def _changed(known: tuple[int, str, str] | None, item: Item) -> bool:
    """Only the source that first carried a story rewrites it; others just carry it too."""
    return known is not None and known[2] == item.source_id and known[1] != item.content_hash


def _known_identities(conn, batch: Sequence[Item]) -> dict[str, tuple[int, str, str]]:
    """identity -> (item id, content hash, first source) for items this source carried."""
    if not batch:
        return {}
    source_id = batch[0].source_id
    found = {}
    for chunk in _chunks([i.identity for i in batch]):
        rows = conn.execute(_KNOWN_IDENTITIES, {"source_id": source_id, "identities": chunk})
        found.update({identity: (item_id, content_hash, first_source)
                      for identity, item_id, content_hash, first_source in rows})
    return found


def _items_by_canonical_url(conn, urls: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(sorted(set(urls))):
        found.update((url, item_id) for url, item_id in
                     conn.execute(_FIRST_ITEM_PER_URL, {"urls": chunk}))
    return found


def _first_per_url(batch: list[Item]) -> tuple[list[Item], list[Item]]:
    """Split a batch into the first item per canonical URL and the repeats of a URL."""
    seen, first, repeats = set(), [], []
    for item in batch:
        url = item.canonical_url
        (repeats if url and url in seen else first).append(item)
        if url:
            seen.add(url)
    return first, repeats


def _insert_items(conn, batch: list[Item], joined: list[int | None]) -> list[int]:
    if not batch:
        return []
    rows = list(map(_item_row, batch, joined))
    if conn.dialect.name == "sqlite":
        return _insert_consecutive(conn, rows)
    ids = _reserved_ids(conn, len(rows))
    upsert.insert_rows(conn, items, ("id", *ITEM_COLUMNS),
                       [(item_id, *row) for item_id, row in zip(ids, rows)])
    return ids


def _insert_consecutive(conn, rows: list[tuple]) -> list[int]:
    """SQLite: one executemany, whose rows get consecutive ids ending at last_insert_rowid()
    — the transaction holds the write lock from its first row on, so nobody inserts in between
    (SQLAlchemy's RETURNING in parameter order would execute the rows one at a time)."""
    upsert.insert_rows(conn, items, ITEM_COLUMNS, rows)
    last = conn.exec_driver_sql("SELECT last_insert_rowid()").scalar_one()
    first = last - len(rows) + 1
    found = conn.exec_driver_sql("SELECT count(*) FROM items WHERE id BETWEEN ? AND ?",
                                 (first, last)).scalar_one()
    if found != len(rows):
        raise StoreError(f"inserted {len(rows)} items but ids {first}..{last} hold {found}")
    return list(range(first, last + 1))


def _reserved_ids(conn, count: int) -> list[int]:
    """PostgreSQL: `count` ids drawn from the items' sequence, as inserting the rows one after
    the other would draw them; the rows are then inserted with their ids."""
    drawn = conn.exec_driver_sql(
        "SELECT nextval(pg_get_serial_sequence('items', 'id')) FROM generate_series(1, %s)",
        (count,)).scalars().all()
    return sorted(drawn)


def _item_row(item: Item, story: int | None) -> tuple:
    """The item's values for ITEM_COLUMNS."""
    fetched = item.fetched
    return (item.canonical_url, item.url, item.title, item.summary, item.content_html,
            item.published, item.date_missing, fetched, fetched, item.content_hash, item.lang,
            item.author, 1, item.source_id, item.relevant,
            fetched if item.relevant is not None else None, item.tagger_version, story,
            item.story_tokens or None, stories.bands_text(item))


def _link_sources(conn, pairs: list[tuple[int, Item]]) -> None:
    upsert.insert_rows(conn, item_sources, SOURCE_COLUMNS, [
        (item_id, i.source_id, i.identity, i.url, i.fetched) for item_id, i in pairs])


def _add_tags(conn, inserted: list[tuple[int, Item]], attached: list[tuple[int, Item]]) -> None:
    """New items get source and automatic tags; an item seen via one more source gets that
    source's tags (its automatic tags came with its first source)."""
    rows = [row for item_id, i in inserted for row in tags.tag_rows(item_id, i)]
    rows += [row for item_id, i in attached for row in tags.tag_rows(item_id, replace(
        i, tag_scores=()))]
    upsert.insert_rows(conn, item_tags, tags.TAG_COLUMNS, rows, ignore_conflicts=True)


def _update_items(conn, changed: list[tuple[tuple[int, str], Item]]) -> None:
    if not changed:
        return
    statement = (update(items).where(items.c.id == bindparam("item_id"))
                 .values(url=bindparam("new_url"), title=bindparam("new_title"),
                         summary=bindparam("new_summary"),
                         content_html=bindparam("new_content_html"),
                         published=case((bindparam("keep_date"), items.c.published),
                                        else_=bindparam("new_published")),
                         content_hash=bindparam("new_content_hash"),
                         last_changed=bindparam("new_last_changed"),
                         revision=items.c.revision + 1))
    conn.execute(statement, [
        dict(item_id=item_id, new_url=i.url, new_title=i.title, new_summary=i.summary,
             new_content_html=i.content_html, new_published=i.published,
             new_content_hash=i.content_hash, new_last_changed=i.fetched,
             keep_date=i.date_missing)  # an undated item keeps the time it was first seen
        for (item_id, *_), i in changed])
    retagged = [tags.TagDecisionRow(item_id, bool(i.relevant), i.tag_scores, i.tagger_version)
                for (item_id, *_), i in changed if i.relevant is not None]
    if retagged:
        tags.replace_auto_tags(conn, retagged, changed[0][1].fetched)


def _sources_of(conn, ids: list[int]) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = {}
    for chunk in _chunks(ids):
        query = (select(item_sources.c.item_id, item_sources.c.source_id)
                 .where(item_sources.c.item_id.in_(chunk))
                 .order_by(item_sources.c.first_seen, item_sources.c.source_id))
        for row in conn.execute(query):
            found.setdefault(row.item_id, []).append(row.source_id)
    return {k: tuple(dict.fromkeys(v)) for k, v in found.items()}


def _items_per_source(conn, since: datetime) -> dict[str, int]:
    query = (select(item_sources.c.source_id, func.count())
             .join(items, items.c.id == item_sources.c.item_id)
             .where(items.c.published >= since).group_by(item_sources.c.source_id))
    return {row[0]: row[1] for row in conn.execute(query)}


def _archived(row, sources: tuple[str, ...], verdict: bool | None,
              details: tuple[ItemTag, ...]) -> ArchivedItem:
    return ArchivedItem(
        id=row["id"], source=row["source_id"],
        sources=tuple(dict.fromkeys((row["source_id"], *sources))),
        url=row["url"], title=row["title"], summary=row["summary"], published=row["published"],
        fetched=row["first_seen"], lang=row["lang"], tags=tuple(t.tag for t in details),
        date_missing=row["date_missing"], revision=row["revision"],
        canonical_url=row["canonical_url"], relevant=verdict, tag_details=details,
        story=row["story_id"] or row["id"])


def _health(source_id: str, state: SourceState, items_7d: int, items_30d: int) -> SourceHealth:
    return SourceHealth(
        source_id=source_id, last_success=state.last_success, last_error=state.last_error,
        last_error_key=state.last_error_key, error_streak=state.error_streak, items_7d=items_7d,
        items_30d=items_30d, next_fetch=state.next_fetch, disabled_reason=state.disabled_reason,
        moved_to=state.moved_to)


def _chunks(values: list, size: int = CHUNK):
    for start in range(0, len(values), size):
        yield values[start:start + size]
