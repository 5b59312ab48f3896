"""Shared pieces of the fetch tests: fast settings, a fixed clock, one-call fetches."""

from __future__ import annotations

import asyncio
import socket
from datetime import datetime, timedelta, timezone

import httpx

from scanner.fetch import Fetcher
from scanner.models import FetchResult, Source, SourceState
from scanner.settings import Settings

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def make_settings(**overrides) -> Settings:
    """Short timeouts so a failing test fails fast."""
    values = {"timeout": 3.0, "connect_timeout": 1.0, "concurrency": 8, **overrides}
    return Settings(**values)


def make_source(url: str, source_id: str = "kb-nyheter", **fields) -> Source:
    fields.setdefault("interval", timedelta(hours=1))
    return Source(id=source_id, name=source_id, url=url, **fields)


def fetch(url_or_source, state: SourceState | None = None, settings: Settings | None = None,
          transport: httpx.AsyncBaseTransport | None = None) -> FetchResult:
    """Fetch one source with a fresh Fetcher."""
    source = url_or_source if isinstance(url_or_source, Source) else make_source(url_or_source)

    async def run() -> FetchResult:
        async with Fetcher(settings or make_settings(), transport=transport) as fetcher:
            return await fetcher.fetch(source, state, NOW)

    return asyncio.run(run())


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def raising(exc: Exception) -> httpx.MockTransport:
    """A transport whose every request raises exc (for failures a loopback can't produce)."""
    def handle(request: httpx.Request) -> httpx.Response:
        raise exc

    return httpx.MockTransport(handle)
