"""One story, many sources: group a week's items before they are ranked.

Two items are one story when the archive says so (the `stories` mapping, item id → story id)
or when their titles are near-identical: token-set Jaccard ≥ 0.6 over titles of at least three
words (a press release reprinted by the trade press). Grouping is transitive.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from scanner.digest.text import title_tokens
from scanner.digest.titles import similar_pairs
from scanner.models import ArchivedItem, ItemTag, Source

TITLE_SIMILARITY = 0.6  # titles.py counts it in integers: 8·shared ≥ 3·(n + m)
MIN_TITLE_WORDS = 3
SOURCE_TAG_SCORE = 0.5  # a tag listed in item.tags without details (e.g. the source's tags)


@dataclass(frozen=True)
class Story:
    """Items of one story; `lead` is the one shown (most weighty source, then the earliest)."""

    lead: ArchivedItem
    items: tuple[ArchivedItem, ...]
    source_ids: tuple[str, ...]  # distinct, the lead's source first
    tags: dict[str, ItemTag]  # best ItemTag per tag id over all items

    @cached_property
    def item_ids(self) -> tuple[int, ...]:
        return tuple(sorted(item.id for item in self.items))

    @property
    def newest(self) -> datetime:
        return max(item.published for item in self.items)


@dataclass
class WeekStories:
    """A digest week's stories, grouped once and shared by every recipient (`group_week`).

    `memo` holds what build_digest derives from the stories alone for one set of sections
    (their order and rank); it depends on nothing a recipient has been sent before.
    """

    window: tuple[datetime, datetime]
    stories: list[Story]
    memo: dict = field(default_factory=dict, repr=False, compare=False)


def group_week(items: Iterable[ArchivedItem], stories: Mapping[int, int],
               sources: Mapping[str, Source], window: tuple[datetime, datetime]) -> WeekStories:
    """The relevant items published in `window` (start ≤ published < end), grouped into stories;
    pass the result to build_digest(grouped=...) for each recipient of that digest week."""
    start, end = window
    chosen = [i for i in items if i.relevant is True and start <= i.published < end]
    return WeekStories((start, end), group_stories(chosen, stories, sources))


def group_stories(items: list[ArchivedItem], stories: Mapping[int, int],
                  sources: Mapping[str, Source]) -> list[Story]:
    """Group items into stories (see the module docstring), in the order of their first item."""
    parent = {item.id: item.id for item in items}
    for group in _same_story_id(items, stories):
        _union_all(parent, group)
    for first, second in _similar_titles(items):
        _union(parent, first, second)
    groups: dict[int, list[ArchivedItem]] = {}
    for item in items:
        groups.setdefault(_find(parent, item.id), []).append(item)
    return [make_story(group, sources) for group in groups.values()]


def make_story(items: list[ArchivedItem], sources: Mapping[str, Source]) -> Story:
    lead = min(items, key=lambda i: (-_weight(i.source, sources), i.published, i.id))
    source_ids = [lead.source, *lead.sources]
    for item in items:
        source_ids += [item.source, *item.sources]
    return Story(lead, tuple(items), tuple(dict.fromkeys(source_ids)), _best_tags(items, lead))


def item_tags(item: ArchivedItem) -> list[ItemTag]:
    """The item's tags with details; a bare id in item.tags scores SOURCE_TAG_SCORE."""
    detailed = {tag.tag for tag in item.tag_details}
    bare = [ItemTag(tag, SOURCE_TAG_SCORE, "", "source") for tag in item.tags
            if tag not in detailed]
    return [*item.tag_details, *bare]


def source_weight(story: Story, sources: Mapping[str, Source]) -> float:
    """The highest weight among the story's sources (1 for a source no longer configured)."""
    return max(_weight(source_id, sources) for source_id in story.source_ids)


def source_name(source_id: str, sources: Mapping[str, Source]) -> str:
    source = sources.get(source_id)
    return source.name if source is not None else source_id


def _weight(source_id: str, sources: Mapping[str, Source]) -> float:
    source = sources.get(source_id)
    return source.weight if source is not None else 1.0


def _best_tags(items: Iterable[ArchivedItem], lead: ArchivedItem) -> dict[str, ItemTag]:
    """Per tag the highest score; on equal scores the lead's own tag (its `why` fits the title)."""
    best: dict[str, ItemTag] = {}
    for item in sorted(items, key=lambda i: i is not lead):
        for tag in item_tags(item):
            if tag.tag not in best or tag.score > best[tag.tag].score:
                best[tag.tag] = tag
    return best


def _same_story_id(items: list[ArchivedItem], stories: Mapping[int, int]) -> list[list[int]]:
    by_story: dict[int, list[int]] = {}
    for item in items:
        if item.id in stories:
            by_story.setdefault(stories[item.id], []).append(item.id)
    return list(by_story.values())


def _similar_titles(items: list[ArchivedItem]) -> Iterable[tuple[int, int]]:
    """Pairs of item ids with near-identical titles: token-set Jaccard ≥ TITLE_SIMILARITY (0.6),
    both titles of at least MIN_TITLE_WORDS words (exact; titles.py finds them in bulk)."""
    tokens = {item.id: words for item in items
              if len((words := title_tokens(item.title))) >= MIN_TITLE_WORDS}
    return similar_pairs(tokens)


def _find(parent: dict[int, int], key: int) -> int:
    while parent[key] != key:
        parent[key] = parent[parent[key]]
        key = parent[key]
    return key


def _union(parent: dict[int, int], first: int, second: int) -> None:
    root_a, root_b = _find(parent, first), _find(parent, second)
    if root_a != root_b:
        parent[max(root_a, root_b)] = min(root_a, root_b)


def _union_all(parent: dict[int, int], ids: list[int]) -> None:
    for other in ids[1:]:
        _union(parent, ids[0], other)
