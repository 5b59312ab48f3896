"""The offline demo's bundled feeds, its sources.yaml template and its loopback feed server."""

from __future__ import annotations

import difflib
import json
import re
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import feedparser
import pytest
from ruamel.yaml import YAML

from scanner.demo import (
    DEMO_DATA_DIR,
    DEMO_NOW,
    load_feed_files,
    serve_demo_feeds,
    write_demo_config,
)

FEEDS_DIR = DEMO_DATA_DIR / "feeds"
FEED_FILES = sorted(p for p in FEEDS_DIR.iterdir() if p.suffix in (".rss", ".atom", ".json"))
STOCKHOLM = ZoneInfo("Europe/Stockholm")
FIRST_DAY = datetime(2026, 10, 19, tzinfo=STOCKHOLM)  # Monday of 2026-W43
END = datetime(2026, 11, 23, tzinfo=STOCKHOLM)  # Monday of 2026-W48, exclusive
ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT_ENCODED = "{http://purl.org/rss/1.0/modules/content/}encoded"
EXPECTED_TYPES = {
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".json": "application/feed+json",
}
SHARED_URL = "https://www.kulturradet.se/nyheter/2026/starkta-bibliotek-75-miljoner-till-folkbiblioteken/"
MOJIBAKE = re.compile("Ã|Â|â€|\ufffd")


# --- reading the bundled feeds with the standard library only ---------------------------------

def read_items(path: Path) -> list[dict]:
    """Title, link, date (aware datetime or None) and text of every item of one feed file."""
    if path.suffix == ".json":
        return [_json_item(item) for item in json.loads(path.read_text(encoding="utf-8"))["items"]]
    root = ET.parse(path).getroot()
    if root.tag == f"{ATOM}feed":
        return [_atom_item(entry) for entry in root.iter(f"{ATOM}entry")]
    return [_rss_item(item) for item in root.iter("item")]


def _rss_item(item) -> dict:
    date = item.findtext("pubDate")
    text = (item.findtext("description") or "") + (item.findtext(CONTENT_ENCODED) or "")
    return {"title": item.findtext("title"), "link": item.findtext("link"),
            "date": parsedate_to_datetime(date) if date else None, "text": text}


def _atom_item(entry) -> dict:
    link = entry.find(f"{ATOM}link[@rel='alternate']")
    date = entry.findtext(f"{ATOM}published") or entry.findtext(f"{ATOM}updated")
    text = entry.findtext(f"{ATOM}summary") or entry.findtext(f"{ATOM}content") or ""
    return {"title": entry.findtext(f"{ATOM}title"), "link": link.get("href") if link is not None else None,
            "date": datetime.fromisoformat(date) if date else None, "text": text}


def _json_item(item: dict) -> dict:
    date = item.get("date_published")
    return {"title": item.get("title"), "link": item.get("url"),
            "date": datetime.fromisoformat(date) if date else None,
            "text": item.get("content_html") or item.get("content_text") or ""}


def all_items() -> dict[str, list[dict]]:
    return {path.name: read_items(path) for path in FEED_FILES}


