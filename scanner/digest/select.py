"""Choose what one recipient reads this week: `build_digest` turns archived items into content.

Steps: keep relevant items (relevant is True) published in the window → group them into
stories (stories.py) → find each story's section (its best tag among the digest's sections that
the recipient follows) → rank (rank.py; ranking.py does both once per set of sections and
topics) → drop stories the recipient already got → the top `top_count` open the digest as
"Veckans viktigaste", the rest fill their sections (each story appears once, under its best
tag) → rising topics and failing sources.

Best tag: lowest priority number, then highest score, then section order. A tag belongs to a
section when it is the section tag or one of its descendants in the taxonomy.

Rising topics ("Ökande ämnen"), per section tag: this week's stories with the tag are at least
RISING_MIN_STORIES (3) and at least RISING_FACTOR (2) times the weekly average of the previous
weeks in `history_counts` (8 weeks, counted the same way; a tag missing there averaged 0). With
no history at all (a new archive) nothing is rising.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from scanner.digest.calendar import STOCKHOLM, local, week_bounds
from scanner.digest.content import (
    DigestContent,
    DigestEntry,
    FailingSource,
    RisingTopic,
    Section,
    SourceHealthLike,
)
from scanner.digest.definitions import DigestDefinition, Recipient
from scanner.digest.ranking import (
    Ranking,
    Row,
    SectionFinder,
    lineage,
    ranking,
    section_counts,
    split_by_section,
)
from scanner.digest.stories import Story, WeekStories, group_week, source_name
from scanner.digest.text import WHY_LIMIT, clean_text, cut_words, summarise
from scanner.models import ArchivedItem, ItemTag, Source, Taxonomy

RISING_FACTOR = 2.0
RISING_MIN_STORIES = 3


def build_digest(definition: DigestDefinition, items: Sequence[ArchivedItem], taxonomy: Taxonomy,
                 sources: Mapping[str, Source], stories: Mapping[int, int],
                 history_counts: Mapping[str, Sequence[int]],
                 failing_sources: Sequence[SourceHealthLike], already_sent: set[int],
                 recipient: Recipient, now: datetime, week: str,
                 grouped: WeekStories | None = None) -> DigestContent:
    """One recipient's digest for `week` (the ISO week it covers, e.g. previous_week(now)).

    `grouped`: the week's stories from group_week(items, stories, sources, digest_window(...)),
    shared by every recipient of the digest week (grouping and ranking are then done once);
    without it (or for another window) the items are grouped here."""
    start, end = digest_window(definition, week, now)
    if grouped is None or grouped.window != (start, end):
        grouped = group_week(items, stories, sources, (start, end))
    sections = section_order(definition, taxonomy)
    followed = [s for s in sections if _follows(recipient, s, taxonomy)]
    ranked = ranking(grouped, followed, taxonomy, sources, recipient.topics)
    rows, by_section = ranked.rows, ranked.by_section
    if already_sent:
        rows = [row for row in rows
                if not already_sent.intersection(grouped.stories[row[3]].item_ids)]
        by_section = split_by_section(rows)
    shown = _Shown(grouped, ranked, followed, recipient.topics, taxonomy, sources, definition)
    top = rows[: definition.top_count]
    return DigestContent(
        digest_id=definition.id, title=definition.title, language=definition.language,
        week=week, window_start=start, window_end=end, generated=now,
        recipient_email=recipient.email, top=tuple(shown.entry(row) for row in top),
        sections=_sections(by_section, top, followed, shown),
        rising=(_rising(grouped, followed, taxonomy, history_counts, definition.language)
                if definition.rising_topics else ()),
        failing_sources=(failing(failing_sources, sources)
                         if definition.source_health else ()),
    )


def digest_window(definition: DigestDefinition, week: str, now: datetime) -> tuple[datetime,
                                                                                   datetime]:
    """(start, end) in UTC: `window` back from the end of `week` (or from `now`, if earlier),
    counted in Stockholm wall-clock time, so 7d is exactly the ISO week even across DST."""
    end = min(week_bounds(week)[1], now.astimezone(timezone.utc))
    wall = local(end).replace(tzinfo=None) - definition.window
    return wall.replace(tzinfo=STOCKHOLM).astimezone(timezone.utc), end


def section_order(definition: DigestDefinition, taxonomy: Taxonomy) -> list[str]:
    """The digest's section tags (default: the top-level tags), by taxonomy priority; equal
    priorities keep the order they were listed in."""
    listed = [s for s in definition.sections if _known(taxonomy, s)] or list(taxonomy.top_level)
    return sorted(dict.fromkeys(listed), key=lambda tag: taxonomy.by_id(tag).priority)


def _follows(recipient: Recipient, section: str, taxonomy: Taxonomy) -> bool:
    """Whether the recipient reads this section: topics and min_priority allow it."""
    if recipient.min_priority is not None:
        if taxonomy.by_id(section).priority > recipient.min_priority:
            return False
    if not recipient.topics:
        return True
    return any(section in lineage(topic, taxonomy) or topic in lineage(section, taxonomy)
               for topic in recipient.topics if _known(taxonomy, topic))


def _known(taxonomy: Taxonomy, tag: str) -> bool:
    return any(t.id == tag for t in taxonomy.tags)


# --- sections and entries ---------------------------------------------------------------------


def story_sections(story: Story, sections: Sequence[str], taxonomy: Taxonomy,
                   topics: tuple[str, ...] = ()) -> list[tuple[str, ItemTag]]:
    """(section, the story's tag that puts it there) for every section the story falls under,
    best first: lowest priority number, highest score, then section order. With `topics`, only
    tags that are one of them or descend from one count."""
    return SectionFinder(sections, taxonomy, topics).place(story)


@dataclass
class _Shown:
    """Builds the entries of shown rows; an entry is built once per ranking and language and
    shared by every recipient who is shown it."""

    grouped: WeekStories
    ranked: Ranking
    sections: list[str]
    topics: tuple[str, ...]
    taxonomy: Taxonomy
    sources: Mapping[str, Source]
    definition: DigestDefinition
    finder: SectionFinder | None = None

    def entry(self, row: Row) -> DigestEntry:
        key = (row[3], self.definition.language)
        entry = self.ranked.entries.get(key)
        if entry is None:
            entry = self.ranked.entries[key] = self._build(row)
        return entry

    def _build(self, row: Row) -> DigestEntry:
        if self.finder is None:
            self.finder = SectionFinder(self.sections, self.taxonomy, self.topics)
        story = self.grouped.stories[row[3]]
        placed = self.finder.place(story)
        return _entry(story, placed, -row[0], self.taxonomy, self.sources, self.definition)


def _entry(story: Story, placed: list[tuple[str, ItemTag]], rank: float, taxonomy: Taxonomy,
           sources: Mapping[str, Source], definition: DigestDefinition) -> DigestEntry:
    section, tag = placed[0]
    lead = story.lead
    return DigestEntry(
        item_id=lead.id, story_item_ids=story.item_ids, title=clean_text(lead.title),
        url=lead.url, source_name=source_name(lead.source, sources), published=lead.published,
        summary=summarise(lead.summary), tags=tuple(label(s, taxonomy, definition.language)
                                                    for s, _ in placed),
        tag_ids=tuple(s for s, _ in placed), section=section,
        why=cut_words(clean_text(tag.why), WHY_LIMIT),
        also_reported_by=tuple(source_name(s, sources) for s in story.source_ids[1:]),
        coverage=len(story.source_ids), rank=rank,
    )


def _sections(by_section: Mapping[str, list[Row]], top: list[Row], sections: list[str],
              shown: _Shown) -> tuple[Section, ...]:
    """Each section's best `items_per_section` stories after the `top` ones (which come first
    in their section's rows; entries are built for the shown only) and how many more it has."""
    in_top: dict[str, int] = {}
    for row in top:
        in_top[row[4]] = in_top.get(row[4], 0) + 1
    definition, built = shown.definition, []
    for tag in sections:
        mine = by_section.get(tag, [])[in_top.get(tag, 0):]
        if mine:
            entries = tuple(shown.entry(row) for row in mine[: definition.items_per_section])
            built.append(Section(tag, label(tag, shown.taxonomy, definition.language),
                                 shown.taxonomy.by_id(tag).priority, entries,
                                 len(mine) - len(entries)))
    return tuple(built)


def label(tag: str, taxonomy: Taxonomy, language: str) -> str:
    """The tag's label in the digest's language (Swedish when there is no English one)."""
    found = taxonomy.by_id(tag)
    return (found.label_en if language == "en" and found.label_en else found.label_sv) or tag


# --- rising topics and failing sources --------------------------------------------------------


def _rising(grouped: WeekStories, sections: list[str], taxonomy: Taxonomy,
            history_counts: Mapping[str, Sequence[int]], language: str) -> tuple[RisingTopic, ...]:
    """rising_topics over the whole week, kept in grouped.memo per set of sections."""
    key = ("rising", id(taxonomy), tuple(sections), id(history_counts), language)
    if key not in grouped.memo:
        found = rising_topics(grouped, sections, taxonomy, history_counts, language)
        grouped.memo[key] = (taxonomy, history_counts, found)
    return grouped.memo[key][2]


def rising_topics(grouped: WeekStories, sections: list[str], taxonomy: Taxonomy,
                  history_counts: Mapping[str, Sequence[int]],
                  language: str = "sv") -> tuple[RisingTopic, ...]:
    """Tags with clearly more stories this week than before (rule in the module docstring)."""
    if not history_counts:
        return ()
    counts = section_counts(grouped, sections, taxonomy)
    found = []
    for tag, count in counts.items():
        history = list(history_counts.get(tag, ()))
        average = sum(history) / len(history) if history else 0.0
        if count >= RISING_MIN_STORIES and count >= RISING_FACTOR * average:
            found.append(RisingTopic(tag, label(tag, taxonomy, language), count, round(average, 1)))
    return tuple(sorted(found, key=lambda t: (-t.count / max(t.average, 0.5),
                                              sections.index(t.tag))))


def failing(health: Sequence[SourceHealthLike],
            sources: Mapping[str, Source]) -> tuple[FailingSource, ...]:
    """Sources with an error streak or disabled, longest streak first."""
    rows = [FailingSource(h.source_id, source_name(h.source_id, sources), h.error_streak,
                          h.last_error, h.last_success, h.disabled_reason,
                          getattr(h, "moved_to", None))
            for h in health if h.error_streak > 0 or h.disabled_reason]
    return tuple(sorted(rows, key=lambda row: (-row.error_streak, row.name.casefold())))
