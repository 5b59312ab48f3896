"""The only place with SQL: schema, migrations and the archive (SQLite and PostgreSQL)."""

from scanner.store.archive import BatchCounts, Store

__all__ = ["BatchCounts", "Store"]
