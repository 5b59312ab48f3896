"""dedup: canonical URLs, identities, content hashes, building items from entries."""

from __future__ import annotations

import hashlib
import random
import zlib
import unicodedata
from dataclasses import fields
from datetime import datetime, timezone

import numpy as np
import pytest

from scanner.dedup import (
    _BUCKETS,
    _LANES,
    _normalised,
    _split_canonical,
    _token_row,
    ItemBatch,
    canonical_url,
    content_hash,
    item_identity,
    normalise_text,
    to_item,
    to_items,
    to_items_with_stories,
)
from scanner.models import Entry, Item
from scanner.preparing import with_story_signature
from tests.parse.golden import FETCHED_AT, parse_fixture

# --------------------------------------------------------------------------- canonical_url


@pytest.mark.parametrize(
    "url, expected",
    [
        ("HTTPS://Bib.Example.SE/Nyheter/Artikel", "https://bib.example.se/Nyheter/Artikel"),
        ("https://bib.example.se:443/a", "https://bib.example.se/a"),
        ("http://bib.example.se:80/a", "http://bib.example.se/a"),
        ("https://bib.example.se:8443/a", "https://bib.example.se:8443/a"),
        ("https://bib.example.se/a#kommentarer", "https://bib.example.se/a"),
        ("https://bib.example.se/a/", "https://bib.example.se/a/"),
        ("https://bib.example.se/a", "https://bib.example.se/a"),
        ("https://bib.example.se", "https://bib.example.se/"),
        ("https://bib.example.se/a?", "https://bib.example.se/a"),
        ("https://bib.example.se/a?b=2&a=1", "https://bib.example.se/a?a=1&b=2"),
        (
            "https://bib.example.se/a?utm_source=rss&id=7&utm_medium=feed&fbclid=x&gclid=y",
            "https://bib.example.se/a?id=7",
        ),
        (
            "https://bib.example.se/a?mc_cid=1&mc_eid=2&_hsenc=3&_hsmi=4&igshid=5&yclid=6"
            "&msclkid=7&ref_src=8&UTM_Campaign=9",
            "https://bib.example.se/a",
        ),
        ("https://b.example.se/s?q=%C3%A5r+2025&n=2", "https://b.example.se/s?n=2&q=%C3%A5r+2025"),
        ("https://bib.example.se/a?flagga", "https://bib.example.se/a?flagga"),
        ("https://bib.example.se./a", "https://bib.example.se/a"),
        ("https://user@bib.example.se/a", "https://user@bib.example.se/a"),
        ("https://[2001:DB8::1]:443/a", "https://[2001:db8::1]/a"),
        ("https://bib.example.se/#!/nyhet/5", "https://bib.example.se/#!/nyhet/5"),
        ("  https://bib.example.se/a  ", "https://bib.example.se/a"),
    ],
)
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [None, "", "   ", "mailto:a@b.se", "javascript:alert(1)", "ftp://x.se/a", "/relativ/lank",
     "https://", "https://bib.example.se:99999/a", "http://[::1/a"],
)  # fmt: skip
def test_canonical_url_rejects(url):
    assert canonical_url(url) is None


def test_canonical_url_is_idempotent():
    url = "HTTPS://Bib.Example.se:443/A/?utm_source=x&b=1&a=2#frag"
    once = canonical_url(url)
    assert canonical_url(once) == once == "https://bib.example.se/A/?a=2&b=1"


def test_the_plain_url_path_equals_urlsplits():
    """canonical_url reads links of the common shape without urlsplit: on those and on every
    shape near them (case, ports, users, fragments, whitespace, controls, IPv6, dots, empty
    parts, non-ASCII) it must give what the urlsplit path gives."""
    rng = random.Random(4)
    pieces = ["https://", "http://", "HTTP://", "ftp://", "bib.example.se", "Bib.SE", "127.0.0.1",
              "a-b.c", "x..y", "host.", "[::1]", ":443", ":8080", ":", "user@", "/", "/a/B",
              "//x", "/å/ä", "/%C3%A5", "?", "?b=2&a=1", "?utm_source=rss&id=7", "?&&", "?a=1?b",
              "#", "#frag", "#!/r", " ", "\t", "\n", "\x00", "\x7f", "\u2028", "@", ";p", "é"]
    urls = ["https://example0.se/nyheter/0?utm_source=rss", "https://bib.example.se",
            "https://bib.example.se?x=1", "http://a.se/?", "https://a.se/p?#"]
    urls += ["".join(rng.choices(pieces, k=rng.randint(1, 7))) for _ in range(20_000)]
    hosts, rest = pieces[4:14], pieces[11:]
    urls += [rng.choice(pieces[:2]) + rng.choice(hosts)
             + "".join(rng.choices(rest, k=rng.randint(0, 4))) for _ in range(20_000)]
    for url in urls:
        assert canonical_url(url) == _split_canonical(url.strip()), url


