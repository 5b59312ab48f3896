"""Error statuses: keys, messages, disabling, Retry-After, backoff from real 500s."""

import itertools
from datetime import timedelta
from email.utils import format_datetime

import pytest

from scanner.fetch import next_state
from tests.fetch.helpers import NOW, fetch, make_settings, make_source
from tests.httpserver import Reply, drip


def test_404_is_an_error_naming_the_source_and_the_fix(http_server):
    url = http_server.route("/gone.xml", status=404, body=b"nope")
    result = fetch(url)
    assert (result.outcome, result.error_key, result.status) == ("error", "http_404", 404)
    assert result.failed and not result.disable and result.body is None
    assert result.message.startswith("kb-nyheter: HTTP 404 Not Found at " + url)
    assert "scanner sources discover" in result.message and "sources.yaml" in result.message
    assert "\n" not in result.message


def test_410_disables_the_source(http_server):
    url = http_server.route("/old.xml", status=410)
    result = fetch(url)
    assert (result.error_key, result.disable) == ("http_410", True)
    state = next_state(make_source(url), None, result, NOW, make_settings())
    assert state.disabled_reason == result.message and "disabled" in state.disabled_reason


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_seconds(http_server, status):
    url = http_server.route("/busy", status=status, headers={"Retry-After": "120"})
    result = fetch(url)
    assert (result.error_key, result.retry_after) == (f"http_{status}", timedelta(seconds=120))
    assert "2 min" in result.message


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_http_date(http_server, status):
    # The server answers at wall-clock time; Retry-After is read relative to the `now` passed in.
    when = format_datetime(NOW + timedelta(hours=3), usegmt=True)
    url = http_server.route("/busy", status=status, headers={"Retry-After": when})
    result = fetch(url)
    assert result.retry_after == timedelta(hours=3)
    state = next_state(make_source(url), None, result, NOW, make_settings())
    assert state.next_fetch == NOW + timedelta(hours=3)  # longer than the 1 h backoff


def test_503_without_retry_after_uses_backoff(http_server):
    url = http_server.route("/busy", status=503)
    assert fetch(url).retry_after is None


@pytest.mark.parametrize("status,key", [(400, "http_400"), (401, "http_401"),
                                        (403, "http_403"), (418, "http_418"),
                                        (500, "http_500"), (502, "http_502"),
                                        (599, "http_599")])
def test_every_error_status_has_a_key_and_a_message(http_server, status, key):
    url = http_server.route("/x", status=status)
    result = fetch(url)
    assert (result.outcome, result.error_key, result.status) == ("error", key, status)
    assert result.message.startswith(f"kb-nyheter: HTTP {status}") and url in result.message


def test_500_backoff_grows_exponentially_and_is_capped(http_server):
    url = http_server.route("/broken", status=500)
    settings = make_settings(max_backoff_hours=6)
    source, state, delays = make_source(url, interval=timedelta(hours=1)), None, []
    for _ in range(6):
        result = fetch(source, state, settings)
        assert result.error_key == "http_500"
        state = next_state(source, state, result, NOW, settings)
        delays.append((state.next_fetch - NOW) / timedelta(hours=1))
    assert state.error_streak == 6 and state.last_error_key == "http_500"
    for hours, expected in zip(delays[:3], (1, 2, 4)):
        assert expected * 0.9 <= hours <= expected * 1.1
    assert all(5.4 <= hours <= 6 for hours in delays[3:])


def test_error_status_with_slow_or_endless_body_keeps_its_key(http_server):
    slow = http_server.route("/slow-503", handler=drip([b"x"] * 50, delay=0.05, status=503))
    assert fetch(slow, settings=make_settings(timeout=1.0)).error_key == "http_503"
    endless = http_server.route(
        "/endless-404", handler=lambda request: Reply(404, {}, itertools.repeat(b"x" * 1024)))
    assert fetch(endless).error_key == "http_404"
