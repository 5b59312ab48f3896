"""Numbered schema migrations, applied in order and recorded in schema_version."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import Connection, inspect, select, text

from scanner.store import schema

Migration = tuple[int, str, Callable[[Connection], None]]


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
    stories across sources (items.story_id, LSH bands)."""
    schema.metadata.create_all(conn, tables=[schema.deliveries, schema.delivered_items,
                                             schema.digest_builds, schema.story_bands])
    for column in ("story_id INTEGER", "story_tokens TEXT"):
        _add_column_if_missing(conn, "items", column)


MIGRATIONS: list[Migration] = [
    (1, "m001_initial", m001_initial),
    (2, "m002_tagging", m002_tagging),
    (3, "m003_digests", m003_digests),
]


def _add_column_if_missing(conn: Connection, table: str, column_ddl: str) -> None:
    """Migrations add columns only where missing: m001 builds a fresh database from the
    current tables, so later migrations must be no-ops there."""
    name = column_ddl.split()[0]
    if name not in {c["name"] for c in inspect(conn).get_columns(table)}:
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column_ddl}"))


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
