"""Dialect-aware INSERT … ON CONFLICT for SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def _insert_for(conn: Connection, table: Table):
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"database '{dialect}' is not supported; use SQLite or PostgreSQL")


def upsert(conn: Connection, table: Table, rows: list[dict], key: str) -> None:
    if not rows:
        return
    statement = _insert_for(conn, table)
    columns = {c: statement.excluded[c] for c in rows[0] if c != key}
    conn.execute(statement.on_conflict_do_update(index_elements=[key], set_=columns), rows)


def insert_ignore(conn: Connection, table: Table, rows: list[dict]) -> None:
    if rows:
        conn.execute(_insert_for(conn, table).on_conflict_do_nothing(), rows)
