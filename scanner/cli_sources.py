"""`scanner sources import / export / discover`: moving sources in and out of sources.yaml.

    from scanner.cli_sources import register
    register(sources)          # the `sources` click group of scanner.cli

import  FILE.opml [--write]   ready YAML for the feeds not in sources.yaml yet; --write appends it
export  --format opml         OPML 2.0 of the feed sources, for feed readers
discover URL                  the feeds a site advertises or serves at the usual paths, as YAML
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

import click

from scanner import config, settings as settings_module
from scanner.cli_common import config_option, run_safely
from scanner.errors import ConfigError
from scanner.fetch import Fetcher
from scanner.models import FetchResult, ParseResult, Source
from scanner.opml import opml_to_sources_yaml, sources_to_opml
from scanner.parse.discover import FeedLink, discover_feeds, probe_urls, source_yaml_for
from scanner.parse.feed import parse_feed
from scanner.parse.page import load_html
from scanner.parse.text import clean_line

OPML_TITLE = "Omvärldsbevakning – källor"
NO_FEED_HINT = ("no feed found. For a site without a feed add it with `kind: html` and "
                "`selectors:` (item, title, link, date) for its news list — `scanner sources check --fetch ID` "
                "shows what they match — or `kind: page` to record changes to one page")


def register(group: click.Group) -> None:
    """Add import, export and discover to the `sources` group."""
    for command in (sources_import, sources_export, sources_discover):
        group.add_command(command)


def _settings(config_dir: Path | None) -> settings_module.Settings:
    return settings_module.load_settings(config_dir=config_dir)


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --------------------------------------------------------------------------- import


@click.command("import")
@config_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--write", is_flag=True,
              help="Append the new sources to sources.yaml (its comments are kept).")
@run_safely
def sources_import(config_dir, file, write):
    """Turn a feed reader's OPML export into sources.yaml entries (existing feeds skipped)."""
    settings = _settings(config_dir)
    path = settings.config_dir / "sources.yaml"
    loaded = config.load_sources(path)
    yaml_text, warnings = opml_to_sources_yaml(
        file.read_bytes(), [s.id for s in loaded.sources], [s.url for s in loaded.sources],
        known_tags=_known_tags(settings.config_dir), path=str(file))
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    if not yaml_text:
        click.echo(f"nothing to import: every feed in {file} is already in {path} or skipped")
        return
    count = yaml_text.count("  - id: ")
    if not write:
        click.echo(yaml_text, nl=False)
        click.echo(f"{count} new sources: paste them under `sources:` in {path}, or run again "
                   "with --write", err=True)
        return
    _write_imported(path, yaml_text, len(loaded.sources), count, file.name)


def _known_tags(config_dir: Path) -> set[str] | None:
    """The taxonomy's tag ids (folders named after one become tags); None when unreadable."""
    from scanner.classify.taxonomy import load_taxonomy  # the classify stage: only when needed
    from scanner.tagging import taxonomy_path

    try:
        return {tag.id for tag in load_taxonomy(taxonomy_path(config_dir)).tags}
    except ConfigError:
        return None


def _write_imported(path: Path, yaml_text: str, before: int, count: int, opml_name: str) -> None:
    original = path.read_text(encoding="utf-8")
    try:
        updated = appended_sources(original, yaml_text, f"Importerat från {opml_name} "
                                                        f"{_now():%Y-%m-%d}")
        after = config.parse_sources_text(updated.lstrip("\ufeff"), str(path)).sources
        if len(after) != before + count:
            raise ValueError("the new entries did not land in the `sources:` list")
    except (ValueError, ConfigError) as exc:
        click.echo(f"not written: {path} is unchanged — {exc}\nPaste the entries by hand:\n",
                   err=True)
        click.echo(yaml_text, nl=False)
        sys.exit(1)
    _replace_file(path, updated)
    click.echo(f"{path}: {count} sources added at the end of `sources:`; "
               "check them with `scanner sources check`")


