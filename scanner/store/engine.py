"""Engine creation: SQLite gets WAL and a busy timeout; any SQLAlchemy URL works."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from scanner.errors import StoreError


def open_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreError(f"SCANNER_DATABASE_URL '{url}' is not a database URL "
                         "(e.g. sqlite:///var/scanner.db or postgresql+psycopg://host/db)") from exc
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed)
    try:
        return create_engine(parsed, pool_pre_ping=True)
    except (SQLAlchemyError, ImportError) as exc:
        raise StoreError(f"cannot open database {parsed.render_as_string(hide_password=True)}: "
                         f"{exc} — for PostgreSQL install the extra: pip install 'scanner[postgres]'"
                         ) from exc


# An item's row (text, summary, HTML copy, story tokens and bands) is about 2.4 kB: a 4 kB page
# holds one and leaves the rest empty, an 8 kB page holds three. The archive is a quarter
# smaller and storing makes half the write calls. It can only be set before the file's first
# table (and never in WAL mode), so an existing archive keeps the page size it was made with.
SQLITE_PAGE_SIZE = 8192


def _sqlite_engine(parsed) -> Engine:
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args={"timeout": 30})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # takes effect on a new file only
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
