"""The Fetcher: one httpx.AsyncClient per cycle, limits, robots, redirects, conditional GET.

Every fetch returns a FetchResult; no exception leaves `fetch` (unexpected ones become
error_key "unexpected"). Time spent waiting for a free slot does not count against the total
timeout: each hop takes a per-host slot, then a global slot, then spends from the budget.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import ssl
import time
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Callable

import httpx

from scanner.fetch import outcomes
from scanner.fetch.http import (
    PERMANENT_STATUSES, REDIRECT_STATUSES, BodyTooLarge, Budget, base_headers, check_url,
    conditional_headers, drain, host_key, read_capped, read_prefix, redirect_target,
)
from scanner.fetch.hostqueue import HostQueues
from scanner.fetch.pools import HostPools
from scanner.fetch.robots import ROBOTS_MAX_BYTES, RobotsCache, RobotsEntry
from scanner.models import FetchResult, Source, SourceState
from scanner.settings import Settings


class Trail:
    """The redirect chain of one fetch: visited URLs, count, and a permanent move if any."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.visited: set[str] = set()
        self.redirects = 0
        self.permanent = True
        self.moved_to: str | None = None

    def start(self, url: httpx.URL) -> None:
        self.url = str(url)
        self.visited.add(self.url)

    def redirect(self, status: int, target: httpx.URL | None) -> str | None:
        """Follow one redirect; the error key that stops the chain, or None."""
        if target is None:
            return "bad_redirect"
        self.redirects += 1
        if self.redirects > outcomes.MAX_REDIRECTS:
            return "too_many_redirects"
        if str(target) in self.visited:
            return "redirect_loop"
        self.permanent = self.permanent and status in PERMANENT_STATUSES
        self.moved_to = str(target) if self.permanent else self.moved_to
        self.start(target)
        return None


