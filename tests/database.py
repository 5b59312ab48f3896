"""Test databases: a fresh SQLite file, and a fresh PostgreSQL schema where configured."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from urllib.parse import quote

from sqlalchemy import create_engine, text

POSTGRES_ENV = "SCANNER_TEST_DATABASE_URL"
BACKENDS = ["sqlite", "postgresql"]


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


@contextmanager
def fresh_database_url(backend: str, tmp_path):
    """Yield a URL of an empty database of the given backend, removed afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'scanner.db'}"
        return
    yield from _postgres_schema(postgres_url())


def _postgres_schema(base_url: str):
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    separator = "&" if "?" in base_url else "?"
    try:
        yield f"{base_url}{separator}options={quote(f'-csearch_path={name}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()
