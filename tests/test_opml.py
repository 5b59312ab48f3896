"""OPML import (a Feedly/Inoreader export with folders) and export (OPML 2.0), safely parsed."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from scanner.config import parse_sources_text
from scanner.errors import ConfigError
from scanner.models import Source
from scanner.opml import opml_to_sources_yaml, sources_to_opml

OPML = (Path(__file__).resolve().parent / "data" / "pages" / "feedly.opml").read_text("utf-8")


def imported(**kwargs):
    text, warnings = opml_to_sources_yaml(OPML, kwargs.pop("existing_ids", ()), **kwargs)
    return parse_sources_text("sources:\n" + text).sources, warnings, text


def test_feeds_become_valid_sources_with_unique_ids():
    sources, _, _ = imported(existing_ids={"biblioteksbladet"})
    assert [s.id for s in sources] == [
        "mtm-nyheter", "funktionsratt-sverige", "biblioteksbladet-2", "librisbloggen",
        "svensk-biblioteksforening-nyheter", "bibliotekarforbundet", "lasradet",
        "nyheter-example-org",
    ]
    mtm = sources[0]
    assert (mtm.name, mtm.url, mtm.homepage, mtm.kind) == (
        "MTM – Nyheter", "https://www.mtm.se/rss/nyheter", "https://www.mtm.se/", "feed")
    assert sources[4].name == "Svensk biblioteksförening: Nyheter"  # quoted in the YAML


def test_folders_that_are_slugs_become_tags_others_notes():
    sources, _, _ = imported()
    by_id = {s.id: s for s in sources}
    assert by_id["mtm-nyheter"].tags == ("tillganglighet",)
    assert by_id["mtm-nyheter"].notes == "imported from OPML"
    assert by_id["biblioteksbladet"].tags == ("lasframjande",)  # in two folders: merged once
    assert by_id["biblioteksbladet"].notes == ("imported from OPML; feed reader folder: "
                                               "Bibliotek & kultur")
    assert by_id["bibliotekarforbundet"].notes == ("imported from OPML; feed reader folder: "
                                                   "Bibliotek & kultur, Norden")
    assert by_id["bibliotekarforbundet"].language == "nb"


def test_known_tags_decide_which_folders_are_tags():
    sources, _, _ = imported(known_tags={"tillganglighet", "bibliotek-kultur"})
    by_id = {s.id: s for s in sources}
    assert by_id["biblioteksbladet"].tags == ("bibliotek-kultur",)  # slug of the folder name
    assert "lasframjande" in by_id["biblioteksbladet"].notes  # not a known tag: a note


def test_urls_already_in_sources_yaml_are_skipped():
    sources, warnings, _ = imported(existing_urls=["https://librisbloggen.kb.se/feed/"])
    assert "librisbloggen" not in [s.id for s in sources]  # http vs https, trailing slash
    assert ("'Librisbloggen' (http://librisbloggen.kb.se/feed) is already in sources.yaml; "
            "skipped") in warnings


def test_warnings_name_outlines_that_are_not_feeds():
    _, warnings, _ = imported()
    assert warnings == [
        "outline 'Kulturrådets startsida' has no xmlUrl (it is not a feed); skipped",
        "https://nyheter.example.org/rss.xml has no title; named 'nyheter.example.org' — give "
        "it a better name",
        "'Trasig adress': xmlUrl 'feed://example.org/rss' is not an http(s) address; skipped",
    ]


def test_export_is_opml_2_with_categories_and_round_trips():
    sources = (
        Source(id="kb-librisbloggen", name="Librisbloggen (KB)",
               url="https://librisbloggen.kb.se/feed/", homepage="https://librisbloggen.kb.se/",
               tags=("digitalisering", "katalog")),
        Source(id="mtm", name="MTM – Nyheter & press", url="https://www.mtm.se/rss?a=1&b=2",
               interval=timedelta(hours=6)),
        Source(id="region-orebro", name="Region Örebro län", url="https://x.se/", kind="html"),
        Source(id="gammal", name="Gammal", url="https://old.se/feed", enabled=False),
    )
    now = datetime(2021, 1, 14, 12, tzinfo=timezone.utc)
    text = sources_to_opml(sources, "Omvärldsbevakning – källor", now=now)
    root = ET.fromstring(text)
    assert root.get("version") == "2.0"
    assert root.findtext("head/title") == "Omvärldsbevakning – källor"
    assert root.findtext("head/dateCreated") == "Thu, 14 Jan 2021 12:00:00 +0000"
    outlines = root.findall("body/outline")
    assert [o.get("xmlUrl") for o in outlines] == ["https://librisbloggen.kb.se/feed/",
                                                  "https://www.mtm.se/rss?a=1&b=2"]
    assert outlines[0].attrib == {
        "type": "rss", "text": "Librisbloggen (KB)", "title": "Librisbloggen (KB)",
        "xmlUrl": "https://librisbloggen.kb.se/feed/", "htmlUrl": "https://librisbloggen.kb.se/",
        "language": "sv", "category": "/digitalisering,/katalog"}
    back, warnings = opml_to_sources_yaml(text, ())
    again = parse_sources_text("sources:\n" + back).sources
    assert warnings == []
    assert [(s.name, s.url, s.tags) for s in again] == [
        ("Librisbloggen (KB)", "https://librisbloggen.kb.se/feed/", ("digitalisering", "katalog")),
        ("MTM – Nyheter & press", "https://www.mtm.se/rss?a=1&b=2", ())]
    assert len(ET.fromstring(sources_to_opml(sources, "x", include_disabled=True))
               .findall("body/outline")) == 3


def test_entities_are_refused_not_expanded():
    bomb = """<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY x "xxxxxxxxxx"><!ENTITY y "&x;&x;&x;&x;&x;&x;&x;&x;">]>
<opml version="2.0"><head><title>&y;</title></head><body/></opml>"""
    with pytest.raises(ConfigError, match="declares XML entities"):
        opml_to_sources_yaml(bomb, ())


def test_external_entities_are_refused(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("hemligt")
    xxe = f"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY s SYSTEM "file://{secret}">]>
<opml version="2.0"><head/><body><outline text="&s;" xmlUrl="https://x.se/feed"/></body></opml>"""
    with pytest.raises(ConfigError) as caught:
        opml_to_sources_yaml(xxe, ())
    assert "hemligt" not in str(caught.value)


@pytest.mark.parametrize("text, problem", [
    ("<opml><body>", "not readable XML"),
    ("<rss version='2.0'><channel/></rss>", "not an OPML file (its root element is <rss>"),
    ("", "not readable XML"),
])
def test_not_opml(text, problem):
    with pytest.raises(ConfigError, match="prenumerationer.opml: 1 problem") as caught:
        opml_to_sources_yaml(text, (), path="prenumerationer.opml")
    assert problem in str(caught.value)


def test_bytes_in_another_declared_encoding():
    text = ('<?xml version="1.0" encoding="ISO-8859-1"?><opml version="1.0"><head/><body>'
            '<outline text="Läsrådet" xmlUrl="https://www.lasradet.se/feed/"/></body></opml>')
    yaml_text, _ = opml_to_sources_yaml(text.encode("iso-8859-1"), ())
    assert "name: Läsrådet" in yaml_text and "id: lasradet" in yaml_text
