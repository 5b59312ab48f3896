"""A stored batch's rows (items, item_sources, item_tags through the driver's executemany)
are exactly what SQLAlchemy's own inserts store, on SQLite and PostgreSQL."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from scanner.models import FetchResult, Item, ItemTag, SourceState
from scanner.store import Store
from scanner.store.archive import ITEM_COLUMNS, SOURCE_COLUMNS, _item_row
from scanner.store.schema import fetch_log, item_sources, item_tags, items, source_state
from scanner.store.tags import TAG_COLUMNS, tag_rows

NOW = datetime(2026, 11, 23, 8, 0, 0, 123456, tzinfo=timezone.utc)
STOCKHOLM = timezone(timedelta(hours=1))
TAGS = (ItemTag("lasframjande", 0.8731, "träffar: läsfrämj*; modell: 'högläsning'", "rule"),
        ItemTag("demokrati", 1, "", "model"))


def varied_item(n: int, source: str) -> Item:
    """Items that between them have every kind of value a column can hold."""
    url = f"https://www.example.se/{n}?a=1" if n % 3 else None
    return Item(source_id=source, identity=f"guid:{n}", url=url, canonical_url=url,
                title=f"Nyhet {n} – åäö", summary="Läsfrämjande %s för barn.", content_html="<p/>",
                published=(NOW - timedelta(hours=n, microseconds=n)).astimezone(STOCKHOLM),
                fetched=NOW, date_missing=n % 2 == 0, content_hash=f"h{n}", lang="sv",
                author="Anna" if n % 2 else None, tags=("barn-unga",) if n % 2 else (),
                tag_scores=TAGS[:n % 3], relevant=(None, True, False)[n % 3],
                tagger_version="m1" if n % 3 else None,
                story_tokens="nyhet | barn" if n % 2 else "",
                story_bands=("b0:0001", "t1:0002") if n % 2 else ())


@pytest.fixture
def store(database_url):
    opened = Store.open(database_url)
    yield opened
    opened.close()


def store_with_sqlalchemy(store: Store, batch: list[Item]) -> None:
    """The reference: SQLAlchemy Core inserts with per-row parameter processing."""
    with store.engine.begin() as conn:
        for item in batch:
            item_id = conn.execute(items.insert().returning(items.c.id),
                                   dict(zip(ITEM_COLUMNS, _item_row(item, None)))).scalar_one()
            conn.execute(item_sources.insert(), dict(zip(SOURCE_COLUMNS, (
                item_id, item.source_id, item.identity, item.url, item.fetched))))
            rows = tag_rows(item_id, item)
            if rows:
                conn.execute(item_tags.insert(), [dict(zip(TAG_COLUMNS, row)) for row in rows])


def raw_rows(store: Store, source: str) -> list[tuple]:
    """What the database holds for a source's items, as the driver returns it, in id order;
    ids and source ids left out (also from the source tags' "why")."""
    columns = ", ".join(c for c in ITEM_COLUMNS if c != "source_id")
    with store.engine.connect() as conn:
        ids = [row[0] for row in conn.exec_driver_sql(
            f"SELECT item_id FROM item_sources WHERE source_id = '{source}' ORDER BY item_id")]
        found = []
        for item_id in ids:
            item = conn.exec_driver_sql(f"SELECT {columns} FROM items WHERE id = {item_id}").one()
            carried = conn.exec_driver_sql(
                f"SELECT identity, url, first_seen FROM item_sources WHERE item_id = {item_id}"
            ).all()
            tagged = conn.exec_driver_sql(
                f"SELECT tag, origin, score, why FROM item_tags WHERE item_id = {item_id}"
                " ORDER BY tag, origin").all()
            tagged = [(*r[:3], r[3].replace(source, "")) for r in tagged]
            found.append((tuple(item), [tuple(r) for r in carried], tagged))
    return found


def test_a_stored_batch_writes_what_sqlalchemy_would_write(store):
    fetch = FetchResult(source_id="kb", url="https://kb.example.se", outcome="ok", fetched_at=NOW)
    store.store_batch([varied_item(n, "kb") for n in range(6)], fetch, SourceState("kb"))
    store_with_sqlalchemy(store, [varied_item(n, "bf") for n in range(6)])
    ours, reference = raw_rows(store, "kb"), raw_rows(store, "bf")
    assert len(ours) == 6 and ours == reference


def test_items_get_consecutive_ids_in_batch_order_and_later_inserts_follow(store):
    fetch = FetchResult(source_id="kb", url="https://kb.example.se", outcome="ok", fetched_at=NOW)
    store.store_batch([varied_item(n, "kb") for n in range(4)], fetch, SourceState("kb"))
    store.store_batch([varied_item(n, "kb") for n in range(4, 7)], fetch, SourceState("kb"))
    with store.engine.begin() as conn:
        stored = conn.execute(select(items.c.id, items.c.content_hash).order_by(items.c.id)).all()
        after = conn.execute(items.insert().returning(items.c.id),
                             dict(zip(ITEM_COLUMNS, _item_row(varied_item(9, "x"), None)))
                             ).scalar_one()
        count = conn.execute(select(func.count()).select_from(items)).scalar_one()
    assert [tuple(row) for row in stored] == [(n + 1, f"h{n}") for n in range(7)]
    assert after == 8 and count == 8


def test_source_states_and_the_fetch_log_are_written_as_sqlalchemy_would_write_them(store):
    def state(source: str, streak: int) -> SourceState:
        return SourceState(source, etag='"e%"', next_fetch=NOW.astimezone(STOCKHOLM),
                           error_streak=streak, last_error="nätverket svarade inte",
                           last_success=None, last_attempt=NOW, url="https://kb.example.se")

    def fetched(source: str) -> FetchResult:
        return FetchResult(source_id=source, url="https://kb.example.se", outcome="error",
                           fetched_at=NOW, status=503, error_key="http_5xx", message="50 %",
                           elapsed=0.25)

    store.record_fetches([(fetched("kb"), state("kb", 1))])
    store.record_fetches([(fetched("kb"), state("kb", 2))])  # an update of the same source
    dialect = postgresql if store.engine.dialect.name == "postgresql" else sqlite
    with store.engine.begin() as conn:
        for streak in (1, 2):
            row = {**state("bf", streak).__dict__}
            statement = dialect.insert(source_state)
            conn.execute(statement.on_conflict_do_update(
                index_elements=["source_id"],
                set_={c: statement.excluded[c] for c in row if c != "source_id"}), [row])
            conn.execute(fetch_log.insert(), [dict(
                source_id="bf", fetched_at=NOW, outcome="error", status=503, error_key="http_5xx",
                message="50 %", new=0, updated=0, unchanged=0, skipped=0, elapsed=0.25)])
    with store.engine.connect() as conn:
        states = {row[0]: tuple(row[1:]) for row in conn.exec_driver_sql(
            "SELECT * FROM source_state")}
        logs = [tuple(row[1:]) for row in conn.exec_driver_sql(
            "SELECT * FROM fetch_log ORDER BY id")]
    assert states["kb"] == states["bf"] and states["kb"][4] == 2
    assert [row[1:] for row in logs[:2]] == [row[1:] for row in logs[2:]]
