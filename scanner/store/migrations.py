"""Numbered schema migrations, applied in order and recorded in schema_version."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import Column, Connection, ForeignKey, Index, Integer, MetaData, String, Table, \
    bindparam, inspect, select, text

from scanner.store import schema

Migration = tuple[int, str, Callable[[Connection], None]]

# One row per (LSH band, item), as m003 created it; m004 moved the bands into items.story_bands.
_legacy = MetaData()
LEGACY_STORY_BANDS = Table(
    "story_bands", _legacy,
    Column("band", String(40), nullable=False),
    Column("item_id", Integer, ForeignKey(schema.items.c.id, ondelete="CASCADE"),
           nullable=False),
    Index("ix_story_bands_band", "band"),
)


def m001_initial(conn: Connection) -> None:
    """Source state, fetch log, items, their sources and tags (in their current shape)."""
    tables = [schema.source_state, schema.fetch_log, schema.items, schema.item_sources,
              schema.item_tags]
    schema.metadata.create_all(conn, tables=tables)


def m002_tagging(conn: Connection) -> None:
    """Automatic relevance per item, human labels, versioned tag models, watched page text."""
    for column in ("relevant BOOLEAN", "tagged_at TIMESTAMP", "tagger_version VARCHAR(100)"):
        _add_column_if_missing(conn, "items", column)
    _add_column_if_missing(conn, "source_state", "page_text TEXT")
    schema.metadata.create_all(conn, tables=[schema.labels, schema.tag_models])


def m003_digests(conn: Connection) -> None:
    """The delivery log (claim before send, record after), what each recipient got, builds;
    stories across sources (items.story_id; its LSH band table is m004's to replace)."""
    schema.metadata.create_all(conn, tables=[schema.deliveries, schema.delivered_items,
                                             schema.digest_builds])
    for column in ("story_id INTEGER", "story_tokens TEXT"):
        _add_column_if_missing(conn, "items", column)


def m004_story_bands_with_items(conn: Connection) -> None:
    """Each item's LSH band keys move into items.story_bands (one text, no longer a row per
    band), and items.story_id becomes optional: NULL means the item's story is its own."""
    _add_column_if_missing(conn, "items", "story_bands TEXT")
    if not inspect(conn).has_table("story_bands"):
        return
    bands: dict[int, list[str]] = {}
    for band, item_id in conn.execute(select(LEGACY_STORY_BANDS.c.band,
                                             LEGACY_STORY_BANDS.c.item_id)):
        bands.setdefault(item_id, []).append(band)
    if bands:
        conn.execute(schema.items.update().where(schema.items.c.id == bindparam("item_id"))
                     .values(story_bands=bindparam("bands")),
                     [dict(item_id=i, bands=" ".join(keys)) for i, keys in bands.items()])
    LEGACY_STORY_BANDS.drop(conn)


MIGRATIONS: list[Migration] = [
    (1, "m001_initial", m001_initial),
    (2, "m002_tagging", m002_tagging),
    (3, "m003_digests", m003_digests),
    (4, "m004_story_bands_with_items", m004_story_bands_with_items),
]


def _add_column_if_missing(conn: Connection, table: str, column_ddl: str) -> None:
    """Migrations add columns only where missing: m001 builds a fresh database from the
    current tables, so later migrations must be no-ops there."""
    if not _has_column(conn, table, column_ddl.split()[0]):
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column_ddl}"))


def _has_column(conn: Connection, table: str, name: str) -> bool:
    return name in {c["name"] for c in inspect(conn).get_columns(table)}


def current_version(conn: Connection) -> int:
    if not inspect(conn).has_table("schema_version"):
        return 0
    versions = conn.execute(select(schema.schema_version.c.version)).scalars().all()
    return max(versions, default=0)


def migrate(conn: Connection, now: datetime | None = None) -> list[str]:
    """Apply every pending migration; returns the names applied."""
    schema.metadata.create_all(conn, tables=[schema.schema_version])
    done = current_version(conn)
    applied = []
    for version, name, apply in MIGRATIONS:
        if version <= done:
            continue
        apply(conn)
        conn.execute(schema.schema_version.insert().values(
            version=version, name=name, applied_at=now or datetime.now(timezone.utc)))
        applied.append(name)
    return applied


def latest_version() -> int:
    return MIGRATIONS[-1][0]
