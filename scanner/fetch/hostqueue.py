"""Work for fetch_all grouped by host:port, biggest hosts first.

A worker claims a host with work left and fewer than per_host_limit workers on it, and stays on
it until its queue is empty. So the keep-alive connection to that host is reused, the pool stays
small, and hosts with many sources (bounded by the per-host limit) start early.
"""

from __future__ import annotations

from collections import Counter, deque


class HostQueues:
    def __init__(self, keys: list[str], per_host: int) -> None:
        grouped: dict[str, deque[int]] = {}
        for index, key in enumerate(keys):
            grouped.setdefault(key, deque()).append(index)
        self._queues = dict(sorted(grouped.items(), key=lambda kv: -len(kv[1])))
        self._workers: Counter[str] = Counter()
        self._per_host = per_host

    def claim(self) -> str | None:
        """A host for one more worker, or None when every host with work is at its limit."""
        for key in self._queues:
            if self._workers[key] < self._per_host:
                self._workers[key] += 1
                return key
        return None

    def pop(self, key: str) -> int | None:
        """The next index of work on host key, or None when it has none left."""
        queue = self._queues.get(key)
        if not queue:
            return None
        index = queue.popleft()
        if not queue:
            del self._queues[key]
        return index

    def release(self, key: str) -> bool:
        """One worker leaves host key; True when it was the last and no work is left there."""
        self._workers[key] -= 1
        return self._workers[key] == 0 and key not in self._queues
