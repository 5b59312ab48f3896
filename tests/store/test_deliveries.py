from datetime import datetime, timedelta, timezone

import pytest

from scanner.store import Store

NOW = datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(database_url):
    opened = Store.open(database_url)
    yield opened
    opened.close()


def test_a_recipient_is_claimed_once(store):
    assert store.claim_delivery("chefer", "2026-W47", "anna@example.se", NOW)
    assert not store.claim_delivery("chefer", "2026-W47", "anna@example.se", NOW)
    assert store.claim_delivery("chefer", "2026-W47", "bo@example.se", NOW)
    assert store.claim_delivery("chefer", "2026-W48", "anna@example.se", NOW)


def test_sent_is_never_claimed_again_and_its_items_are_remembered(store):
    store.claim_delivery("chefer", "2026-W47", "anna@example.se", NOW)
    store.record_delivery("chefer", "2026-W47", "anna@example.se", "sent", "250 ok", [3, 5], NOW)
    assert not store.claim_delivery("chefer", "2026-W47", "anna@example.se", NOW)
    assert store.already_sent("chefer", "anna@example.se") == {3, 5}
    assert store.already_sent("personal", "anna@example.se") == set()
    [row] = store.delivery_log("chefer", "2026-W47")
    assert (row["status"], row["attempts"], row["detail"]) == ("sent", 1, "250 ok")


def test_a_deferred_delivery_may_be_claimed_again_but_a_crashed_claim_may_not(store):
    store.claim_delivery("chefer", "2026-W47", "anna@example.se", NOW)
    store.record_delivery("chefer", "2026-W47", "anna@example.se", "deferred", "451", [], NOW)
    later = NOW + timedelta(minutes=10)
    assert store.claim_delivery("chefer", "2026-W47", "anna@example.se", later)
    assert store.claim_delivery("chefer", "2026-W47", "bo@example.se", NOW)
    # bo's send crashed before it was recorded: at most once wins over at least once
    assert not store.claim_delivery("chefer", "2026-W47", "bo@example.se", later)
    log = {row["email"]: row for row in store.delivery_log("chefer", "2026-W47")}
    assert log["anna@example.se"]["attempts"] == 2 and log["bo@example.se"]["status"] == "claimed"
