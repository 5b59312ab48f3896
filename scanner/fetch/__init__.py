"""The HTTP stage: fetch sources politely and turn every outcome into a FetchResult.

    async with Fetcher(settings) as fetcher:
        results = await fetcher.fetch_all([(source, state), ...], now)
    new_state = next_state(source, state, result, now, settings)

`fetcher.fetch(source, None, now)` fetches one URL ignoring stored validators (for
`scanner sources check --fetch ID`). Status codes and exceptions map to error keys and
messages in `scanner.fetch.outcomes` only.
"""

from scanner.fetch.backoff import backoff_delay, next_state
from scanner.fetch.fetcher import Fetcher
from scanner.fetch.http import user_agent
from scanner.fetch.outcomes import MESSAGES, exception_key, parse_retry_after
from scanner.fetch.robots import RobotsEntry

ERROR_KEYS = tuple(k for k in MESSAGES if not k.endswith("xx"))

__all__ = [
    "ERROR_KEYS", "Fetcher", "RobotsEntry", "backoff_delay", "exception_key", "next_state",
    "parse_retry_after", "user_agent",
]
