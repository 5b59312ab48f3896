"""feedparser's per-element methods replaced by faster copies (feed._speed_up_feedparser_*),
pinned against feedparser's own methods on every feed the tests have and random ones; and the
entries built without their dataclass __init__.

Each test parses the same bodies twice, with the fast method and with feedparser's own (from a
fresh copy of its module, untouched by the speed-ups), and compares everything feedparser
returns. A new feedparser release that changes one of them fails here.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import pathlib
import random
import re
from datetime import datetime, timezone
from types import ModuleType

import feedparser
import feedparser.mixin
import pytest

from scanner import models
from scanner.parse import entry as entry_module
from scanner.parse import feed

ROOT = pathlib.Path(__file__).resolve().parents[2]
FEED_SUFFIXES = {".xml", ".rss", ".atom"}
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)


def _stored_feeds() -> list[bytes]:
    folders = [ROOT / "tests" / "data", ROOT / "scanner" / "demo_data" / "feeds"]
    paths = sorted(p for folder in folders for p in folder.rglob("*") if p.suffix in FEED_SUFFIXES)
    return [path.read_bytes() for path in paths]


def _pristine_mixin() -> ModuleType:
    spec = importlib.util.spec_from_file_location("feedparser._pristine_mixin_handlers",
                                                  feedparser.mixin.__file__)  # fmt: skip
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Text as feeds send it, and what the fast paths look for: C1 characters (raw and as character
# references), UTF-8 read as Latin-1 ("Ã¥"), characters past U+00FF, escaped and real markup.
_TEXT_PIECES = ["a", "å", "Läs mer", " ", "\n", "\x85", "\x96", "\x81", "\x9f", "Ã¥", "Ã¤", "â€“",
                "–", "”", "😀", "€", "&amp;", "&lt;p&gt;", "&lt;/p&gt;", "&#150;", "&#x80;",
                "&#229;", "&#195;&#165;", "&quot;", "<![CDATA[<b>x</b> & ]]>", "?a=1&amp;b=2",
                "&amp;c;", "Ç\x80"]  # fmt: skip
_XHTML = ["<div xmlns='http://www.w3.org/1999/xhtml'>x<b>y</b></div>", "<p>a</p><p>b</p>",
          " <div xmlns='http://www.w3.org/1999/xhtml'><div>x</div></div> ", "x<br/>y"]  # fmt: skip
_BREAKAGE = ["", "", "", "", "<br>", "&nbsp;", "<p>", "&bogus;", "</title>"]


def _run(rng: random.Random) -> str:
    return "".join(rng.choice(_TEXT_PIECES) for _ in range(rng.randint(0, 10)))


def _rss(rng: random.Random) -> str:
    items = "".join(
        f"<item><title>{_run(rng)}</title><link>https://x.se/{i}?a=1&amp;b=2{_run(rng)}</link>"
        f"<guid isPermaLink='{rng.choice(['true', 'false'])}'>{_run(rng)}</guid>"
        f"<description>{_run(rng)}{rng.choice(_BREAKAGE)}</description>"
        f"<content:encoded>{_run(rng)}</content:encoded><dc:creator>{_run(rng)}</dc:creator>"
        f"<category>{_run(rng)}</category><pubDate>Mon, 23 Nov 2026 00:00:00 +0000</pubDate>"
        f"<enclosure url='https://x.se/a.mp3' type='audio/mpeg' length='1'/>"
        f"<atom:link rel='related' href='https://x.se/r'/><x:unknown a='1'>{_run(rng)}</x:unknown>"
        f"<media:content url='https://x.se/i.jpg' medium='image'/>"
        f"<image><url>https://x.se/i.png</url></image></item>"
        for i in range(rng.randint(0, 4))
    )
    return (
        "<rss version='2.0' xmlns:content='http://purl.org/rss/1.0/modules/content/' "
        "xmlns:dc='http://purl.org/dc/elements/1.1/' xmlns:atom='http://www.w3.org/2005/Atom' "
        "xmlns:x='urn:x' xmlns:media='http://search.yahoo.com/mrss/'>"
        f"<channel><title>{_run(rng)}</title><link>https://x.se/?a&amp;b</link>"
        f"<language>{rng.choice(['sv', 'sv_SE', 'en', ''])}</language>"
        f"<description>{_run(rng)}</description><image><url>https://x.se/l.png</url>"
        f"<title>{_run(rng)}</title><link>https://x.se/</link></image>{items}</channel></rss>"
    )


def _atom(rng: random.Random) -> str:
    def text_construct(name: str) -> str:
        kind = rng.choice(["text", "html", "xhtml", "xhtml"])
        body = rng.choice(_XHTML) if kind == "xhtml" else _run(rng)
        return f"<{name} type='{kind}'>{body}</{name}>"

    entries = "".join(
        f"<entry xml:lang='{rng.choice(['sv', 'en', ''])}'>{text_construct('title')}"
        f"<link href='/n/{i}'/><link rel='enclosure' href='a.mp3'/><id>{_run(rng)}</id>"
        f"<updated>2026-11-23T10:00:00+01:00</updated><author><name>{_run(rng)}</name>"
        f"<email>a@x.se</email></author>{text_construct('summary')}{text_construct('content')}"
        f"<category term='{rng.choice(['a', 'ä'])}'/>{rng.choice(_BREAKAGE)}</entry>"
        for i in range(rng.randint(0, 4))
    )
    return (
        "<feed xmlns='http://www.w3.org/2005/Atom' xml:base='https://x.se/b/'>"
        f"{text_construct('title')}{text_construct('subtitle')}<link href='https://x.se/'/>"
        f"{entries}</feed>"
    )


def _random_feeds(seed: int, count: int = 10) -> list[bytes]:
    rng = random.Random(seed)
    declaration = '<?xml version="1.0" encoding="utf-8"?>'
    return [(declaration + rng.choice([_rss, _atom])(rng)).encode() for _ in range(count)]


def _result(body: bytes) -> tuple:
    parsed = feedparser.parse(io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False)
    exception = parsed.get("bozo_exception")
    return (parsed.bozo, repr(exception), parsed.version, parsed.feed, parsed.entries,
            parsed.namespaces)  # fmt: skip


def _compare_with(monkeypatch, bodies: list[bytes], attribute: str, pristine: object) -> None:
    """Results with the fast method equal those with feedparser's own in its place."""
    feed._speed_up_feedparser()
    fast = [_result(body) for body in bodies]
    monkeypatch.setattr(feedparser.mixin._FeedParserMixin, attribute, pristine)
    plain = [_result(body) for body in bodies]
    for body, fast_result, plain_result in zip(bodies, fast, plain):
        assert fast_result == plain_result, body[:300]
    assert any(result[0] for result in plain) and not all(result[0] for result in plain)


