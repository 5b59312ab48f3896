"""Fast paths in the parse stage pinned against the plain code they stand in for.

Each fast path skips work when a cheap check says the result cannot change; these tests feed
random text heavy in the characters the checks look for and compare with the plain version.
"""

from __future__ import annotations

import copy
import html
import importlib.util
import inspect
import io
import pathlib
import random
import re
import unicodedata
import warnings
import xml.sax.expatreader
import xml.sax.handler
from datetime import datetime, timezone
from urllib.parse import urljoin, urlsplit

import feedparser
import feedparser.api
import feedparser.datetimes
import feedparser.html
import feedparser.mixin
import feedparser.urls
import feedparser.util
import pytest

from scanner.parse import feed, text

SEEDS = range(40)
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)


def test_the_feedparser_tweaks_apply_to_the_installed_release():
    """They are checked (by these tests) against one feedparser release line and switched off
    on any other. A new release fails here: run these tests against it, then widen
    FEEDPARSER_CHECKED."""
    assert feedparser.__version__.startswith(feed.FEEDPARSER_CHECKED)
    feed.parse_feed(b"<rss version='2.0'><channel><title>T</title></channel></rss>", {},
                    "https://bibliotek.example.se/rss", NOW)
    assert isinstance(feedparser.mixin._cp1252, tuple)  # a tweak is in place


def _random_text(rng: random.Random, alphabet: str, length: int = 60) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, length)))


def _mojibake(value: str) -> str:
    return value.encode("utf-8").decode("cp1252", "scanner-latin1")


# Every character cp1252/Latin-1 decoding yields (so every lead and continuation character),
# plus Swedish text, punctuation, emoji and stray BOMs.
_DECODED_BYTES = "".join(text._BYTE_OF)
_MOJIBAKE_ALPHABET = _DECODED_BYTES + "abc åäöÅÄÖ–”…€😀\ufeff" + "".join(
    _mojibake(c) for c in "åäöé–”…😀\ufeff"
)


def _plain_fix_mojibake(value: str) -> str:
    for _ in range(3):
        if not text._MOJIBAKE.search(value):
            break
        value = text._MOJIBAKE.sub(text._redecode, value)
    return value.replace("\u00ef\u00bb\u00bf", "")


@pytest.mark.parametrize("seed", SEEDS)
def test_fix_mojibake_equals_the_plain_regex_loop(seed):
    rng = random.Random(seed)
    for _ in range(200):
        value = _random_text(rng, _MOJIBAKE_ALPHABET)
        if rng.random() < 0.3:
            value = _mojibake(value)
        assert text.fix_mojibake(value) == _plain_fix_mojibake(value), repr(value)


_INVISIBLE_ALPHABET = "ab åä\n\t\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u00a0"


@pytest.mark.parametrize("seed", SEEDS)
def test_tidy_lines_and_clean_line_drop_invisible_characters_as_translate_does(seed):
    rng = random.Random(seed)
    for _ in range(200):
        value = _random_text(rng, _INVISIBLE_ALPHABET)
        plain = value.translate(text._INVISIBLE)
        assert text._drop_invisible(value) == plain, repr(value)
        assert text.tidy_lines(value) == text.tidy_lines(plain)
        assert text.clean_line(value) == text.clean_line(plain)


# --------------------------------------------------------------------------- before feedparser

_ENTITY_PIECES = ["&", ";", "amp", "lt", "gt", "quot", "apos", "nbsp", "ouml", "x", "#", "1", " "]


def _plain_named_entities(value: str) -> str:
    """Every named entity matched and the five XML ones handed back unchanged."""
    def numeric(match: re.Match[str]) -> str:
        if match.group(1) in {"amp", "lt", "gt", "quot", "apos"}:
            return match.group(0)
        return feed._numeric_entity(match)

    return re.sub(r"&([A-Za-z][A-Za-z0-9]*);", numeric, value)


@pytest.mark.parametrize("seed", SEEDS)
def test_html_entities_become_numeric_exactly_as_the_plain_substitution_does(seed):
    rng = random.Random(seed)
    for _ in range(200):
        value = "".join(rng.choice(_ENTITY_PIECES) for _ in range(rng.randint(0, 30)))
        assert feed._HTML_ENTITY.sub(feed._numeric_entity, value) == _plain_named_entities(value)


def test_no_entry_key_read_through_a_plain_dict_has_a_feedparser_alias():
    """_raw_entry reads plain dict copies of feedparser's dicts; right only while feedparser's
    FeedParserDict maps none of these keys to another one."""
    special = {"category", "enclosures", "license", "updated", "updated_parsed"}
    aliased = set(feedparser.FeedParserDict.keymap) | special
    keys = {"title_detail", "summary_detail", "content", "title", "link", "links", "id",
            "author_detail", "author", "language", "value", "type", "base", "name"}  # fmt: skip
    assert not keys & aliased