def appended_sources(original: str, yaml_text: str, note: str) -> str:
    """sources.yaml with `yaml_text` (entries indented as source_yaml_for/opml give them)
    appended to its `sources:` list, comments and all kept. ValueError when `sources:` is not
    the file's last top-level key (appending would put the entries elsewhere)."""
    keys = [line.split(":", 1)[0] for line in original.lstrip("\ufeff").splitlines()
            if line[:1] not in ("", " ", "\t", "#", "-")]
    if not keys or keys[-1].strip() != "sources":
        raise ValueError("`sources:` is not the last top-level key of the file, so the new "
                         "entries cannot simply be appended")
    indent = _list_indent(original)
    block = "".join(indent + line[2:] + "\n" for line in yaml_text.splitlines() if line.strip())
    return f"{original.rstrip()}\n\n{indent}# {note}\n\n{block}"


def _list_indent(text: str) -> str:
    """How the file indents `- id:` under `sources:` (two spaces when it has no entry yet)."""
    after = ("\n" + text).split("\nsources:", 1)[-1]
    for line in after.splitlines():
        stripped = line.lstrip(" ")
        if stripped.startswith("- "):
            return line[: len(line) - len(stripped)]
    return "  "


def _replace_file(path: Path, text: str) -> None:
    """Write next to the file, then rename over it: a crash leaves the old file whole."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".sources-", suffix=".yaml")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- export


@click.command("export")
@config_option
@click.option("--format", "fmt", type=click.Choice(["opml"]), default="opml", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of printing.")
@click.option("--include-disabled", is_flag=True, help="Also the sources with enabled: false.")
@run_safely
def sources_export(config_dir, fmt, output, include_disabled):
    """Export the feed sources as OPML 2.0 for feed readers (Feedly, Inoreader, NetNewsWire)."""
    sources = config.load_sources(_settings(config_dir).config_dir / "sources.yaml").sources
    text = sources_to_opml(sources, OPML_TITLE, _now(), include_disabled)
    pages = sum(s.kind in ("html", "page") for s in sources)
    if pages:
        click.echo(f"note: {pages} sources of kind html/page have no feed and were left out",
                   err=True)
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text, encoding="utf-8")
    click.echo(f"wrote {output}", err=True)


# --------------------------------------------------------------------------- discover


@dataclass(frozen=True)
class Candidate:
    """One feed URL tried: where it came from and what it gave."""

    link: FeedLink
    fetched: FetchResult
    parsed: ParseResult | None

    @property
    def is_feed(self) -> bool:
        return self.parsed is not None and not self.parsed.failed


@click.command("discover")
@config_option
@click.argument("url")
@run_safely
def sources_discover(config_dir, url):
    """Find a site's feeds (advertised ones and the usual paths) and print sources.yaml entries."""
    settings = _settings(config_dir)
    existing = _existing_sources(settings.config_dir / "sources.yaml")
    page, candidates = asyncio.run(_discover(settings, url, _now()))
    if page.outcome != "ok":
        status = f", HTTP {page.status}" if page.status else ""
        click.echo(f"✗ {url} could not be fetched ({page.error_key or page.outcome}{status}); "
                   "check the address in a browser", err=True)
        sys.exit(1)
    feeds = _unique_feeds(candidates)
    _print_candidates(candidates, existing)
    new = [c for c in feeds if c.link.url not in existing]
    if not feeds:
        click.echo(f"{url}: {NO_FEED_HINT}", err=True)
        sys.exit(1)
    if not new:
        click.echo("every feed found is already in sources.yaml")
        return
    name = _site_name(page, feeds[0])
    click.echo("\nReady for sources.yaml (paste under `sources:`):\n")
    click.echo(source_yaml_for([_titled(c) for c in new], url, name, existing.values()), nl=False)


