"""The next SourceState after a fetch: validators, error streaks and exponential backoff.

A pure function of its inputs (randomness only through `rng`), so the schedule is testable.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

from scanner.models import FetchResult, Source, SourceState
from scanner.settings import Settings

SUCCESS_OUTCOMES = frozenset({"ok", "not_modified", "unchanged"})
JITTER = 0.10
_RNG = random.Random()


def next_state(source: Source, state: SourceState | None, result: FetchResult, now: datetime,
               settings: Settings, rng: random.Random | None = None) -> SourceState:
    """The state to store after `result`; `now` is the time of the attempt."""
    base = replace(state or SourceState(source_id=source.id), last_attempt=now)
    if result.outcome in SUCCESS_OUTCOMES:
        return _after_success(source, base, result, now)
    if result.outcome == "error":
        return _after_error(source, base, result, now, settings, rng or _RNG)
    return replace(base, next_fetch=now + source.interval)  # skipped: try again next interval


def _after_success(source: Source, state: SourceState, result: FetchResult,
                   now: datetime) -> SourceState:
    validators = _validators(state, result)
    return replace(
        state, **validators, error_streak=0, last_error=None, last_error_key=None,
        last_success=now, next_fetch=now + source.interval, disabled_reason=None,
        moved_to=result.moved_to,
    )


def _validators(state: SourceState, result: FetchResult) -> dict:
    """New ETag/Last-Modified/body hash; a 304 keeps what the server did not resend."""
    if result.outcome == "not_modified":
        return dict(etag=result.etag or state.etag,
                    last_modified=result.last_modified or state.last_modified,
                    body_hash=state.body_hash)
    return dict(etag=result.etag, last_modified=result.last_modified,
                body_hash=result.body_hash or state.body_hash)


def _after_error(source: Source, state: SourceState, result: FetchResult, now: datetime,
                 settings: Settings, rng: random.Random) -> SourceState:
    streak = state.error_streak + 1
    delay = backoff_delay(source.interval, streak, settings.max_backoff_hours, rng)
    if result.retry_after is not None:
        delay = max(delay, result.retry_after)
    return replace(
        state, error_streak=streak, last_error=result.message,
        last_error_key=result.error_key, next_fetch=now + delay,
        disabled_reason=result.message if result.disable else state.disabled_reason,
        moved_to=result.moved_to or state.moved_to,
    )


def backoff_delay(interval: timedelta, streak: int, max_hours: float,
                  rng: random.Random) -> timedelta:
    """interval * 2**(streak-1), capped at max_hours, with ±10 % jitter (never above the cap)."""
    cap = max_hours * 3600.0
    raw = interval.total_seconds() * 2.0 ** min(max(streak - 1, 0), 60)
    high = 1.0 if raw >= cap else 1.0 + JITTER
    seconds = min(raw, cap) * rng.uniform(1.0 - JITTER, high)
    return timedelta(seconds=min(seconds, cap))
