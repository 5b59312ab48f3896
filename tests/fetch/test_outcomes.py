"""The one table of outcomes: every key has a one-line message naming the source and a fix."""

from datetime import timedelta
from email.utils import format_datetime

import pytest

from scanner.fetch import ERROR_KEYS, parse_retry_after
from scanner.fetch.outcomes import error_result
from tests.fetch.helpers import NOW, make_settings, make_source

SOURCE = make_source("https://www.kb.se/nyheter/feed.xml")


@pytest.mark.parametrize("key", [*ERROR_KEYS, "http_418", "http_502", "http_302"])
def test_every_message_is_one_line_naming_source_url_and_fix(key):
    status = int(key[5:]) if key.startswith("http_") else None
    result = error_result(SOURCE, SOURCE.url, key, NOW, make_settings(), status=status,
                          detail="some\ndetail")
    assert (result.outcome, result.error_key) == ("error", key)
    assert "\n" not in result.message
    assert result.message.startswith("kb-nyheter: ") and SOURCE.url in result.message
    assert " — " in result.message  # what happened — what to do


def test_keys_are_stable():
    assert set(ERROR_KEYS) >= {
        "http_404", "http_410", "http_429", "http_503", "dns", "connection_refused",
        "connect_timeout", "read_timeout", "timeout", "tls", "too_many_redirects",
        "redirect_loop", "body_too_large", "invalid_url", "robots_disallowed", "unexpected"}


def test_retry_after_seconds_and_dates():
    assert parse_retry_after("120", NOW) == timedelta(seconds=120)
    later = format_datetime(NOW + timedelta(minutes=90), usegmt=True)
    assert parse_retry_after(later, NOW) == timedelta(minutes=90)
    earlier = format_datetime(NOW - timedelta(minutes=5), usegmt=True)
    assert parse_retry_after(earlier, NOW) == timedelta(0)


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5"])
def test_retry_after_garbage_is_ignored(value):
    assert parse_retry_after(value, NOW) is None


def test_retry_after_is_capped():
    assert parse_retry_after(str(10**9), NOW) == timedelta(days=7)