# --------------------------------------------------------------------------- inside feedparser


def test_feedparsers_cp1252_mapping_is_swapped_for_an_equal_code_point_table():
    feed._speed_up_feedparser_cp1252_mapping()
    table = feedparser.mixin._cp1252
    assert isinstance(table, tuple), "the speed-up no longer applies to this feedparser"
    every_character = "".join(map(chr, range(0x110000))).encode("utf-8", "surrogatepass")
    every_character = every_character.decode("utf-8", "surrogatepass")
    original = feedparser.html._cp1252  # the dict feedparser ships
    assert every_character.translate(table) == every_character.translate(original)
    # ASCII text takes another path through str.translate; short mixed texts as feedparser has.
    for value in ["", "a", "plain ascii <p>&amp;</p>", "på\x80\x9f", "\x81\x8d\x8f\x90\x9d", "–😀"]:
        assert value.translate(table) == value.translate(original), repr(value)


def _pristine_feedparser_dict() -> type:
    """FeedParserDict as feedparser ships it, from a fresh copy of its module (untouched by the
    speed-ups, which patch the class feedparser uses)."""
    spec = importlib.util.spec_from_file_location("pristine_feedparser_util",
                                                  feedparser.util.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FeedParserDict


def test_the_special_keys_are_those_feedparsers_getitem_compares_with():
    source = inspect.getsource(_pristine_feedparser_dict().__getitem__)
    assert set(re.findall(r"key == '(\w+)'", source)) == feed.FEEDPARSER_SPECIAL_KEYS


_DICT_KEYS = [*feedparser.FeedParserDict.keymap, *feed.FEEDPARSER_SPECIAL_KEYS, "summary", "id",
              "href", "published", "published_parsed", "tags", "links", "type", "value", "base",
              "language", "rel", "term", "x", "", 1, None]  # fmt: skip


def _read_everything(mapping: dict) -> list:
    """Every way feedparser reads its dicts, for every key: value or exception type, warnings."""
    observed = []
    for key in _DICT_KEYS:
        for read in (lambda: mapping[key], lambda: mapping.get(key), lambda: mapping.get(key, 7),
                     lambda: key in mapping, lambda: getattr(mapping, str(key))):  # fmt: skip
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    value = read()
                except Exception as exc:  # noqa: BLE001 - the exception is the observation
                    value = type(exc)
            shown = f"method {value.__name__}" if callable(value) else repr(value)  # d.items
            observed.append((key, shown, [str(w.message) for w in caught]))
    return observed


@pytest.mark.parametrize("seed", SEEDS)
def test_feedparser_dict_reads_equal_feedparsers_own(seed):
    feed._speed_up_feedparser_dict_reads()
    pristine = _pristine_feedparser_dict()
    rng = random.Random(seed)
    links = [{"rel": rng.choice(["enclosure", "license", "alternate"]), "href": "h"}]
    values = {"tags": [{"term": "t"}], "links": links, "tags_empty": [], "description": "d"}
    for _ in range(20):
        keys = rng.sample([*_DICT_KEYS[:-3], *values], rng.randint(0, 12))
        items = [(key, values.get(key, f"v-{key}")) for key in keys]
        if rng.random() < 0.2:
            items.append(("tags", []))
        assert _read_everything(feedparser.FeedParserDict(items)) == _read_everything(
            pristine(items)
        ), items


def _write_everything(mapping: dict, rng: random.Random) -> list:
    """Every way feedparser stores into its dicts, for random keys: the stored items after each
    write, or the exception type."""
    observed = []
    for key in rng.sample([*_DICT_KEYS, ("t",)], len(_DICT_KEYS) + 1) + [[]]:
        writes = (
            lambda: mapping.__setitem__(key, f"v-{key}"),
            lambda: mapping.setdefault(key, []),
            lambda: mapping.setdefault(key, "d"),
        )
        for write in writes:
            try:
                write()
                observed.append(list(dict.items(mapping)))
            except Exception as exc:  # noqa: BLE001 - the exception is the observation
                observed.append(type(exc))
    return observed


@pytest.mark.parametrize("seed", range(10))
def test_feedparser_dict_writes_equal_feedparsers_own(seed):
    feed._speed_up_feedparser_dict_reads()
    feed._speed_up_feedparser_dict_writes()
    fast = _write_everything(feedparser.FeedParserDict(), random.Random(seed))
    plain = _write_everything(_pristine_feedparser_dict()(), random.Random(seed))
    assert fast == plain


def _nested(dict_class: type, rng: random.Random) -> dict:
    """A FeedParserDict tree like feedparser's (shared parts, a cycle, keys with aliases)."""
    shared = dict_class(type="text/html", value="<p>å</p>")
    root = dict_class(language=None, base="https://x.se/", guid="g")  # "guid" stored as "id"
    root["links"] = [dict_class(rel="alternate", href="h"), shared]
    root["summary_detail"] = shared
    root["tags"] = [dict_class(term=rng.choice(["a", "ä"]))] * rng.randint(0, 2)
    root["self"] = root
    root["atomic"] = dict_class(n=1, f=0.5, yes=True, none=None, empty="", text="å")
    root["not atomic"] = dict_class(sub=_Text("subclass"), bytes=bytearray(b"b"), shared=shared)
    root[("tuple", "key")] = [shared]
    if rng.random() < 0.5:
        root.note = ["attribute", shared]
    return root


class _Text(str):
    """A str subclass: deep-copied by copy.deepcopy's generic path, not handed back."""


def _shape(value: object, seen: dict[int, int]) -> object:
    """The structure of a copy: types, contents, attributes, which parts are shared (by order)."""
    if id(value) in seen:
        return ("same as", seen[id(value)])
    seen[id(value)] = len(seen)
    if isinstance(value, dict):
        items = [(key, _shape(item, seen)) for key, item in value.items()]
        attributes = getattr(value, "__dict__", None)
        attributes = _shape(attributes, seen) if attributes else None
        return (type(value).__name__, items, attributes)
    if isinstance(value, list):
        return ("list", [_shape(item, seen) for item in value])
    return (type(value).__name__, value)


def test_the_types_copied_as_they_are_are_atomic_for_deepcopy():
    for kind in feed._COPIED_AS_THEY_ARE:
        assert copy._deepcopy_dispatch[kind] is copy._deepcopy_atomic


@pytest.mark.parametrize("seed", range(10))
def test_feedparser_dict_deep_copies_equal_copys_generic_ones(seed):
    feed._speed_up_feedparser_dict_copies()
    original = _nested(feedparser.FeedParserDict, random.Random(seed))
    duplicate = copy.deepcopy(original)
    expected = copy.deepcopy(_nested(_pristine_feedparser_dict(), random.Random(seed)))
    assert _shape(duplicate, {}) == _shape(expected, {})
    assert duplicate is not original and duplicate["links"] is not original["links"]


_URI_PIECES = ["https:", "http", "://", "/", "//", ":", "x.se", "å", "a", "?q=1", "#f", "..", " ",
               "[", "]", "javascript:", "mailto:", "&amp;", "\t"]  # fmt: skip


@pytest.mark.parametrize("seed", SEEDS)
def test_feedparsers_urljoin_without_a_base_is_unchanged(seed):
    feed._speed_up_feedparser_urljoin_without_base()
    rng = random.Random(seed)
    for _ in range(200):
        uri = "".join(rng.choice(_URI_PIECES) for _ in range(rng.randint(0, 8)))
        base = rng.choice(["", "", "https://b.se/dir/page", "http://[bad"])
        assert feedparser.mixin._urljoin(base, uri) == feedparser.urls._urljoin(base, uri), uri


# --------------------------------------------------------------------------- URLs

_URL_PIECES = ["https://", "http://", "HTTP://", "ftp://", "mailto:", "x.se", "EX.SE", "[::1]",
               "[bad", ":8080", "user@", "å", "/", "/", "//", ".", "..", "./", "../", ";", ";p",
               "?", "?q=1", "&", "#", "#f", " ", "\t", "\n", "\x00", "\x7f", "\u2028", "%2e", "a",
               "b.html", ":", "\\"]  # fmt: skip
_BASES = ["https://bibliotek.se/", "https://b.se/dir/page.html?x=1#f", "http://b.se", "",
          "https://b.se/a;p", "ftp://f.se/x/", "mailto:a@b.se", "/relative/base", "http://[bad",
          "https://ex.se:8080/å/", "HTTPS://UP.SE/Dir/", "https://", "//b.se/p"]  # fmt: skip


def _outcome(action, *args):
    try:
        return action(*args)
    except ValueError as exc:
        return type(exc)


def _random_url(rng: random.Random) -> str:
    pieces = rng.choices(_URL_PIECES, k=rng.randint(0, 8))
    if rng.random() < 0.5:  # the shapes the fast paths take, varied
        pieces.insert(0, rng.choice(["https://x.se", "http://x.se", "/"]))
    return "".join(pieces)


@pytest.mark.parametrize("seed", SEEDS)
def test_join_url_equals_urljoin(seed):
    rng = random.Random(seed)
    for _ in range(300):
        base, url = rng.choice(_BASES), _random_url(rng)
        assert _outcome(text.join_url, base, url) == _outcome(urljoin, base, url), (base, url)


def _joined_then_scheme(base, url):
    absolute = text.join_url(base, url) if base else url
    return absolute, text.url_scheme(absolute)


@pytest.mark.parametrize("seed", SEEDS)
def test_joined_url_and_scheme_equal_join_url_then_url_scheme(seed):
    rng = random.Random(seed)
    for _ in range(300):
        base, url = rng.choice([*_BASES, None]), _random_url(rng)
        expected = _outcome(_joined_then_scheme, base, url)
        assert _outcome(text.joined_url_and_scheme, base, url) == expected, (base, url)


@pytest.mark.parametrize("seed", SEEDS)
def test_url_scheme_equals_urlsplits(seed):
    rng = random.Random(seed)
    for _ in range(300):
        url = _random_url(rng)
        plain = _outcome(lambda: urlsplit(url).scheme.lower())
        assert _outcome(text.url_scheme, url) == plain, url


# --------------------------------------------------------------------------- expat's text runs

_TEXT_PIECES = ["a", "å", " ", "  ", "\n", "\t", "&amp;", "&lt;", "&gt;", "&#229;", "&#x1F600;",
                "&quot;", "&lt;p&gt;", "&lt;/div&gt;", "<![CDATA[<b>x</b> & ]]>", "<![CDATA[]]>",
                "<!-- c -->", "\r\n"]  # fmt: skip
_XHTML_PIECES = [*_TEXT_PIECES[:11], "<div>", "</div>", "<div class='x'>", "<p>", "</p>", "<br/>",
                 "<b>", "</b>"]  # fmt: skip


def _random_run(rng: random.Random, pieces: list[str]) -> str:
    return "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))


def _random_xhtml(rng: random.Random) -> str:
    """Well-formed XHTML: random text and balanced elements, sometimes wrapped in a <div>."""
    def block(depth: int) -> str:
        parts = []
        for _ in range(rng.randint(0, 4)):
            if depth < 3 and rng.random() < 0.4:
                tag = rng.choice(["div", "p", "b", "span"])
                parts.append(f"<{tag}>{block(depth + 1)}</{tag}>")
            else:
                parts.append(_random_run(rng, _TEXT_PIECES[:11]))
        return "".join(parts)

    inner = block(0)
    space = lambda: rng.choice(["", " ", "\n  ", "&#32;", "x"])  # noqa: E731
    if rng.random() < 0.6:
        inner = f"{space()}<div xmlns='http://www.w3.org/1999/xhtml'>{inner}</div>{space()}"
    return inner


def _random_atom_content(rng: random.Random) -> str:
    kind = rng.choice(["xhtml", "xhtml", "html", "text", "application/octet-stream", "image/png"])
    if kind == "xhtml":
        return f"<content type='xhtml'>{_random_xhtml(rng)}</content>"
    value = _random_run(rng, _TEXT_PIECES) if rng.random() < 0.5 else "PGI+aGVqPC9iPg=="
    return f"<content type='{kind}'>{value}</content>"


def _random_feed(rng: random.Random) -> bytes:
    run = lambda: _random_run(rng, _TEXT_PIECES)  # noqa: E731
    if rng.random() < 0.5:
        items = "".join(
            f"<item><title>{run()}</title><link>https://x.se/{i}?a=1&amp;b=2</link>"
            f"<description>{run()}</description><content:encoded>{run()}</content:encoded>"
            f"<itunes:block>{run()}</itunes:block><category>{run()}</category>"
            f"<pubDate>Mon, 23 Nov 2026 00:00:00 +0000</pubDate></item>"
            for i in range(3)
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">'
            f"<channel><title>{run()}</title><description>{run()}</description>{items}"
            "</channel></rss>"
        ).encode()
    entries = "".join(
        f"<entry><title type='{rng.choice(['text', 'html', 'xhtml'])}'>"
        f"{_random_xhtml(rng) if rng.random() < 0.3 else run()}</title>"
        f"<summary type='html'>{run()}</summary>"
        f"{_random_atom_content(rng)}<id>{run()}</id></entry>"
        for _ in range(3)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{run()}</title><subtitle type='xhtml'>{_random_xhtml(rng)}</subtitle>{entries}"
        "</feed>"
    ).encode()


def _feedparser_result(data: bytes) -> tuple:
    parsed = feedparser.parse(io.BytesIO(data), sanitize_html=False, resolve_relative_uris=False)
    return (parsed.bozo, parsed.version, parsed.feed, parsed.entries)


def test_expat_reports_a_run_of_text_in_one_piece(monkeypatch):
    feed._speed_up_feedparser_character_data()
    # Text through feedparser's characters(), not the handler that stands in for it.
    monkeypatch.setattr(feed, "_hand_element_events_over", lambda parser: None)
    runs = []
    characters = feedparser.api.StrictFeedParser.characters
    monkeypatch.setattr(feedparser.api.StrictFeedParser, "characters",
                        lambda self, text: runs.append(text) or characters(self, text))  # fmt: skip
    _feedparser_result(
        b"<rss version='2.0'><channel><title>a &amp; b\nc &#229;</title></channel></rss>"
    )
    assert runs == ["a & b\nc å"], "the speed-up no longer applies"


def _random_feeds_parsed(seed: int) -> tuple[list[bytes], list]:
    """Ten random feeds of the seed and feedparser's results on them as it now runs."""
    rng = random.Random(seed)
    bodies = [_random_feed(rng) for _ in range(10)]
    return bodies, [_feedparser_result(body) for body in bodies]


@pytest.mark.parametrize("seed", SEEDS)
def test_feedparser_results_with_text_in_one_piece_equal_those_with_pieces(seed, monkeypatch):
    feed._speed_up_feedparser_character_data()
    bodies, fast = _random_feeds_parsed(seed)
    monkeypatch.setattr(feedparser.api.StrictFeedParser, "startDocument",
                        xml.sax.handler.ContentHandler.startDocument)  # fmt: skip
    plain = [_feedparser_result(body) for body in bodies]
    assert [result[0] for result in plain].count(0) >= 5  # mostly parsed by the strict parser
    for body, fast_result, plain_result in zip(bodies, fast, plain):
        assert fast_result == plain_result, body


# --------------------------------------------------------------------------- dates

_DAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "mon", "Son", "Thursday"]
_MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                "Dec", "nov", "Sept", "Okt", "Maj"]  # fmt: skip
_ZONES = ["+0000", "-0000", "+0100", "-0500", "+0530", "+1400", "-1200", "+2959", "-9999",
          "GMT", "gmt", "UT", "Z", "EST", "+01:00", "", "+01"]  # fmt: skip


