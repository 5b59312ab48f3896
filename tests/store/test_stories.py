"""Stories across sources are assigned as items are stored (store + the dedup verdict)."""

import random
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, text

from scanner.cycle import same_story, story_index
from scanner.models import FetchResult, Item, SourceState
from scanner.preparing import with_story_signature
from scanner.store import Store, StoryIndex, migrations
from scanner.store.stories import HOT_BAND, MAX_CANDIDATES, TextJudge, _Known, moment_of

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


def test_an_entry_dated_at_the_end_of_time_is_stored_with_the_rest(store):
    """Feeds date entries 9999-12-31 (kept as given): the story window must not overflow."""
    last = datetime.max.replace(tzinfo=timezone.utc)
    first = datetime(1990, 1, 1, tzinfo=timezone.utc)
    batch = [item("kb", "a", "Biblioteksstatistiken 2025: fler besök", REPORT, last),
             item("kb", "b", "Meröppet i tolv kommuner", OTHER, first),
             item("kb", "c", "Meröppet i tolv kommuner i länet", OTHER)]
    fetch = FetchResult(source_id="kb", url="https://kb.example.se/rss", outcome="ok",
                        fetched_at=NOW)
    counts = store.store_batch(batch, fetch, SourceState("kb"), story_index=story_index())
    assert counts.new == 3 and {i.published for i in store.latest_items()} >= {last, first}


def test_a_database_from_before_m004_keeps_its_stories(database_url):
    """m003 kept one row per band in a story_bands table; m004 moves the bands into the items,
    and an item stored afterwards still joins the story of an item stored before."""
    store = Store.open(database_url)
    store_one(store, item("kb", "a", "Biblioteksstatistiken 2025: fler besök, färre lån", REPORT))
    [kb] = store.latest_items()
    bands = with_story_signature(item("kb", "a", "Biblioteksstatistiken 2025: fler besök, "
                                      "färre lån", REPORT)).story_bands
    with store.engine.begin() as conn:  # back to the shape of version 3
        conn.execute(text("ALTER TABLE items DROP COLUMN story_bands"))
        migrations.LEGACY_STORY_BANDS.create(conn)
        conn.execute(migrations.LEGACY_STORY_BANDS.insert(),
                     [dict(band=band, item_id=kb.id) for band in bands])
        conn.execute(text("DELETE FROM schema_version WHERE version = 4"))
    store.close()

    store = Store.open(database_url)
    with store.engine.connect() as conn:
        assert "story_bands" not in inspect(conn).get_table_names()
        stored = conn.execute(text("SELECT story_bands FROM items")).scalar_one()
    assert sorted(stored.split()) == sorted(bands)
    store_one(store, item("bf", "b", "Biblioteksstatistiken för 2025: besöken ökar", REPORT))
    found = stories(store)
    store.close()
    assert found["kb"] == found["bf"] == kb.id


def test_one_index_serves_a_whole_cycle_and_sees_the_batches_it_stored(store):
    index = story_index()
    fetch = FetchResult(source_id="kb", url="https://kb.example.se", outcome="ok", fetched_at=NOW)
    for source, identity, title, text_ in [
            ("kb", "a", "Biblioteksstatistiken 2025: fler besök, färre lån", REPORT),
            ("bf", "b", "Biblioteksstatistiken för 2025: besöken ökar", REPORT),
            ("rb", "c", "Meröppet i tolv kommuner", OTHER),
            ("kb", "d", "Biblioteksstatistiken 2025: fler besök", REPORT)]:
        store.store_batch([item(source, identity, title, text_)], fetch, SourceState(source),
                          story_index=index)
    by_identity = {i.url.rsplit("/", 1)[1]: i.story for i in store.latest_items()}
    assert by_identity["a"] == by_identity["b"] == by_identity["d"] != by_identity["c"]


def test_a_band_shared_by_many_items_finds_no_candidates(store):
    """Eleven items sharing a band make it a band of common words: the twelfth item, alike
    only in that band, starts its own story."""
    index = StoryIndex(TextJudge(lambda a, b: True))  # any candidate would be accepted
    fetch = FetchResult(source_id="kb", url="https://kb.example.se", outcome="ok", fetched_at=NOW)
    for n in range(HOT_BAND + 2):
        it = replace(item("kb", f"i{n}", f"Rubrik {n}", OTHER), story_bands=("b0:common",))
        store.store_batch([it], fetch, SourceState("kb"), story_index=index)
    found = sorted((i.url, i.story) for i in store.latest_items(limit=20))
    stories_seen = {story for _, story in found}
    assert len(stories_seen) == 2  # the first eleven joined one story; the last stood alone


def plain_candidates(index: StoryIndex, bands, earliest, latest) -> list[int]:
    """The reference ranking: ids sharing the most (not hot) bands, then the oldest, inside
    the window, at most MAX_CANDIDATES."""
    shared: dict[int, int] = {}
    for band in bands:
        ids = index._by_band.get(hash(band))
        ids = [ids] if type(ids) is int else ids or []
        for item_id in ids if len(ids) <= HOT_BAND else []:
            shared[item_id] = shared.get(item_id, 0) + 1
    inside = [i for i in shared
              if moment_of(earliest) <= index._known[i].moment <= moment_of(latest)]
    return sorted(inside, key=lambda i: (-shared[i], i))[:MAX_CANDIDATES]


def test_candidates_are_ranked_as_the_plain_ranking_ranks_them():
    rng = random.Random(7)
    index = StoryIndex(TextJudge(lambda a, b: False))
    bands = [f"b{n % 24}:{n:04x}" for n in range(300)]  # some shared by more than HOT_BAND
    for item_id in rng.sample(range(1, 2000), 400):
        published = NOW + timedelta(hours=rng.randrange(-400, 400))
        index._remember(_Known(item_id, item_id, moment_of(published), ""),
                        rng.sample(bands, 6))
    for _ in range(200):
        asked = rng.sample(bands, 8)
        earliest = NOW + timedelta(hours=rng.randrange(-400, 0))
        latest = earliest + timedelta(hours=rng.randrange(0, 500))
        it = replace(item("kb", "x", "Rubrik", OTHER), story_bands=tuple(asked))
        found = index._candidates(it, moment_of(earliest), moment_of(latest))
        assert [k.id for k in found] == \
            plain_candidates(index, asked, earliest, latest)


def test_moments_order_and_part_times_as_the_times_do():
    times = [datetime.min.replace(tzinfo=timezone.utc), datetime.max.replace(tzinfo=timezone.utc),
             NOW, NOW + timedelta(microseconds=1), NOW - timedelta(days=14),
             NOW - timedelta(days=14, microseconds=1),
             NOW.astimezone(timezone(timedelta(hours=2)))]
    for a in times:
        for b in times:
            assert (moment_of(a) < moment_of(b)) == (a < b)
            assert (abs(moment_of(a) - moment_of(b)) > moment_of(NOW) - moment_of(
                NOW - timedelta(days=14))) == (abs(a - b) > timedelta(days=14))
