"""parse_feed: golden files for every fixture feed, plus the properties that matter spelled out."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from scanner.parse import parse_feed
from tests.parse.golden import (
    FETCHED_AT,
    REGENERATE,
    expected_path,
    fixture_names,
    parse_fixture,
    read_expected,
    to_jsonable,
    write_expected,
)


@pytest.mark.parametrize("name", fixture_names())
def test_golden(name):
    actual = to_jsonable(parse_fixture(name))
    if REGENERATE or not expected_path(name).exists():
        write_expected(name, actual)
        if not REGENERATE:
            pytest.fail(f"wrote missing {expected_path(name).name}: review it, then rerun")
    assert actual == read_expected(name)


def titles(name):
    return [e.title for e in parse_fixture(name).entries]


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    "name, fmt",
    [
        ("rss20.xml", "rss20"),
        ("atom.xml", "atom10"),
        ("rss10.xml", "rss10"),
        ("rss091.xml", "rss091u"),
        ("jsonfeed10.json", "json10"),
        ("jsonfeed11.json", "json11"),
    ],
)
def test_format_is_reported(name, fmt):
    result = parse_fixture(name)
    assert not result.failed
    assert result.format == fmt
    assert result.entries


def test_rss20_entry_is_clean():
    first = parse_fixture("rss20.xml").entries[0]
    assert first.title == "Läsfrämjande satsning för unga i Älvdalen"
    assert first.guid == "rb-2025-0301"
    assert first.author == "Åsa Öberg"
    assert first.published == datetime(2025, 3, 3, 8, 15, tzinfo=timezone.utc)
    assert first.summary == (
        "Biblioteken i Älvdalen och Mora startar bokcirklar för unga & unga vuxna. "
        "Anmälan öppnar i april.\nLäs hela nyheten."
    )


def test_content_html_prefers_content_encoded_and_is_sanitised():
    html = parse_fixture("rss20.xml").entries[0].content_html
    assert html.startswith("<h2>Bokcirklar i hela kommunen</h2>")  # content:encoded, not summary
    for unsafe in ("<script", "<style", "<iframe", "onerror", "onclick", "javascript:", "spårning"):
        assert unsafe not in html
    assert 'src="https://regionbibliotek.example.se/bilder/bokcirkel.jpg"' in html
    assert 'href="https://regionbibliotek.example.se/kontakt.html"' in html


def test_summary_text_has_no_tags_or_entities():
    for name in ("rss20.xml", "atom.xml", "jsonfeed11.json", "relative-links.xml"):
        for entry in parse_fixture(name).entries:
            assert not re.search(r"<[a-z/]|&[a-z#]\w*;", entry.summary), entry.summary
            assert "  " not in entry.summary


def test_escaped_html_description_becomes_lines():
    third = parse_fixture("rss20.xml").entries[2]
    assert third.title == "Välkommen till regionträff om digital delaktighet"
    assert third.summary == (
        "Tid: 20 mars\nPlats: Länsbiblioteket, Falun\n"
        'Vi pratar om "digitalt först" och åtgärder för äldre.'
    )


def test_markup_in_rss_title_is_removed():
    assert titles("rss20.xml")[1] == "Ny statistik: fler lån av e-böcker"


def test_atom_xml_base_language_and_html_titles():
    result = parse_fixture("atom.xml")
    assert result.feed_title == "Biblioteksutveckling i länet"
    assert result.feed_language == "sv"
    first, english, third = result.entries
    assert first.url == "https://biblioteksutveckling.example.se/blogg/meroppet-salen"
    assert first.published == datetime(2025, 3, 4, 15, 30, tzinfo=timezone.utc)
    assert first.updated == datetime(2025, 3, 5, 7, 0, tzinfo=timezone.utc)
    assert first.author == "Örjan Läsare"
    assert 'href="https://biblioteksutveckling.example.se/blogg/rapport.pdf"' in first.content_html
    assert english.title == "Library strategy in English"
    assert english.language == "en" and first.language is None
    assert english.published == english.updated  # Atom without <published>: updated is used
    assert third.summary == "Ny vägledning för skolbibliotek & rektorer."


def test_jsonfeed11():
    result = parse_fixture("jsonfeed11.json")
    assert (result.feed_title, result.feed_language) == ("Länsbiblioteket – blogg", "sv")
    first, second = result.entries
    assert first.url == "https://lansbibliotek.example.se/blogg/ai-i-biblioteket"
    assert first.summary == "Hur kan folkbiblioteken använda AI? En guide för personal."
    assert "<script" not in first.content_html
    assert first.author == "Märta Ström"
    assert second.guid == "102"
    assert second.title == "Medier för alla: ny handbok om tillgängliga medier."  # from text
    assert second.language == "en"
    assert result.warnings == ("entry 3: skipped: it is a JSON str, not an object",)


def test_jsonfeed10_author_object():
    (entry,) = parse_fixture("jsonfeed10.json").entries
    assert entry.author == "Bokbussen Piteå"
    assert entry.published == datetime(2025, 1, 15, 7, 0, tzinfo=timezone.utc)


def test_jsonfeed_detected_by_body_whatever_the_content_type():
    body = b'{"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": []}'
    result = parse_feed(body, {"content-type": "text/plain"}, "https://x.example.se/f", FETCHED_AT)
    assert (result.failed, result.format, result.feed_title) == (False, "json11", "T")


# --------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    "name", ["latin1-labelled-utf8.xml", "utf8-labelled-latin1.xml", "mojibake.xml", "utf16.xml"]
)
def test_swedish_letters_survive_any_labelling(name):
    result = parse_fixture(name)
    text = " ".join(f"{e.title} {e.summary} {e.content_html}" for e in result.entries)
    assert not re.search("[ÃÂ]|â€", text), text
    assert "å" in text and "ö" in text


def test_mislabelled_charsets_are_warned_and_right():
    latin = parse_fixture("utf8-labelled-latin1.xml")
    assert latin.entries[1].title == "Öppet hus: ”Bibliotekets dag”"
    assert latin.warnings[0] == (
        "the feed declares charset utf-8 but its bytes are cp1252; read as cp1252"
    )
    utf8 = parse_fixture("latin1-labelled-utf8.xml")
    assert utf8.feed_title == "Åre bibliotek"
    assert "bytes are utf-8" in utf8.warnings[0]


def test_mojibake_in_text_is_repaired():
    result = parse_fixture("mojibake.xml")
    assert result.feed_title == "Kulturförvaltningen"
    assert [e.title for e in result.entries] == [
        "Läsfrämjande på förskolan – så gör vi",
        "Blandat: på och på i samma rad",
    ]
    assert result.entries[1].summary == "Text med ”citat” och vanliga åäö."


# --------------------------------------------------------------------------- links and dates


def test_relative_links_resolve_against_the_feed_link():
    first, second = parse_fixture("relative-links.xml").entries
    assert first.url == "https://kommun.example.se/bibliotek/nyheter/sprakcafe"
    assert second.url == "https://kommun.example.se/bibliotek/lov"
    assert 'href="https://kommun.example.se/kalender"' in first.content_html
    assert 'src="https://kommun.example.se/bilder/cafe.png"' in first.content_html
    assert 'href="mailto:bibliotek@kommun.example.se"' in first.content_html


def test_relative_links_fall_back_to_the_fetch_url():
    body = b'<rss version="2.0"><channel><title>T</title><item><title>A</title><link>a/b</link>'
    body += b"</item></channel></rss>"
    result = parse_feed(body, {}, "https://x.example.se/feeds/rss.xml", FETCHED_AT)
    assert result.entries[0].url == "https://x.example.se/feeds/a/b"


def test_all_dates_are_aware_utc():
    for name in fixture_names():
        for entry in parse_fixture(name).entries:
            assert entry.published.utcoffset() == timedelta(0)
            assert entry.updated is None or entry.updated.utcoffset() == timedelta(0)


def test_missing_and_unreadable_dates_use_fetch_time():
    result = parse_fixture("no-dates.xml")
    missing = [(e.title, e.date_missing) for e in result.entries]
    assert missing == [
        ("Inget datum alls", True),
        ("Oläsligt datum", True),
        ("Svenskt datum", False),
        ("Platshållardatum", True),
    ]
    assert all(e.published == FETCHED_AT for e in result.entries if e.date_missing)
    assert result.entries[2].published == datetime(2025, 3, 3, 10, 0, tzinfo=timezone.utc)
    assert result.warnings == (
        "entry 2 \"Oläsligt datum\": date 'någon gång i vår' could not be read; using fetch time",
        "entry 4 \"Platshållardatum\": date 'Thu, 01 Jan 1970 00:00:00 +0000' could not be read;"
        " using fetch time",
    )


def test_rss091_without_dates():
    assert all(e.date_missing for e in parse_fixture("rss091.xml").entries)


# --------------------------------------------------------------------------- bad entries


def test_bad_entries_are_skipped_or_kept_with_warnings():
    result = parse_fixture("bad-entries.xml")
    assert titles("bad-entries.xml") == [
        "Bra post före",
        "Länk med javascript",
        "Framtida evenemang",
        "Endast text, ingen rubrik eller länk. Biblioteket stänger tidigt på fredag.",
        "Bra post efter",
    ]
    assert result.entries[1].url is None
    assert result.entries[3].url is None and result.entries[3].date_missing
    future = result.entries[2]
    assert future.published == datetime(2025, 6, 20, 16, 0, tzinfo=timezone.utc)
    assert result.warnings == (
        "entry 2: skipped: it has no title, link or text",
        "entry 3 \"Länk med javascript\": link \"javascript:alert('hej')\" is not an http(s) URL;"
        " kept without link",
        'entry 4 "Framtida evenemang": date 2025-06-20T16:00:00+00:00 is more than a day after'
        " the fetch; kept as given",
    )


def test_an_entry_that_breaks_the_builder_is_skipped(monkeypatch):
    from scanner.parse import feed

    real = feed._raw_entry

    def explode_on_second(index, entry, *args):
        if index == 2:
            raise ValueError("boom")
        return real(index, entry, *args)

    monkeypatch.setattr(feed, "_raw_entry", explode_on_second)
    result = parse_fixture("rss20.xml")
    assert len(result.entries) == 2
    assert result.warnings == (
        'entry 2 "Ny statistik: fler lån av e-böcker": skipped: ValueError: boom',
    )


def test_duplicate_guids_are_all_returned_by_the_parser():
    assert [e.guid for e in parse_fixture("duplicate-guids.xml").entries][:2] == ["post-42"] * 2


# --------------------------------------------------------------------------- whole-body errors


@pytest.mark.parametrize(
    "name, key",
    [
        ("empty.xml", "empty_body"),
        ("html-page.html", "not_a_feed"),
        ("sitemap.xml", "not_a_feed"),
        ("not-a-jsonfeed.json", "not_a_feed"),
        ("malformed.xml", "malformed_feed"),
        ("malformed-jsonfeed.json", "malformed_feed"),
    ],
)
def test_whole_body_errors(name, key):
    result = parse_fixture(name)
    assert result.failed and result.error_key == key
    assert result.entries == ()
    assert "\n" not in result.message and result.message[0].islower()


def test_html_page_message_says_how_to_fix():
    message = parse_fixture("html-page.html").message
    assert "scanner sources discover URL" in message and "kind: html" in message


@pytest.mark.parametrize("body", [b"", b"   \r\n\t", b"\xef\xbb\xbf\n"])
def test_empty_bodies(body):
    assert parse_feed(body, {}, "https://x.example.se/", FETCHED_AT).error_key == "empty_body"


def test_recoverable_xml_keeps_entries_and_warns():
    result = parse_fixture("malformed-recoverable.xml")
    assert not result.failed
    assert titles("malformed-recoverable.xml") == [
        "Fjärrlån blir avgiftsfria",
        "Nya öppettider på Tensta bibliotek",
    ]
    assert result.warnings[0].startswith("feed XML is not well-formed (")
    assert "2 entries recovered" in result.warnings[0]


def test_a_body_that_looks_like_a_path_is_not_opened():
    result = parse_feed(b"/etc/hostname", {}, "https://x.example.se/", FETCHED_AT)
    assert result.error_key == "not_a_feed"


def test_plain_text_body_is_not_a_feed():
    result = parse_feed(b"Service Unavailable", {}, "https://x.example.se/", FETCHED_AT)
    assert result.error_key == "not_a_feed"


def test_empty_channel_is_not_an_error():
    result = parse_fixture("empty-channel.xml")
    assert (result.failed, result.entries, result.feed_title) == (False, (), "Inga nyheter än")


def test_header_names_are_case_insensitive():
    body = "<?xml version='1.0'?><rss version='2.0'><channel><title>Åre</title></channel></rss>"
    headers = {"CONTENT-TYPE": "application/rss+xml; charset=iso-8859-1"}
    result = parse_feed(body.encode("cp1252"), headers, "https://x.example.se/", FETCHED_AT)
    assert result.feed_title == "Åre" and result.warnings == ()


def test_mojibake_hidden_in_entities_is_repaired():
    body = (
        "<rss version='2.0'><channel><title>K&#195;&#164;llan</title><item>"
        "<title>Tr&#195;&#165;dl&#195;&#182;st</title><link>https://x.example.se/1</link>"
        "<description><![CDATA[<p>Fika p&#195;&#165; biblioteket</p>]]></description>"
        "</item></channel></rss>"
    ).encode()
    result = parse_feed(body, {}, "https://x.example.se/", FETCHED_AT)
    (entry,) = result.entries
    assert (result.feed_title, entry.title) == ("Källan", "Trådlöst")
    assert entry.summary == "Fika på biblioteket"
    assert entry.content_html == "<p>Fika på biblioteket</p>"


def test_blank_lines_before_the_xml_declaration_are_harmless():
    body = b'\n\n  <?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
    body += b"<title>T</title><item><title>A&nbsp;&ouml;</title>"
    body += b"<link>https://x.example.se/1</link></item></channel></rss>"
    result = parse_feed(body, {}, "https://x.example.se/", FETCHED_AT)
    assert (result.warnings, [e.title for e in result.entries]) == ((), ["A ö"])


def test_naive_fetch_time_is_taken_as_utc():
    body = b"<rss version='2.0'><channel><item><title>A</title></item></channel></rss>"
    result = parse_feed(body, {}, "https://x.example.se/", datetime(2025, 3, 10, 12, 0))
    assert result.entries[0].published == FETCHED_AT and result.entries[0].date_missing