def _random_rfc822_date(rng: random.Random) -> str:
    year = rng.choice(["2026", "1999", "0001", "9999", "1899", "2089", "0000", "26", "99"])
    def number(usual: int, possible: int) -> str:  # mostly valid, sometimes out of range
        return f"{rng.randint(0, possible if rng.random() < 0.2 else usual):02d}"

    date = (
        f"{rng.choice(_DAY_NAMES)}, {number(28, 39)} {rng.choice(_MONTH_NAMES)} {year} "
        f"{number(23, 29)}:{number(59, 69)}:{number(59, 69)} {rng.choice(_ZONES)}"
    )
    if rng.random() < 0.1:
        date = rng.choice([" ", "  ", ", ", "1", ":00"]).join(date.split(" ", rng.randint(1, 5)))
    return date


@pytest.mark.parametrize("seed", SEEDS)
def test_plain_rfc822_dates_read_as_feedparsers_chain_reads_them(seed, monkeypatch):
    feed._speed_up_feedparser_rfc822_dates()
    handlers = feedparser.datetimes._date_handlers
    assert handlers[0] is feed._plain_rfc822_date, "the speed-up no longer applies"
    rng = random.Random(seed)
    dates = [_random_rfc822_date(rng) for _ in range(300)]
    fast = [feedparser.datetimes._parse_date(date) for date in dates]
    monkeypatch.setattr(feedparser.datetimes, "_date_handlers", handlers[1:])
    plain = [feedparser.datetimes._parse_date(date) for date in dates]
    for date, fast_result, plain_result in zip(dates, fast, plain):
        assert fast_result == plain_result, date
    read_here = [date for date in dates if feed._plain_rfc822_date(date)]
    assert len(read_here) > 30, "the test no longer exercises the fast path"


