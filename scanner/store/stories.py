"""Stories across sources, assigned as items are stored: a new item joins the story of an
earlier item that shares an LSH band and that the judge accepts; else it starts its own.
The comparison itself belongs to the dedup stage and is passed in (a `StoryJudge`).

The band keys of every item are stored with it (items.story_bands). A `StoryIndex` holds those
of the items published around the batches of one scan cycle in memory, loaded from the archive
once per time range and kept up to date as batches are stored, so that a batch costs no
queries beyond the first. An item that starts its own story keeps story_id NULL (its story is
its own id); one that joins gets the id of the story's first item.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol

from sqlalchemy import Connection, select

from scanner.models import Item
from scanner.store.schema import items

SameStory = Callable[[str, str], bool]  # on two items' stored token texts
STORY_WINDOW = timedelta(days=14)  # a story's items appear within two weeks of each other
MAX_CANDIDATES = 12  # those sharing the most bands; a flood of weak candidates is not a story
HOT_BAND = 10  # a band key shared by more items than this stands for common words, not a story
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)
_WINDOW = STORY_WINDOW // _MICROSECOND


def moment_of(when: datetime) -> int:
    """An aware time as whole microseconds since 1970: the same order and differences, but
    compared without building timedeltas (the index compares each candidate's time twice)."""
    return (when - _EPOCH) // _MICROSECOND


class StoryJudge(Protocol):
    """The dedup stage's verdict, on token texts read into the forms the index keeps."""

    def known(self, tokens: str, sketch: Any = None) -> Any:
        """An item's stored token text, read into what the index keeps (so: compact);
        `sketch` is the item's story_sketch when it has one (the judge's own work on the
        tokens, done already), else None."""

    def new(self, known: Any) -> Any:
        """A new item's tokens (as `known` read them), ready to compare with many."""

    def same(self, new: Any, known: Any) -> bool:
        """Do the two items tell the same story?"""


@dataclass(frozen=True)
class TextJudge:
    """A judge that compares the stored token texts as they are."""

    same_story: SameStory

    def known(self, tokens: str, sketch: Any = None) -> str:
        return tokens

    def new(self, known: str) -> str:
        return known

    def same(self, new: str, known: str) -> bool:
        return self.same_story(new, known)


@dataclass(slots=True)
class _Known:
    """An archived item as the index knows it; its tokens are read when first compared."""

    id: int
    story: int
    moment: int  # published, as moment_of gives it
    text: str | None  # the stored token text, until read into `tokens`
    tokens: Any = None  # as StoryJudge.known reads them


class StoryIndex:
    """Band key -> archived items, for the published times loaded so far (one scan cycle).

    Band keys are kept as their hash() (this process only), and a key that one item has is
    kept with that item's id alone, not a list: most keys belong to one item."""

    def __init__(self, judge: StoryJudge):
        self.judge = judge
        self._known: dict[int, _Known] = {}
        self._by_band: dict[int, int | list[int]] = {}
        self._read: dict[str, Any] = {}  # token text -> judge.known, for the batch being stored
        self._covered: tuple[datetime, datetime] | None = None

    def stories_for(self, conn: Connection, batch: Sequence[Item]) -> list[int | None]:
        """The story each new item joins (None: it starts its own), in batch order."""
        if not batch:
            return []
        earliest = _shifted(min(item.published for item in batch), -STORY_WINDOW)
        latest = _shifted(max(item.published for item in batch), STORY_WINDOW)
        self._cover(conn, earliest, latest)
        self._read = {}
        low, high = moment_of(earliest), moment_of(latest)
        return [self._story_of(item, low, high) for item in batch]

    def add(self, stored: Sequence[tuple[int, Item, int | None]]) -> None:
        """Index items once they are stored: (id, item, the story it joined or None)."""
        read, known = self._read, self.judge.known
        for item_id, item, story in stored:
            tokens = read.get(item.story_tokens)
            if tokens is None and item.story_sketch is not None:  # read cheaply, now
                tokens = known(item.story_tokens, item.story_sketch)
            self._remember(_Known(item_id, story or item_id, moment_of(item.published),
                                  item.story_tokens if tokens is None else None, tokens),
                           item.story_bands)
        self._read = {}

    def _story_of(self, item: Item, low: int, high: int) -> int | None:
        tokens, judge, moment = None, self.judge, moment_of(item.published)
        for known in self._candidates(item, low, high):
            if abs(known.moment - moment) > _WINDOW:
                continue
            if tokens is None:
                read = judge.known(item.story_tokens, item.story_sketch)
                self._read[item.story_tokens] = read
                tokens = judge.new(read)
            if known.text is not None:
                known.tokens, known.text = judge.known(known.text), None
            if judge.same(tokens, known.tokens):
                return known.story
        return None

    def _candidates(self, item: Item, low: int, high: int) -> list[_Known]:
        """Items published from `low` to `high` (moment_of) sharing the most bands first
        (then the oldest), at most MAX_CANDIDATES."""
        hits: list[int] = []
        # filter(None): the bands no other item has (most) are passed over in C; ids start at 1
        for ids in filter(None, map(self._by_band.get, map(hash, item.story_bands))):
            if type(ids) is int:
                hits.append(ids)
            elif len(ids) <= HOT_BAND:
                hits += ids
        ranked = sorted(hits)
        if len(set(hits)) < len(hits):  # else (mostly) each shares one band: oldest first
            shared = Counter(hits)
            ranked = sorted(shared)
            ranked.sort(key=shared.__getitem__, reverse=True)  # stable: ties stay oldest first
        found, known = [], self._known
        for item_id in ranked:
            candidate = known[item_id]
            if low <= candidate.moment <= high:
                found.append(candidate)
                if len(found) == MAX_CANDIDATES:
                    break
        return found

    def _cover(self, conn: Connection, earliest: datetime, latest: datetime) -> None:
        """Load the archived items published in [earliest, latest] that are not loaded yet."""
        if self._covered is None:
            self._load(conn, earliest, latest)
            self._covered = (earliest, latest)
            return
        low, high = self._covered
        if earliest < low:
            self._load(conn, earliest, low, upper_open=True)
        if latest > high:
            self._load(conn, high, latest, lower_open=True)
        self._covered = (min(low, earliest), max(high, latest))

    def _load(self, conn: Connection, low: datetime, high: datetime, lower_open: bool = False,
              upper_open: bool = False) -> None:
        published = items.c.published
        query = (select(items.c.id, items.c.story_id, items.c.published, items.c.story_tokens,
                        items.c.story_bands)
                 .where(published > low if lower_open else published >= low,
                        published < high if upper_open else published <= high,
                        items.c.story_bands.is_not(None))
                 .order_by(items.c.id))
        for row in conn.execute(query):
            if row.id not in self._known:
                self._remember(_Known(row.id, row.story_id or row.id, moment_of(row.published),
                                      row.story_tokens or ""), row.story_bands.split())

    def _remember(self, known: _Known, bands) -> None:
        self._known[known.id] = known
        by_band, item_id = self._by_band, known.id
        for key in map(hash, bands):  # an item's band keys are distinct (each names its band)
            ids = by_band.setdefault(key, item_id)
            if ids is item_id:
                continue
            if type(ids) is int:
                by_band[key] = [ids, item_id]
            else:
                ids.append(item_id)


def _shifted(moment: datetime, delta: timedelta) -> datetime:
    """moment + delta, held at the first or last representable time: a feed may date an
    entry 9999-12-31, which is kept as given."""
    try:
        return moment + delta
    except OverflowError:
        return (datetime.max if delta > timedelta(0) else datetime.min).replace(
            tzinfo=moment.tzinfo)


def bands_text(item: Item) -> str | None:
    """The item's band keys as stored in items.story_bands."""
    return " ".join(item.story_bands) if item.story_bands else None