def test_pop_equals_feedparsers_on_stored_feeds(monkeypatch):
    feed._speed_up_feedparser()
    assert feedparser.mixin._FeedParserMixin.pop is feed._pop, "the speed-up no longer applies"
    bodies = _stored_feeds() + _random_feeds(-1)
    assert len(bodies) > 20
    _compare_with(monkeypatch, bodies, "pop", _pristine_mixin()._FeedParserMixin.pop)


@pytest.mark.parametrize("seed", range(30))
def test_pop_equals_feedparsers_on_random_feeds(seed, monkeypatch):
    bodies = _random_feeds(seed)
    _compare_with(monkeypatch, bodies, "pop", _pristine_mixin()._FeedParserMixin.pop)


_C1_ALPHABET = "aå \x7f\x80\x81\x9f\xa0\xff–😀\u0100"


@pytest.mark.parametrize("seed", range(10))
def test_c1_check_finds_every_c1_character(seed):
    rng = random.Random(seed)
    for _ in range(500):
        value = "".join(rng.choice(_C1_ALPHABET) for _ in range(rng.randint(0, 8)))
        expected = any("\x80" <= c <= "\x9f" for c in value)
        assert feed._may_hold_c1(value) == expected, repr(value)


# --------------------------------------------------------------------------- expat to feedparser


def _compare_with_sax_wrappers(monkeypatch, bodies: list[bytes]) -> None:
    """Results with element events handed straight over equal those through xml.sax's and
    feedparser's wrappers (and unknown_starttag for elements without attributes)."""
    feed._speed_up_feedparser()
    fast = [_result(body) for body in bodies]
    monkeypatch.setattr(feed, "_hand_element_events_over", lambda parser: None)
    plain = [_result(body) for body in bodies]
    for body, fast_result, plain_result in zip(bodies, fast, plain):
        assert fast_result == plain_result, body[:300]


def test_element_events_reach_feedparser_without_the_sax_wrappers(monkeypatch):
    feed._speed_up_feedparser()
    started = []
    monkeypatch.setattr(feed, "_start_tag_without_attributes",
                        lambda parser, tag: started.append(tag))  # fmt: skip
    _result(b"<rss version='2.0'><channel><title>T</title></channel></rss>")
    assert started == ["channel", "title"], "the speed-up no longer applies"