# --------------------------------------------------------------------------- HTML to text

_INLINE_NAMES = text._INLINE_TAG_NAMES.split("|")
_HTML_TEXT_PIECES = ["a", "å", "Läs mer", " ", "  ", "\n", "\t", "\x0c", "\x0b", "\xa0", "\r",
                     "\x00", ">", "<", "< b", "<3", "&amp;", "&lt;", "&gt;", "&quot;", "&apos;",
                     "&nbsp;", "&amp;amp;", "&", "&copy", "&copy;", "&#1;", "&#229;", "&#x80;",
                     "AT&T", "&bogus;", "=", '"', "'", "/", "😀", "\u2028"]  # fmt: skip
_OTHER_MARKUP = ["<p>", "</p>", "<br>", "<br/>", "<img src='x'></img>", "<script>x</script>",
                 "<style>p{}</style>", "<table>", "<td>", "<!-- c -->", "<![CDATA[x]]>", "<?x?>",
                 "<textarea>", "<title>", "<svg>", "<math>", "<image>", "<div>", "</div>",
                 "<select>", "<option>", "<li>", "<h1>", "<pre>", "<plaintext>", "<a",
                 "</a"]  # fmt: skip
_ATTRIBUTES = [' href="/mer/0"', " href='x'", " href=x", ' title="a>b"', " title='<b>'",
               ' data-x="1"', " disabled", ' HREF = "x"', "\thref=\"x\"", "\nid=x", " x:y=z",
               ' a="&amp;"', " a=x'y", ' a="x"b="y"', " /", "\x0bhref=x"]  # fmt: skip