# --------------------------------------------------------------------------- identity and hash


def test_item_identity_prefers_guid_then_url_then_hash():
    assert item_identity("  post-42 ", "https://x.se/a", "T", "") == "guid:post-42"
    assert item_identity("   ", "https://x.se/a", "T", "") == "url:https://x.se/a"
    assert item_identity(None, "https://x.se/a", "T", "") == "url:https://x.se/a"
    hashed = item_identity(None, None, "Bokens dag", "Vi firar.")
    assert hashed.startswith("hash:") and len(hashed) == len("hash:") + 40


def test_item_identity_hash_ignores_case_and_whitespace_only():
    a = item_identity(None, None, "Bokens  dag", "Vi firar\npå lördag.")
    assert a == item_identity(None, None, "bokens dag", "Vi firar på lördag.")
    assert a != item_identity(None, None, "Bokens dag", "Vi firar på söndag.")


def test_item_identity_kinds_never_collide():
    url = "https://x.se/a"
    assert item_identity(url, None, "", "") != item_identity(None, url, "", "")


def test_content_hash_is_stable_and_sensitive_to_visible_changes():
    base = content_hash("Bokens dag", "Vi firar på lördag.", "https://x.se/a")
    assert base == content_hash(" Bokens dag ", "Vi firar\npå lördag.", "https://X.se/a#top")
    assert base == content_hash("Bokens dag", "Vi firar på lo\u0308rdag.", "https://x.se/a")
    assert base != content_hash("Bokens dag (uppdaterad)", "Vi firar på lördag.", "https://x.se/a")
    assert base != content_hash("Bokens dag", "Vi firar på söndag.", "https://x.se/a")
    assert base != content_hash("Bokens dag", "Vi firar på lördag.", "https://x.se/b")
    assert base != content_hash("Bokens dag", "Vi firar på lördag.", None)
    assert base == "7c0874517fbbdb1bafff9d78a796da420c7da292"  # stored: must never drift


def test_normalise_text():
    assert normalise_text("  A\u030aÅ  ÅR\n") == normalise_text("åå år")


@pytest.mark.parametrize("text", [
    "", " ", "Bokens dag", "Bokens  dag", " Bokens dag", "Bokens dag ", "Å Ä Ö å ä ö",
    "Café naïve résumé", "A\u030a", "STRASSE ß", "ﬁnns", "75 miljoner 2025", "a\xa0b", "a\u2003b",
    "a\nb", "a\tb", "a\u2028b", "a\u2029b", "a\x1cb", "a\x85b", "a\u180eb", "a\u200bb", "ǅ Σ",
])
def test_normalise_text_is_nfc_casefolded_and_single_spaced(text):
    """Text already single-spaced is returned as it is, without splitting: the same as split
    and join would give."""
    folded = unicodedata.normalize("NFC", text).casefold()
    assert normalise_text(text) == " ".join(folded.split())


def test_normalise_text_of_latin_1_equals_the_general_path():
    """Latin-1 text is casefolded by a byte table and tested for spacing as bytes: every
    character, every pair, and random text of them must give what NFC, casefold, and split
    and join give."""
    rng = random.Random(5)
    latin = [chr(code) for code in range(256)]
    texts = latin + [a + b for a in latin for b in latin]
    spaced = latin + [" "] * 40 + ["\xa0", "\x85", "\n", "\x1c"] * 5 + ["Å", "ß", "µ", "–"]
    texts += ["".join(rng.choices(spaced, k=rng.randint(0, 30))) for _ in range(20_000)]
    for text in texts:
        assert normalise_text(text) == _normalised(text), repr(text)


# --------------------------------------------------------------------------- to_items


def _entry(**fields):
    defaults = dict(
        title="Bokens dag",
        url="https://bib.example.se/bokens-dag?utm_source=rss",
        guid=None,
        summary="Vi firar.",
        content_html="<p>Vi firar.</p>",
        published=datetime(2025, 2, 23, 8, 0, tzinfo=timezone.utc),
    )
    return Entry(**{**defaults, **fields})