def plain(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --- the data -------------------------------------------------------------------------------

def test_at_least_eight_sources_of_twenty_items():
    items = all_items()
    assert len(items) >= 8
    for name, entries in items.items():
        assert len(entries) >= 20, name
    assert sum(len(entries) for entries in items.values()) >= 160


@pytest.mark.parametrize("path", FEED_FILES, ids=lambda p: p.name)
def test_every_feed_is_well_formed_and_feedparser_reads_it_whole(path):
    if path.suffix == ".json":
        feed = json.loads(path.read_text(encoding="utf-8"))
        assert feed["version"] == "https://jsonfeed.org/version/1.1"
        assert all(item.get("id") and item.get("title") for item in feed["items"])
        return
    ET.parse(path)  # raises on malformed XML, bad escaping or a wrong encoding declaration
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert len(parsed.entries) == len(read_items(path))


def test_every_item_has_title_and_text_and_most_have_link_and_date():
    entries = [item for items in all_items().values() for item in items]
    assert all(item["title"] and len(plain(item["text"])) > 40 for item in entries)
    assert 1 <= sum(item["link"] is None for item in entries) <= 3
    assert 1 <= sum(item["date"] is None for item in entries) <= 3


def test_dates_span_five_weeks_and_last_week_has_at_least_forty_items():
    dated = [item["date"] for items in all_items().values() for item in items if item["date"]]
    assert all(FIRST_DAY <= date < END for date in dated)
    weeks = {date.astimezone(STOCKHOLM).isocalendar()[:2] for date in dated}
    assert weeks == {(2026, week) for week in range(43, 48)}
    last_week = [d for d in dated if d.astimezone(STOCKHOLM).isocalendar()[:2] == (2026, 47)]
    assert len(last_week) >= 40
    assert DEMO_NOW.astimezone(STOCKHOLM).isocalendar()[:2] == (2026, 48)


def test_links_are_https_on_the_sources_own_domains():
    for name, items in all_items().items():
        hosts = {urlsplit(item["link"]).netloc for item in items if item["link"]}
        assert all(item["link"].startswith("https://") for item in items if item["link"]), name
        assert len(hosts) <= 2, (name, hosts)  # own domain, plus one linked-out story


def test_shared_story_has_one_canonical_url_in_two_sources():
    by_canonical: dict[tuple, set[str]] = {}
    raw_links = []
    for name, items in all_items().items():
        for item in items:
            if item["link"]:
                parts = urlsplit(item["link"])
                by_canonical.setdefault((parts.scheme, parts.netloc, parts.path), set()).add(name)
                raw_links.append(item["link"])
    shared = {key for key, names in by_canonical.items() if len(names) > 1}
    assert shared == {tuple(urlsplit(SHARED_URL)[:3])}
    carried = [link for link in raw_links if link.split("?")[0] == SHARED_URL]
    assert len(carried) == 2
    queries = [parse_qs(urlsplit(link).query) for link in carried]
    assert {"utm_source": ["rss"], "utm_medium": ["feed"]} in queries
    assert {} in queries


def test_near_duplicate_story_differs_in_url_but_not_much_in_words():
    kb = next(i for i in read_items(FEEDS_DIR / "kb.rss") if "Biblioteksstatistiken 2025" in i["title"])
    sbf = next(i for i in read_items(FEEDS_DIR / "biblioteksforeningen.atom")
               if "Biblioteksstatistiken för 2025" in i["title"])
    assert kb["link"] != sbf["link"]
    kb_text, sbf_text = plain(kb["text"]), plain(sbf["text"])
    assert kb_text != sbf_text
    assert difflib.SequenceMatcher(None, kb_text, sbf_text).ratio() > 0.7
    assert abs(kb["date"] - sbf["date"]).total_seconds() < 24 * 3600


def test_swedish_text_survives_every_encoding():
    for name, items in all_items().items():
        text = " ".join(item["title"] + " " + item["text"] for item in items)
        assert not MOJIBAKE.search(text), name
        assert {"å", "ä", "ö"} <= set(text), name
    orebro = (FEEDS_DIR / "region-orebro-lan.rss").read_bytes()
    assert orebro.startswith(b'<?xml version="1.0" encoding="windows-1252"?>')
    assert b"\x93" in orebro and "“Bergslagens järn”".encode("cp1252") in orebro
    titles = [item["title"] for item in read_items(FEEDS_DIR / "region-orebro-lan.rss")]
    assert "“Bergslagens järn” – ny utställning på länsmuseet" in titles


def test_sources_template_names_every_feed_once():
    template = YAML(typ="safe").load((DEMO_DATA_DIR / "sources.yaml").read_text(encoding="utf-8"))
    assert template["defaults"]["kind"] == "feed"
    sources = template["sources"]
    assert len({s["id"] for s in sources}) == len(sources) >= 8
    files = sorted(s["url"].removeprefix("{base_url}/feeds/") for s in sources)
    assert files == sorted(p.name for p in FEED_FILES)
    for source in sources:
        assert 0 <= source.get("weight", template["defaults"]["weight"]) <= 2
        assert source["homepage"].startswith("https://")


# --- the loopback server --------------------------------------------------------------------

def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="module")
def base_url():
    with serve_demo_feeds() as url:
        yield url