def _random_inline_tag(rng: random.Random) -> str:
    name = rng.choice(_INLINE_NAMES)
    name = name.upper() if rng.random() < 0.1 else name
    if rng.random() < 0.4:
        return f"</{name}{rng.choice(['', ' ', '  ', chr(9), ' x'])}>"
    attributes = "".join(rng.choice(_ATTRIBUTES) for _ in range(rng.randint(0, 2)))
    return f"<{name}{attributes}{rng.choice(['', ' ', '/', ' /'])}>"


def _random_fragment(rng: random.Random) -> str:
    pieces = []
    for _ in range(rng.randint(0, 25)):
        roll = rng.random()
        if roll < 0.35:
            pieces.append(_random_inline_tag(rng))
        elif roll < 0.37:
            pieces.append(rng.choice(_OTHER_MARKUP))
        else:
            pieces.append(rng.choice(_HTML_TEXT_PIECES[:10] if roll < 0.95 else _HTML_TEXT_PIECES))
    return "".join(pieces)


@pytest.mark.parametrize("seed", SEEDS)
def test_inline_tags_are_stripped_as_nh3_strips_them(seed):
    rng = random.Random(seed)
    fast_ones = 0
    for _ in range(300):
        fragment = _random_fragment(rng)
        plain = html.unescape(text._strip_all_tags(fragment))
        fast = text._without_inline_tags(fragment)
        if fast is not None:
            fast_ones += 1
            assert html.unescape(fast) == plain, repr(fragment)
        marked = text._CELL_TAG.sub(" ", text._BLOCK_TAG.sub("\n", fragment))
        expected = text.tidy_lines(html.unescape(text._strip_all_tags(marked)))
        if text._MARKUP.search(fragment):
            assert text.html_to_text(fragment) == expected, repr(fragment)
    assert fast_ones > 60, "the test no longer exercises the fast path"


