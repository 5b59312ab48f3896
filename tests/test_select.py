"""Which sources a cycle picks: due ones, not those gone (410) at the url sources.yaml gives."""

from datetime import datetime, timedelta, timezone

from scanner.core import Scanner
from scanner.models import FetchResult, SourceState
from scanner.settings import Settings

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
OLD_URL = "https://www.example.se/gammal.rss"


def scanner_with(tmp_path, database_url, url: str) -> Scanner:
    (tmp_path / "sources.yaml").write_text(
        f"sources:\n  - {{id: kb, name: KB, url: '{url}'}}\n"
        f"  - {{id: mtm, name: MTM, url: 'https://www.mtm.se/rss', interval: 6h}}\n",
        encoding="utf-8")
    return Scanner(Settings(config_dir=tmp_path, database_url=database_url))


def record(scanner: Scanner, state: SourceState) -> None:
    fetch = FetchResult(source_id=state.source_id, url=state.url or "", outcome="ok",
                        fetched_at=NOW)
    scanner.store.record_fetches([(fetch, state)])


def test_gone_source_is_skipped_until_its_url_changes(tmp_path, database_url):
    scanner = scanner_with(tmp_path, database_url, OLD_URL)
    record(scanner, SourceState("kb", disabled_reason="kb: HTTP 410 Gone", url=OLD_URL))
    assert [s.id for s in scanner.select_sources(None, True, NOW)] == ["mtm"]
    scanner.close()
    moved = scanner_with(tmp_path, database_url, "https://www.example.se/ny.rss")
    assert [s.id for s in moved.select_sources(None, True, NOW)] == ["kb", "mtm"]
    moved.close()


def test_only_due_sources_unless_all_or_named(tmp_path, database_url):
    scanner = scanner_with(tmp_path, database_url, OLD_URL)
    record(scanner, SourceState("mtm", next_fetch=NOW + timedelta(hours=6)))
    assert [s.id for s in scanner.select_sources(None, False, NOW)] == ["kb"]
    assert [s.id for s in scanner.select_sources(["mtm"], False, NOW)] == ["mtm"]
    later = NOW + timedelta(hours=6, seconds=1)
    assert [s.id for s in scanner.select_sources(None, False, later)] == ["kb", "mtm"]
    scanner.close()
