"""Numbered schema migrations, applied in order and recorded in schema_version."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import Connection, inspect, select

from scanner.store import schema

Migration = tuple[int, str, Callable[[Connection], None]]


def m001_initial(conn: Connection) -> None:
    """Source state, fetch log, items, their sources and tags."""
    tables = [schema.source_state, schema.fetch_log, schema.items, schema.item_sources,
              schema.item_tags]
    schema.metadata.create_all(conn, tables=tables)


MIGRATIONS: list[Migration] = [
    (1, "m001_initial", m001_initial),
]


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
