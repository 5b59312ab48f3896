"""OPML 2.0 in and out: source lists shared with feed readers (Feedly, Inoreader, NetNewsWire).

    text = sources_to_opml(sources, "Omvärldsbevakning – källor")
    yaml_text, warnings = opml_to_sources_yaml(opml_text, existing_ids, existing_urls)

Import reads with defusedxml (no entity expansion, no external entities: an OPML file from
anywhere is safe to read) and gives ready-to-paste `sources:` entries for the feeds that are
not in sources.yaml yet. Folders of the feed reader become tags where the folder name is a
tag id (a lowercase slug, and one of `known_tags` when given), else a note.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from urllib.parse import urlsplit

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring as safe_fromstring

from scanner.config_yaml import slugify, unique_slug, yaml_scalar
from scanner.errors import ConfigError
from scanner.models import Source

FEED_KINDS = ("feed", "auto")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_LANGUAGE = re.compile(r"^([a-z]{2,3})(?:[-_][A-Za-z0-9]+)*$")


@dataclass
class _Feed:
    """One feed outline as read, before it becomes YAML."""

    url: str
    name: str
    homepage: str | None
    language: str | None
    tags: list[str] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- export


def sources_to_opml(sources: Iterable[Source], title: str, now: datetime | None = None,
                    include_disabled: bool = False) -> str:
    """OPML 2.0 with one <outline type="rss"> per feed source (kind feed or auto; enabled
    ones unless `include_disabled`): text/title = name, xmlUrl, htmlUrl = homepage,
    language, category = the tags as "/tag" paths. `now` gives <dateCreated>."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    if now is not None:
        ET.SubElement(head, "dateCreated").text = format_datetime(now)
    ET.SubElement(head, "docs").text = "http://opml.org/spec2.opml"
    body = ET.SubElement(root, "body")
    for source in sources:
        if source.kind in FEED_KINDS and (source.enabled or include_disabled):
            ET.SubElement(body, "outline", _outline_attributes(source))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _outline_attributes(source: Source) -> dict[str, str]:
    attributes = {"type": "rss", "text": source.name, "title": source.name,
                  "xmlUrl": source.url}
    if source.homepage:
        attributes["htmlUrl"] = source.homepage
    if source.language:
        attributes["language"] = source.language
    if source.tags:
        attributes["category"] = ",".join(f"/{tag}" for tag in source.tags)
    return attributes


# --------------------------------------------------------------------------- import


def opml_to_sources_yaml(text: str | bytes, existing_ids: Collection[str],
                         existing_urls: Collection[str] = (),
                         known_tags: Collection[str] | None = None,
                         path: str = "OPML") -> tuple[str, list[str]]:
    """(YAML entries for `sources:`, warnings). Feeds whose URL is in `existing_urls` (or
    twice in the file) are left out; ids are slugs of the titles, unique against
    `existing_ids`. Raises ConfigError naming `path` when the text is not OPML."""
    root = _parse(text, path)
    warnings: list[str] = []
    feeds = _feeds(root, existing_urls, warnings)
    taken = set(existing_ids)
    blocks = []
    for feed in feeds:
        ident = unique_slug(slugify(feed.name), taken)
        taken.add(ident)
        blocks.append(_yaml_block(ident, feed, known_tags))
    return "\n".join(blocks), warnings


def _parse(text: str | bytes, path: str) -> ET.Element:
    try:
        root = safe_fromstring(text.encode("utf-8") if isinstance(text, str) else text)
    except DefusedXmlException as exc:
        raise ConfigError(path, [f"refused: the file declares XML entities ({exc}); export "
                                 "the OPML again from the feed reader"]) from None
    except ET.ParseError as exc:
        raise ConfigError(path, [f"not readable XML ({exc}); export the OPML again from the "
                                 "feed reader"]) from None
    if root.tag != "opml" or root.find("body") is None:
        raise ConfigError(path, [f"not an OPML file (its root element is <{root.tag}>, not "
                                 "<opml> with a <body>); export the subscriptions as OPML"])
    return root


