"""One keep-alive connection pool per host (host:port) for a cycle's client.

httpcore's pool looks at every connection it holds and every request waiting for one each time
it hands out a connection: one pool shared by all hosts made that a pass over up to
`concurrency` connections per request, a fifth of the fetch phase's CPU for 200 feeds on 20
hosts. A host's pool holds at most per_host_limit connections (as many as the per-host limit
lets run at once) and is closed once the host's sources are all fetched and no response from
it is still open (a redirect from another host may be reading one), so the open sockets stay
bounded by the hosts being fetched, not by all hosts of the cycle.
"""

from __future__ import annotations

import ssl
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx

from scanner.fetch.http import host_key


class HostPools(httpx.AsyncBaseTransport):
    def __init__(self, per_host: int, verify: ssl.SSLContext) -> None:
        self._limits = httpx.Limits(max_connections=per_host,
                                    max_keepalive_connections=per_host)
        self._verify = verify
        self._pools: dict[str, httpx.AsyncHTTPTransport] = {}
        self._open_responses: Counter[str] = Counter()
        self._done: set[str] = set()  # hosts to close once no response of theirs is open

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = host_key(request.url)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = httpx.AsyncHTTPTransport(verify=self._verify,
                                                               limits=self._limits)
        self._open_responses[key] += 1
        try:
            response = await pool.handle_async_request(request)
        except BaseException:
            await self._response_closed(key)
            raise
        closing = _ClosingStream(response.stream, lambda: self._response_closed(key))
        return httpx.Response(response.status_code, headers=response.headers, stream=closing,
                              extensions=response.extensions)

    def open_hosts(self) -> list[str]:
        return list(self._pools)

    async def close_host(self, key: str) -> None:
        """Close the pool of host `key` (host_key) once no response of it is open: nothing
        more is to be fetched from it. A later request to it (a redirect from another host)
        opens a new pool."""
        self._done.add(key)
        if not self._open_responses[key]:
            await self._close(key)

    async def _response_closed(self, key: str) -> None:
        self._open_responses[key] -= 1
        if not self._open_responses[key] and key in self._done:
            await self._close(key)

    async def _close(self, key: str) -> None:
        self._done.discard(key)
        del self._open_responses[key]
        pool = self._pools.pop(key, None)
        if pool is not None:
            await pool.aclose()

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


class _ClosingStream(httpx.AsyncByteStream):
    """A response body that tells its pool when it is closed (once)."""

    def __init__(self, stream: httpx.AsyncByteStream,
                 closed: Callable[[], Awaitable[None]]) -> None:
        self._stream, self._closed = stream, closed

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        closed, self._closed = self._closed, None
        try:
            await self._stream.aclose()
        finally:
            if closed is not None:
                await closed()
