"""One keep-alive connection pool per host (host:port) for a cycle's client.

httpcore's pool looks at every connection it holds and every request waiting for one each time
it hands out a connection: one pool shared by all hosts made that a pass over up to
`concurrency` connections per request, a fifth of the fetch phase's CPU for 200 feeds on 20
hosts. A host's pool holds at most per_host_limit connections (as many as the per-host limit
lets run at once) and is closed once the host's sources are all fetched, so the open sockets
stay bounded by the hosts being fetched, not by all hosts of the cycle.
"""

from __future__ import annotations

import ssl

import httpx

from scanner.fetch.http import host_key


class HostPools(httpx.AsyncBaseTransport):
    def __init__(self, per_host: int, verify: ssl.SSLContext) -> None:
        self._limits = httpx.Limits(max_connections=per_host,
                                    max_keepalive_connections=per_host)
        self._verify = verify
        self._pools: dict[str, httpx.AsyncHTTPTransport] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = host_key(request.url)
        pool = self._pools.get(key)
        if pool is None:
            pool = self._pools[key] = httpx.AsyncHTTPTransport(verify=self._verify,
                                                               limits=self._limits)
        return await pool.handle_async_request(request)

    def open_hosts(self) -> list[str]:
        return list(self._pools)

    async def close_host(self, key: str) -> None:
        """Close the pool of host `key` (host_key): nothing more is to be fetched from it. A
        later request to it (a redirect from another host) opens a new one."""
        pool = self._pools.pop(key, None)
        if pool is not None:
            await pool.aclose()

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()
