"""Retag benchmark: `scanner retag` over an archive of N stored items (default 100,000).

    python bench/retag.py [--items 100000]

Fills a fresh SQLite archive with generated Swedish library-news items (through the store, as
a scan would), then times Scanner.retag() over all of them (with SCANNER_PARSE_WORKERS worker
processes from 20,000 items on, as `scanner retag` does). Peer in the same run: the rules
alone over the same texts (what a keyword-only tagger would cost). Target: 100,000 items in
under a minute. The main process's CPU time is printed too: it reads and writes while the
workers tag.
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from scanner.core import Scanner
from scanner.models import FetchResult, Item, SourceState
from scanner.settings import Settings

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
SENTENCES = [
    "Biblioteket startar bokcirklar för vuxna och läsfrämjande aktiviteter för barn.",
    "Kommunen beslutar om nedskärningar i kulturbudgeten och två filialer stängs.",
    "Regionen tar fram en ny regional biblioteksplan som skickas på remiss.",
    "Kungliga biblioteket publicerar biblioteksstatistiken för året.",
    "Folkbiblioteken hjälper äldre med BankID och e-tjänster i digitala caféer.",
    "Talböcker och lättläst ökar i utlåning via Legimus.",
    "Språkcaféet på biblioteket samlar nyanlända varje vecka.",
    "Meröppet införs på tre bibliotek efter en lyckad försöksperiod.",
    "Personalen utbildas i källkritik för att möta desinformation.",
    "Trafikverket bygger om vägen förbi köpcentret under våren.",
    "Bibliotekets roll i civil beredskap diskuteras på länsträffen.",
    "Skolbibliotekarier anställs på fem skolor i kommunen.",
]


def generated_items(count: int, rng: random.Random) -> list[Item]:
    items = []
    for n in range(count):
        text = " ".join(rng.choices(SENTENCES, k=8))[:1000]
        url = f"https://bibliotek.example.se/nyheter/{n}"
        items.append(Item(source_id=f"kalla-{n % 40}", identity=f"guid:{n}", url=url,
                          canonical_url=url, title=rng.choice(SENTENCES)[:80], summary=text,
                          content_html="", published=NOW - timedelta(minutes=n),
                          fetched=NOW, date_missing=False, content_hash=str(n), lang="sv"))
    return items


def fill(scanner: Scanner, items: list[Item]) -> None:
    by_source: dict[str, list[Item]] = {}
    for item in items:
        by_source.setdefault(item.source_id, []).append(item)
    for source_id, batch in by_source.items():
        fetch = FetchResult(source_id=source_id, url="https://example.se", outcome="ok",
                            fetched_at=NOW)
        scanner.store.store_batch(batch, fetch, SourceState(source_id))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(config_dir=Path(tmp), database_url=f"sqlite:///{tmp}/bench.db")
        scanner = Scanner(settings)
        items = generated_items(args.items, random.Random(7))
        fill(scanner, items)
        tagger = scanner.tagger(NOW)  # built (and the bootstrap model cached) before timing
        start, cpu = time.perf_counter(), time.process_time()
        done = scanner.retag(now=NOW)
        retag_s, main_cpu = time.perf_counter() - start, time.process_time() - cpu
        start = time.perf_counter()
        for item in items:
            tagger.rules.match(item.title, item.summary)
        rules_s = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"retag of {done} items: {retag_s:.1f} s ({done / retag_s:.0f} items/s; "
          f"target < 60 s), main process CPU {main_cpu:.1f} s, peak RSS {peak:.0f} MB")
    print(f"peer — rules alone over the same texts: {rules_s:.1f} s "
          f"({len(items) / rules_s:.0f} items/s)")


if __name__ == "__main__":
    main()
