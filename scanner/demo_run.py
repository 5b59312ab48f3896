"""`scanner demo`: the whole pipeline on bundled feeds served from 127.0.0.1, no network needed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scanner.core import ScanReport, Scanner
from scanner.demo import DEMO_NOW, serve_demo_feeds, write_demo_config
from scanner.digest.calendar import previous_week
from scanner.digesting import Preview
from scanner.models import ArchivedItem
from scanner.settings import Settings, load_settings


@dataclass(frozen=True)
class DemoOutcome:
    folder: Path
    database: Path
    report: ScanReport
    items: int
    shared: tuple[ArchivedItem, ...]
    relevant: int = 0
    irrelevant: int = 0
    previews: tuple[Preview, ...] = ()

    @property
    def untagged(self) -> int:
        return self.items - self.relevant - self.irrelevant

    def summary(self) -> str:
        totals = sum(r.new for r in self.report.results)
        failed = [r for r in self.report.results if r.failed]
        lines = [
            f"Demo: {len(self.report.results)} bundled sources served on 127.0.0.1, "
            f"{totals} items stored ({self.items} in the archive), {len(failed)} failed.",
            *(f"  failed: {r.message}" for r in failed),
            *(f"  one story, several sources: '{i.title}' — {', '.join(i.sources)}"
              for i in self.shared[:3]),
            f"Tagged: {self.relevant} relevant items with taxonomy tags, "
            f"{self.irrelevant} judged not relevant, {self.untagged} untagged.",
            *(line for p in self.previews for line in (
                f"Digest {p.digest_id} {p.week}: {p.subject}",
                *(f"  {path}" for path in p.paths))),
            f"Database: {self.database}",
            f"Config:   {self.folder / 'sources.yaml'}",
            "Look at it:",
            f"  scanner items --config {self.folder} --limit 20",
            f"  scanner items --config {self.folder} --format json",
            f"  scanner sources list --config {self.folder}",
        ]
        return "\n".join(lines)


def run_demo(folder: Path, contact_url: str | None = None) -> DemoOutcome:
    """Fresh database under folder, bundled feeds on loopback, one full scan."""
    database = folder / "var" / "scanner.db"  # where `--config folder` looks by default
    database.parent.mkdir(parents=True, exist_ok=True)
    for stale in database.parent.glob("scanner.db*"):
        stale.unlink()
    settings = _demo_settings(folder, database, contact_url)
    scanner = Scanner(settings)
    try:
        with serve_demo_feeds() as base_url:
            write_demo_config(folder, base_url)
            report = scanner.scan(all_sources=True)
        archived = scanner.latest_items(limit=100000)
        shared = tuple(i for i in archived if len(i.sources) > 1)
        previews = scanner.build_digests(week=previous_week(DEMO_NOW), now=DEMO_NOW)
        relevant = sum(i.relevant is True for i in archived)
        irrelevant = sum(i.relevant is False for i in archived)
        return DemoOutcome(folder, database, report, len(archived), shared, relevant,
                           irrelevant, tuple(previews))
    finally:
        scanner.close()


def _demo_settings(folder: Path, database: Path, contact_url: str | None) -> Settings:
    values = dict(config_dir=folder, database_url=f"sqlite:///{database.resolve()}")
    if not load_settings().secret_key:  # demo links only; set SCANNER_SECRET_KEY for real use
        values["secret_key"] = "demo-secret-not-for-real-use"
    if contact_url:
        values["contact_url"] = contact_url
    return Settings(**values)