def test_text_reaches_feedparser_without_its_characters_method(monkeypatch):
    feed._speed_up_feedparser()
    monkeypatch.setattr(feedparser.api.StrictFeedParser, "characters", None)  # not called
    result = _result(b"<rss version='2.0'><channel><title>T &amp; U</title></channel></rss>")
    assert result[3]["title"] == "T & U", "the speed-up no longer applies"


def test_element_events_equal_the_sax_path_on_stored_feeds(monkeypatch):
    _compare_with_sax_wrappers(monkeypatch, _stored_feeds() + _random_feeds(-1))


@pytest.mark.parametrize("seed", range(30))
def test_element_events_equal_the_sax_path_on_random_feeds(seed, monkeypatch):
    _compare_with_sax_wrappers(monkeypatch, _random_feeds(seed))


_ODD_DOCUMENTS = [
    # namespaces feedparser does not know, declared with and without a prefix, reused
    b"<rss version='2.0' xmlns:a='urn:A' xmlns:B='urn:b'><channel><a:X>1</a:X><B:y B:z='2'/>"
    b"<item xmlns='urn:A'><title>t</title></item><item><x xmlns='urn:b'>3</x></item>"
    b"</channel></rss>",
    # the userland namespace, MathML and SVG, xml:base and xml:lang, xlink declarations
    b"<rss version='2.0' xmlns='http://backend.userland.com/rss2' xml:lang='sv_SE'><channel>"
    b"<item xml:base='http://x.se/a/'><link>b</link><description>d</description></item>"
    b"<math xmlns='http://www.w3.org/1998/Math/MathML'><mi>x</mi></math>"
    b"<svg xmlns='http://www.w3.org/2000/svg' xmlns:xlink='http://www.w3.org/1999/xlink'>"
    b"<title>s</title><a xlink:href='#x'/></svg></channel></rss>",
    # Atom with XHTML content holding MathML, SVG and prefixed elements; upper-case names
    b"<feed xmlns='http://www.w3.org/2005/Atom' xmlns:H='http://www.w3.org/1999/xhtml'>"
    b"<entry><TITLE>T</TITLE><content type='xhtml'><H:div><H:P Class='a'>x</H:P>"
    b"<math xmlns='http://www.w3.org/1998/Math/MathML'><mi>y</mi></math>"
    b"<svg xmlns='http://www.w3.org/2000/svg'><circle r='1'/></svg></H:div></content>"
    b"<Link REL='Alternate' HREF='/x' Type='TEXT/HTML'/></entry></feed>",
    # a namespace URI with spaces (xml.sax's pair then has more than two parts)
    b"<rss version='2.0' xmlns:s='urn:a b'><channel><s:x>1</s:x><title s:y='2'>t</title>"
    b"</channel></rss>",
    # one attribute's qualified name is another's name with feedparser's prefix
    b"<rss version='2.0' xmlns:dc='urn:other' xmlns:dc2='http://purl.org/dc/elements/1.1/'>"
    b"<channel><item><y dc:x='1' dc2:x='2' a='3' A='4'/></item></channel></rss>",
    # elements inside an image or a text input that end feedparser's tracking of them
    b"<rss version='2.0'><channel><image><url>u</url><x>y</x><title>i</title><link>l</link>"
    b"</image><textInput><x/><title>t</title><link>k</link><name>n</name></textInput>"
    b"<item><image><x/><url>v</url><link>m</link></image><title>T</title></item>"
    b"</channel></rss>",
    # one element at two depths of an entry, the deeper one first and last
    b"<rss version='2.0'><channel><item><x><comments>inner</comments></x>"
    b"<comments>outer</comments><guid>g</guid></item><item><comments>outer"
    b"</comments><x><comments>inner</comments></x></item></channel></rss>",
    # RSS 1.0 / RDF, an image and a text input
    b"<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' "
    b"xmlns='http://purl.org/rss/1.0/'><channel rdf:about='x'><title>C</title></channel>"
    b"<image><url>u</url><title>i</title></image><textinput><name>n</name></textinput>"
    b"<item rdf:about='y'><title>I</title><link>l</link></item></rdf:RDF>",
]


def test_element_events_equal_the_sax_path_on_odd_documents(monkeypatch):
    _compare_with_sax_wrappers(monkeypatch, _ODD_DOCUMENTS)


