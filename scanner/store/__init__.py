"""The only place with SQL: schema, migrations and the archive (SQLite and PostgreSQL)."""

from scanner.store.archive import BatchCounts, Store
from scanner.store.stories import StoryIndex

__all__ = ["BatchCounts", "Store", "StoryIndex"]
