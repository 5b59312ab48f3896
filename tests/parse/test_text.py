"""Text helpers: decoding, mojibake repair, HTML to text, sanitising, dates, languages."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from scanner.parse.text import (
    clean_line,
    decode_body,
    fix_mojibake,
    html_to_text,
    normalize_language,
    parse_date_utc,
    sanitize_html,
    text_to_html,
    trim_text,
)

SWEDISH = "Läsfrämjande på Åre bibliotek – ”välkommen”"

# --------------------------------------------------------------------------- decode_body


def test_valid_utf8_wins_over_a_latin1_label():
    decoded = decode_body(SWEDISH.encode(), {"content-type": "text/xml; charset=iso-8859-1"})
    assert (decoded.text, decoded.encoding, decoded.declared) == (SWEDISH, "utf-8", "iso-8859-1")
    assert decoded.mislabelled


def test_invalid_utf8_is_read_as_windows_1252():
    decoded = decode_body(SWEDISH.encode("cp1252"), {"Content-Type": "text/xml; charset=utf-8"})
    assert (decoded.text, decoded.encoding) == (SWEDISH, "cp1252")
    assert decoded.mislabelled


def test_xml_declaration_is_the_label_when_the_header_has_none():
    body = b'<?xml version="1.0" encoding="ISO-8859-1"?><t>' + "åäö".encode("latin-1") + b"</t>"
    decoded = decode_body(body, {"content-type": "application/xml"})
    assert decoded.declared == "iso-8859-1" and not decoded.mislabelled
    assert decoded.text.endswith("<t>åäö</t>")


def test_bytes_undefined_in_cp1252_do_not_fail():
    assert decode_body(b"a\x81b\xe5", {}).text == "a\x81bå"


def test_declared_non_western_charset_is_honoured():
    text = "Łódź ščř"
    decoded = decode_body(text.encode("cp1250"), {"content-type": "text/xml; charset=windows-1250"})
    assert decoded.text == text and not decoded.mislabelled


@pytest.mark.parametrize("codec", ["utf-8-sig", "utf-16", "utf-16-be"])
def test_byte_order_marks(codec):
    body = SWEDISH.encode(codec)
    if codec == "utf-16-be":
        body = b"\xfe\xff" + body
    assert decode_body(body, {}).text == SWEDISH


def test_ascii_is_never_mislabelled():
    assert not decode_body(b"<rss/>", {"content-type": "text/xml; charset=iso-8859-1"}).mislabelled


# --------------------------------------------------------------------------- mojibake


def _mojibake(text):
    return "".join(bytes([b]).decode("cp1252", "ignore") or chr(b) for b in text.encode())


@pytest.mark.parametrize(
    "good",
    ["på lördag", "Årsmöte i Örebro", "Språkcafé – öppet", "”citat” … €5", "Æ ñ ü ß", "📚 bok"],
)
def test_fix_mojibake_repairs(good):
    assert fix_mojibake(_mojibake(good)) == good


def test_fix_mojibake_repairs_mixed_text():
    assert fix_mojibake(f"{_mojibake('på')} och på") == "på och på"


def test_fix_mojibake_repairs_double_encoding():
    assert fix_mojibake(_mojibake(_mojibake("Öppet på lördag"))) == "Öppet på lördag"


def test_fix_mojibake_repairs_latin1_flavour_of_c1_characters():
    assert fix_mojibake("Ã\x85re") == "Åre"  # UTF-8 read as ISO-8859-1, not cp1252


@pytest.mark.parametrize(
    "legit", [SWEDISH, "hallå”…", "Ã la carte", "»SMÅ« böcker", "ÅÄÖ åäö", "Â", "naïve café"]
)
def test_fix_mojibake_leaves_good_text_alone(legit):
    assert fix_mojibake(legit) == legit


def test_fix_mojibake_drops_a_stray_bom():
    assert fix_mojibake("ï»¿Rubrik") == "Rubrik"


# --------------------------------------------------------------------------- html_to_text


def test_html_to_text_blocks_entities_scripts():
    fragment = (
        "<div><h2>Rubrik</h2><p>Öppet&nbsp;hus &amp; fika&#33;</p><script>var x=1;</script>"
        "<style>p{}</style><ul><li>ett</li><li>två</li></ul>rad<br>ny rad "
        "<table><tr><td>a</td><td>b</td></tr></table><!-- kommentar --></div>"
    )
    assert html_to_text(fragment) == "Rubrik\nÖppet hus & fika!\nett\ntvå\nrad\nny rad\na b"


def test_html_to_text_inline_tags_do_not_split_words():
    assert html_to_text("Bib<b>lio</b>tek <em>och</em>   kultur") == "Bibliotek och kultur"


def test_html_to_text_keeps_escaped_angle_brackets_as_text():
    assert html_to_text("<p>3 &lt; 4 &amp;&amp; 5 &gt; 2</p>") == "3 < 4 && 5 > 2"


def test_html_to_text_plain_text_fast_path():
    assert html_to_text("  ingen   markup\n\n här \u200b ") == "ingen markup\nhär"


def test_html_to_text_normalises_to_nfc():
    assert html_to_text("<p>a\u030a</p>") == "å"


def test_clean_line():
    line = clean_line("  Bibliotek &amp;amp; kultur\n i   länet ")
    assert line == "Bibliotek &amp; kultur i länet"
    assert clean_line("Bibliotek &amp; kultur") == "Bibliotek & kultur"
    assert clean_line("<b>Fet</b> titel", is_html=True) == "Fet titel"
    assert clean_line(None) == ""


def test_trim_text():
    assert trim_text("kort", 10) == "kort"
    long = "Första meningen är här. Andra meningen är betydligt längre och fortsätter länge."
    assert trim_text(long, 35) == "Första meningen är här. …"
    assert trim_text(long, 60) == "Första meningen är här. Andra meningen är betydligt längre…"
    assert trim_text("ord " * 30, 50).endswith("ord…")
    assert len(trim_text("x" * 100, 20)) == 20


def test_text_to_html():
    assert text_to_html("a < b\nrad två") == "<p>a &lt; b</p><p>rad två</p>"


# --------------------------------------------------------------------------- sanitize_html


def test_sanitize_html_removes_dangerous_content_and_resolves_links():
    dirty = (
        '<p onclick="x()">Hej <a href="../om">om oss</a> <a href="javascript:alert(1)">j</a>'
        '<img src="bild.png" onerror="x()" alt="bild"></p><script>alert(1)</script>'
        '<iframe src="https://e.example.com"></iframe><style>*{}</style>'
    )
    clean = sanitize_html(dirty, "https://bib.example.se/nyheter/a/")
    assert clean == (
        '<p>Hej <a href="https://bib.example.se/nyheter/om" rel="noopener noreferrer nofollow">'
        'om oss</a> <a rel="noopener noreferrer nofollow">j</a>'
        '<img src="https://bib.example.se/nyheter/a/bild.png" alt="bild"></p>'
    )


def test_sanitize_html_without_base_keeps_relative_links():
    assert 'href="/om"' in sanitize_html('<a href="/om">x</a>')


def test_sanitize_html_empty():
    assert sanitize_html("   ") == ""


# --------------------------------------------------------------------------- dates

UTC = timezone.utc


@pytest.mark.parametrize(
    "value, expected",
    [
        ("Mon, 03 Mar 2025 10:00:00 +0100", datetime(2025, 3, 3, 9, 0, tzinfo=UTC)),
        ("Mon, 03 Mar 2025 10:00:00 GMT", datetime(2025, 3, 3, 10, 0, tzinfo=UTC)),
        ("2025-03-03T10:00:00+01:00", datetime(2025, 3, 3, 9, 0, tzinfo=UTC)),
        ("2025-03-03T10:00:00Z", datetime(2025, 3, 3, 10, 0, tzinfo=UTC)),
        ("2025-03-03", datetime(2025, 3, 3, 0, 0, tzinfo=UTC)),
        ("3 mars 2025 kl. 10:00", datetime(2025, 3, 3, 10, 0, tzinfo=UTC)),
        ("måndag den 3 mars 2025", datetime(2025, 3, 3, 0, 0, tzinfo=UTC)),
        ("15 okt 2024 14:30 +0200", datetime(2024, 10, 15, 12, 30, tzinfo=UTC)),
        ("March 3, 2025 10:00 AM", datetime(2025, 3, 3, 10, 0, tzinfo=UTC)),
    ],
)
def test_parse_date_utc(value, expected):
    parsed = parse_date_utc(value)
    assert parsed == expected and parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "value", [None, "", "   ", "snart", "10", "1 mars", "1970-01-01T00:00:00Z", "2025-13-45"]
)
def test_parse_date_utc_unreadable(value):
    assert parse_date_utc(value) is None


def test_parse_date_utc_default_zone_for_naive_values():
    cet = timezone(timedelta(hours=1))
    assert parse_date_utc("2025-03-03 10:00", cet) == datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- language


@pytest.mark.parametrize(
    "value, expected",
    [("sv-SE", "sv"), ("sv_se", "sv"), ("SV", "sv"), ("en-US", "en"), ("Swedish", "sv"),
     ("svenska", "sv"), ("fin", "fin"), ("", None), (None, None), ("x", None), ("sv SE", None)],
)  # fmt: skip
def test_normalize_language(value, expected):
    assert normalize_language(value) == expected


def test_declared_charset_comes_only_from_declarations():
    body = b"<?xml version='1.0'?><rss><channel><title>content-encoding=gzip</title>"
    assert decode_body(body + "å".encode(), {}).declared is None
    meta = b'<html><head><meta charset="windows-1252"></head>'
    assert decode_body(meta, {}).declared == "windows-1252"
    meta = b'<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">'
    assert decode_body(meta, {}).declared == "iso-8859-1"