def test_to_item_fields():
    item = to_item("regionbiblioteket", "sv", _entry(author="Åsa"), FETCHED_AT)
    assert item.source_id == "regionbiblioteket"
    assert item.identity == "url:https://bib.example.se/bokens-dag"
    assert item.url == "https://bib.example.se/bokens-dag?utm_source=rss"
    assert item.canonical_url == "https://bib.example.se/bokens-dag"
    assert (item.title, item.summary) == ("Bokens dag", "Vi firar.")
    assert item.content_html == "<p>Vi firar.</p>"
    assert item.published == datetime(2025, 2, 23, 8, 0, tzinfo=timezone.utc)
    assert item.fetched == FETCHED_AT and item.date_missing is False
    assert item.content_hash == content_hash("Bokens dag", "Vi firar.", item.url)
    assert (item.lang, item.author, item.tags) == ("sv", "Åsa", ())


def test_to_item_language_from_entry_wins():
    assert to_item("s", "sv", _entry(language="en"), FETCHED_AT).lang == "en"


def test_to_items_drops_duplicate_identities_keeping_the_first():
    batch = to_items(
        "s",
        "sv",
        [
            _entry(guid="post-42", title="Först"),
            _entry(guid="post-42", title="Sedan"),
            _entry(guid=None, url="https://bib.example.se/x#a"),
            _entry(guid=None, url="HTTPS://bib.example.se/x?utm_medium=feed"),
            _entry(guid=None, url=None, title="Utan länk"),
        ],
        FETCHED_AT,
    )
    assert isinstance(batch, ItemBatch)
    assert [i.title for i in batch.items] == ["Först", "Bokens dag", "Utan länk"]
    assert batch.duplicates == 2
    assert batch.items[2].identity.startswith("hash:")


def test_to_items_on_the_duplicate_guids_fixture():
    entries = parse_fixture("duplicate-guids.xml").entries
    batch = to_items("dubbletter", "sv", entries, FETCHED_AT)
    assert [i.identity for i in batch.items] == [
        "guid:post-42",
        "url:https://dubbletter.example.se/forfattarbesok",
    ]
    assert batch.items[0].title == "Bokens dag firas på biblioteket"
    assert batch.duplicates == 2


def test_to_items_empty():
    assert to_items("s", "sv", [], FETCHED_AT) == ItemBatch(items=(), duplicates=0)


def test_items_are_what_their_init_makes():
    """Items are built without Item's frozen __init__: every field set, in the order of the
    fields, equal to what __init__ makes."""
    item = to_item("s", "sv", _entry(author="Åsa"), FETCHED_AT)
    assert list(vars(item)) == [field.name for field in fields(Item)]
    assert item == Item(**vars(item)) and repr(item) == repr(Item(**vars(item)))


def test_items_with_stories_are_items_given_their_signatures():
    entries = [*parse_fixture("duplicate-guids.xml").entries, _entry(guid="x", title=""),
               _entry(guid="y", summary="Bokens dag firas på biblioteket i Älvby med 75 e-böcker")]
    for tags in [(), ("lokal",)]:
        batch = to_items_with_stories("s", "sv", entries, FETCHED_AT, tags)
        plain = to_items("s", "sv", entries, FETCHED_AT)
        assert batch.duplicates == plain.duplicates == 2
        assert batch.items == tuple(with_story_signature(item, tags) for item in plain.items)


# --------------------------------------------------------------------------- token rows


def _numpy_token_row(token: str) -> bytes:
    """A token's row as numpy makes it: the reference _token_row is pinned to."""
    data = token.encode("utf-8")
    digest = hashlib.shake_128(data).digest(2 * _LANES)
    hashes = np.frombuffer(digest, ">u2") & np.array([0x7FFF] * _LANES, ">u2")
    return np.append(hashes, zlib.crc32(data) % _BUCKETS).astype(np.uint16).tobytes()


def test_token_rows_equal_numpys():
    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyzåäö0123456789é€😀"
    tokens = ["", "bibliotek", *("".join(rng.choices(letters, k=rng.randint(1, 30)))
                                 for _ in range(2000))]
    for token in tokens:
        assert _token_row(token) == _numpy_token_row(token), token