async def _discover(settings, url: str, now: datetime) -> tuple[FetchResult, list[Candidate]]:
    probe = Source(id="discover", name="discover", url=url)
    async with Fetcher(settings) as fetcher:
        page = await fetcher.fetch(probe, None, now)
        if page.outcome != "ok":
            return page, []
        base, body = page.final_url or url, page.body or b""
        own = parse_feed(body, page.headers, base, now)
        if not own.failed:  # the URL is itself a feed
            link = FeedLink(base, own.feed_title, _kind(own), origin="self")
            return page, [Candidate(link, page, own)]
        links = discover_feeds(body, page.headers, base)
        links += [FeedLink(u, None, "", origin="probe") for u in probe_urls(base, links)]
        tried = await asyncio.gather(*(_try(fetcher, probe, link, now) for link in links))
        return page, list(tried)


async def _try(fetcher: Fetcher, probe: Source, link: FeedLink, now: datetime) -> Candidate:
    fetched = await fetcher.fetch(replace(probe, url=link.url), None, now)
    if fetched.outcome != "ok":
        return Candidate(link, fetched, None)
    parsed = parse_feed(fetched.body or b"", fetched.headers, fetched.final_url or link.url, now)
    return Candidate(link, fetched, parsed)


def _unique_feeds(candidates: list[Candidate]) -> list[Candidate]:
    """The candidates that are feeds, one per feed (/feed/ and /?feed=rss2 are often one)."""
    kept, seen = [], set()
    for candidate in candidates:
        key = candidate.fetched.body_hash or hashlib.sha256(candidate.link.url.encode()).hexdigest()
        if candidate.is_feed and key not in seen and candidate.fetched.final_url not in seen:
            seen.update({key, candidate.fetched.final_url})
            kept.append(candidate)
    return kept


def _print_candidates(candidates: list[Candidate], existing: dict[str, str]) -> None:
    probes = sum(c.link.origin == "probe" for c in candidates)
    named = len(candidates) - probes
    click.echo(f"{named} feed links on the page, {probes} common paths tried")
    for candidate in candidates:
        if candidate.is_feed:
            click.echo(_feed_line(candidate, existing))
        elif candidate.link.origin != "probe":
            problem = (candidate.parsed.message if candidate.parsed is not None
                       else candidate.fetched.message)
            click.echo(f"  ✗ {candidate.link.url} (on the page): {problem}")


def _feed_line(candidate: Candidate, existing: dict[str, str]) -> str:
    parsed, link = candidate.parsed, candidate.link
    where = {"alternate": "advertised", "anchor": "linked from the page", "probe": "common path",
             "self": "the URL itself"}[link.origin]
    known = existing.get(link.url)
    note = f" — already in sources.yaml as '{known}'" if known else ""
    title = f" '{parsed.feed_title}'" if parsed.feed_title else ""
    return (f"  ✓ {link.url} ({where}): {parsed.format}, {len(parsed.entries)} entries"
            f"{title}{note}")


def _existing_sources(path: Path) -> dict[str, str]:
    """url -> id of the sources already in sources.yaml ({} when there is none or it is
    invalid: discovering does not need it)."""
    try:
        return {s.url: s.id for s in config.load_sources(path).sources}
    except ConfigError:
        return {}


def _site_name(page: FetchResult, first: Candidate) -> str:
    root, _ = load_html(page.body or b"", page.headers)
    title = clean_line(root.findtext(".//title") or "") if root is not None else ""
    return title or (first.parsed.feed_title if first.parsed else "") or "Ny källa"


def _titled(candidate: Candidate) -> FeedLink:
    """The link with the feed's own title when the page gave none (it names the entry)."""
    title = candidate.link.title or (candidate.parsed.feed_title if candidate.parsed else None)
    return replace(candidate.link, title=title)


def _kind(parsed: ParseResult) -> str:
    fmt = parsed.format or ""
    return "atom" if fmt.startswith("atom") else "json" if fmt.startswith("json") else "rss"