class Fetcher:
    """async with Fetcher(settings) as f: await f.fetch(...) / await f.fetch_all(...)."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None,
                 robots_cache: dict[str, RobotsEntry] | None = None) -> None:
        self.settings = settings
        self._transport = transport
        self._robots_cache = {} if robots_cache is None else robots_cache
        self._client: httpx.AsyncClient | None = None
        self._pools: HostPools | None = None  # None with a transport given
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._global: asyncio.Semaphore | None = None
        self.robots: RobotsCache | None = None

    async def __aenter__(self) -> "Fetcher":
        if self._transport is None:
            self._pools = HostPools(self.settings.per_host_limit, _tls_context())
        self._client = _make_client(self.settings, self._transport or self._pools)
        self._global = asyncio.Semaphore(self.settings.concurrency)
        if self.settings.respect_robots:
            self.robots = RobotsCache(self._load_robots, self.settings.robots_cache_seconds,
                                      self._robots_cache)
        return self

    async def __aexit__(self, *exc) -> None:
        if self._client is not None:
            await self._client.aclose()
        self._client = None

    async def fetch(self, source: Source, state: SourceState | None,
                    now: datetime) -> FetchResult:
        """Fetch one source; `state` None ignores stored validators (a test fetch)."""
        if self._client is None:
            raise RuntimeError("use Fetcher inside 'async with Fetcher(settings) as fetcher'")
        trail, started = Trail(source.url), time.perf_counter()
        try:
            result = await self._follow(source, state, now, trail)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a value
            result = outcomes.exception_result(source, trail.url, exc, now, self.settings)
        return replace(result, elapsed=time.perf_counter() - started)

    async def fetch_all(self, pairs: list[tuple[Source, SourceState | None]], now: datetime,
                        on_result: Callable[[FetchResult], None] | None = None,
                        ) -> list[FetchResult]:
        """Fetch all concurrently; results in input order, on_result called as each ends.
        With on_result, it alone gets the bodies: the results returned hold none."""
        results: list[FetchResult | None] = [None] * len(pairs)
        queues = HostQueues([_host_of(source.url) for source, _ in pairs],
                            self.settings.per_host_limit)

        async def work(key: str) -> None:
            while (index := queues.pop(key)) is not None:
                result = await self.fetch(*pairs[index], now)
                if on_result is not None:
                    on_result(result)
                    result = replace(result, body=None)  # not kept for the whole cycle
                results[index] = result

        async def worker() -> None:
            while (key := queues.claim()) is not None:
                try:
                    await work(key)
                finally:
                    if queues.release(key) and self._pools is not None:
                        await self._pools.close_host(key)

        workers = min(self.settings.concurrency, len(pairs))
        await asyncio.gather(*(worker() for _ in range(workers)))
        return results

    async def _follow(self, source: Source, state: SourceState | None, now: datetime,
                      trail: Trail) -> FetchResult:
        url, budget = check_url(source.url), Budget(self.settings.timeout)
        headers = conditional_headers(state)
        trail.start(url)
        while True:
            if self.robots is not None and not await self.robots.allowed(url, now):
                return self._error(source, trail.url, "robots_disallowed", now)
            answer = await self._hop(source, state, url, headers, budget, now)
            if isinstance(answer, FetchResult):
                return _with_move(answer, trail, source)
            error_key = trail.redirect(*answer)
            if error_key is not None:
                return self._error(source, trail.url, error_key, now, status=answer[0])
            url = answer[1]

    async def _hop(self, source: Source, state: SourceState | None, url: httpx.URL,
                   headers: dict[str, str], budget: Budget, now: datetime):
        """One request: a final FetchResult, or (status, target) of a redirect."""
        request = self._client.build_request("GET", url, headers=headers)
        async with self._slot(url):
            with budget:
                async with asyncio.timeout(max(budget.left, 0.0)):
                    response = await self._client.send(request, stream=True)
                    try:
                        if response.status_code in REDIRECT_STATUSES:
                            await drain(response)
                            return response.status_code, redirect_target(response)
                        return await self._final(source, state, response, now)
                    finally:
                        await response.aclose()

    async def _final(self, source: Source, state: SourceState | None,
                     response: httpx.Response, now: datetime) -> FetchResult:
        url, status = str(response.url), response.status_code
        if status == 304:
            await drain(response)
            return _success(source, state, response, None, now)
        if not 200 <= status < 300:
            await drain(response)
            return outcomes.status_result(source, url, response, now, self.settings)
        try:
            body = await read_capped(response, self.settings.max_body_bytes)
        except BodyTooLarge:
            return self._error(source, url, "body_too_large", now, status=status)
        return _success(source, state, response, body, now)

    def _error(self, source: Source, url: str, key: str, now: datetime, **fields) -> FetchResult:
        return outcomes.error_result(source, url, key, now, self.settings, **fields)

    @asynccontextmanager
    async def _slot(self, url: httpx.URL):
        """A per-host slot (host:port), then a global slot; never held across hops."""
        key = host_key(url)
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = asyncio.Semaphore(self.settings.per_host_limit)
        async with host, self._global:
            yield

    async def _load_robots(self, robots_url: str) -> tuple[int | None, str]:
        """(status, text) of robots.txt, or (None, "") when it cannot be fetched at all."""
        try:
            async with self._slot(httpx.URL(robots_url)):
                async with asyncio.timeout(self.settings.timeout):
                    async with self._client.stream("GET", robots_url,
                                                   follow_redirects=True) as response:
                        body = await read_prefix(response, ROBOTS_MAX_BYTES)
                        return response.status_code, body.decode("utf-8", "replace")
        except Exception:  # noqa: BLE001 - robots failures allow; the real fetch reports
            return None, ""


def _success(source: Source, state: SourceState | None, response: httpx.Response,
             body: bytes | None, now: datetime) -> FetchResult:
    """ok (new body), unchanged (same body hash; body dropped) or not_modified (304)."""
    digest = hashlib.sha256(body).hexdigest() if body is not None else None
    if body is None:
        outcome = "not_modified"
    elif state is not None and state.body_hash == digest:
        outcome, body = "unchanged", None
    else:
        outcome = "ok"
    headers = response.headers
    return FetchResult(
        source_id=source.id, url=source.url, outcome=outcome, fetched_at=now,
        status=response.status_code, body=body, headers=dict(headers.items()),
        final_url=str(response.url), etag=headers.get("etag"),
        last_modified=headers.get("last-modified"), body_hash=digest,
    )


def _host_of(url: str) -> str:
    try:
        return host_key(check_url(url))
    except Exception:  # noqa: BLE001 - a bad URL fails fast in fetch; any worker may take it
        return ""


def _with_move(result: FetchResult, trail: Trail, source: Source) -> FetchResult:
    """Tell staff about a permanent move, unless the moved-to URL itself failed."""
    if trail.moved_to is None or result.failed:
        return result
    return replace(result, moved_to=trail.moved_to,
                   message=outcomes.moved_message(source, trail.moved_to))


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """The verifying TLS context (certifi, or SSL_CERT_FILE/DIR), built once per process."""
    return httpx.create_ssl_context(verify=True)


# Loopback never goes through HTTP(S)_PROXY: the demo and local sources must work behind one.
DIRECT = {"all://127.0.0.1": None, "all://localhost": None, "all://[::1]": None}


def _make_client(settings: Settings, transport: httpx.AsyncBaseTransport | None):
    """One client per cycle, TLS verified; `transport` is HostPools (or a test's transport)."""
    return httpx.AsyncClient(
        transport=transport, mounts=DIRECT, verify=_tls_context(), follow_redirects=False,
        max_redirects=10,
        headers=base_headers(settings),
        limits=httpx.Limits(max_connections=settings.concurrency,
                            max_keepalive_connections=settings.concurrency),
        timeout=httpx.Timeout(settings.timeout, connect=settings.connect_timeout),
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
    )
