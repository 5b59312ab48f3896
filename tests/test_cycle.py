"""The scan cycle's worker-process parsing path, through real HTTP on loopback."""

from datetime import datetime, timezone

from scanner.core import Scanner
from scanner.settings import Settings
from tests.httpserver import conditional

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)


def rss(n: int) -> bytes:
    items = "".join(
        f"<item><title>Nyhet {n}-{i}: läsfrämjande i Åsele</title>"
        f"<link>https://bibliotek{n}.example.se/nyheter/{i}</link>"
        f"<guid>bibliotek{n}-{i}</guid><pubDate>Mon, 16 Nov 2026 09:00:00 +0000</pubDate>"
        f"<description>Biblioteket startar bokcirklar för vuxna.</description></item>"
        for i in range(3))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Bibliotek {n}</title>{items}</channel></rss>").encode()


def test_a_big_cycle_parses_in_worker_processes(http_server, tmp_path, database_url):
    lines = ["sources:"]
    for n in range(20):
        url = http_server.route(f"/feed{n}.xml", handler=conditional(rss(n), etag=f'"v{n}"'))
        lines.append(f"  - {{id: bibliotek-{n}, name: Bibliotek {n}, url: '{url}'}}")
    (tmp_path / "sources.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = Settings(config_dir=tmp_path, database_url=database_url, parse_workers=2)
    scanner = Scanner(settings)
    try:
        report = scanner.scan(all_sources=True, now=NOW)
        again = scanner.scan(all_sources=True, now=NOW)
        stored = scanner.latest_items(limit=1000)
    finally:
        scanner.close()
    assert report.exit_code == 0 and sum(r.new for r in report.results) == 60
    assert {r.fetch_outcome for r in again.results} == {"not_modified"}
    assert len(stored) == 60 and all("Åsele" in i.title for i in stored)
