"""Stories across sources are assigned as items are stored (store + the dedup verdict)."""

from datetime import datetime, timedelta, timezone

import pytest

from scanner.cycle import same_story, with_story_signature
from scanner.models import FetchResult, Item, SourceState
from scanner.store import Store

NOW = datetime(2026, 11, 19, 10, 0, tzinfo=timezone.utc)
REPORT = ("Biblioteksstatistiken för 2025 visar att besöken på folkbiblioteken ökade med fyra "
          "procent medan de fysiska lånen minskade för femte året i rad. E-lånen ökade.")
OTHER = ("Tolv kommuner i länet inför meröppna bibliotek under våren och utbildar personalen i "
         "bemötande och säkerhet inför de obemannade timmarna.")


def item(source: str, identity: str, title: str, text: str, published=NOW) -> Item:
    url = f"https://{source}.example.se/{identity}"
    return with_story_signature(Item(
        source_id=source, identity=identity, url=url, canonical_url=url, title=title,
        summary=text, content_html="", published=published, fetched=published,
        date_missing=False, content_hash=identity, lang="sv"))


def store_one(store: Store, it: Item) -> None:
    fetch = FetchResult(source_id=it.source_id, url=it.url, outcome="ok", fetched_at=NOW)
    store.store_batch([it], fetch, SourceState(it.source_id), same_story=same_story)


@pytest.fixture
def store(database_url):
    opened = Store.open(database_url)
    yield opened
    opened.close()


def stories(store: Store) -> dict[str, int]:
    return {i.source: i.story for i in store.latest_items()}


def test_the_same_story_from_two_sources_shares_a_story_id(store):
    store_one(store, item("kb", "a", "Biblioteksstatistiken 2025: fler besök, färre lån", REPORT))
    store_one(store, item("bf", "b", "Biblioteksstatistiken för 2025: besöken ökar", REPORT))
    store_one(store, item("rb", "c", "Meröppet i tolv kommuner", OTHER))
    found = stories(store)
    assert found["kb"] == found["bf"] != found["rb"]


def test_a_story_older_than_the_window_is_not_joined(store):
    old = NOW - timedelta(days=40)
    store_one(store, item("kb", "a", "Biblioteksstatistiken 2025: fler besök", REPORT, old))
    store_one(store, item("bf", "b", "Biblioteksstatistiken 2025: fler besök", REPORT))
    found = stories(store)
    assert found["kb"] != found["bf"]
