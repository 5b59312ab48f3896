"""The bundled labelled examples: scanner/classify/data/examples.jsonl (written by the project)
and demo_labels.jsonl (the 160 items of the demo feeds, labelled). Shape, label rules, coverage
per tag, and that no example text is taken from the shared third-party set."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from scanner.parse import parse_feed

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "scanner" / "classify" / "data"
EXAMPLES = DATA / "examples.jsonl"
DEMO_LABELS = DATA / "demo_labels.jsonl"
FEEDS = REPO / "scanner" / "demo_data" / "feeds"
SHARED = REPO.parent / "shared" / "data" / "labelled.jsonl"

TAG_IDS = {
    "demokrati", "mik", "lasframjande", "barn-unga", "skolbibliotek", "tillganglighet",
    "sprak-minoriteter", "digital-delaktighet", "inkludering", "verksamhetsutveckling",
    "kompetens-ledarskap", "styrning-finansiering", "statistik-forskning", "medier-upphovsratt",
    "trygghet", "beredskap", "hallbarhet",
}  # fmt: skip
KEYS = {"id", "source", "lang", "title", "text", "relevant", "tags"}
MIN_PER_TAG = 20
MIN_NOT_RELEVANT = 50
WINDOW = 60  # no run of this many characters may come from the shared set
MEDIA_TYPES = {".rss": "application/rss+xml", ".atom": "application/atom+xml",
               ".json": "application/feed+json"}  # fmt: skip


def read(path: Path) -> list[dict]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        assert line.strip(), f"{path.name}:{number}: blank line"
        row = json.loads(line)
        assert isinstance(row, dict), f"{path.name}:{number}: not an object"
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def examples() -> list[dict]:
    return read(EXAMPLES)


@pytest.fixture(scope="module")
def demo_labels() -> list[dict]:
    return read(DEMO_LABELS)


@pytest.mark.parametrize("path", [EXAMPLES, DEMO_LABELS], ids=lambda p: p.name)
def test_rows_have_the_shape_and_follow_the_label_rules(path):
    for row in read(path):
        where = f"{path.name} {row.get('id')!r}"
        assert set(row) == KEYS, where
        for key in ("id", "source", "title", "text"):
            assert isinstance(row[key], str) and row[key].strip(), f"{where}: {key}"
            assert row[key] == row[key].strip(), f"{where}: {key} has outer whitespace"
        assert "<" not in row["text"] or ">" not in row["text"], f"{where}: HTML left in text"
        assert row["lang"] in ("sv", "en"), where
        assert isinstance(row["relevant"], bool) and isinstance(row["tags"], list), where
        assert set(row["tags"]) <= TAG_IDS, f"{where}: unknown tag {set(row['tags']) - TAG_IDS}"
        assert len(set(row["tags"])) == len(row["tags"]), f"{where}: repeated tag"
        assert row["relevant"] == bool(row["tags"]), f"{where}: relevant iff tagged"


def test_ids_are_unique_across_both_files(examples, demo_labels):
    ids = [row["id"] for row in examples + demo_labels]
    assert [i for i, n in Counter(ids).items() if n > 1] == []
    assert all(row["id"].startswith("ex-") for row in examples)
    assert all(row["id"].startswith("demo:") for row in demo_labels)


def test_every_tag_has_enough_examples(examples):
    counts = Counter(tag for row in examples for tag in row["tags"])
    thin = {tag: counts[tag] for tag in sorted(TAG_IDS) if counts[tag] < MIN_PER_TAG}
    assert thin == {}, f"tags with fewer than {MIN_PER_TAG} examples: {thin}"


def test_enough_not_relevant_examples(examples):
    assert sum(not row["relevant"] for row in examples) >= MIN_NOT_RELEVANT


def test_examples_are_varied(examples):
    """Multi-label items, some English, many sources: not one template repeated."""
    relevant = [row for row in examples if row["relevant"]]
    multi = sum(len(row["tags"]) >= 2 for row in relevant)
    assert 0.25 <= multi / len(relevant) <= 0.5
    assert sum(row["lang"] == "en" for row in examples) >= 0.05 * len(examples)
    assert len({row["source"] for row in examples}) >= 100
    assert len({row["title"] for row in examples}) == len(examples)
    assert len({row["text"] for row in examples}) == len(examples)


def test_demo_labels_cover_every_item_of_the_demo_feeds(demo_labels):
    """id = demo:<file stem>:<guid or link>; title and text as parsed from the feed."""
    fetched_at = datetime(2026, 11, 23, tzinfo=timezone.utc)
    expected = {}
    for feed in sorted(FEEDS.iterdir()):
        headers = {"content-type": MEDIA_TYPES[feed.suffix]}
        base_url = f"https://demo.invalid/feeds/{feed.name}"
        result = parse_feed(feed.read_bytes(), headers, base_url, fetched_at)
        assert not result.failed, feed.name
        for entry in result.entries:
            expected[f"demo:{feed.stem}:{entry.guid or entry.url}"] = entry
    labelled = {row["id"]: row for row in demo_labels}
    assert len(expected) == 160
    assert set(labelled) == set(expected)
    for key, row in labelled.items():
        entry = expected[key]
        assert row["title"] == entry.title, key
        assert row["text"].startswith(entry.summary.strip()), key


@pytest.mark.skipif(not SHARED.is_file(), reason="the shared labelled set is not on this machine")
def test_no_example_text_is_copied_from_the_shared_set(examples, demo_labels):
    shared = [json.loads(line) for line in SHARED.read_text(encoding="utf-8").splitlines() if line]
    texts = {row.get("text") or "" for row in shared}
    windows = {t[i : i + WINDOW] for t in texts for i in range(len(t) - WINDOW + 1)}
    copied = []
    for row in examples + demo_labels:
        text = row["text"]
        runs = (text[i : i + WINDOW] for i in range(len(text) - WINDOW + 1))
        if text in texts or any(run in windows for run in runs):
            copied.append(row["id"])
    assert copied == []
