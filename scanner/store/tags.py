"""Tags, human labels and tag models. Labels always win over automatic tags."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, select, update

from scanner.models import Item, ItemTag
from scanner.store import upsert
from scanner.store.schema import item_sources, item_tags, items, labels, tag_models

AUTO_ORIGINS = ("rule", "model", "rule+model")
CHUNK = 500
# Built once, the ids bound as one expanding parameter (not coerced one by one per statement):
_DELETE_AUTO_TAGS = delete(item_tags).where(
    item_tags.c.item_id.in_(bindparam("ids", expanding=True)),
    item_tags.c.origin.in_(AUTO_ORIGINS))
_SOURCES_OF = select(item_sources.c.item_id, item_sources.c.source_id).where(
    item_sources.c.item_id.in_(bindparam("ids", expanding=True)))


@dataclass(frozen=True)
class TagDecisionRow:
    """A new automatic verdict for a stored item (from a retag)."""

    item_id: int
    relevant: bool
    tags: tuple[ItemTag, ...]
    tagger_version: str


@dataclass(frozen=True)
class StoredModel:
    version: str
    trained_at: datetime
    info: dict
    model: bytes


# -- writing automatic tags --------------------------------------------------------------------

TAG_COLUMNS = ("item_id", "tag", "origin", "score", "why")


def tag_rows(item_id: int, item: Item) -> list[tuple]:
    """Rows (TAG_COLUMNS) for the source's tags and the automatic ones of a freshly stored
    item."""
    why = f"källan {item.source_id}"
    rows = [(item_id, tag, "source", 1.0, why) for tag in item.tags]
    rows += [(item_id, t.tag, t.origin, t.score, t.why) for t in item.tag_scores]
    return rows


def replace_auto_tags(conn: Connection, decisions: Sequence[TagDecisionRow], now: datetime) -> None:
    """Swap an item's automatic tags and verdict; source tags and labels stay as they are."""
    for chunk in _chunks([d.item_id for d in decisions]):
        conn.execute(_DELETE_AUTO_TAGS, {"ids": chunk})
    rows = [(d.item_id, t.tag, t.origin, t.score, t.why) for d in decisions for t in d.tags]
    upsert.insert_rows(conn, item_tags, TAG_COLUMNS, rows)
    _set_verdicts(conn, decisions, now)


_VERDICT_COLUMNS = ("relevant", "tagged_at", "tagger_version")


def _set_verdicts(conn: Connection, decisions: Sequence[TagDecisionRow], now: datetime) -> None:
    mark = upsert.placeholder(conn)
    if mark is None:
        statement = (update(items).where(items.c.id == bindparam("item_id"))
                     .values(relevant=bindparam("verdict"), tagged_at=bindparam("when"),
                             tagger_version=bindparam("version")))
        conn.execute(statement, [dict(item_id=d.item_id, verdict=d.relevant, when=now,
                                      version=d.tagger_version) for d in decisions])
        return
    when = upsert.bound(conn, items.c.tagged_at, now)
    verdicts = {value: upsert.bound(conn, items.c.relevant, value) for value in (True, False)}
    assignments = ", ".join(f"{column} = {mark}" for column in _VERDICT_COLUMNS)
    conn.exec_driver_sql(f"UPDATE {items.name} SET {assignments} WHERE id = {mark}",
                         [(verdicts[bool(d.relevant)], when, d.tagger_version, d.item_id)
                          for d in decisions])


def items_to_tag(conn: Connection, since: datetime | None, after_id: int,
                 limit: int) -> list[tuple[int, str, str, tuple[str, ...]]]:
    """(id, title, summary, source ids) of stored items, in id order, for a retag."""
    query = (select(items.c.id, items.c.title, items.c.summary).where(items.c.id > after_id)
             .order_by(items.c.id).limit(limit))
    if since is not None:
        query = query.where(items.c.published >= since)
    rows = conn.execute(query).all()
    carried = _sources_by_item(conn, [item_id for item_id, _, _ in rows])
    return [(item_id, title, summary, carried.get(item_id, ()))
            for item_id, title, summary in rows]


def _sources_by_item(conn: Connection, ids: list[int]) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = {}
    for chunk in _chunks(ids):
        for item_id, source_id in conn.execute(_SOURCES_OF, {"ids": chunk}).all():
            found.setdefault(item_id, []).append(source_id)
    return {k: tuple(v) for k, v in found.items()}


# -- labels ------------------------------------------------------------------------------------