def test_inline_tags_stripped_from_a_summary_as_feeds_send_it():
    summary = (
        '<p>Läs om <b>bibliotek</b> &amp; <em class="x">unga</em> <a href="/mer/0">Läs mer</a></p>'
    )
    assert text._without_inline_tags(summary.replace("<p>", "").replace("</p>", "")) is not None
    marked = text._CELL_TAG.sub(" ", text._BLOCK_TAG.sub("\n", summary))
    plain = text.tidy_lines(html.unescape(text._strip_all_tags(marked)))
    assert text.html_to_text(summary) == plain == "Läs om bibliotek & unga Läs mer"


# Every character str.split() takes as whitespace, and printable and unprintable others.
_WHITESPACE = "".join(c for c in map(chr, range(0x110000)) if c.isspace())
_SPACING_ALPHABET = _WHITESPACE + "  ab å\u00ad\u200b\x00\x7f😀"


@pytest.mark.parametrize("seed", SEEDS)
def test_spaces_collapse_as_split_and_join_collapse_them(seed):
    rng = random.Random(seed)
    for _ in range(300):
        value = _random_text(rng, _SPACING_ALPHABET if rng.random() < 0.5 else "ab å  ", 30)
        assert text._collapse_spaces(value) == " ".join(value.split()), repr(value)
    assert len(_WHITESPACE) > 20 and not any(c.isprintable() for c in _WHITESPACE if c != " ")


def test_every_latin_1_whitespace_character_but_the_space_is_looked_for():
    for character in map(chr, range(256)):
        if character != " ":
            expected = not character.isspace()
            assert text._no_whitespace_but_spaces(f"a{character}b") is expected, repr(character)
            if len(f"a{character}b".splitlines()) == 1:  # not a line break
                in_line = text._no_whitespace_but_spaces(f"a{character}b", is_line=True)
                assert in_line is expected, repr(character)
    assert text._no_whitespace_but_spaces("a b å")


@pytest.mark.parametrize("seed", SEEDS)
def test_tidy_lines_equals_splitting_and_joining_every_line(seed):
    rng = random.Random(seed)
    for _ in range(300):
        value = _random_text(rng, _SPACING_ALPHABET if rng.random() < 0.5 else "ab å \n\t\xa0", 30)
        lines = (" ".join(line.split()) for line in text._drop_invisible(value).splitlines())
        assert text.tidy_lines(value) == text._nfc("\n".join(filter(None, lines))), repr(value)


