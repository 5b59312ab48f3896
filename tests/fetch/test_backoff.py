"""next_state: a pure function of source, state, result, now, settings and rng."""

import random
from datetime import timedelta

import pytest

from scanner.fetch import backoff_delay, next_state
from scanner.models import FetchResult, SourceState
from tests.fetch.helpers import NOW, make_settings, make_source

SOURCE = make_source("https://www.kb.se/feed.xml", interval=timedelta(hours=2))
SETTINGS = make_settings(max_backoff_hours=24)


def result(outcome="ok", **fields) -> FetchResult:
    return FetchResult(source_id=SOURCE.id, url=SOURCE.url, outcome=outcome, fetched_at=NOW,
                       **fields)


def error(key="http_500", **fields) -> FetchResult:
    return result("error", error_key=key, message=f"{SOURCE.id}: {key}", **fields)


def test_first_success_from_no_state():
    state = next_state(SOURCE, None, result(etag='"a"', last_modified="x", body_hash="h"),
                       NOW, SETTINGS)
    assert state == SourceState(SOURCE.id, etag='"a"', last_modified="x", body_hash="h",
                                next_fetch=NOW + timedelta(hours=2), last_success=NOW,
                                last_attempt=NOW)


def test_success_resets_the_streak_and_errors():
    old = SourceState(SOURCE.id, error_streak=4, last_error="x", last_error_key="dns")
    state = next_state(SOURCE, old, result("unchanged", body_hash="h"), NOW, SETTINGS)
    assert (state.error_streak, state.last_error, state.last_error_key) == (0, None, None)
    assert state.next_fetch == NOW + SOURCE.interval and state.body_hash == "h"


def test_not_modified_keeps_validators_the_server_did_not_resend():
    old = SourceState(SOURCE.id, etag='"a"', last_modified="Mon", body_hash="h")
    state = next_state(SOURCE, old, result("not_modified", etag='"b"'), NOW, SETTINGS)
    assert (state.etag, state.last_modified, state.body_hash) == ('"b"', "Mon", "h")


def test_ok_replaces_validators():
    old = SourceState(SOURCE.id, etag='"a"', last_modified="Mon", body_hash="h")
    state = next_state(SOURCE, old, result(body_hash="new"), NOW, SETTINGS)
    assert (state.etag, state.last_modified, state.body_hash) == (None, None, "new")


def test_error_records_message_key_and_keeps_validators():
    old = SourceState(SOURCE.id, etag='"a"', body_hash="h", last_success=NOW - timedelta(1))
    state = next_state(SOURCE, old, error("dns"), NOW, SETTINGS, random.Random(1))
    assert (state.error_streak, state.last_error_key) == (1, "dns")
    assert state.last_error == f"{SOURCE.id}: dns" and state.last_attempt == NOW
    assert (state.etag, state.body_hash, state.last_success) == ('"a"', "h", old.last_success)


@pytest.mark.parametrize("streak,hours", [(1, 2), (2, 4), (3, 8), (4, 16)])
def test_backoff_doubles_with_jitter(streak, hours):
    old = SourceState(SOURCE.id, error_streak=streak - 1)
    waits = {next_state(SOURCE, old, error(), NOW, SETTINGS, random.Random(seed)).next_fetch - NOW
             for seed in range(50)}
    assert all(hours * 0.9 <= w / timedelta(hours=1) <= hours * 1.1 for w in waits)
    assert len(waits) > 1  # jittered


@pytest.mark.parametrize("streak", [5, 6, 30, 10_000])
def test_backoff_is_capped(streak):
    rng = random.Random(7)
    for _ in range(50):
        wait = backoff_delay(SOURCE.interval, streak, 24, rng)
        assert timedelta(hours=24 * 0.9) <= wait <= timedelta(hours=24)


def test_retry_after_wins_when_longer_and_backoff_when_longer():
    rng = random.Random(3)
    long = next_state(SOURCE, None, error("http_429", retry_after=timedelta(hours=5)), NOW,
                      SETTINGS, rng)
    assert long.next_fetch == NOW + timedelta(hours=5)
    short = next_state(SOURCE, None, error("http_503", retry_after=timedelta(seconds=30)), NOW,
                       SETTINGS, rng)
    assert short.next_fetch - NOW >= timedelta(hours=1.8)


def test_gone_sets_disabled_reason():
    state = next_state(SOURCE, None, error("http_410", disable=True), NOW, SETTINGS)
    assert state.disabled_reason == f"{SOURCE.id}: http_410"


def test_moved_to_is_carried_over_errors_and_refreshed_by_success():
    moved = next_state(SOURCE, None, result(moved_to="https://new/feed"), NOW, SETTINGS)
    assert moved.moved_to == "https://new/feed"
    after_error = next_state(SOURCE, moved, error("timeout"), NOW, SETTINGS)
    assert after_error.moved_to == "https://new/feed"
    direct = next_state(SOURCE, after_error, result(), NOW, SETTINGS)
    assert direct.moved_to is None  # the configured URL now answers without a redirect


def test_skipped_only_reschedules():
    old = SourceState(SOURCE.id, error_streak=2, etag='"a"')
    state = next_state(SOURCE, old, result("skipped"), NOW, SETTINGS)
    assert state == SourceState(SOURCE.id, error_streak=2, etag='"a"', last_attempt=NOW,
                                next_fetch=NOW + SOURCE.interval)


def test_same_rng_same_schedule():
    one = next_state(SOURCE, None, error(), NOW, SETTINGS, random.Random(42))
    two = next_state(SOURCE, None, error(), NOW, SETTINGS, random.Random(42))
    assert one == two
