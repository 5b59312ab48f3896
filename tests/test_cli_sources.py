"""`scanner sources import / export / discover` through click's CliRunner; sites on loopback."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from scanner import config
from scanner.cli_sources import appended_sources, register
from tests.test_core import clean_environment  # noqa: F401 - fixture

pytestmark = pytest.mark.usefixtures("clean_environment")

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
OPML = DATA / "pages" / "feedly.opml"
HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
ATOM = {"Content-Type": "application/atom+xml; charset=utf-8"}


@click.group()
def sources():
    """The `sources` group as scanner.cli will have it."""


register(sources)


def invoke(*args: str):
    env = {"SCANNER_TIMEOUT": "3", "SCANNER_CONNECT_TIMEOUT": "1", "SCANNER_CONFIG_DIR": None}
    return CliRunner().invoke(sources, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def shipped(tmp_path) -> Path:
    """A config folder holding a copy of the shipped sources.yaml (comments and all)."""
    shutil.copy(ROOT / "sources.yaml", tmp_path / "sources.yaml")
    return tmp_path


# --------------------------------------------------------------------------- import


def test_import_prints_yaml_for_new_feeds_and_skips_known_ones(shipped):
    before = (shipped / "sources.yaml").read_text("utf-8")
    result = invoke("import", "--config", str(shipped), str(OPML))
    assert result.exit_code == 0, result.output
    new = config.parse_sources_text("sources:\n" + result.stdout).sources
    assert "mtm-nyheter" in [s.id for s in new]
    assert "http://librisbloggen.kb.se/feed" not in [s.url for s in new]  # kb-librisbloggen
    assert "'Librisbloggen' (http://librisbloggen.kb.se/feed) is already in sources.yaml" in (
        result.stderr)
    assert "feed://example.org/rss" in result.stderr  # not http(s): skipped with a warning
    by_id = {s.id: s for s in new}
    assert by_id["mtm-nyheter"].tags == ("tillganglighet",)  # a taxonomy id as folder name
    assert (shipped / "sources.yaml").read_text("utf-8") == before


def test_import_write_appends_keeps_comments_and_skips_duplicates_next_time(shipped):
    path = shipped / "sources.yaml"
    before = path.read_text("utf-8")
    count = len(config.load_sources(path).sources)
    printed = invoke("import", "--config", str(shipped), str(OPML)).stdout
    new_ids = [s.id for s in config.parse_sources_text("sources:\n" + printed).sources]
    result = invoke("import", "--config", str(shipped), str(OPML), "--write")
    assert result.exit_code == 0, result.output
    after = path.read_text("utf-8")
    assert after.startswith(before.rstrip()) and "# Källor för omvärldsbevakningen" in after
    assert "  # Importerat från feedly.opml" in after
    loaded = config.load_sources(path).sources
    assert len(new_ids) == 6 and [s.id for s in loaded][count:] == new_ids
    assert loaded[-1].id == "nyheter-example-org"
    assert "6 sources added" in result.stdout

    again = invoke("import", "--config", str(shipped), str(OPML), "--write")
    assert again.exit_code == 0 and "nothing to import" in again.stdout
    assert "'MTM – Nyheter' (https://www.mtm.se/rss/nyheter) is already in" in again.stderr
    assert path.read_text("utf-8") == after


def test_import_write_leaves_the_file_untouched_when_it_cannot_append(tmp_path):
    path = tmp_path / "sources.yaml"
    original = ("sources:\n  - id: kb\n    name: KB\n    url: https://www.kb.se/feed/\n"
                "defaults:\n  interval: 6h\n")
    path.write_text(original, encoding="utf-8")
    result = invoke("import", "--config", str(tmp_path), str(OPML), "--write")
    assert result.exit_code == 1
    assert "not written" in result.stderr and "is not the last top-level key" in result.stderr
    assert "- id: mtm-nyheter" in result.stdout  # to paste by hand
    assert path.read_text("utf-8") == original


def test_appended_entries_follow_the_files_own_list_indent():
    original = "# top\nsources:\n- id: kb\n  name: KB\n  url: https://www.kb.se/feed/\n"
    entry = "  - id: ny\n    name: Ny\n    url: https://ny.se/feed/\n    kind: feed\n"
    updated = appended_sources(original, entry, "Importerat")
    assert [s.id for s in config.parse_sources_text(updated).sources] == ["kb", "ny"]
    assert updated.startswith(original) and "\n- id: ny\n  name: Ny\n" in updated


def test_import_of_a_file_that_is_not_opml_is_a_clear_error(shipped):
    result = invoke("import", "--config", str(shipped), str(ROOT / "sources.yaml"))
    assert result.exit_code == 2 and "export the OPML again" in result.stderr


# --------------------------------------------------------------------------- export


def test_export_is_opml_of_the_feed_sources(shipped):
    result = invoke("export", "--config", str(shipped), "--format", "opml")
    assert result.exit_code == 0, result.output
    root = ET.fromstring(result.stdout.encode("utf-8"))
    assert root.tag == "opml" and root.get("version") == "2.0"
    urls = [o.get("xmlUrl") for o in root.iter("outline")]
    loaded = config.load_sources(shipped / "sources.yaml").sources
    assert urls == [s.url for s in loaded if s.enabled and s.kind in ("feed", "auto")]
    assert "https://librisbloggen.kb.se/feed/" in urls


def test_export_to_a_file_with_disabled_sources(shipped, tmp_path):
    out = tmp_path / "kallor.opml"
    result = invoke("export", "--config", str(shipped), "--output", str(out),
                    "--include-disabled")
    assert result.exit_code == 0 and result.stdout == ""
    outlines = list(ET.parse(out).getroot().iter("outline"))
    feeds = [s for s in config.load_sources(shipped / "sources.yaml").sources
             if s.kind in ("feed", "auto")]  # page sources have no feed to export
    assert len(outlines) == len(feeds)


# --------------------------------------------------------------------------- discover


def library_site(server) -> str:
    server.route("/", body=(DATA / "pages" / "hemsida-med-flode.html").read_bytes(), headers=HTML)
    server.route("/nyheter/feed/", body=(DATA / "feeds" / "rss20.xml").read_bytes(), headers=RSS)
    server.route("/feed/", body=(DATA / "feeds" / "atom.xml").read_bytes(), headers=ATOM)
    return server.url("/")


def test_discover_lists_advertised_and_probed_feeds_as_yaml(http_server, tmp_path):
    url = library_site(http_server)
    result = invoke("discover", "--config", str(tmp_path), url)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"✓ {http_server.url('/nyheter/feed/')} (advertised): rss20, 3 entries" in out
    assert f"✓ {http_server.url('/feed/')} (common path): atom10, 3 entries" in out
    yaml_text = out.split("paste under `sources:`):\n", 1)[1]
    found = config.parse_sources_text("sources:\n" + yaml_text).sources
    assert [s.url for s in found] == [http_server.url("/nyheter/feed/"), http_server.url("/feed/")]
    assert found[0].id.startswith("stadsbiblioteket-i-exempelstad")
    assert found[0].homepage == url and found[0].kind == "feed"
    assert "comments" not in out
    assert http_server.hits["/comments/feed/"] == 0


def test_discover_marks_feeds_already_in_sources_yaml(http_server, tmp_path):
    url = library_site(http_server)
    (tmp_path / "sources.yaml").write_text(
        f"sources:\n  - id: stadsbiblioteket\n    name: Stadsbiblioteket\n"
        f"    url: {http_server.url('/nyheter/feed/')}\n", encoding="utf-8")
    result = invoke("discover", "--config", str(tmp_path), url)
    assert "already in sources.yaml as 'stadsbiblioteket'" in result.stdout
    yaml_text = result.stdout.split("paste under `sources:`):\n", 1)[1]
    assert [s.url for s in config.parse_sources_text("sources:\n" + yaml_text).sources] == [
        http_server.url("/feed/")]


def test_discover_on_a_feed_url_gives_its_entry(http_server, tmp_path):
    url = http_server.route("/nyheter/feed/", body=(DATA / "feeds" / "rss20.xml").read_bytes(),
                            headers=RSS)
    result = invoke("discover", "--config", str(tmp_path), url)
    assert result.exit_code == 0 and "(the URL itself): rss20" in result.stdout
    assert f"url: {url}" in result.stdout


def test_discover_without_feeds_exits_1_with_the_html_hint(http_server, tmp_path):
    http_server.route("/", body=(DATA / "pages" / "strategi-v1.html").read_bytes(), headers=HTML)
    result = invoke("discover", "--config", str(tmp_path), http_server.url("/"))
    assert result.exit_code == 1
    assert "no feed found" in result.stderr and "kind: html" in result.stderr
    assert "0 feed links on the page, 10 common paths tried" in result.stdout
    assert http_server.hits["/feed/"] == 1 and http_server.hits["/rss.xml"] == 1


def test_discover_of_an_unreachable_site_exits_1(http_server, tmp_path):
    result = invoke("discover", "--config", str(tmp_path), http_server.url("/borta"))
    assert result.exit_code == 1
    assert "could not be fetched (http_404, HTTP 404)" in result.stderr
