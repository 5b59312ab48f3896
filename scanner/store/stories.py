"""Stories across sources, assigned as items are stored: a new item joins the story of an
earlier item that shares an LSH band and that `same_story` accepts; else it starts its own.
The comparison itself belongs to the dedup stage and is passed in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Connection, bindparam, func, select, update

from scanner.models import Item
from scanner.store.schema import items, story_bands

SameStory = Callable[[str, str], bool]
STORY_WINDOW = timedelta(days=14)  # a story's items appear within two weeks of each other
MAX_CANDIDATES = 12  # those sharing the most bands; a flood of weak candidates is not a story
HOT_BAND = 10  # a band key shared by more items than this stands for common words, not a story
CHUNK = 500


def assign_stories(conn: Connection, inserted: list[tuple[int, Item]],
                   same_story: SameStory | None) -> None:
    """Give each newly inserted item its story id and index its bands."""
    if not inserted:
        return
    candidates = _candidates(conn, inserted) if same_story else {}
    stories = {item_id: _story_of(item, candidates.get(item_id, []), same_story)
               or item_id for item_id, item in inserted}
    conn.execute(update(items).where(items.c.id == bindparam("item_id")).values(
        story_id=bindparam("story"), story_tokens=bindparam("tokens")),
        [dict(item_id=i, story=stories[i], tokens=item.story_tokens) for i, item in inserted])
    rows = [dict(band=band, item_id=i) for i, item in inserted for band in item.story_bands]
    if rows:
        conn.execute(story_bands.insert(), rows)


def _story_of(item: Item, candidates: list, same_story: SameStory | None) -> int | None:
    for candidate in candidates:
        if abs(candidate.published - item.published) <= STORY_WINDOW and \
                same_story(item.story_tokens, candidate.story_tokens or ""):
            return candidate.story_id or candidate.id
    return None


def _candidates(conn: Connection, inserted: list[tuple[int, Item]]) -> dict[int, list]:
    """New item id -> earlier items sharing one of its bands (oldest first)."""
    wanted = {band: [] for _, item in inserted for band in item.story_bands}
    bands = sorted(set(wanted) - _hot_bands(conn, sorted(wanted)))
    new_ids = {item_id for item_id, _ in inserted}
    earliest = min(item.published for _, item in inserted) - STORY_WINDOW
    latest = max(item.published for _, item in inserted) + STORY_WINDOW
    for start in range(0, len(bands), CHUNK):
        query = (select(story_bands.c.band, items.c.id, items.c.story_id, items.c.story_tokens,
                        items.c.published)
                 .join(items, items.c.id == story_bands.c.item_id)
                 .where(story_bands.c.band.in_(bands[start:start + CHUNK]),
                        items.c.published.between(earliest, latest)))
        for row in conn.execute(query):
            if row.id not in new_ids:
                wanted[row.band].append(row)
    return {item_id: _strongest(wanted[b] for b in item.story_bands)
            for item_id, item in inserted}


def _hot_bands(conn: Connection, bands: list[str]) -> set[str]:
    hot = set()
    for start in range(0, len(bands), CHUNK):
        query = (select(story_bands.c.band).where(story_bands.c.band.in_(
            bands[start:start + CHUNK])).group_by(story_bands.c.band)
            .having(func.count() > HOT_BAND))
        hot.update(conn.execute(query).scalars())
    return hot


def _strongest(groups) -> list:
    """Candidates sharing the most bands first (then the oldest), at most MAX_CANDIDATES."""
    rows: dict[int, object] = {}
    shared: dict[int, int] = {}
    for group in groups:
        for row in group:
            rows.setdefault(row.id, row)
            shared[row.id] = shared.get(row.id, 0) + 1
    best = sorted(rows, key=lambda i: (-shared[i], i))[:MAX_CANDIDATES]
    return [rows[i] for i in best]
