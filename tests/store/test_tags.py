from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, inspect, text

from scanner.models import FetchResult, Item, ItemTag, SourceState
from scanner.store import Store
from scanner.store.tags import StoredModel, TagDecisionRow

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


def tagged_item(identity="guid:1", url="https://www.kb.se/a", relevant=True, scores=None,
                source="kb", source_tags=()):
    scores = scores if scores is not None else (
        ItemTag("lasframjande", 0.91, "träffar: läsfrämj*", "rule+model"),)
    return Item(source_id=source, identity=identity, url=url, canonical_url=url,
                title="Bokstart i Åsele", summary="Läsfrämjande för små barn.", content_html="",
                published=NOW, fetched=NOW, date_missing=False, content_hash=identity, lang="sv",
                tags=source_tags, tag_scores=scores, relevant=relevant, tagger_version="m1")


def ok(source="kb"):
    return FetchResult(source_id=source, url="https://www.kb.se/rss", outcome="ok", fetched_at=NOW)


@pytest.fixture
def store(database_url):
    opened = Store.open(database_url)
    yield opened
    opened.close()


def stored_one(store, **kwargs):
    store.store_batch([tagged_item(**kwargs)], ok(), SourceState("kb"))
    return store.latest_items()[0]


def test_automatic_tags_are_stored_with_score_why_and_verdict(store):
    item = stored_one(store, source_tags=("barn-unga",))
    assert item.tags == ("barn-unga", "lasframjande") and item.relevant is True
    detail = {t.tag: t for t in item.tag_details}
    assert detail["lasframjande"].why == "träffar: läsfrämj*"
    assert detail["lasframjande"].origin == "rule+model" and detail["barn-unga"].origin == "source"


def test_labels_win_over_automatic_tags_latest_first(store):
    item = stored_one(store)
    store.add_label(item.id, "add", "barn-unga", "anna", "cli", NOW)
    store.add_label(item.id, "remove", "lasframjande", "anna", "cli", NOW)
    [labelled] = store.items_by_id([item.id])
    assert labelled.tags == ("barn-unga",) and labelled.relevant is True
    assert labelled.tag_details[0].origin == "human"
    store.add_label(item.id, "irrelevant", None, "bo", "digest", NOW + timedelta(minutes=1))
    assert store.items_by_id([item.id])[0].relevant is False


def test_retag_replaces_automatic_tags_but_keeps_source_tags_and_labels(store):
    item = stored_one(store, source_tags=("tillganglighet",))
    store.add_label(item.id, "add", "barn-unga", "anna", "cli", NOW)
    new = TagDecisionRow(item.id, True, (ItemTag("demokrati", 0.7, "modell: censur", "model"),),
                         "m2")
    store.replace_auto_tags([new], NOW)
    [after] = store.items_by_id([item.id])
    assert after.tags == ("barn-unga", "demokrati", "tillganglighet")


def test_changed_item_gets_its_new_automatic_tags(store):
    stored_one(store)
    changed = tagged_item(scores=(ItemTag("beredskap", 0.8, "träffar: beredskap", "rule"),))
    changed = changed.__class__(**{**changed.__dict__, "content_hash": "other"})
    store.store_batch([changed], ok(), SourceState("kb"))
    assert store.latest_items()[0].tags == ("beredskap",)


def test_irrelevant_item_has_no_tags_and_a_false_verdict(store):
    item = stored_one(store, relevant=False, scores=())
    assert item.tags == () and item.relevant is False


def test_items_to_tag_pages_through_the_archive(store):
    batch = [tagged_item(identity=f"guid:{n}", url=f"https://www.kb.se/{n}") for n in range(5)]
    store.store_batch(batch, ok(), SourceState("kb"))
    first = store.items_to_tag(None, 0, 3)
    rest = store.items_to_tag(None, first[-1][0], 3)
    assert len(first) == 3 and len(rest) == 2 and first[0][3] == ("kb",)


def test_models_are_versioned_and_the_newest_wins(store):
    assert store.latest_model() is None
    store.save_model(StoredModel("v1", NOW, {"labels": 10}, b"one"))
    store.save_model(StoredModel("v2", NOW + timedelta(hours=1), {"labels": 12}, b"two"))
    latest = store.latest_model()
    assert (latest.version, latest.model, latest.info) == ("v2", b"two", {"labels": 12})
    assert [v for v, _, _ in store.model_history()] == ["v2", "v1"]


def test_labelled_items_carry_their_effective_verdict(store):
    item = stored_one(store)
    store.add_label(item.id, "remove", "lasframjande", "anna", "cli", NOW)
    [row] = store.labelled_items()
    verdict, details = row["verdict"]
    assert row["id"] == item.id and details == () and verdict is True


def test_migration_from_version_1_adds_the_tagging_columns(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:  # a database as m001 first shipped it
        conn.execute(text("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                          "name VARCHAR(200) NOT NULL, applied_at DATETIME NOT NULL)"))
        conn.execute(text("INSERT INTO schema_version VALUES (1, 'm001_initial', "
                          "'2026-11-01 00:00:00')"))
        conn.execute(text("CREATE TABLE items (id INTEGER PRIMARY KEY, title TEXT NOT NULL)"))
        conn.execute(text("CREATE TABLE source_state (source_id VARCHAR(100) PRIMARY KEY)"))
    engine.dispose()
    store = Store.open(url)
    with store.engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("items")}
        tables = set(inspect(conn).get_table_names())
    store.close()
    assert {"relevant", "tagged_at", "tagger_version"} <= columns
    assert {"labels", "tag_models", "deliveries", "delivered_items"} <= tables
