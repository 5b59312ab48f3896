"""Signed feedback and unsubscribe tokens: round trip, URL safety, tampering, wrong key."""

import pytest

from scanner.digest.tokens import (
    FeedbackClaim,
    TokenError,
    UnsubscribeClaim,
    feedback_url,
    make_token,
    make_unsubscribe_token,
    read_token,
    read_unsubscribe_token,
    unsubscribe_url,
)

SECRET = "en-lång-hemlig-nyckel"


def test_a_feedback_token_round_trips():
    token = make_token(SECRET, "bibliotekschefer", "2026-W47", "åsa.öberg@example.se", 4711,
                       "inte-relevant")
    claim = read_token(token, SECRET)
    assert claim == FeedbackClaim("bibliotekschefer", "2026-W47", "åsa.öberg@example.se", 4711,
                                  "inte-relevant")
    assert not claim.relevant
    assert read_token(make_token(SECRET, "d", "2026-W47", "a@example.se", 1, "relevant"),
                      SECRET.encode()).relevant


def test_tokens_are_url_safe_and_links_use_the_public_url():
    token = make_token(SECRET, "personal", "2026-W53", "a+b@example.se", 1, "relevant")
    assert all(c.isalnum() or c in "-_." for c in token)
    assert feedback_url("https://omvarld.example.se/", token) == \
        f"https://omvarld.example.se/feedback/{token}"
    assert unsubscribe_url("https://omvarld.example.se", "x") == \
        "https://omvarld.example.se/unsubscribe/x"


def test_changing_any_character_is_detected():
    token = make_token(SECRET, "bibliotekschefer", "2026-W47", "anna@example.se", 12, "relevant")
    for position, char in enumerate(token):
        for replacement in {"A", "B", "-", "."} - {char}:  # B vs A: same top bits in base64
            tampered = token[:position] + replacement + token[position + 1:]
            with pytest.raises(TokenError):
                read_token(tampered, SECRET)


def test_a_forged_payload_with_an_old_signature_is_refused():
    good = make_token(SECRET, "bibliotekschefer", "2026-W47", "anna@example.se", 12, "relevant")
    other = make_token(SECRET, "bibliotekschefer", "2026-W47", "anna@example.se", 13, "relevant")
    forged = other.split(".")[0] + "." + good.split(".")[1]
    with pytest.raises(TokenError, match="signature does not match"):
        read_token(forged, SECRET)


def test_another_key_or_garbage_is_refused_with_a_clear_message():
    token = make_token(SECRET, "d", "2026-W47", "a@example.se", 1, "relevant")
    with pytest.raises(TokenError, match="another SCANNER_SECRET_KEY"):
        read_token(token, "en-annan-nyckel")
    for garbage in ("", "utan-punkt", "abc.", ".abc", "å.ä", "a" * 5 + "." + "b" * 5):
        with pytest.raises(TokenError):
            read_token(garbage, SECRET)
    with pytest.raises(TokenError, match="SCANNER_SECRET_KEY is not set"):
        make_token("", "d", "2026-W47", "a@example.se", 1, "relevant")


def test_unsubscribe_tokens_and_feedback_tokens_are_not_interchangeable():
    unsubscribe = make_unsubscribe_token(SECRET, "bibliotekschefer", "anna@example.se")
    assert read_unsubscribe_token(unsubscribe, SECRET) == UnsubscribeClaim(
        "bibliotekschefer", "anna@example.se")
    with pytest.raises(TokenError, match="another kind"):
        read_token(unsubscribe, SECRET)
    feedback = make_token(SECRET, "d", "2026-W47", "a@example.se", 1, "relevant")
    with pytest.raises(TokenError, match="another kind"):
        read_unsubscribe_token(feedback, SECRET)


def test_only_the_two_verdicts_exist():
    with pytest.raises(ValueError, match="relevant, inte-relevant"):
        make_token(SECRET, "d", "2026-W47", "a@example.se", 1, "kanske")