def _feeds(root: ET.Element, existing_urls: Collection[str], warnings: list[str]) -> list[_Feed]:
    """Every feed outline once, in file order, with the folders it was found in."""
    known = {_url_key(url) for url in existing_urls}
    by_key: dict[str, _Feed] = {}
    for outline, folders in _walk(root.find("body"), ()):
        feed = _read_outline(outline, folders, warnings)
        if feed is None:
            continue
        key = _url_key(feed.url)
        if key in known:
            warnings.append(f"'{feed.name}' ({feed.url}) is already in sources.yaml; skipped")
        elif key in by_key:
            _merge(by_key[key], feed)
        else:
            by_key[key] = feed
    return list(by_key.values())


def _walk(element: ET.Element, folders: tuple[str, ...]):
    """(outline, folder path) for every outline that is not a folder of feeds."""
    for outline in element.findall("outline"):
        children = outline.findall("outline")
        if children and not outline.get("xmlUrl"):
            yield from _walk(outline, (*folders, _outline_name(outline)))
        else:
            yield outline, folders


def _read_outline(outline: ET.Element, folders, warnings: list[str]) -> _Feed | None:
    name = _outline_name(outline)
    url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
    if not url:
        warnings.append(f"outline '{name or '(untitled)'}' has no xmlUrl (it is not a feed); "
                        "skipped")
        return None
    if not _web_url(url):
        warnings.append(f"'{name or url}': xmlUrl {url!r} is not an http(s) address; skipped")
        return None
    if not name:
        name = urlsplit(url).hostname or url
        warnings.append(f"{url} has no title; named '{name}' — give it a better name")
    homepage = (outline.get("htmlUrl") or "").strip() or None
    language = _LANGUAGE.match((outline.get("language") or "").strip().lower())
    return _Feed(url=url, name=name, homepage=homepage if _web_url(homepage) else None,
                 language=language.group(1) if language else None,
                 tags=_categories(outline.get("category")), folders=list(folders))


def _web_url(url: str | None) -> bool:
    """An absolute http(s) URL with a host and no spaces (what sources.yaml accepts)."""
    try:
        parts = urlsplit(url or "")
        return parts.scheme in ("http", "https") and bool(parts.hostname) and not re.search(
            r"\s", url)
    except ValueError:
        return False


def _outline_name(outline: ET.Element) -> str:
    raw = outline.get("title") or outline.get("text") or ""
    return " ".join(raw.split())


def _categories(value: str | None) -> list[str]:
    """OPML category "/tillganglighet,/lasframjande" -> the last part of each path."""
    parts = [part.strip().strip("/").rsplit("/", 1)[-1] for part in (value or "").split(",")]
    return [part for part in parts if part]


def _merge(kept: _Feed, again: _Feed) -> None:
    kept.tags += [tag for tag in again.tags if tag not in kept.tags]
    kept.folders += [folder for folder in again.folders if folder not in kept.folders]


def _url_key(url: str) -> str:
    """http/https, host case, a trailing slash and a fragment do not make another feed."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.netloc.lower()}{path}{query}"


# --------------------------------------------------------------------------- YAML


def _yaml_block(ident: str, feed: _Feed, known_tags: Collection[str] | None) -> str:
    tags, notes = _tags_and_notes(feed, known_tags)
    lines = [f"  - id: {ident}", f"    name: {yaml_scalar(feed.name)}", f"    url: {yaml_scalar(feed.url)}",
             "    kind: feed"]
    if feed.homepage:
        lines.append(f"    homepage: {yaml_scalar(feed.homepage)}")
    if feed.language:
        lines.append(f"    language: {feed.language}")
    if tags:
        lines.append(f"    tags: [{', '.join(tags)}]")
    if notes:
        lines.append(f"    notes: {yaml_scalar(notes)}")
    return "\n".join(lines) + "\n"


def _tags_and_notes(feed: _Feed, known_tags: Collection[str] | None) -> tuple[list[str], str]:
    """Folder and category names that are tag ids become tags; the other folders a note."""
    tags: list[str] = []
    other: list[str] = []
    for label in [*feed.folders, *feed.tags]:
        tag = _as_tag(label, known_tags)
        if tag and tag not in tags:
            tags.append(tag)
        elif not tag and label not in other:
            other.append(label)
    notes = "imported from OPML" + (f"; feed reader folder: {', '.join(other)}" if other else "")
    return tags, notes


def _as_tag(label: str, known_tags: Collection[str] | None) -> str | None:
    if known_tags is None:
        return label if _SLUG.match(label) else None
    for candidate in (label, slugify(label)):
        if candidate in known_tags:
            return candidate
    return None


