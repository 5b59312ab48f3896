import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, select

from scanner.models import FetchResult, Item, SourceState
from scanner.store import Store
from scanner.store import migrations
from scanner.store.engine import SQLITE_PAGE_SIZE
from scanner.store.schema import schema_version

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


def make_item(source="kb", identity="guid:1", url="https://www.kb.se/a", title="Läsfrämjande",
              summary="Text om läsning.", content_hash="h1", published=NOW, tags=()):
    return Item(source_id=source, identity=identity, url=url, canonical_url=url, title=title,
                summary=summary, content_html=f"<p>{summary}</p>", published=published,
                fetched=NOW, date_missing=False, content_hash=content_hash, lang="sv",
                tags=tags)


def ok_fetch(source="kb"):
    return FetchResult(source_id=source, url="https://www.kb.se/rss", outcome="ok",
                       fetched_at=NOW, status=200)


@pytest.fixture
def store(database_url):
    opened = Store.open(database_url)
    yield opened
    opened.close()


def test_migrations_run_once_and_are_recorded(database_url):
    Store.open(database_url).close()
    store = Store.open(database_url)
    with store.engine.connect() as conn:
        versions = conn.execute(select(schema_version.c.name)).scalars().all()
        tables = set(inspect(conn).get_table_names())
    store.close()
    assert versions == ["m001_initial", "m002_tagging", "m003_digests",
                        "m004_story_bands_with_items"]
    assert {"items", "item_sources", "source_state", "fetch_log", "item_tags", "labels",
            "tag_models"} <= tables
    assert "story_bands" not in tables
    assert migrations.latest_version() == 4


def test_new_items_are_stored_with_state_and_log(store):
    counts = store.store_batch([make_item(), make_item(identity="guid:2", url="https://www.kb.se/b")],
                               ok_fetch(), SourceState("kb", etag='"v1"', last_success=NOW))
    assert (counts.new, counts.updated, counts.unchanged) == (2, 0, 0)
    assert store.load_states()["kb"].etag == '"v1"'
    assert store.fetch_log("kb")[0]["new"] == 2
    assert {i.title for i in store.latest_items()} == {"Läsfrämjande"}


def test_changed_item_is_updated_in_place_with_revision(store):
    store.store_batch([make_item()], ok_fetch(), SourceState("kb"))
    counts = store.store_batch([make_item(title="Läsfrämjande, uppdaterad", content_hash="h2")],
                               ok_fetch(), SourceState("kb"))
    [item] = store.latest_items()
    assert (counts.new, counts.updated) == (0, 1)
    assert item.title == "Läsfrämjande, uppdaterad" and item.revision == 2
    assert store.count_items() == 1


def test_unchanged_item_counts_as_unchanged(store):
    store.store_batch([make_item()], ok_fetch(), SourceState("kb"))
    counts = store.store_batch([make_item()], ok_fetch(), SourceState("kb"))
    assert (counts.new, counts.updated, counts.unchanged) == (0, 0, 1)


def test_same_canonical_url_from_two_sources_is_one_item_with_two_sources(store):
    store.store_batch([make_item(source="kb", tags=("styrning-finansiering",))], ok_fetch("kb"),
                      SourceState("kb"))
    counts = store.store_batch([make_item(source="bbl", identity="guid:x", tags=("lasframjande",))],
                               ok_fetch("bbl"), SourceState("bbl"))
    [item] = store.latest_items()
    assert counts.new == 1
    assert item.sources == ("kb", "bbl") and item.source == "kb"
    assert item.tags == ("lasframjande", "styrning-finansiering")
    assert [i.id for i in store.latest_items(source_id="bbl")] == [item.id]


def test_same_canonical_url_twice_in_one_batch_is_one_item(store):
    batch = [make_item(identity="guid:1"), make_item(identity="guid:2")]
    store.store_batch(batch, ok_fetch(), SourceState("kb"))
    assert store.count_items() == 1
    again = store.store_batch(batch, ok_fetch(), SourceState("kb"))
    assert again.unchanged == 2


def test_failed_fetch_keeps_everything_stored(store):
    store.store_batch([make_item()], ok_fetch(), SourceState("kb", etag='"v1"'))
    failure = FetchResult(source_id="kb", url="https://www.kb.se/rss", outcome="error",
                          fetched_at=NOW, status=500, error_key="http_5xx", message="kb: boom")
    store.record_fetches([(failure, SourceState("kb", etag='"v1"', error_streak=1,
                                            last_error="kb: boom", last_error_key="http_5xx"))])
    state = store.load_states()["kb"]
    assert store.count_items() == 1
    assert (state.error_streak, state.last_error_key, state.etag) == (1, "http_5xx", '"v1"')
    assert store.fetch_log("kb")[0]["error_key"] == "http_5xx"


def test_latest_items_filters_by_since_and_limit(store):
    old = make_item(identity="guid:old", url="https://www.kb.se/old",
                    published=NOW - timedelta(days=40))
    store.store_batch([make_item(), old], ok_fetch(), SourceState("kb"))
    assert len(store.latest_items(since=NOW - timedelta(days=7))) == 1
    assert len(store.latest_items(limit=1)) == 1
    assert store.latest_items()[0].published == NOW


def test_source_health_counts_recent_items(store):
    old = make_item(identity="guid:old", url="https://www.kb.se/old",
                    published=NOW - timedelta(days=20))
    store.store_batch([make_item(), old], ok_fetch(), SourceState("kb", last_success=NOW))
    [kb, other] = store.source_health(["kb", "mtm"], NOW)
    assert (kb.items_7d, kb.items_30d, kb.last_success) == (1, 2, NOW)
    assert (other.items_30d, other.last_success) == (0, None)


def test_times_come_back_as_aware_utc(store):
    store.store_batch([make_item()], ok_fetch(), SourceState("kb"))
    [item] = store.latest_items()
    assert item.published.tzinfo is not None and item.published == NOW


def test_a_bad_database_url_gives_a_clear_error():
    from scanner.errors import StoreError
    with pytest.raises(StoreError, match="SCANNER_DATABASE_URL"):
        Store.open("not a url")


def _page_size(store) -> int:
    with store.engine.connect() as conn:
        return conn.exec_driver_sql("PRAGMA page_size").scalar_one()


def test_a_new_sqlite_archive_gets_pages_that_hold_several_items(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'scanner.db'}")
    store.store_batch([make_item()], ok_fetch(), SourceState("kb"))
    assert _page_size(store) == SQLITE_PAGE_SIZE == 8192
    store.close()


def test_an_archive_made_with_small_pages_keeps_them_and_its_items(tmp_path):
    path = tmp_path / "scanner.db"
    old = sqlite3.connect(path)
    old.execute("PRAGMA page_size=4096")
    old.execute("PRAGMA journal_mode=WAL")
    old.close()
    store = Store.open(f"sqlite:///{path}")
    store.store_batch([make_item()], ok_fetch(), SourceState("kb"))
    store.close()
    reopened = Store.open(f"sqlite:///{path}")
    assert _page_size(reopened) == 4096
    assert [i.title for i in reopened.latest_items()] == ["Läsfrämjande"]
    reopened.close()
