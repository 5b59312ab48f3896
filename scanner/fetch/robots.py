"""robots.txt: fetched once per origin (scheme://host:port), cached, asked before each fetch.

Rules: a 2xx robots.txt is obeyed; 4xx (none published) allows everything; a 5xx or a network
failure allows the fetch (the real fetch then reports the failure) and is kept only briefly.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Awaitable, Callable
from urllib.robotparser import RobotFileParser

import httpx

ROBOTS_MAX_BYTES = 512 * 1024
FAILURE_TTL = timedelta(minutes=10)
AGENT = "scanner"

# (status or None for a network failure, body text) of one robots.txt request
RobotsLoader = Callable[[str], Awaitable[tuple[int | None, str]]]


@dataclass(frozen=True)
class RobotsEntry:
    """One origin's robots policy; parser None means everything is allowed."""

    parser: RobotFileParser | None
    expires: datetime

    def allows(self, url: str) -> bool:
        return self.parser is None or self.parser.can_fetch(AGENT, url)


def origin_of(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.host}:{url.port or _default_port(url.scheme)}"


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def entry_from(status: int | None, text: str, now: datetime, ttl: timedelta) -> RobotsEntry:
    """The cached policy for one robots.txt answer."""
    if status is None or status >= 500:
        return RobotsEntry(None, now + min(ttl, FAILURE_TTL))
    if not 200 <= status < 300:
        return RobotsEntry(None, now + ttl)
    parser = RobotFileParser()
    parser.parse(text.splitlines())
    return RobotsEntry(parser, now + ttl)


class RobotsCache:
    """Per-origin robots policies; one load at a time per origin, shared by all waiters."""

    def __init__(self, load: RobotsLoader, ttl_seconds: int,
                 cache: dict[str, RobotsEntry] | None = None) -> None:
        self._load = load
        self._ttl = timedelta(seconds=ttl_seconds)
        self.entries: dict[str, RobotsEntry] = {} if cache is None else cache
        self._locks: dict[str, asyncio.Lock] = {}

    async def allowed(self, url: httpx.URL, now: datetime) -> bool:
        origin = origin_of(url)
        entry = self._fresh(origin, now)
        if entry is None:
            lock = self._locks.setdefault(origin, asyncio.Lock())
            async with lock:
                entry = self._fresh(origin, now) or await self._refresh(origin, now)
        return entry.allows(str(url))

    def _fresh(self, origin: str, now: datetime) -> RobotsEntry | None:
        entry = self.entries.get(origin)
        return entry if entry is not None and now < entry.expires else None

    async def _refresh(self, origin: str, now: datetime) -> RobotsEntry:
        status, text = await self._load(f"{origin}/robots.txt")
        entry = entry_from(status, text, now, self._ttl)
        self.entries[origin] = entry
        return entry