def test_server_listens_on_loopback(base_url):
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)


@pytest.mark.parametrize("path", FEED_FILES, ids=lambda p: p.name)
def test_server_serves_each_feed_with_its_type_and_validators(base_url, path):
    status, headers, body = fetch(f"{base_url}/feeds/{path.name}")
    assert status == 200
    assert body == path.read_bytes()
    media_type, _, params = headers["Content-Type"].partition(";")
    assert media_type == EXPECTED_TYPES[path.suffix]
    expected_charset = "windows-1252" if path.name == "region-orebro-lan.rss" else "utf-8"
    assert params.strip() == f"charset={expected_charset}"
    assert headers["ETag"].startswith('"') and headers["Last-Modified"].endswith("GMT")


def test_server_answers_304_to_matching_validators(base_url):
    url = f"{base_url}/feeds/kb.rss"
    _, headers, _ = fetch(url)
    status, again, body = fetch(url, {"If-None-Match": headers["ETag"]})
    assert (status, body) == (304, b"")
    assert again["ETag"] == headers["ETag"]
    assert fetch(url, {"If-None-Match": 'W/"other", ' + headers["ETag"]})[0] == 304
    assert fetch(url, {"If-Modified-Since": headers["Last-Modified"]})[0] == 304
    assert fetch(url, {"If-None-Match": '"stale"'})[0] == 200
    assert fetch(url, {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})[0] == 200


def test_server_allows_robots_and_refuses_other_paths(base_url):
    status, headers, body = fetch(f"{base_url}/robots.txt")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    assert b"User-agent: *" in body and b"Allow: /" in body and b"Disallow: /" not in body
    assert fetch(f"{base_url}/feeds/nope.rss")[0] == 404
    assert fetch(f"{base_url}/feeds/../demo.py")[0] == 404
    assert fetch(f"{base_url}/feeds/%2e%2e/sources.yaml")[0] == 404


def test_server_is_silent(capfd):
    with serve_demo_feeds() as url:
        fetch(f"{url}/feeds/mtm.rss")
        fetch(f"{url}/missing")
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_server_stops_when_the_block_ends():
    with serve_demo_feeds() as url:
        assert fetch(f"{url}/robots.txt")[0] == 200
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{url}/robots.txt", timeout=2)


def test_server_can_serve_another_folder(tmp_path):
    (tmp_path / "one.atom").write_text('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"/>')
    (tmp_path / "notes.txt").write_text("not a feed")
    assert list(load_feed_files(tmp_path)) == ["one.atom"]
    with serve_demo_feeds(tmp_path) as url:
        status, headers, _ = fetch(f"{url}/feeds/one.atom")
        assert (status, headers["Content-Type"]) == (200, "application/atom+xml; charset=utf-8")
        assert fetch(f"{url}/feeds/notes.txt")[0] == 404


def test_write_demo_config_points_every_source_at_the_server(base_url, tmp_path):
    target = tmp_path / "var" / "demo"
    written = write_demo_config(target, base_url)
    assert written == target / "sources.yaml"
    text = written.read_text(encoding="utf-8")
    assert "{base_url}" not in text
    port = urlsplit(base_url).port
    sources = YAML(typ="safe").load(text)["sources"]
    for source in sources:
        assert urlsplit(source["url"]).port == port
        assert fetch(source["url"])[0] == 200
    assert write_demo_config(target, base_url + "/") == written  # idempotent, trailing slash ok
    assert "//feeds" not in written.read_text(encoding="utf-8")