def test_pop_equals_feedparsers_on_odd_documents(monkeypatch):
    _compare_with(monkeypatch, _ODD_DOCUMENTS, "pop", _pristine_mixin()._FeedParserMixin.pop)


def test_feedparsers_join_of_two_empty_base_uris_is_empty():
    """_start_tag_without_attributes leaves an empty base as it is, as feedparser's join does."""
    feed._speed_up_feedparser()
    assert feedparser.mixin._urljoin("", "") == ""
    assert _pristine_mixin()._urljoin("", "") == ""


def test_the_detail_value_key_has_no_feedparser_alias():
    """_pop stores "value" in the copied content parameters with dict's own []=."""
    assert "value" not in feedparser.FeedParserDict.keymap
    assert "value" not in feed.FEEDPARSER_SPECIAL_KEYS
    assert feed._FEEDPARSER_KEYMAP is feedparser.FeedParserDict.keymap


# --------------------------------------------------------------------------- entries built


@pytest.mark.parametrize("cls", [entry_module.RawEntry, models.Entry])
def test_entries_built_without_init_equal_those_made_by_it(cls):
    """_raw_entry and build_entry make RawEntry and Entry with models.built, right while they
    are plain frozen dataclasses given every field in order (same __dict__, equal, same hash)."""
    assert not hasattr(cls, "__post_init__") and not hasattr(cls, "__slots__")
    names = [field.name for field in dataclasses.fields(cls)]
    values = {name: f"v-{name}" for name in names}
    made, quick = cls(**values), models.built(cls, **values)
    assert quick == made and hash(quick) == hash(made) and repr(quick) == repr(made)
    assert list(quick.__dict__.items()) == list(made.__dict__.items())
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.title = "x"


def test_raw_entries_and_entries_are_given_every_field_in_order():
    rss = (b"<rss version='2.0'><channel><item><title>T</title><link>https://x.se/a</link>"
           b"<description>D</description><author>a@x.se (A)</author></item></channel></rss>")
    made = []
    original_built = models.built
    def recording_built(cls, **attributes):
        made.append((cls, list(attributes)))
        return original_built(cls, **attributes)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(feed, "built", recording_built)
        patch.setattr(entry_module, "built", recording_built)
        result = feed.parse_feed(rss, {}, "https://x.se/feed", NOW)
    assert result.entries and [cls for cls, _ in made] == [entry_module.RawEntry, models.Entry]
    for cls, names in made:
        assert names == [field.name for field in dataclasses.fields(cls)]


_ROUND_TRIP_ALPHABET = "aZ \x7f\x80\xbf\xc0\xc1\xc2\xc3\xe0\xe4\xe5\xed\xf0\xf4\xf5\xf6\xff–😀\u0100"


def _latin1_utf8_round_trip(value: str) -> str:
    try:
        return value.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return value


@pytest.mark.parametrize("seed", range(10))
def test_text_that_cannot_be_utf8_read_as_latin1_is_left_by_the_round_trip(seed):
    rng = random.Random(seed)
    skipped = 0
    for _ in range(2000):
        value = "".join(rng.choice(_ROUND_TRIP_ALPHABET) for _ in range(rng.randint(0, 6)))
        if rng.random() < 0.2:
            value = "åäö –".encode("utf-8").decode("latin-1") + value
        if not feed._MAY_BE_UTF8_AS_LATIN1.match(value):
            skipped += 1
            assert _latin1_utf8_round_trip(value) == value, repr(value)
    assert skipped > 500


def test_only_pop_uses_feedparsers_depth_map():
    """_pop keys property_depth_map by the entry's id: right while nothing else reads it."""
    folder = pathlib.Path(feedparser.__file__).parent
    uses = [line.strip() for path in sorted(folder.rglob("*.py"))
            for line in path.read_text().splitlines() if "property_depth_map" in line]  # fmt: skip
    assert uses == [
        "self.property_depth_map = {}",
        "old_value_depth = self.property_depth_map.setdefault(self.entries[-1], {}).get(element)",
        "self.property_depth_map[self.entries[-1]][element] = self.depth",
    ]


@pytest.mark.parametrize("seed", range(5))
def test_link_query_entities_go_as_with_feedparsers_substitution(seed):
    rng = random.Random(seed)
    pieces = ["https://x.se/", "?a=1", "&", "amp;", "b;", "&c_1;", "&;", "å", "=", "#"]
    for _ in range(500):
        link = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6)))
        expected = re.sub("&([A-Za-z0-9_]+);", r"&\g<1>", link)
        assert feed._without_query_entities(link) == expected, link
