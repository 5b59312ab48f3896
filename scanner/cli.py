"""The command tree. The only module that prints or exits."""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

from scanner import config, settings as settings_module
from scanner.cli_common import config_option, run_safely
from scanner.cli_sources import register as register_source_commands
from scanner.cli_output import (
    STOCKHOLM, print_check, print_deliveries, print_health, print_items_table,
    print_scan_report, scan_progress,
)
from scanner.core import Scanner, utc_now
from scanner.errors import ScannerError


def _scanner(config_dir: Path | None) -> Scanner:
    return Scanner(settings_module.load_settings(config_dir=config_dir))


@click.group()
@click.option("--verbose", "-v", is_flag=True, help="Debug logging and full tracebacks.")
@click.version_option(package_name="scanner")
def main(verbose: bool) -> None:
    """scanner — omvärldsbevakning for Swedish regional library development."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@main.command()
@config_option
@click.option("--source", "source_ids", multiple=True, metavar="ID",
              help="Scan this source (repeatable), due or not.")
@click.option("--all", "all_sources", is_flag=True, help="Scan every enabled source, due or not.")
@run_safely
def scan(config_dir, source_ids, all_sources):
    """One cycle over the due (or named) sources. Exit 0 all ok, 1 some failed, 3 all failed."""
    scanner = _scanner(config_dir)
    chosen = scanner.select_sources(list(source_ids), all_sources, utc_now())
    if not chosen:
        click.echo("nothing to scan: no enabled source is due (use --all or --source ID)")
        return
    with scan_progress(len(chosen)) as on_result:
        report = scanner.scan(on_result=on_result, chosen=chosen)
    print_scan_report(report)
    sys.exit(report.exit_code)


@main.group()
def sources():
    """Check, list and describe the sources in sources.yaml."""


register_source_commands(sources)


@sources.command("check")
@config_option
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--fetch", "fetch_id", metavar="ID",
              help="Test-fetch this source and show what would be stored (stores nothing).")
@run_safely
def sources_check(config_dir, file, fetch_id):
    """Validate sources.yaml (every problem at once) and optionally test-fetch one source."""
    settings = settings_module.load_settings(config_dir=config_dir)
    path = file or settings.config_dir / "sources.yaml"
    loaded = config.load_sources(path)
    enabled = sum(s.enabled for s in loaded.sources)
    click.echo(f"{path}: ok — {len(loaded.sources)} sources ({enabled} enabled)")
    if fetch_id:
        check = Scanner(settings, sources_path=path).check_source(fetch_id)
        print_check(check)
        sys.exit(1 if check.fetch.failed or (check.parse and check.parse.failed) else 0)


@sources.command("list")
@config_option
@run_safely
def sources_list(config_dir):
    """Health per source: last success, last error, error streak, items 7/30 days, next fetch."""
    scanner = _scanner(config_dir)
    print_health(scanner.sources(), scanner.source_health())


@sources.command("schema")
def sources_schema():
    """Print the JSON Schema of sources.yaml, for editor autocompletion."""
    click.echo(json.dumps(config.sources_json_schema(), indent=2, ensure_ascii=False))


@main.command()
@config_option
@click.option("--source", "source_id", metavar="ID", help="Only items carried by this source.")
@click.option("--since", metavar="WHEN", help="A date (2026-11-16) or an age (7d, 12h).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100000))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@run_safely
def items(config_dir, source_id, since, limit, fmt):
    """The latest items in the archive."""
    scanner = _scanner(config_dir)
    found = scanner.latest_items(source_id, parse_since(since, utc_now()), limit)
    if fmt == "json":
        click.echo(json.dumps([item_json(i) for i in found], ensure_ascii=False, indent=2))
    else:
        print_items_table(found)


@main.group()
def taxonomy():
    """Check and describe taxonomy.yaml."""


@taxonomy.command("check")
@config_option
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@run_safely
def taxonomy_check(config_dir, file):
    """Validate taxonomy.yaml (or FILE): every problem at once, with line and hint."""
    from scanner.classify import load_taxonomy
    from scanner.tagging import taxonomy_path
    path = file or taxonomy_path(settings_module.load_settings(config_dir=config_dir).config_dir)
    loaded = load_taxonomy(path)
    roots = len(loaded.top_level)
    click.echo(f"{path}: ok — {len(loaded.tags)} tags ({roots} top-level), "
               f"{sum(len(t.keywords) for t in loaded.tags)} keywords")


@taxonomy.command("schema")
def taxonomy_schema():
    """Print the JSON Schema of taxonomy.yaml, for editor autocompletion."""
    from scanner.classify.taxonomy import taxonomy_json_schema
    click.echo(json.dumps(taxonomy_json_schema(), indent=2, ensure_ascii=False))


@main.group()
def digest():
    """Build, preview and send the weekly digests (digests/*.yaml)."""


week_option = click.option("--week", metavar="YYYY-Www",
                           help="ISO week, e.g. 2026-W48 (default: the week that just ended).")


@digest.command("check")
@config_option
@run_safely
def digest_check(config_dir):
    """Validate digests/*.yaml against the taxonomy: every problem at once."""
    for definition in _scanner(config_dir).digest_definitions():
        click.echo(f"{definition.path}: ok — {definition.id}, {len(definition.recipients)} "
                   f"recipients, schedule '{definition.schedule}'")


@digest.command("build")
@config_option
@click.argument("digest_id", required=False, metavar="[DIGEST]")
@week_option
@run_safely
def digest_build(config_dir, digest_id, week):
    """Build and store the digest(s) for a week, with preview files."""
    for preview in _scanner(config_dir).build_digests(digest_id, week):
        click.echo(f"{preview.digest_id} {preview.week}: {preview.subject} "
                   f"({preview.stories} stories)")


@digest.command("preview")
@config_option
@click.argument("digest_id", required=False, metavar="[DIGEST]")
@week_option
@run_safely
def digest_preview(config_dir, digest_id, week):
    """Write .html, .txt and .eml under var/digests/<digest>/<week>/ and print the paths."""
    for preview in _scanner(config_dir).build_digests(digest_id, week):
        click.echo(f"{preview.digest_id} {preview.week}: {preview.subject}")
        for path in preview.paths:
            click.echo(f"  {path}")


@digest.command("send")
@config_option
@click.argument("digest_id", required=False, metavar="[DIGEST]")
@week_option
@click.option("--dry-run", is_flag=True, help="Render every recipient's message; send nothing.")
@run_safely
def digest_send(config_dir, digest_id, week, dry_run):
    """Send one message per recipient (each gets a week's digest at most once)."""
    results = _scanner(config_dir).send_digests(digest_id, week, dry_run)
    failed = print_deliveries(results)
    sys.exit(1 if failed else 0)


@main.command()
@config_option
@click.argument("item_id", type=int, metavar="ITEM")
@click.option("--tag", metavar="TAG", help="Give the item this taxonomy tag.")
@click.option("--remove", is_flag=True, help="With --tag: take the tag away instead.")
@click.option("--relevant", "verdict", flag_value="relevant", help="Mark the item relevant.")
@click.option("--irrelevant", "verdict", flag_value="irrelevant",
              help="Mark the item not relevant (it never appears in a digest).")
@click.option("--by", "who", default=lambda: os.environ.get("USER", "cli"), show_default="$USER",
              help="Who labels (kept with the label).")
@run_safely
def label(config_dir, item_id, tag, remove, verdict, who):
    """Label an item by hand; labels win over automatic tags and train the model."""
    if bool(tag) == bool(verdict) or (remove and not tag):
        raise click.UsageError("give either --tag TAG [--remove], or --relevant / --irrelevant")
    action = verdict or ("remove" if remove else "add")
    _scanner(config_dir).label(item_id, action, tag, who)
    click.echo(f"item {item_id}: {action}{' ' + tag if tag else ''} (by {who})")


@main.command()
@config_option
@run_safely
def train(config_dir):
    """Train the tag model on the bundled examples, the shared set and people's labels."""
    outcome = _scanner(config_dir).train()
    click.echo(f"model {outcome.version}: {outcome.labels} labels "
               f"({', '.join(f'{k} {v}' for k, v in outcome.label_sources.items())}), "
               f"trained in {outcome.seconds:.1f} s")
    for name, value in outcome.scores.items():
        if isinstance(value, (int, float)):
            click.echo(f"  {name}: {value:.3f}")
    click.echo("stored; the next scan and `scanner retag` use it")


@main.command()
@config_option
@click.option("--since", metavar="WHEN", help="Only items published since a date or an age.")
@run_safely
def retag(config_dir, since):
    """Re-tag the archive after the taxonomy or the model changed (labels are kept)."""
    done = _scanner(config_dir).retag(parse_since(since, utc_now()))
    click.echo(f"re-tagged {done} items")


@main.command()
@config_option
@click.argument("file", required=False, default="-", metavar="[FILE|-]")
@run_safely
def classify(config_dir, file):
    """Tag JSON Lines {"id", "title", "text"} and write {"id", "relevant", "tags"} per line."""
    from scanner.training import read_jsonl
    stream = sys.stdin if file == "-" else _open_text(file)
    rows = list(read_jsonl(stream, "stdin" if file == "-" else file))
    for row in _scanner(config_dir).classify(rows):
        click.echo(json.dumps(row, ensure_ascii=False))


@main.command()
@config_option
@click.option("--labels", "labels_file", required=True, type=click.Path(path_type=Path),
              help='JSON Lines with "id", "title", "text", "source", "tags" (and "relevant").')
@run_safely
def evaluate(config_dir, labels_file):
    """Per-tag precision, recall, F1 and support; micro and macro averages."""
    how, result = _scanner(config_dir).evaluate(labels_file)
    click.echo(f"{labels_file}: {how}")
    if hasattr(result, "summary"):
        click.echo(result.summary())
        click.echo(result.combined.table("combination (rules + model)"))
    else:
        click.echo(result.table("current tagger"))


def _open_text(file: str):
    try:
        return open(file, encoding="utf-8")
    except OSError as exc:
        raise ScannerError(f"{file}: cannot read it ({exc.strerror}); check the path") from None


@main.command()
@config_option
@run_safely
def demo(config_dir):
    """Offline demo: serve bundled feeds on 127.0.0.1 and run the whole pipeline on them."""
    from scanner.demo_run import run_demo
    base = settings_module.load_settings(config_dir=config_dir).config_dir
    outcome = run_demo(Path(base) / "var" / "demo")
    click.echo(outcome.summary())
    sys.exit(outcome.report.exit_code)


@main.command("settings")
@config_option
@run_safely
def show_settings(config_dir):
    """Print every SCANNER_* setting with its current value (secrets masked)."""
    current = settings_module.load_settings(config_dir=config_dir)
    for row in settings_module.settings_table(current):
        click.echo(f"{row.name}={row.value}")
        click.echo(f"    {row.help} (default: {row.default or '—'})")


def parse_since(text: str | None, now: datetime) -> datetime | None:
    if not text:
        return None
    try:
        return now - config.parse_duration(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"'{text}' is neither a date (2026-11-16) nor an age (7d, 12h)",
                                 param_hint="--since") from None
    return when if when.tzinfo else when.replace(tzinfo=STOCKHOLM)


def item_json(item) -> dict:
    return {
        "id": item.id, "source": item.source, "sources": list(item.sources), "url": item.url,
        "title": item.title, "summary": item.summary, "published": iso(item.published),
        "fetched": iso(item.fetched), "lang": item.lang, "tags": list(item.tags),
        "date_missing": item.date_missing, "revision": item.revision,
        "relevant": item.relevant, "story": item.story,
        "tag_details": [{"id": t.tag, "score": t.score, "why": t.why, "origin": t.origin}
                        for t in item.tag_details],
    }


def iso(when: datetime) -> str:
    return when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")