def add_label(conn: Connection, item_id: int, action: str, tag: str | None, who: str, via: str,
              at: datetime) -> None:
    conn.execute(labels.insert().values(item_id=item_id, action=action, tag=tag, who=who,
                                        via=via, at=at))


def labels_of(conn: Connection, ids: list[int]) -> dict[int, list[dict]]:
    found: dict[int, list[dict]] = {}
    for chunk in _chunks(ids):
        query = select(labels).where(labels.c.item_id.in_(chunk)).order_by(labels.c.id)
        for row in conn.execute(query).mappings():
            found.setdefault(row["item_id"], []).append(dict(row))
    return found


def labelled_items(conn: Connection) -> list[dict]:
    """Items with human labels, with their effective tags and verdict, for training."""
    rows = conn.execute(select(labels.c.item_id).distinct()).scalars().all()
    texts = {r.id: r for r in conn.execute(
        select(items.c.id, items.c.title, items.c.summary, items.c.source_id,
               items.c.lang).where(items.c.id.in_(rows)))} if rows else {}
    details = tag_details(conn, list(texts))
    return [dict(id=i, title=texts[i].title, text=texts[i].summary, source=texts[i].source_id,
                 lang=texts[i].lang, verdict=details[i]) for i in texts]


# -- effective view ----------------------------------------------------------------------------

def tag_details(conn: Connection, ids: list[int]) -> dict[int, tuple[bool | None,
                                                                    tuple[ItemTag, ...]]]:
    """Per item: (verdict, tags in effect) — automatic and source tags, then labels on top."""
    automatic = _stored_tags(conn, ids)
    verdicts = _stored_verdicts(conn, ids)
    labelled = labels_of(conn, ids)
    return {i: effective(verdicts.get(i), automatic.get(i, []), labelled.get(i, []))
            for i in ids}


def effective(auto_verdict: bool | None, stored: list[ItemTag],
              item_labels: list[dict]) -> tuple[bool | None, tuple[ItemTag, ...]]:
    best: dict[str, ItemTag] = {}
    for tag in stored:
        if tag.tag not in best or tag.score > best[tag.tag].score:
            best[tag.tag] = tag
    verdict = auto_verdict
    for label in item_labels:  # oldest first: the latest label wins
        verdict = _apply_label(label, best, verdict)
    return verdict, tuple(sorted(best.values(), key=lambda t: t.tag))


def _apply_label(label: dict, best: dict[str, ItemTag], verdict: bool | None) -> bool | None:
    action, tag = label["action"], label["tag"]
    if action == "add":  # a person giving a tag says the item matters
        best[tag] = ItemTag(tag, 1.0, f"satt av {label['who']}", "human")
        return True
    if action == "remove":
        best.pop(tag, None)
        return verdict
    return action == "relevant"


def _stored_tags(conn: Connection, ids: list[int]) -> dict[int, list[ItemTag]]:
    found: dict[int, list[ItemTag]] = {}
    for chunk in _chunks(ids):
        query = select(item_tags).where(item_tags.c.item_id.in_(chunk))
        for row in conn.execute(query).mappings():
            found.setdefault(row["item_id"], []).append(
                ItemTag(row["tag"], row["score"], row["why"] or "", row["origin"]))
    return found


def _stored_verdicts(conn: Connection, ids: list[int]) -> dict[int, bool | None]:
    found = {}
    for chunk in _chunks(ids):
        query = select(items.c.id, items.c.relevant).where(items.c.id.in_(chunk))
        found.update({row.id: row.relevant for row in conn.execute(query)})
    return found


# -- models ------------------------------------------------------------------------------------

def save_model(conn: Connection, model: StoredModel) -> None:
    conn.execute(tag_models.insert().values(version=model.version, trained_at=model.trained_at,
                                            info=json.dumps(model.info, ensure_ascii=False),
                                            model=model.model))


def latest_model(conn: Connection) -> StoredModel | None:
    row = conn.execute(select(tag_models).order_by(tag_models.c.trained_at.desc(),
                                                   tag_models.c.id.desc()).limit(1)).mappings()
    found = row.first()
    if found is None:
        return None
    return StoredModel(found["version"], found["trained_at"], json.loads(found["info"]),
                       bytes(found["model"]))


def model_history(conn: Connection) -> list[tuple[str, datetime, dict]]:
    query = select(tag_models.c.version, tag_models.c.trained_at, tag_models.c.info).order_by(
        tag_models.c.trained_at.desc())
    return [(r.version, r.trained_at, json.loads(r.info)) for r in conn.execute(query)]


def _chunks(values: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]
