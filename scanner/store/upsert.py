"""Dialect-aware INSERT … ON CONFLICT for SQLite and PostgreSQL, and rows written through the
driver's executemany as ready tuples."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from sqlalchemy import Column, Connection, DateTime, Dialect, Table
from sqlalchemy.dialects import postgresql, sqlite

from scanner.store.schema import UTCDateTime


def _insert_for(conn: Connection, table: Table):
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"database '{dialect}' is not supported; use SQLite or PostgreSQL")


def upsert(conn: Connection, table: Table, rows: list[dict], key: str) -> None:
    """INSERT the rows (all with the keys of the first), updating the row with the same `key`
    where there is one."""
    if not rows:
        return
    mark = placeholder(conn)
    if mark is None:
        statement = _insert_for(conn, table)
        columns = {c: statement.excluded[c] for c in rows[0] if c != key}
        conn.execute(statement.on_conflict_do_update(index_elements=[key], set_=columns), rows)
        return
    columns = list(rows[0])
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != key)
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(columns)}) "
                         f"VALUES ({', '.join([mark] * len(columns))}) "
                         f"ON CONFLICT ({key}) DO UPDATE SET {updates}",
                         bound_rows(conn, table, columns, [tuple(map(row.__getitem__, columns))
                                                           for row in rows]))


def insert_ignore(conn: Connection, table: Table, rows: list[dict]) -> None:
    if rows:
        conn.execute(_insert_for(conn, table).on_conflict_do_nothing(), rows)


# Rows go to the driver's executemany as ready tuples where its placeholder style is known:
# SQLAlchemy's per-row parameter processing cost more than the writing itself. Each value is
# bound by the processor SQLAlchemy would apply for its column, so the stored rows are the same.
_MARKS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def placeholder(conn: Connection) -> str | None:
    """The driver's parameter placeholder ("?", "%s"), None when its style is not one of ours."""
    return _MARKS.get(conn.dialect.paramstyle)


def bound(conn: Connection, column: Column, value):
    """`value` as SQLAlchemy binds it for `column` on this connection's database."""
    process = _bind_processor(conn, column)
    return value if process is None else process(value)


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: list[tuple],
                ignore_conflicts: bool = False) -> None:
    """INSERT `rows` (tuples of Python values for `columns`), skipping rows that break a unique
    constraint when `ignore_conflicts`."""
    if not rows:
        return
    mark = placeholder(conn)
    if mark is None:
        statement = (_insert_for(conn, table).on_conflict_do_nothing() if ignore_conflicts
                     else table.insert())
        conn.execute(statement, [dict(zip(columns, row)) for row in rows])
        return
    conflicts = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    conn.exec_driver_sql(f"INSERT INTO {table.name} ({', '.join(columns)}) "
                         f"VALUES ({', '.join([mark] * len(columns))}){conflicts}",
                         bound_rows(conn, table, columns, rows))


def bound_rows(conn: Connection, table: Table, columns: Sequence[str],
               rows: list[tuple]) -> list[tuple]:
    """`rows` with each value bound for its column, column by column."""
    processors = _processors(conn.dialect, table, tuple(columns))
    if not any(processors):
        return rows
    values = list(zip(*rows))
    for n, process in enumerate(processors):
        if process is not None:
            values[n] = _processed(process, values[n], table.c[columns[n]])
    return list(zip(*values))


def _processed(process, values: tuple, column: Column):
    if not isinstance(column.type, (UTCDateTime, DateTime)):
        return map(process, values)
    # A batch's items share a few times (when fetched): each distinct one is converted once.
    # Equal aware times are the same instant, so they bind to the same UTC value.
    converted = dict.fromkeys(values)
    for value in converted:
        converted[value] = process(value)
    return map(converted.__getitem__, values)


def _bind_processor(conn: Connection, column: Column):
    return column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)


@functools.lru_cache(maxsize=64)
def _processors(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> list:
    """Each column's bind processor (or None), worked out once per statement shape: a scan
    cycle writes the same few shapes for every source."""
    return [column.type.dialect_impl(dialect).bind_processor(dialect)
            for column in map(table.c.__getitem__, columns)]