# ----------------------------------------------------------------------- the body feedparser gets

_DECLARATIONS = ['<?xml version="1.0" encoding="utf-8"?>', "<?xml version='1.0' encoding='UTF-8'?>",
                 '<?xml version="1.0" encoding="iso-8859-1"?>', '<?xml version="1.0"?>', "",
                 '\n\n<?xml version="1.0" encoding="utf-8"?>', " "]  # fmt: skip
_BODY_TEXTS = ["Källa", "plain", "&amp; &lt;p&gt;", "&nbsp;&ouml;", "&bogus;", "€ – ”", "😀"]


def _random_body(rng: random.Random) -> bytes:
    document = (
        f"{rng.choice(_DECLARATIONS)}<rss version='2.0'><channel><title>"
        f"{''.join(rng.choices(_BODY_TEXTS, k=rng.randint(0, 4)))}</title></channel></rss>"
    )
    encoding = rng.choice(["utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16"])
    return document.encode(encoding, "xmlcharrefreplace")


@pytest.mark.parametrize("seed", range(10))
def test_feedparser_gets_the_body_as_it_came_only_when_nothing_changes_it(seed, monkeypatch):
    handed_over = []
    parse = feedparser.parse
    monkeypatch.setattr(feedparser, "parse",
                        lambda stream, **options: handed_over.append(stream.getvalue())
                        or parse(io.BytesIO(stream.getvalue()), **options))  # fmt: skip
    rng = random.Random(seed)
    passed_as_it_came = 0
    for _ in range(50):
        body = _random_body(rng)
        for content_type in ("application/rss+xml", "application/xml; charset=iso-8859-1"):
            headers = {"content-type": content_type}
            handed_over.clear()
            feed.parse_feed(body, headers, "https://x.se/feed", NOW)
            decoded = text.decode_body(body, headers).text.lstrip()
            prepared = feed._XML_DECLARATION.sub(r"\1\2utf-8\2", decoded, count=1)
            expected = feed._HTML_ENTITY.sub(feed._numeric_entity, prepared).encode("utf-8")
            assert handed_over == [expected], body
            passed_as_it_came += handed_over[0] is body
    assert passed_as_it_came > 10, "the test no longer exercises the fast path"


# ------------------------------------------------------------------------ feedparser's HTML guess

_GUESS_PIECES = ["a", "å", " ", "<", ">", "/", "&", ";", "#", "x", "1", "</b>", "</p>", "<b>",
                 "&amp;", "&#229;", "&bogus;", "</blink>", "<script>", "</script>",
                 "\n"]  # fmt: skip


@pytest.mark.parametrize("seed", SEEDS)
def test_feedparsers_html_guess_is_unchanged(seed):
    feed._speed_up_feedparser_html_guess()
    path = feedparser.mixin.__file__
    spec = importlib.util.spec_from_file_location("feedparser._pristine_mixin", path)
    pristine = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pristine)
    rng = random.Random(seed)
    for _ in range(300):
        value = "".join(rng.choice(_GUESS_PIECES) for _ in range(rng.randint(0, 10)))
        plain = pristine._FeedParserMixin.looks_like_html(value)
        assert feedparser.mixin._FeedParserMixin.looks_like_html(value) == plain, repr(value)


# ------------------------------------------------------------------ feedparser's content parameters


def _feedparser_sources() -> str:
    folder = pathlib.Path(feedparser.__file__).parent
    return "\n".join(path.read_text() for path in sorted(folder.rglob("*.py")))


def test_feedparser_uses_its_content_parameters_only_with_keys_without_an_alias():
    source = _feedparser_sources()
    keys = set(re.findall(r"contentparams(?:\['(\w+)'\]|\.get\('(\w+)')", source))
    keys = {key for pair in keys for key in pair if key}
    assert {"type", "base64", "mode"} <= keys
    assert not keys & (set(feedparser.FeedParserDict.keymap) | feed.FEEDPARSER_SPECIAL_KEYS)
    assert set(re.findall(r"contentparams\.(\w+)", source)) == {"get", "clear"}
    assert not re.search(r"in self\.contentparams|contentparams\[[^']", source)
    # Deleting a missing key does not raise: right while every delete ignores a KeyError.
    deletes = re.findall(r"del [\w.]*contentparams", source)
    ignored = re.findall(
        r"try:\n\s+del self\.contentparams\['\w+'\]\n\s+except KeyError:\n\s+pass\n", source
    )
    assert len(deletes) == len(ignored) == 2


