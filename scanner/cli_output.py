"""How the CLI shows things: Rich tables on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from scanner.models import SourceScanResult

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def console(stderr: bool = False) -> Console:
    """A terminal gets its own width; a pipe or file gets wide, unwrapped tables."""
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else 200
    return Console(stderr=stderr, highlight=False, width=width)


def local(when: datetime | None) -> str:
    return "—" if when is None else when.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")


@contextmanager
def scan_progress(total: int):
    """Yields a per-source callback: a progress bar on a terminal, log lines otherwise."""
    if not sys.stderr.isatty():
        yield lambda r: print(f"scanned {r.source_id}: {_counts(r)}", file=sys.stderr, flush=True)
        return
    columns = (TextColumn("Hämtar källor"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[last]}"))
    with Progress(*columns, console=console(stderr=True), transient=True) as progress:
        task = progress.add_task("scan", total=total, last="")
        yield lambda r: progress.update(task, advance=1, last=r.source_id)


def _counts(r: SourceScanResult) -> str:
    if r.failed:
        return f"FAILED [{r.error_key}] {r.message}"
    return f"{r.new} new, {r.updated} updated, {r.unchanged} unchanged ({r.fetch_outcome})"


SCAN_COLUMNS = ("source", "new", "updated", "unchanged", "skipped", "result")
NUMBER_COLUMNS = frozenset({"new", "updated", "unchanged", "skipped"})


def print_scan_report(report) -> None:
    out = console()
    rows = [(r.source_id, str(r.new), str(r.updated), str(r.unchanged), str(r.skipped_entries),
             f"failed: {r.error_key}" if r.failed else r.fetch_outcome) for r in report.results]
    if out.is_terminal:
        table = Table(title="Scan", show_lines=False)
        for name in SCAN_COLUMNS:
            table.add_column(name, justify="right" if name in NUMBER_COLUMNS else "left")
        for row in rows:
            table.add_row(*row)
        out.print(table)
    else:  # a pipe or a log: aligned plain lines (a Rich table of 1,000 rows takes a second)
        out.file.write("".join(line + "\n" for line in plain_table(SCAN_COLUMNS, rows)))
    _print_problems(out, report)


def plain_table(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """Header and rows as lines of columns padded to their widest cell, numbers to the right."""
    widths = [max([len(column), *(len(row[n]) for row in rows)])
              for n, column in enumerate(columns)]
    aligned = [str.rjust if column in NUMBER_COLUMNS else str.ljust for column in columns]
    return ["  ".join(align(cell, width) for align, cell, width in zip(aligned, row, widths))
            .rstrip() for row in [columns, *rows]]


def _print_problems(out: Console, report) -> None:
    for r in report.results:
        if r.failed:
            out.print(f"✗ {r.message}", markup=False, soft_wrap=True)
        for warning in r.warnings[:5]:
            out.print(f"  warning: {warning}", markup=False, soft_wrap=True)
    for note in report.notes:
        out.print(f"! {note}", markup=False, soft_wrap=True)
    for source_id, new_url in report.moved:
        out.print(f"moved: {source_id} has moved permanently to {new_url} — "
                  "update its url in sources.yaml", markup=False, soft_wrap=True)
    totals = [sum(getattr(r, k) for r in report.results) for k in ("new", "updated", "unchanged")]
    failed = sum(r.failed for r in report.results)
    out.print(f"{len(report.results)} sources: {totals[0]} new, {totals[1]} updated, "
              f"{totals[2]} unchanged, {failed} failed", markup=False)


def print_health(sources, health) -> None:
    by_id = {h.source_id: h for h in health}
    table = Table(title="Sources")
    for name in ("id", "enabled", "last success", "streak", "7d", "30d", "next fetch",
                 "last error"):
        table.add_column(name)
    for source in sources:
        h = by_id[source.id]
        enabled = "no (410 gone)" if h.disabled_reason else ("yes" if source.enabled else "no")
        table.add_row(source.id, enabled, local(h.last_success), str(h.error_streak),
                      str(h.items_7d), str(h.items_30d), local(h.next_fetch),
                      _last_error(h))
    console().print(table)


def _last_error(h) -> str:
    if h.moved_to:
        return f"moved to {h.moved_to} — update sources.yaml"
    return h.last_error_key or ""


def print_items_table(items) -> None:
    table = Table(title=f"{len(items)} items")
    for name in ("id", "published", "source", "title", "tags"):
        table.add_column(name)
    for item in items:
        sources = ", ".join(item.sources)
        table.add_row(str(item.id), local(item.published), sources, item.title,
                      ", ".join(item.tags))
    console().print(table)


def print_deliveries(results: dict[str, list]) -> int:
    """One line per recipient; returns how many were not delivered."""
    failed = 0
    for digest_id, deliveries in results.items():
        for d in deliveries:
            failed += d.outcome in ("rejected", "deferred")
            detail = f" — {d.message}" if d.message else ""
            print(f"{digest_id}: {d.email}: {d.outcome}{detail}")
    return failed


def print_check(check) -> None:
    out = console()
    if check.page_lines:
        for line in check.page_lines:
            out.print(line, markup=False)
        return
    fetch = check.fetch
    out.print(f"{check.source.id}: HTTP {fetch.status or '—'} {fetch.outcome} "
              f"from {fetch.final_url or fetch.url} in {fetch.elapsed:.2f}s", markup=False)
    if fetch.failed:
        out.print(f"✗ {fetch.message}", markup=False)
        return
    if check.parse is not None and check.parse.failed:
        out.print(f"✗ {check.source.id}: {check.parse.message}", markup=False)
        return
    _print_check_items(out, check)


def _print_check_items(out: Console, check) -> None:
    parse = check.parse
    out.print(f"format {parse.format}, feed title '{parse.feed_title}', "
              f"{len(parse.entries)} entries, {len(check.items)} would be stored, "
              f"{check.filtered_out} filtered or duplicate (nothing was stored)", markup=False)
    for warning in parse.warnings:
        out.print(f"  warning: {warning}", markup=False)
    for item in check.items:
        flag = " (no date: fetch time used)" if item.date_missing else ""
        out.print(f"- {local(item.published)}{flag}  {item.title}\n  {item.url}\n"
                  f"  {item.summary[:160]}", markup=False)
