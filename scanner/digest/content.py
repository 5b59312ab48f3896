"""What one recipient's digest holds, before it is rendered: plain frozen data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


@dataclass(frozen=True)
class DigestEntry:
    """One story as shown: its representative item plus what the other sources add.

    `item_id` is the item feedback links refer to; `story_item_ids` are every archived item of
    the story (record them all as sent, so a reprint is not shown next week).
    """

    item_id: int
    story_item_ids: tuple[int, ...]
    title: str
    url: str | None
    source_name: str
    published: datetime
    summary: str  # 1–2 clean sentences, at most 300 characters
    tags: tuple[str, ...]  # labels in the digest's language, the section's tag first
    tag_ids: tuple[str, ...]
    section: str  # id of the section tag the story belongs to
    why: str  # short reason for the section tag ("" when none is known)
    also_reported_by: tuple[str, ...]  # names of the other sources that carried the story
    coverage: int  # distinct sources in the story
    rank: float  # 0–1, see rank.py


@dataclass(frozen=True)
class Section:
    """One taxonomy tag's stories, best first; `more` were left out by items_per_section."""

    tag: str
    label: str
    priority: int
    entries: tuple[DigestEntry, ...]
    more: int = 0


@dataclass(frozen=True)
class RisingTopic:
    """A tag with clearly more stories this week than on average in the 8 weeks before."""

    tag: str
    label: str
    count: int
    average: float  # stories per week over the previous weeks


@dataclass(frozen=True)
class FailingSource:
    """A source that staff should look at (the staff digest's "Källor med problem")."""

    source_id: str
    name: str
    error_streak: int
    last_error: str | None
    last_success: datetime | None
    disabled_reason: str | None = None
    moved_to: str | None = None


class SourceHealthLike(Protocol):
    """What build_digest reads of a source's health (scanner.models.SourceHealth fits)."""

    source_id: str
    error_streak: int
    last_error: str | None
    last_success: datetime | None
    disabled_reason: str | None


@dataclass(frozen=True)
class DigestContent:
    """One recipient's digest for one week: top stories, sections, rising topics, sources."""

    digest_id: str
    title: str
    language: str
    week: str  # ISO week the digest covers, "2026-W47"
    window_start: datetime  # UTC
    window_end: datetime  # UTC
    generated: datetime
    recipient_email: str
    top: tuple[DigestEntry, ...]
    sections: tuple[Section, ...]
    rising: tuple[RisingTopic, ...] = ()
    failing_sources: tuple[FailingSource, ...] = ()
    omitted: int = 0  # stories dropped so the email stays under Gmail's clipping size

    @property
    def entries(self) -> tuple[DigestEntry, ...]:
        """Every story shown, top first, then section by section."""
        return self.top + tuple(e for section in self.sections for e in section.entries)

    @property
    def entry_count(self) -> int:
        return len(self.entries)

    @property
    def area_count(self) -> int:
        """How many priority areas (section tags) the shown stories fall under."""
        return len({entry.section for entry in self.entries})

    @property
    def item_ids(self) -> frozenset[int]:
        """Every archived item behind the shown stories: what to record as sent."""
        return frozenset(i for entry in self.entries for i in entry.story_item_ids)

    @property
    def is_empty(self) -> bool:
        return not self.entries and not self.failing_sources
