"""How stories are ordered in a digest: one score from 0 to 1, higher first.

    rank = 0.35 · priority   (tag priority 1 → 1.0, 2 → 0.6, 3 → 0.3; the story's section tag)
         + 0.25 · score      (that tag's score, 0–1, from the tagger or a human label)
         + 0.15 · source     (the highest weight among the story's sources, 0–2, halved)
         + 0.15 · freshness  (0 at the start of the window, 1 at its end)
         + 0.10 · coverage   (distinct sources carrying the story: 1 → 0, 2 → ⅓, 3 → ⅔, 4+ → 1)

Ties go to the newer story, then the lower item id, so the order is stable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

WEIGHTS = {"priority": 0.35, "score": 0.25, "source": 0.15, "freshness": 0.15, "coverage": 0.10}
PRIORITY_VALUE = {1: 1.0, 2: 0.6, 3: 0.3}
MAX_SOURCE_WEIGHT = 2.0
FULL_COVERAGE = 4  # sources at which coverage counts in full


@dataclass(frozen=True)
class RankInputs:
    """Everything the rank of one story depends on."""

    priority: int
    score: float
    source_weight: float
    published: datetime  # the newest item of the story
    coverage: int


def rank_story(inputs: RankInputs, window_start: datetime, window_end: datetime) -> float:
    """The story's rank, 0–1 (see the module docstring)."""
    terms = story_terms(inputs.source_weight, inputs.published, inputs.coverage, window_start,
                        window_end)
    return rank_in_section(inputs.priority, inputs.score, terms)


def story_terms(source_weight: float, published: datetime, coverage: int,
                window_start: datetime, window_end: datetime) -> tuple[float, float, float]:
    """The weighted source, freshness and coverage parts: what does not depend on the story's
    section tag, so they are worked out once per story."""
    return (WEIGHTS["source"] * _clamp(source_weight / MAX_SOURCE_WEIGHT),
            WEIGHTS["freshness"] * freshness(published, window_start, window_end),
            WEIGHTS["coverage"] * _clamp((coverage - 1) / (FULL_COVERAGE - 1)))


def rank_in_section(priority: int, score: float, terms: tuple[float, float, float]) -> float:
    """The rank with this section tag's priority and score added to the story's terms."""
    return summed_rank(priority_term(priority), score_term(score), terms)


def priority_term(priority: int) -> float:
    return WEIGHTS["priority"] * PRIORITY_VALUE.get(priority, 0.3)


def score_term(score: float) -> float:
    return WEIGHTS["score"] * _clamp(score)


def summed_rank(priority: float, score: float, terms: tuple[float, float, float]) -> float:
    """The weighted parts summed in the docstring's order (so every path gives the same float),
    rounded."""
    return round(sum((priority, score, *terms)), 6)


def freshness(published: datetime, window_start: datetime, window_end: datetime) -> float:
    """0 at the window's start, 1 at its end (clamped)."""
    span = (window_end - window_start).total_seconds()
    return _clamp((published - window_start).total_seconds() / span) if span > 0 else 1.0


def order_key(rank: float, published: datetime, item_id: int) -> tuple:
    """Sort key: best rank first, then newest, then lowest id."""
    return (-rank, -published.timestamp(), item_id)


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value))