def test_feedparser_mixin_uses_copy_only_to_deep_copy_the_content_parameters():
    source = pathlib.Path(feedparser.mixin.__file__).read_text()
    uses = re.findall(r"\bcopy\.\w+\(.*", source)
    assert uses and set(uses) == {"copy.deepcopy(self.contentparams)"}
    feed._speed_up_feedparser()
    assert feedparser.mixin.copy is feed._CopyForFeedparser, "the speed-up no longer applies"


class _KeyToCopy:
    """A key whose deep copy is told apart from it."""

    def __init__(self, name: str):
        self.name = name

    def __deepcopy__(self, memo):
        return _KeyToCopy(self.name + " (copy)")

    def __eq__(self, other):
        return isinstance(other, _KeyToCopy) and other.name == self.name

    def __hash__(self):
        return hash(self.name)


def _as_pristine(parameters: dict) -> dict:
    """The same items and attributes in a FeedParserDict as feedparser ships it."""
    pristine = _pristine_feedparser_dict()(parameters)
    pristine.__dict__.update(parameters.__dict__)
    return pristine


@pytest.mark.parametrize("seed", range(10))
def test_content_parameters_copy_as_copy_deepcopy_copies_feedparsers_dicts(seed):
    feed._speed_up_feedparser()
    rng = random.Random(seed)
    parameters = feed._ContentParameters(_nested(feedparser.FeedParserDict, rng))
    flat = feed._ContentParameters(type="text/html", language=rng.choice([None, "sv"]), base="")
    flat["base64"], flat["src"] = rng.choice([0, 1, False]), rng.choice(["x", "", None, 1.5])
    with_attribute = feed._ContentParameters(flat)
    with_attribute.note = ["attribute"]
    with_key_to_copy = feed._ContentParameters({_KeyToCopy("k"): "v", "type": "text/plain"})
    for value in (parameters, flat, with_attribute, with_key_to_copy, feed._ContentParameters()):
        expected = _shape(copy.deepcopy(_as_pristine(value)), {})
        assert _shape(feed._CopyForFeedparser.deepcopy(value), {}) == expected
        assert _shape(copy.deepcopy(value), {}) == expected
    for value in (parameters["links"], "text", None):
        duplicate = feed._CopyForFeedparser.deepcopy(value)
        assert _shape(duplicate, {}) == _shape(copy.deepcopy(value), {})


def _types(value: object) -> object:
    if isinstance(value, dict):
        return (type(value).__name__, {key: _types(item) for key, item in value.items()})
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_types(item) for item in value])
    return type(value).__name__


@pytest.mark.parametrize("seed", SEEDS)
def test_feedparser_results_with_dict_content_parameters_equal_its_own(seed, monkeypatch):
    feed._speed_up_feedparser()
    bodies, fast = _random_feeds_parsed(seed)
    path = feedparser.mixin.__file__
    spec = importlib.util.spec_from_file_location("feedparser._pristine_mixin", path)
    pristine = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(pristine)
    monkeypatch.setattr(feedparser.mixin._FeedParserMixin, "push_content",
                        pristine._FeedParserMixin.push_content)  # fmt: skip
    plain = [_feedparser_result(body) for body in bodies]
    for body, fast_result, plain_result in zip(bodies, fast, plain):
        assert fast_result == plain_result, body
        assert _types(fast_result) == _types(plain_result), body


# --------------------------------------------------------------------------- NFC

_LATIN_1 = "".join(map(chr, range(256)))


def test_latin_1_text_is_nfc():
    for first in _LATIN_1:
        pair = [first + second for second in _LATIN_1]
        assert all(unicodedata.is_normalized("NFC", value) for value in pair), repr(first)


_NFC_ALPHABET = "aeoAå ä\n" + "\u0301\u0308\u030a" + "–😀Å\u212bﬁ" + "\u1100\u1161"  # marks, Å sign


@pytest.mark.parametrize("seed", SEEDS)
def test_nfc_equals_unicodedatas(seed):
    rng = random.Random(seed)
    for _ in range(300):
        value = _random_text(rng, _NFC_ALPHABET if rng.random() < 0.5 else _LATIN_1, 20)
        assert text._nfc(value) == unicodedata.normalize("NFC", value), repr(value)


# ------------------------------------------------------------------------- feedparser's SAX driver


def test_feedparser_gets_the_same_sax_parser_without_drivers_that_are_not_installed():
    preferred = feedparser.api.PREFERRED_XML_PARSERS
    original = [*preferred, "drv_libxml2"] if "drv_libxml2" not in preferred else [*preferred]
    feed._speed_up_feedparser()
    assert feedparser.api.PREFERRED_XML_PARSERS is preferred  # changed in place
    assert all(importlib.util.find_spec(name) for name in preferred)
    chosen = type(xml.sax.make_parser(preferred))
    assert chosen is type(xml.sax.make_parser(original)) is xml.sax.expatreader.ExpatParser
