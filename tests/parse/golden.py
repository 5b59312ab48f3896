"""Golden-file helpers: fixture feeds in tests/data/feeds/, expected results next to them.

Regenerate every expected file with `SCANNER_REGEN_GOLDEN=1 pytest tests/parse`, then review the
diff by eye before committing: the expected files are the specification.
"""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from scanner.models import ParseResult
from scanner.parse import parse_feed

FEEDS = Path(__file__).resolve().parent.parent / "data" / "feeds"
FETCHED_AT = datetime(2025, 3, 10, 12, 0, tzinfo=timezone.utc)
REGENERATE = os.environ.get("SCANNER_REGEN_GOLDEN") == "1"

# Content-Type each fixture is served with (default: application/rss+xml without charset).
CONTENT_TYPES = {
    "atom.xml": "application/atom+xml",
    "jsonfeed10.json": "application/json",
    "jsonfeed11.json": "application/feed+json",
    "not-a-jsonfeed.json": "application/json",
    "malformed-jsonfeed.json": "application/feed+json",
    "html-page.html": "text/html; charset=utf-8",
    "latin1-labelled-utf8.xml": "application/rss+xml; charset=ISO-8859-1",
    "utf8-labelled-latin1.xml": "application/rss+xml; charset=UTF-8",
    "sitemap.xml": "application/xml",
}


def fixture_names() -> list[str]:
    return sorted(p.name for p in FEEDS.iterdir() if not p.name.endswith(".expected.json"))


def base_url(name: str) -> str:
    return f"https://bibliotek.example.se/feeds/{name}"


def parse_fixture(name: str) -> ParseResult:
    headers = {"Content-Type": CONTENT_TYPES.get(name, "application/rss+xml")}
    return parse_feed((FEEDS / name).read_bytes(), headers, base_url(name), FETCHED_AT)


def to_jsonable(result: ParseResult) -> dict:
    data = dataclasses.asdict(result)
    data["entries"] = [_entry(e) for e in data["entries"]]
    data["warnings"] = list(data["warnings"])
    return data


def _entry(entry: dict) -> dict:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in entry.items()}


def expected_path(name: str) -> Path:
    return FEEDS / f"{name}.expected.json"


def write_expected(name: str, data: dict) -> None:
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    expected_path(name).write_text(text, encoding="utf-8")


def read_expected(name: str) -> dict:
    return json.loads(expected_path(name).read_text(encoding="utf-8"))
