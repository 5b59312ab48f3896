"""A retag's writes (tag rows and verdicts through the driver's executemany) store exactly what
SQLAlchemy's own insert and update store, on SQLite and PostgreSQL."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, select, update

from scanner.models import FetchResult, Item, ItemTag, SourceState
from scanner.store import Store
from scanner.store.schema import item_tags, items
from scanner.store.tags import TagDecisionRow

NOW = datetime(2026, 11, 23, 8, 0, 0, 123456, tzinfo=timezone.utc)
TAGS = (ItemTag("lasframjande", 0.8731, "träffar: läsfrämj*, bokstart*; modell: högläsning",
                "rule+model"),
        ItemTag("styrning-finansiering", 0.5, "modell: \"50 %\" av anslaget, 'citat'", "model"),
        ItemTag("demokrati", 1.0, "", "rule"))


def stored_item(n: int) -> Item:
    url = f"https://www.kb.se/{n}"
    return Item(source_id="kb", identity=f"guid:{n}", url=url, canonical_url=url,
                title=f"Nyhet {n}", summary="Läsfrämjande för små barn.", content_html="",
                published=NOW - timedelta(hours=n), fetched=NOW, date_missing=False,
                content_hash=str(n), lang="sv", tags=("barn-unga",))


@pytest.fixture
def store(database_url):
    opened = Store.open(database_url)
    fetch = FetchResult(source_id="kb", url="https://www.kb.se/rss", outcome="ok",
                        fetched_at=NOW)
    opened.store_batch([stored_item(n) for n in range(4)], fetch, SourceState("kb"))
    yield opened
    opened.close()


def write_with_sqlalchemy(store: Store, decisions: list[TagDecisionRow], now: datetime) -> None:
    """The reference: SQLAlchemy Core statements with per-row parameter processing."""
    with store.engine.begin() as conn:
        conn.execute(item_tags.insert(), [
            dict(item_id=d.item_id, tag=t.tag, origin=t.origin, score=t.score, why=t.why)
            for d in decisions for t in d.tags])
        conn.execute(update(items).where(items.c.id == bindparam("item_id")).values(
            relevant=bindparam("verdict"), tagged_at=bindparam("when"),
            tagger_version=bindparam("version")),
            [dict(item_id=d.item_id, verdict=d.relevant, when=now, version=d.tagger_version)
             for d in decisions])


def raw_rows(store: Store, ids: list[int]) -> list[tuple]:
    """What the database holds, as the driver returns it, per item in `ids` order."""
    with store.engine.connect() as conn:
        verdicts = {row[0]: row[1:] for row in conn.exec_driver_sql(
            "SELECT id, relevant, tagged_at, tagger_version FROM items")}
        tags: dict[int, list] = {}
        for item_id, *rest in conn.exec_driver_sql(
                "SELECT item_id, tag, origin, score, why FROM item_tags"
                " WHERE origin <> 'source' ORDER BY tag"):
            tags.setdefault(item_id, []).append(tuple(rest))
    return [(verdicts[i], tags.get(i, [])) for i in ids]


def test_retag_writes_what_sqlalchemy_would_write(store):
    ids = sorted(i.id for i in store.latest_items())
    ours = [TagDecisionRow(ids[0], True, TAGS, "tm1-abc"),
            TagDecisionRow(ids[1], False, (), "tm1-abc")]
    reference = [TagDecisionRow(ids[2], True, TAGS, "tm1-abc"),
                 TagDecisionRow(ids[3], False, (), "tm1-abc")]
    store.replace_auto_tags(ours, NOW)
    write_with_sqlalchemy(store, reference, NOW)
    assert raw_rows(store, ids[:2]) == raw_rows(store, ids[2:])
    tagged = {item.id: item for item in store.items_by_id(ids[:2])}
    assert tagged[ids[0]].relevant is True and tagged[ids[1]].relevant is False
    details = {t.tag: t for t in tagged[ids[0]].tag_details}
    assert {tag: details[tag.tag] for tag in TAGS} == {tag: tag for tag in TAGS}
    assert details["barn-unga"].origin == "source"  # the source's tag stays


def test_a_second_retag_replaces_the_automatic_tags(store):
    item_id = store.latest_items()[0].id
    store.replace_auto_tags([TagDecisionRow(item_id, True, TAGS, "tm1")], NOW)
    later = NOW + timedelta(days=1)
    store.replace_auto_tags([TagDecisionRow(item_id, True, TAGS[1:2], "tm2")], later)
    [item] = store.items_by_id([item_id])
    assert [t.tag for t in item.tag_details] == ["barn-unga", "styrning-finansiering"]
    with store.engine.connect() as conn:
        row = conn.execute(select(items.c.tagged_at, items.c.tagger_version)
                           .where(items.c.id == item_id)).one()
    assert tuple(row) == (later, "tm2")
