"""The week's stories under one set of sections, best first, and how many fall under each section.

Both depend only on the set of sections and the topics a recipient follows, never on what the
recipient was sent before, so they are worked out once per set and kept in WeekStories.memo
for every recipient with that set (a week's 50 recipients have a handful of sets).

A story's section is its best tag among the sections: lowest priority number, then highest
score, then section order; a tag belongs to a section when it is the section tag or one of its
descendants. Ranks are rank.py's; ties go to the newer story, then the lower item id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from scanner.digest.rank import priority_term, score_term, story_terms, summed_rank
from scanner.digest.stories import Story, WeekStories, source_weight
from scanner.models import ItemTag, Source, Taxonomy

# A ranked row: (−rank, −published timestamp of the lead, lead id, story index, section).
# Sorting rows sorts stories best first; a plain tuple, so the collector does not track it.
Row = tuple[float, float, int, int, str]


@dataclass
class Ranking:
    """One set of sections' rows, best first, and each section's rows in that order.
    `entries` keeps the DigestEntry built for a row (select.py), shared by its recipients."""

    rows: list[Row]
    by_section: dict[str, list[Row]]
    entries: dict = field(default_factory=dict, repr=False)


def ranking(grouped: WeekStories, sections: Sequence[str], taxonomy: Taxonomy,
            sources: Mapping[str, Source], topics: tuple[str, ...]) -> Ranking:
    """The ranking of the week's stories under `sections` (limited to `topics`), kept in
    grouped.memo with what it was computed from."""
    key = ("ranking", id(taxonomy), id(sources), tuple(sections), topics)
    if key not in grouped.memo:
        finder = SectionFinder(sections, taxonomy, topics)
        rows = sorted(_rows(grouped, finder, _story_facts(grouped, sources)))
        grouped.memo[key] = (taxonomy, sources, Ranking(rows, split_by_section(rows)))
    return grouped.memo[key][2]


def split_by_section(rows: list[Row]) -> dict[str, list[Row]]:
    """The rows of each section, in their order."""
    split: dict[str, list[Row]] = {}
    for row in rows:
        split.setdefault(row[4], []).append(row)
    return split


def section_counts(grouped: WeekStories, sections: Sequence[str],
                   taxonomy: Taxonomy) -> dict[str, int]:
    """How many of the week's stories fall under each section (a story under all it can)."""
    finder = SectionFinder(sections, taxonomy, ())
    counts = {section: 0 for section in sections}
    for tags, stories in _tag_sets(grouped).items():
        for section in {finder.nearest[tag] for tag in tags if tag in finder.nearest}:
            counts[section] += stories
    return counts


class SectionFinder:
    """Which section each tag falls under, for one set of sections (and topics)."""

    def __init__(self, sections: Sequence[str], taxonomy: Taxonomy, topics: tuple[str, ...]):
        self.nearest: dict[str, str] = {}  # tag → the first section in its lineage
        for tag in taxonomy.tags:
            chain = lineage(tag.id, taxonomy)
            if topics and not any(t in topics for t in chain):
                continue
            section = next((s for s in chain if s in sections), None)
            if section is not None:
                self.nearest[tag.id] = section
        self.order = {s: (taxonomy.by_id(s).priority, sections.index(s)) for s in sections}

    def candidates(self, grouped: WeekStories) -> list[int]:
        """Indexes of the week's stories with a tag that has a section here, in their order."""
        by_tag = grouped.memo.get("by tag")
        if by_tag is None:
            by_tag = grouped.memo["by tag"] = {}
            for n, story in enumerate(grouped.stories):
                for tag in story.tags:
                    by_tag.setdefault(tag, []).append(n)
        if all(tag in self.nearest for tag in by_tag):
            return list(range(len(grouped.stories)))
        return sorted({n for tag in self.nearest for n in by_tag.get(tag, ())})

    def place(self, story: Story) -> list[tuple[str, ItemTag]]:
        """(section, the story's tag that puts it there) for every section the story falls
        under, best first."""
        found: dict[str, ItemTag] = {}
        for tag in story.tags.values():
            section = self.nearest.get(tag.tag)
            if section is not None and (section not in found or tag.score > found[section].score):
                found[section] = tag
        if len(found) < 2:
            return list(found.items())
        order = self.order
        return sorted(found.items(), key=lambda pair: (order[pair[0]][0], -pair[1].score,
                                                       order[pair[0]][1]))


def lineage(tag: str, taxonomy: Taxonomy) -> list[str]:
    """The tag and its ancestors, the tag first."""
    chain = [tag]
    while (parent := taxonomy.by_id(chain[-1]).parent) is not None and parent not in chain:
        chain.append(parent)
    return chain


def _rows(grouped: WeekStories, finder: SectionFinder, facts: list[tuple]) -> list[Row]:
    """A row for each story with a section here: the section of finder.place(story)[0], found
    without building the whole placement (the tags come best score first)."""
    where = {tag: (*finder.order[section], section, priority_term(finder.order[section][0]))
             for tag, section in finder.nearest.items()}
    rows = []
    for n in finder.candidates(grouped):
        tags, terms, newest_first, lead_id = facts[n]
        best = best_score = best_term = None
        for tag, score, term in tags:
            place = where.get(tag)
            if place is not None and (best is None or place[0] < best[0] or (
                    place[0] == best[0] and score == best_score and place[1] < best[1])):
                best, best_score, best_term = place, score, term
        if best is not None:
            rank = summed_rank(best[3], best_term, terms)
            rows.append((-rank, newest_first, lead_id, n, best[2]))
    return rows


def _story_facts(grouped: WeekStories, sources: Mapping[str, Source]) -> list[tuple]:
    """Per story what its rows need, once per week: its (tag, score, score term) best score
    first (ties in the story's tag order, as place() keeps them), its other rank terms, −lead
    timestamp, lead id."""
    key = ("facts", id(sources))
    if key not in grouped.memo:
        start, end = grouped.window
        facts = [(tuple(sorted(((tag.tag, tag.score, score_term(tag.score))
                                for tag in story.tags.values()), key=lambda tag: -tag[1])),
                  story_terms(source_weight(story, sources), story.newest,
                              len(story.source_ids), start, end),
                  -story.lead.published.timestamp(), story.lead.id)
                 for story in grouped.stories]
        grouped.memo[key] = (sources, facts)
    return grouped.memo[key][1]


def _tag_sets(grouped: WeekStories) -> Counter:
    """How many of the week's stories have each combination of tags."""
    if "tag sets" not in grouped.memo:
        grouped.memo["tag sets"] = Counter(tuple(story.tags) for story in grouped.stories)
    return grouped.memo["tag sets"]
