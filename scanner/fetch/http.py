"""Small HTTP pieces of one fetch: request headers, capped body reads, redirect targets."""

from __future__ import annotations

import asyncio
import time

import httpx

import scanner
from scanner.models import SourceState
from scanner.settings import Settings

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_STATUSES = frozenset({301, 308})
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)
ACCEPT_ENCODING = "gzip, deflate, br"


class BodyTooLarge(Exception):
    """The body passed the configured cap; reading stopped there."""


def user_agent(settings: Settings) -> str:
    return f"scanner/{scanner.__version__} (+{settings.contact_url})"


def base_headers(settings: Settings) -> dict[str, str]:
    return {"User-Agent": user_agent(settings), "Accept": ACCEPT,
            "Accept-Encoding": ACCEPT_ENCODING}


def conditional_headers(state: SourceState | None) -> dict[str, str]:
    """If-None-Match / If-Modified-Since from what the last successful fetch stored."""
    headers = {}
    if state is not None and state.etag:
        headers["If-None-Match"] = state.etag
    if state is not None and state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    return headers


def host_key(url: httpx.URL) -> str:
    """host:port, the key of the per-host limit."""
    return f"{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"


def check_url(url: str) -> httpx.URL:
    """The parsed URL; raises httpx.InvalidURL unless it is an absolute http(s) URL."""
    parsed = httpx.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise httpx.InvalidURL("only absolute http:// and https:// URLs can be fetched")
    return parsed


def redirect_target(response: httpx.Response) -> httpx.URL | None:
    """The absolute URL a redirect points to, or None without a usable Location."""
    location = response.headers.get("location", "").strip()
    if not location:
        return None
    try:
        return check_url(str(response.url.join(location)))
    except httpx.InvalidURL:
        return None


async def read_capped(response: httpx.Response, limit: int) -> bytes:
    """The decoded body; raises BodyTooLarge as soon as more than `limit` bytes arrive."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(int(declared))
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(size)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_prefix(response: httpx.Response, limit: int) -> bytes:
    """At most the first `limit` decoded bytes of the body (robots.txt: parse what fits)."""
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]


async def drain(response: httpx.Response, limit: int = 65536, seconds: float = 0.5) -> None:
    """Best effort: read a small unwanted body (304, redirect, error page) so the keep-alive
    connection is reused. A large, unsized, slow or broken body is left: the connection closes
    and the outcome already known stands."""
    length = response.headers.get("content-length", "")
    if response.status_code not in (204, 304) and not (length.isdigit() and int(length) <= limit):
        return
    try:
        async with asyncio.timeout(seconds):
            await read_prefix(response, limit)
    except (TimeoutError, httpx.HTTPError):
        pass


class Budget:
    """Seconds left of the total timeout, counting only time spent on the network."""

    def __init__(self, seconds: float) -> None:
        self.left = seconds

    def __enter__(self) -> "Budget":
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.left -= time.perf_counter() - self._start
