"""parse_feed: one fetched body (RSS 0.9x/1.0/2.0, Atom, JSON Feed) to a ParseResult.

RSS and Atom go through feedparser, given the bytes (re-encoded to UTF-8 once we know the real
encoding) and the headers, never a URL; its own sanitising and URI resolving are switched off
because text.py does both faster. JSON Feed is read by jsonfeed.py.

Errors for the whole body are values: ParseResult(error_key=..., message=...), keys
"empty_body", "not_a_feed", "malformed_feed". Problems with single entries are warnings.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import copy
import functools
import html.entities
import importlib.util
import io
import re
import time
import xml.parsers.expat
import xml.sax.expatreader
import xml.sax.saxutils
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from urllib.parse import urljoin, urlsplit

import feedparser
import feedparser.api
import feedparser.datetimes
import feedparser.mixin

from scanner.models import ParseResult, built
from scanner.parse.entry import RawEntry, build_entries
from scanner.parse.jsonfeed import parse_json_feed
from scanner.parse.text import (
    DecodedBody,
    clean_line,
    decode_body,
    header_value,
    normalize_language,
    parse_date_utc,
)

DISCOVER_HINT = "use the site's feed URL (find it with `scanner sources discover URL`)"
MESSAGES = {
    "empty_body": "the server sent an empty body; open the URL in a browser to check it, "
    "or wait for the next fetch if the site was being updated",
    "html_page": "the URL returned an HTML page, not a feed; "
    + DISCOVER_HINT
    + ", or set kind: html for a site without a feed",
    "not_feed_xml": "the URL returned XML that is not RSS or Atom; " + DISCOVER_HINT,
    "not_text": "the URL returned something that is neither XML nor JSON; " + DISCOVER_HINT,
    "malformed_feed": "the feed XML is broken and no entries could be read ({detail}); "
    "check it with a feed validator and ask the publisher to fix it",
}
_XML_DECLARATION = re.compile(r"""^(\s*<\?xml[^>]*?encoding\s*=\s*)(["'])[^"']*\2""")
_FEED_ROOT = re.compile(r"<(?:rss|feed|rdf:rdf|channel)[\s>]", re.I)
_HTML_ROOT = re.compile(r"<(?:!doctype\s+html|html)[\s>]", re.I)
_JSON_TYPES = ("application/feed+json", "application/json")
# The five XML entities are left out by the lookahead: escaped HTML is full of them.
_HTML_ENTITY = re.compile(r"&(?!(?:amp|lt|gt|quot|apos);)([A-Za-z][A-Za-z0-9]*);")


def parse_feed(
    body: bytes, headers: Mapping[str, str], base_url: str, fetched_at: datetime
) -> ParseResult:
    """Parse one fetched feed body. `base_url` is the URL the body came from (after redirects);
    `fetched_at` (aware; a naive value is taken as UTC) stands in for missing dates. Never
    raises for bad input."""
    fetched_at = _utc(fetched_at)
    if not body or not body.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        return _error("empty_body", MESSAGES["empty_body"])
    decoded = decode_body(body, headers)
    warnings = _encoding_warnings(decoded)
    if _looks_like_json(decoded.text, headers):
        result = parse_json_feed(decoded.text, base_url, fetched_at)
    elif _looks_like_html_page(decoded.text):
        result = _error("not_a_feed", MESSAGES["html_page"])
    else:
        result = _parse_xml(decoded.text, headers, base_url, fetched_at, _utf8_body(body, decoded))
    if warnings and not result.failed:
        result = _with_warnings(result, warnings)
    return result


def _parse_xml(
    text: str,
    headers: Mapping[str, str],
    base_url: str,
    fetched_at: datetime,
    utf8_body: bytes | None = None,
) -> ParseResult:
    parsed = _run_feedparser(text, headers, utf8_body)
    failure = _whole_body_failure(parsed, text)
    if failure is not None:
        return failure
    feed = parsed.feed
    feed_language = normalize_language(feed.get("language"))
    feed_base = _feed_base(feed, base_url)

    def to_raw(index: int, native: Mapping) -> RawEntry:
        return _raw_entry(index, native, feed_base, feed_language)

    entries, warnings = build_entries(parsed.entries, to_raw, fetched_at)
    if parsed.bozo:
        warnings = (_bozo_warning(parsed), *warnings)
    return ParseResult(
        entries=entries,
        warnings=warnings,
        feed_title=clean_line(feed.get("title"), _is_html(feed, "title")) or None,
        feed_language=feed_language,
        format=parsed.version or None,
    )


def _run_feedparser(
    text: str, headers: Mapping[str, str], utf8_body: bytes | None = None
) -> feedparser.FeedParserDict:
    """feedparser on UTF-8 bytes whose declaration and Content-Type both say UTF-8.

    `utf8_body`, when given, is `text` in UTF-8 (the body as it came); it is handed over as it
    is when nothing below changes the text, saving the encoding of a whole feed.
    """
    # Leading blank lines (common from PHP sites) make expat reject the XML declaration.
    prepared = _XML_DECLARATION.sub(r"\1\2utf-8\2", text.lstrip(), count=1)
    prepared = _HTML_ENTITY.sub(_numeric_entity, prepared)
    if utf8_body is not None and prepared == text:
        data = utf8_body
    else:
        data = prepared.encode("utf-8")
    fp_headers = {"content-type": "application/xml; charset=utf-8"}
    language = header_value(headers, "content-language")
    if language:
        fp_headers["content-language"] = language
    _speed_up_feedparser()
    # A BytesIO, not bytes: feedparser would try to open() a bytes body that looks like a path.
    return feedparser.parse(
        io.BytesIO(data),
        response_headers=fp_headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )


# The tweaks rely on feedparser's internals as they are in this release line (tests read its
# source): on another release feedparser runs as it comes, slower but never wrong, until the
# tests have been run against it and this is widened.
FEEDPARSER_CHECKED = "6.0."


@functools.cache
def _speed_up_feedparser() -> None:
    """feedparser tweaks that keep its results exactly as they were (each applied once; this
    runs once per process, not for every feed)."""
    if not feedparser.__version__.startswith(FEEDPARSER_CHECKED):
        return
    _speed_up_feedparser_cp1252_mapping()
    _speed_up_feedparser_dict_reads()
    _speed_up_feedparser_dict_writes()
    _speed_up_feedparser_dict_copies()
    _speed_up_feedparser_content_parameters()
    _speed_up_feedparser_content_copies()
    _speed_up_feedparser_urljoin_without_base()
    _speed_up_feedparser_character_data()
    _speed_up_feedparser_rfc822_dates()
    _speed_up_feedparser_html_guess()
    _speed_up_feedparser_parser_choice()
    _speed_up_feedparser_pop()
    _speed_up_feedparser_element_events()


@functools.cache
def _speed_up_feedparser_cp1252_mapping() -> None:
    """Swap feedparser's C1-to-Windows-1252 table for one that maps the same, twice as fast.

    feedparser runs str.translate(table) over the text of every element it closes; with its dict
    table CPython raises and clears a KeyError for each non-ASCII character not in it (over a
    tenth of feedparser's time on Swedish summaries). A tuple of code points indexed by code
    point gives the same mapping without exceptions (str.translate writes an int item as that
    character, as it writes a one-character string; a tuple hands back its stored ints where a
    string table makes a new one-character string for each lookup past U+00FF, a quarter fewer
    instructions). Characters past its end (CJK, emoji) are left alone, as with the dict, only
    not faster. It ends at U+2FFF to build in milliseconds.
    """
    table = getattr(feedparser.mixin, "_cp1252", None)
    if isinstance(table, dict):  # else a feedparser without it: nothing to swap
        feedparser.mixin._cp1252 = tuple(
            ord(table.get(code, chr(code))) for code in range(0x3000)
        )


# The keys FeedParserDict.__getitem__ treats specially (besides its keymap aliases); a test
# checks this against feedparser's source.
FEEDPARSER_SPECIAL_KEYS = frozenset({"category", "enclosures", "license", "updated", "updated_parsed"})


@functools.cache
def _speed_up_feedparser_dict_reads() -> None:
    """Let FeedParserDict.get, [] and `in` read any key without an alias as a plain dict does.

    feedparser reads its dicts (its content parameters above all) dozens of times per entry, and
    each read runs a chain of comparisons and lookups for the few keys it maps to others ("guid"
    to "id", "updated" falling back to "published"); for every other key the answer is the
    plain dict's, so those skip the chain. Aliased and special keys keep feedparser's own code.
    (`in` is feedparser's [] with KeyError as False, and a plain lookup for "updated" and
    "updated_parsed", which are special keys.)
    """
    cls = feedparser.FeedParserDict
    aliased = FEEDPARSER_SPECIAL_KEYS | frozenset(cls.keymap)
    feedparser_get, feedparser_getitem = cls.get, cls.__getitem__
    feedparser_contains = cls.__contains__
    plain_get, plain_getitem, plain_contains = dict.get, dict.__getitem__, dict.__contains__

    def get(self, key, default=None):
        if key in aliased:
            return feedparser_get(self, key, default)
        return plain_get(self, key, default)

    def getitem(self, key):
        if key in aliased:
            return feedparser_getitem(self, key)
        return plain_getitem(self, key)

    def contains(self, key):
        if key in aliased:
            return feedparser_contains(self, key)
        return plain_contains(self, key)

    cls.get, cls.__getitem__, cls.__contains__ = get, getitem, contains


@functools.cache
def _speed_up_feedparser_dict_writes() -> None:
    """Let FeedParserDict store any key without an alias as a plain dict does ([] =, setdefault).

    feedparser stores over twenty values per entry through FeedParserDict.__setitem__, which
    looks every key up in its alias table ("guid" is stored as "id", "description" as
    "summary"); a key not in the table is stored as it is, so those skip the lookup.
    """
    cls = feedparser.FeedParserDict
    aliased = frozenset(cls.keymap)
    feedparser_setitem, plain_setitem = cls.__setitem__, dict.__setitem__
    # feedparser's setdefault is `in`, [] = and [] in turn: a plain dict's for any key that is
    # neither aliased nor special.
    aliased_or_special = aliased | FEEDPARSER_SPECIAL_KEYS
    feedparser_setdefault, plain_setdefault = cls.setdefault, dict.setdefault

    def setitem(self, key, value):
        if key in aliased:
            return feedparser_setitem(self, key, value)
        return plain_setitem(self, key, value)

    def setdefault(self, key, default):
        if key in aliased_or_special:
            return feedparser_setdefault(self, key, default)
        return plain_setdefault(self, key, default)

    cls.__setitem__, cls.setdefault = setitem, setdefault


# Types copy.deepcopy returns unchanged (a subset of its _deepcopy_atomic ones; a test checks).
_COPIED_AS_THEY_ARE = frozenset({str, int, float, bool, type(None)})


@functools.cache
def _speed_up_feedparser_dict_copies() -> None:
    """Give FeedParserDict a __deepcopy__ doing what copy.deepcopy's generic path does for it.

    feedparser deep-copies its content parameters for every title, summary and content. Without
    the method, copy.deepcopy first looks the instance up for "__deepcopy__" (a KeyError raised
    and caught inside FeedParserDict.__getattr__), then rebuilds the dict from __reduce_ex__.
    Same result: a new FeedParserDict, registered in memo before its items (for cycles), each key
    and value deep-copied and stored through FeedParserDict.__setitem__, attributes copied too.
    Keys and values of the types copy.deepcopy hands back as they are (its "atomic" ones: str,
    None, int, ...; the content parameters hold nothing else) are taken as they are, without
    the call; such a value is never in memo, which only holds objects that were copied.
    """

    def deepcopy(self, memo):
        return _deep_copy_as(type(self), self, memo)

    feedparser.FeedParserDict.__deepcopy__ = deepcopy


def _deep_copy_as(kind: type, original: dict, memo: dict) -> dict:
    """A deep copy of a FeedParserDict, made a `kind` (see _speed_up_feedparser_dict_copies)."""
    duplicate = kind.__new__(kind)
    memo[id(original)] = duplicate
    if original.__dict__:
        duplicate.__dict__.update(copy.deepcopy(original.__dict__, memo))
    for key, value in original.items():
        if type(key) not in _COPIED_AS_THEY_ARE:
            key = copy.deepcopy(key, memo)
        if type(value) not in _COPIED_AS_THEY_ARE:
            value = copy.deepcopy(value, memo)
        duplicate[key] = value
    return duplicate


class _ContentParameters(feedparser.FeedParserDict):
    """feedparser's content parameters (type, language, base, ...), read and stored by dict's
    own methods; copies of them are FeedParserDicts as before."""

    get = dict.get
    __getitem__ = dict.__getitem__
    __contains__ = dict.__contains__
    __setitem__ = dict.__setitem__

    def __delitem__(self, key):
        # feedparser deletes "mode" and "base64" after every element, each inside
        # try/except KeyError: pass (a test reads its source); most often neither is there,
        # and not raising the KeyError saves making and catching it.
        if key in self:
            dict.__delitem__(self, key)

    def __deepcopy__(self, memo):
        if not self.__dict__:
            for key, value in self.items():
                if type(key) not in _COPIED_AS_THEY_ARE or type(value) not in _COPIED_AS_THEY_ARE:
                    break
            else:  # nothing to copy inside; the keys have no alias, so need no [] =
                duplicate = memo[id(self)] = feedparser.FeedParserDict(self)
                return duplicate
        return _deep_copy_as(feedparser.FeedParserDict, self, memo)


@functools.cache
def _speed_up_feedparser_content_parameters() -> None:
    """Keep feedparser's content parameters in a FeedParserDict whose reads are dict's own.

    feedparser reads them (the content type above all) a few times for every element it closes
    and every run of text, over twenty times per entry, each a Python call even with the fast
    reads above. Their keys have no alias (a test reads feedparser's source for every key it
    uses them with), so dict's own methods answer the same; they never leave the parser but
    as deep copies, which are plain FeedParserDicts with the same items as before.
    """
    feedparser.mixin._FeedParserMixin.push_content = _push_content


def _push_content(self, tag, attrs_d, default_content_type, expecting_text):
    """feedparser's push_content (6.0.x) line for line, its parameters a _ContentParameters
    from the start instead of a FeedParserDict."""
    self.incontent += 1
    if self.lang:
        self.lang = self.lang.replace("_", "-")
    self.contentparams = _ContentParameters(
        {
            "type": self.map_content_type(attrs_d.get("type", default_content_type)),
            "language": self.lang,
            "base": self.baseuri,
        }
    )
    self.contentparams["base64"] = self._is_base64(attrs_d, self.contentparams)
    self.push(tag, expecting_text)


class _CopyForFeedparser:
    """Stands in for the copy module in feedparser.mixin, which uses only its deepcopy, and
    only to copy the content parameters (a test reads its source)."""

    @staticmethod
    def deepcopy(value, memo=None):
        if memo is None and type(value) is _ContentParameters:
            return value.__deepcopy__({})
        return copy.deepcopy(value, memo)


@functools.cache
def _speed_up_feedparser_content_copies() -> None:
    """Copy feedparser's content parameters without copy.deepcopy's generic steps.

    feedparser copies them for every title, summary and content. For an object with a
    __deepcopy__ method and no memo, copy.deepcopy makes a memo, looks the method up, calls it
    and records the copy in that memo, which it then drops: the method's result is the copy.
    """
    if getattr(feedparser.mixin, "copy", None) is copy:  # else a feedparser without it
        feedparser.mixin.copy = _CopyForFeedparser


@functools.cache
def _speed_up_feedparser_urljoin_without_base() -> None:
    """Skip feedparser's URL join where it cannot change the URL: no base, no ":///".

    Given no Content-Location, feedparser's base URL is empty, yet it joins it with the base of
    every element it opens and with every link and guid. Its join (urls._urljoin) first drops
    extra slashes after a leading "scheme://" (a regex substitution with a template, slow), then
    urljoin returns the URL itself for an empty base.
    """
    feedparser_urljoin = feedparser.mixin._urljoin

    def urljoin(base, uri):
        if not base and ":///" not in uri:
            return uri
        return feedparser_urljoin(base, uri)

    feedparser.mixin._urljoin = urljoin


@functools.cache
def _speed_up_feedparser_character_data() -> None:
    """Have expat report each run of text once, not in pieces split at every entity and line.

    Escaped HTML ("&lt;p&gt;") reaches feedparser's character handler in one call per entity
    and line break, each a Python call that appends the piece to the open element's list. With
    expat's buffer_text, a run of text between two tags comes in one call (pieces of at most 8 KiB).
    Same result: feedparser joins an element's pieces when it closes, and what it does with a
    piece on the way (escaping inside XHTML content) is done character by character; the one
    place it looks at single pieces (XHTML content's wrapping <div>) only drops whitespace
    pieces at either end, and output.strip() drops the same whitespace either way.
    """
    cls = feedparser.api.StrictFeedParser
    feedparser_start_document = cls.startDocument

    def start_document(self):
        locator = getattr(self, "_locator", None)
        if isinstance(locator, xml.sax.expatreader.ExpatLocator):  # not another SAX driver
            expat_parser = locator._ref._parser  # created just before startDocument
            if isinstance(expat_parser, xml.parsers.expat.XMLParserType):
                expat_parser.buffer_text = True
        feedparser_start_document(self)

    cls.startDocument = start_document


@functools.cache
def _speed_up_feedparser_html_guess() -> None:
    """Answer feedparser's "is this plain-text element really HTML?" at once for text without
    "<" or "&".

    feedparser asks it of every RSS title (and other elements typed text/plain), with two
    regex searches through the re module's cache. Its answer is False unless the text has a
    closing tag or a character reference, and either needs one of those two characters.
    """
    cls = feedparser.mixin._FeedParserMixin
    feedparser_looks_like_html = cls.looks_like_html

    def looks_like_html(text):
        if "<" not in text and "&" not in text:
            return False
        return feedparser_looks_like_html(text)

    cls.looks_like_html = staticmethod(looks_like_html)


@functools.cache
def _speed_up_feedparser_parser_choice() -> None:
    """Leave out the SAX drivers feedparser prefers that are not installed (drv_libxml2).

    For every feed, feedparser has xml.sax.make_parser try its preferred drivers before the
    standard expat one; make_parser imports each and takes the next when that fails, and a
    failed import searches the whole sys.path again every time (about 90 us per feed). A
    driver that is not there fails the same way every time, so expat is chosen as before.
    """
    preferred = getattr(feedparser.api, "PREFERRED_XML_PARSERS", None)
    if isinstance(preferred, list):
        preferred[:] = [name for name in preferred if importlib.util.find_spec(name) is not None]


# The characters feedparser's C1-to-Windows-1252 table maps (str.translate leaves the others),
# as Latin-1 bytes.
_C1_BYTES = bytes(range(0x80, 0xA0))


# Text that could be UTF-8 read as Latin-1: its first non-ASCII character a UTF-8 lead byte
# followed by a continuation byte. Any other text is left as it is by feedparser's attempt to
# encode it to Latin-1 and decode that as UTF-8: it raises (a character past U+00FF, a byte
# that starts no UTF-8 sequence there) or gives the text back (ASCII).
_MAY_BE_UTF8_AS_LATIN1 = re.compile(r"[\x00-\x7f]*+[\xc2-\xf4][\x80-\xbf]")


def _may_hold_c1(text: str) -> bool:
    """False when `text` has none of U+0080..U+009F, so translate(_cp1252) leaves it as it is.

    Latin-1 bytes of the text without the characters past U+00FF keep exactly its C1 ones: one
    pass in C, where str.translate looks every non-ASCII character up in turn (20 us for a
    Swedish summary).
    """
    latin1 = text.encode("latin-1", "ignore")
    return len(latin1.translate(None, _C1_BYTES)) != len(latin1)


_QUERY_ENTITY = re.compile("&([A-Za-z0-9_]+);")  # feedparser's own pattern for link queries
_FEEDPARSER_KEYMAP = feedparser.FeedParserDict.keymap  # the keys FeedParserDict stores elsewhere
_dict_get, _dict_pop = dict.get, dict.pop
_dict_getitem, _dict_setitem = dict.__getitem__, dict.__setitem__


def _without_query_entities(link: str) -> str:
    """feedparser's re.sub("&([A-Za-z0-9_]+);", r"&\\g<1>", link), which goes through the re
    module's Python code for its template even for a link without "&" (most)."""
    if "&" not in link:
        return link
    return _QUERY_ENTITY.sub(r"&\g<1>", link)


def _pop(self, element, strip_whitespace=1):
    """feedparser's _FeedParserMixin.pop (6.0.x) line for line, with its cheap parts cheaper.

    The same steps in the same order; what differs: translate(_cp1252) is skipped for text
    without C1 characters (_may_hold_c1), the Latin-1/UTF-8 round trip for text that cannot be
    UTF-8 read as Latin-1 (_MAY_BE_UTF8_AS_LATIN1; for Swedish text it raised and caught a
    UnicodeDecodeError at the first "å"), the content parameters are read with dict's own get
    (their keys have no alias; a FeedParserDict's methods are looked up through its
    __getattr__ hook, a bound method made for each call), their two temporary keys are dropped
    with dict.pop instead of del inside try/except KeyError, the content-type mapping and the
    per-entry depth map are read once, not twice (the map keyed by the entry's id), and a key
    without an alias is stored in the entry by dict's own []= (feedparser's is a Python call).
    """
    if not self.elementstack:
        return
    if self.elementstack[-1][0] != element:
        return

    element, expecting_text, pieces = self.elementstack.pop()

    for i, v in enumerate(pieces):
        if isinstance(v, bytes):
            pieces[i] = v.decode("utf-8")

    contentparams = self.contentparams
    if self.version == "atom10":
        if _dict_get(contentparams, "type", "text") == "application/xhtml+xml":
            pieces = _without_enclosing_div(pieces)

    output = "".join(pieces)
    if strip_whitespace:
        output = output.strip()
    if not expecting_text:
        return output

    if _dict_get(contentparams, "base64", 0):
        try:
            output = base64.decodebytes(output.encode("utf8")).decode("utf8")
        except (binascii.Error, binascii.Incomplete, UnicodeDecodeError):
            pass

    if (element in self.can_be_relative_uri) and output:
        if not element == "id" or self.guidislink:
            output = self.resolve_uri(output)

    if not _dict_get(contentparams, "base64", 0):
        output = self.decode_entities(element, output)

    if not self.version.startswith("atom") and _dict_get(contentparams, "type") == "text/plain":
        if self.looks_like_html(output):
            contentparams["type"] = "text/html"

    _dict_pop(contentparams, "mode", None)
    _dict_pop(contentparams, "base64", None)

    if self.resolve_relative_uris or self.sanitize_html:
        output = _resolved_and_sanitized(self, element, output)

    if self.encoding and isinstance(output, bytes):
        output = output.decode(self.encoding, "ignore")

    # Both steps below give ASCII text back as it is.
    if not isinstance(output, bytes) and not output.isascii():
        if self.encoding in ("utf-8", "utf-8_INVALID_PYTHON_3"):
            if _MAY_BE_UTF8_AS_LATIN1.match(output):
                try:
                    output = output.encode("iso-8859-1").decode("utf-8")
                except (UnicodeEncodeError, UnicodeDecodeError):
                    pass
        if _may_hold_c1(output):
            output = output.translate(feedparser.mixin._cp1252)

    if element in ("category", "tags", "itunes_keywords"):
        return output

    if element == "title" and -1 < self.title_depth <= self.depth:
        return output

    if self.inentry and not self.insource:
        entry = self.entries[-1]
        if element == "content":
            entry.setdefault(element, [])
            contentparams = feedparser.mixin.copy.deepcopy(self.contentparams)
            contentparams["value"] = output
            entry[element].append(contentparams)
        elif element == "link":
            if not self.inimage:
                output = output.replace("&amp;", "&")
                output = _without_query_entities(output)
                _dict_setitem(entry, "link", output)  # neither key has an alias
                if output:
                    _dict_setitem(_dict_getitem(entry, "links")[-1], "href", output)
        else:
            if element == "description":
                element = "summary"
            # Keyed by the entry's id, not the entry: FeedParserDict's hash is a Python call
            # (its id). Only pop reads the map, and the parser holds every entry till it ends.
            depths = self.property_depth_map.setdefault(id(entry), {})
            old_value_depth = depths.get(element)
            if old_value_depth is None or self.depth <= old_value_depth:
                depths[element] = self.depth
                if element in _FEEDPARSER_KEYMAP:
                    entry[element] = output
                else:
                    _dict_setitem(entry, element, output)
            if self.incontent:
                contentparams = feedparser.mixin.copy.deepcopy(self.contentparams)
                _dict_setitem(contentparams, "value", output)
                detail_key = element + "_detail"
                if detail_key in _FEEDPARSER_KEYMAP:
                    entry[detail_key] = contentparams
                else:
                    _dict_setitem(entry, detail_key, contentparams)
    elif self.infeed or self.insource:
        context = self._get_context()
        if element == "description":
            element = "subtitle"
        context[element] = output
        if element == "link":
            output = _without_query_entities(output)
            context[element] = output
            context["links"][-1]["href"] = output
        elif self.incontent:
            contentparams = feedparser.mixin.copy.deepcopy(self.contentparams)
            contentparams["value"] = output
            context[element + "_detail"] = contentparams
    return output


def _without_enclosing_div(pieces: list) -> list:
    """pop's XHTML step: whitespace pieces at either end dropped, then an enclosing <div>
    holding all the rest unwrapped."""
    while pieces and len(pieces) > 1 and not pieces[-1].strip():
        del pieces[-1]
    while pieces and len(pieces) > 1 and not pieces[0].strip():
        del pieces[0]
    opens_with_div = pieces and (pieces[0] == "<div>" or pieces[0].startswith("<div "))
    if opens_with_div and pieces[-1] == "</div>":
        depth = 0
        for piece in pieces[:-1]:
            if piece.startswith("</"):
                depth -= 1
                if depth == 0:
                    break
            elif piece.startswith("<") and not piece.endswith("/>"):
                depth += 1
        else:
            pieces = pieces[1:-1]
    return pieces


def _resolved_and_sanitized(self, element: str, output: str) -> str:
    """pop's steps for feedparser's own URI resolving and sanitising (both off here)."""
    content_type = self.contentparams.get("type", "text/html")
    is_htmlish = self.map_content_type(content_type) in self.html_types
    if is_htmlish and self.resolve_relative_uris:
        if element in self.can_contain_relative_uris:
            output = feedparser.mixin.resolve_relative_uris(
                output, self.baseuri, self.encoding, self.contentparams.get("type", "text/html")
            )
    if is_htmlish and self.sanitize_html:
        if element in self.can_contain_dangerous_markup:
            output = feedparser.mixin._sanitize_html(
                output, self.encoding, self.contentparams.get("type", "text/html")
            )
    return output


@functools.cache
def _speed_up_feedparser_pop() -> None:
    """Close elements with _pop, feedparser's pop with its cheap parts cheaper (see there).

    feedparser pops every element it closes, and its pop is its costliest method: for each
    title and summary in Swedish it ran str.translate over every non-ASCII character to map
    C1 characters that are never there. A test compares feedparser's results with its own pop
    and with this one on every feed the tests have and random ones.
    """
    feedparser.mixin._FeedParserMixin.pop = _pop


_MATHML = "http://www.w3.org/1998/Math/MathML"
_SVG = "http://www.w3.org/2000/svg"
_NAME_CACHE_LIMIT = 4096  # distinct element and attribute names remembered per process


@functools.cache
def _speed_up_feedparser_element_events() -> None:
    """Hand expat's element events to feedparser without xml.sax's and its own wrappers.

    For every element expat calls xml.sax's start_element_ns, which splits the name and builds
    two dicts and an AttributesNSImpl for feedparser's startElementNS, which turns them back
    into a tag ("dc:creator") and a list of attributes for unknown_starttag; the end goes
    through two such calls too. _element_handlers does what those do, from names it has worked
    out once; each start or end is one Python call before feedparser's unknown_starttag
    (_start_tag_without_attributes for the common element with no attributes) and
    unknown_endtag. Installed as the document starts, after xml.sax has set its handlers.
    """
    cls = feedparser.api.StrictFeedParser
    feedparser_start_document = cls.startDocument

    def start_document(self):
        feedparser_start_document(self)
        _hand_element_events_over(self)

    cls.startDocument = start_document


def _hand_element_events_over(parser) -> None:
    """Point the expat parser under `parser` (xml.sax's, in namespace mode) at _element_handlers."""
    locator = getattr(parser, "_locator", None)
    if not isinstance(locator, xml.sax.expatreader.ExpatLocator):  # another SAX driver
        return
    reader = locator._ref
    expat_parser = reader._parser
    if reader._namespaces and isinstance(expat_parser, xml.parsers.expat.XMLParserType):
        start, end = _element_handlers(parser, reader.start_element_ns, reader.end_element_ns)
        expat_parser.StartElementHandler = start
        expat_parser.EndElementHandler = end
        expat_parser.CharacterDataHandler = _character_handler(parser)


def _character_handler(parser):
    """feedparser's characters(text), which is its handle_data(text) (6.0.x), in one call: the
    text added to the open element, escaped inside XHTML content."""

    def characters(text):
        if not parser.elementstack:
            return
        if _dict_get(parser.contentparams, "type") == "application/xhtml+xml":
            text = xml.sax.saxutils.escape(text)
        parser.elementstack[-1][2].append(text)

    return characters


_START_TAGS: dict[str, tuple] = {}
_END_TAGS: dict[str, tuple] = {}
_ATTRIBUTE_KEYS: dict[str, tuple[str, str]] = {}


def _element_handlers(parser, sax_start, sax_end):
    """expat StartElementHandler and EndElementHandler that call feedparser's `parser` as
    xml.sax's start_element_ns/end_element_ns and feedparser's startElementNS/endElementNS
    (with the qname None that xml.sax always passes) would. A name they do not expect (a
    namespace URI with spaces) goes through `sax_start`/`sax_end`, xml.sax's own."""
    matchnamespaces = parser._matchnamespaces

    def start(name, attrs):
        known = _START_TAGS.get(name)
        if known is None:
            known = _remembered(_START_TAGS, name, _start_tag_of(name, matchnamespaces))
            if known is None:
                return sax_start(name, attrs)
        tag, namespace, localname, xmlns = known
        keys = None
        if attrs:
            keys = _attribute_keys(attrs, matchnamespaces)
            if keys is None:
                return sax_start(name, attrs)
        if tag is None:
            tag = _with_prefix_in_use(parser, namespace, localname)
        if keys is None and xmlns is None and not parser.decls:
            return _start_tag_without_attributes(parser, tag)
        attrs_d, parser.decls = parser.decls, {}
        if xmlns is not None:
            attrs_d["xmlns"] = xmlns
        if keys is not None:
            values = list(attrs.values())
            for (local_key, _), value in zip(keys, values):
                attrs_d[local_key] = value
            for (_, qualified_key), value in zip(keys, values):
                attrs_d[qualified_key] = value
        parser.unknown_starttag(tag, list(attrs_d.items()))

    def end(name):
        known = _END_TAGS.get(name)
        if known is None:
            known = _remembered(_END_TAGS, name, _end_tag_of(name, matchnamespaces))
            if known is None:
                return sax_end(name)
        tag, namespace, localname = known
        if tag is None:
            tag = _with_prefix_in_use(parser, namespace, localname)
        parser.unknown_endtag(tag)

    return start, end


def _remembered(cache: dict, key: str, value: object) -> object:
    if value is not None:
        if len(cache) >= _NAME_CACHE_LIMIT:
            cache.clear()
        cache[key] = value
    return value


def _sax_pair(name: str) -> tuple | None:
    """xml.sax's (namespace, localname) for an expat name ("uri local prefix", "uri local" or
    "local"); None for a name of another shape, whose pair feedparser cannot unpack."""
    parts = name.split()
    if len(parts) == 1:
        return None, name
    if len(parts) in (2, 3):
        return parts[0], parts[1]
    return None


def _start_tag_of(name: str, matchnamespaces: dict) -> tuple | None:
    """(tag, None, None, xmlns) as feedparser's startElementNS makes them for this name, or
    (None, namespace, localname, xmlns) when the tag depends on the namespaces in use."""
    pair = _sax_pair(name)
    if pair is None:
        return None
    namespace, localname = pair
    lowernamespace = str(namespace or "").lower()
    if lowernamespace.find("backend.userland.com/rss") != -1:
        namespace = "http://backend.userland.com/rss"
        lowernamespace = namespace
    prefix = matchnamespaces.get(lowernamespace, None)
    localname = str(localname).lower()
    xmlns = None
    if (localname == "math" and namespace == _MATHML) or (localname == "svg" and namespace == _SVG):
        xmlns = namespace
    if prefix:
        return str(prefix.lower() + ":" + localname).lower(), None, None, xmlns
    if namespace:
        return None, namespace, localname, xmlns
    return str(localname).lower(), None, None, xmlns


def _end_tag_of(name: str, matchnamespaces: dict) -> tuple | None:
    """(tag, None, None) as feedparser's endElementNS makes it for this name, or
    (None, namespace, localname) when it depends on the namespaces in use."""
    pair = _sax_pair(name)
    if pair is None:
        return None
    namespace, localname = pair
    lowernamespace = str(namespace or "").lower()
    prefix = matchnamespaces.get(lowernamespace, "")
    if prefix:
        return str(prefix + ":" + localname).lower(), None, None
    if namespace:
        return None, namespace, localname
    return str(localname).lower(), None, None


def _with_prefix_in_use(parser, namespace: str, localname: str) -> str:
    """feedparser's tag for an element in a namespace it has no prefix for: the localname with
    the first prefix the feed declared for that namespace, if any."""
    for name, value in parser.namespaces_in_use.items():
        if name and value == namespace:
            localname = name + ":" + localname
            break
    return str(localname).lower()


def _attribute_keys(attrs: dict, matchnamespaces: dict) -> list[tuple[str, str]] | None:
    """For each attribute, the two keys feedparser's startElementNS stores its value under
    (its localname with feedparser's prefix, then its qualified name; mostly the same)."""
    keys = []
    for name in attrs:
        known = _ATTRIBUTE_KEYS.get(name)
        if known is None:
            known = _remembered(_ATTRIBUTE_KEYS, name, _attribute_key_of(name, matchnamespaces))
            if known is None:
                return None
        keys.append(known)
    return keys


def _attribute_key_of(name: str, matchnamespaces: dict) -> tuple[str, str] | None:
    parts = name.split()
    if len(parts) == 1:
        namespace, localname, qname = None, name, name
    elif len(parts) == 3:
        namespace, localname, qname = parts[0], parts[1], f"{parts[2]}:{parts[1]}"
    elif len(parts) == 2:
        namespace, localname, qname = parts[0], parts[1], parts[1]
    else:
        return None
    prefix = matchnamespaces.get((namespace or "").lower(), "")
    if prefix:
        localname = prefix + ":" + localname
    return str(localname).lower(), str(qname).lower()


_NO_TEXTINPUT_RESET = ("title", "link", "description", "name")
_NO_IMAGE_RESET = ("title", "link", "description", "url", "href", "width", "height")
_METHOD_NAMES: dict[tuple[str, str], tuple[str, str]] = {}


def _start_tag_without_attributes(self, tag: str):
    """feedparser's unknown_starttag(tag, []) (6.0.x) for an element outside content, the
    steps that do nothing without attributes left out.

    Its handler is looked up by a name made once per (prefix, tag): a name built anew for each
    element misses CPython's method cache and walks the parser's dozen base classes.
    """
    if self.incontent or type(self.baseuri) is not str:
        return self.unknown_starttag(tag, [])
    self.depth += 1
    baseuri = self.baseuri
    if baseuri:
        self.baseuri = feedparser.mixin.make_safe_absolute_uri(baseuri, baseuri) or baseuri
    # else feedparser joins "" with "", which gives ""
    lang = self.lang
    if lang:
        if tag in ("feed", "rss", "rdf:RDF"):
            self.feeddata["language"] = lang.replace("_", "-")
    self.basestack.append(self.baseuri)
    self.langstack.append(lang)

    if tag.find(":") != -1:
        prefix, suffix = tag.split(":", 1)
    else:
        prefix, suffix = "", tag
    prefix = self.namespacemap.get(prefix, prefix)
    if prefix:
        prefix = prefix + "_"
    if (not prefix) and tag not in _NO_TEXTINPUT_RESET:
        self.intextinput = 0
    if (not prefix) and tag not in _NO_IMAGE_RESET:
        self.inimage = 0

    names = _METHOD_NAMES.get((prefix, suffix))
    if names is None:
        names = _remembered(_METHOD_NAMES, (prefix, suffix), ("_start_" + prefix + suffix,
                                                             prefix + suffix))  # fmt: skip
    methodname, unknown_tag = names
    attrs_d = {}
    try:
        method = getattr(self, methodname)
        return method(attrs_d)
    except AttributeError:
        if len(attrs_d) == 0:
            return self.push(unknown_tag, 1)
        context = self._get_context()
        context[unknown_tag] = attrs_d


# The RSS date as nearly every publisher writes it: "Mon, 23 Nov 2026 09:30:00 +0100" (or GMT).
_PLAIN_RFC822_DATE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d\d) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"(\d{4}) (\d\d):(\d\d):(\d\d) (?:([+-])(\d\d)(\d\d)|GMT)"
)
_MONTH_NUMBERS = {
    name: number
    for number, name in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)
}


@functools.cache
def _speed_up_feedparser_rfc822_dates() -> None:
    """Read the plain RFC 822 date shape before feedparser's chain of date readers does.

    feedparser tries its readers in turn; for an RSS date its W3C reader fails first (splitting
    and lowercasing), then its RFC 822 reader splits, lowercases and looks up every part. For
    this one shape that reader's answer is the UTC time tuple of the stated time minus the
    offset (the day name ignored), and the W3C reader always fails on it (its first word, a day
    name with a comma, is no year); so this reads it with one regex. A date feedparser could not
    compute (31 Nov, hour 24) gets None here, and its chain runs as before.
    """
    feedparser.datetimes.registerDateHandler(_plain_rfc822_date)


def _plain_rfc822_date(text: str) -> time.struct_time | None:
    found = _PLAIN_RFC822_DATE.fullmatch(text)
    if found is None:
        return None
    day, month, year, hour, minute, second, sign, offset_hours, offset_minutes = found.groups()
    try:
        month_number = _MONTH_NUMBERS[month]
        stamp = datetime(int(year), month_number, int(day), int(hour), int(minute), int(second))
        if sign is None or (offset_hours == "00" and offset_minutes == "00"):  # GMT, +0000
            return stamp.utctimetuple()
        offset = timedelta(hours=int(offset_hours), minutes=int(offset_minutes))
        return (stamp - offset if sign == "+" else stamp + offset).utctimetuple()
    except (ValueError, OverflowError):
        return None


def _utf8_body(body: bytes, decoded: DecodedBody) -> bytes | None:
    """The body when it is decoded.text in UTF-8 exactly (read as UTF-8 or ASCII, no BOM)."""
    if decoded.encoding in ("utf-8", "ascii") and not body.startswith(codecs.BOM_UTF8):
        return body
    return None


def _numeric_entity(match: re.Match[str]) -> str:
    """HTML named entities (&nbsp; &ouml;), undefined in XML, as character references, so the
    strict parser keeps going instead of falling back to the slow loose one with a warning."""
    name = match.group(1)
    chars = html.entities.html5.get(f"{name};")
    return "".join(f"&#{ord(c)};" for c in chars) if chars else match.group(0)


def _whole_body_failure(parsed: feedparser.FeedParserDict, text: str) -> ParseResult | None:
    """not_a_feed / malformed_feed when nothing usable came out; None when the feed is usable."""
    if parsed.entries or (parsed.version and not parsed.bozo):
        return None
    head = text.lstrip()[:4096]
    if _HTML_ROOT.search(head) and not _FEED_ROOT.search(head):
        return _error("not_a_feed", MESSAGES["html_page"])
    if not head.startswith("<"):
        return _error("not_a_feed", MESSAGES["not_text"])
    if parsed.bozo or _FEED_ROOT.search(head):
        detail = _bozo_detail(parsed) or "no feed elements were found"
        return _error("malformed_feed", MESSAGES["malformed_feed"].format(detail=detail))
    return _error("not_a_feed", MESSAGES["not_feed_xml"])


def _raw_entry(index: int, entry: Mapping, feed_base: str, feed_language: str | None) -> RawEntry:
    """feedparser's entry dict to RawEntry (dates read, relative base decided)."""
    # Read through plain dict copies: FeedParserDict.get looks every key up in its alias table
    # and raises KeyError inside for a missing one; no key read here has an alias.
    entry = dict(entry)
    title = dict(entry.get("title_detail") or {})
    summary = dict(entry.get("summary_detail") or {})  # absent when feedparser copied content
    content = dict(_best_content(entry.get("content")))
    published, updated, date_text = _entry_dates(entry)
    return built(  # RawEntry(...) without its frozen __init__ (see models.built)
        RawEntry,
        index=index,
        title=title.get("value") or entry.get("title") or "",
        title_is_html="html" in (title.get("type") or ""),
        link=_entry_link(entry),
        guid=entry.get("id"),
        summary=summary.get("value") or "",
        summary_is_html=summary.get("type", "text/html") != "text/plain",
        content=content.get("value") or "",
        content_is_html=content.get("type", "text/html") != "text/plain",
        published=published,
        updated=updated,
        date_text=date_text,
        author=_entry_author(entry),
        language=_entry_language(entry, title, feed_language),
        base=_join(feed_base, title.get("base") or summary.get("base") or content.get("base")),
    )


def _best_content(contents: object) -> Mapping:
    """The HTML flavour of the entry's content when there are several, else the first."""
    if not contents or not isinstance(contents, list):
        return {}
    html = [c for c in contents if "html" in (c.get("type") or "")]
    return (html or contents)[0]


def _entry_link(entry: Mapping) -> str | None:
    link = entry.get("link")
    if link:
        return link
    alternates = [l for l in entry.get("links", ()) if l.get("rel", "alternate") == "alternate"]
    return alternates[0].get("href") if alternates else None


def _entry_dates(entry: Mapping) -> tuple[datetime | None, datetime | None, str | None]:
    """(published, updated, unreadable date text): feedparser's parse, else our own reader."""
    # dict.get: FeedParserDict.get("updated") falls back to "published" with a warning.
    published = _struct_to_utc(dict.get(entry, "published_parsed")) or parse_date_utc(
        dict.get(entry, "published")
    )
    updated = _struct_to_utc(dict.get(entry, "updated_parsed")) or parse_date_utc(
        dict.get(entry, "updated")
    )
    raw_text = dict.get(entry, "published") or dict.get(entry, "updated")
    unreadable = raw_text if (published or updated) is None and raw_text else None
    return published, updated, unreadable


def _struct_to_utc(struct: time.struct_time | None) -> datetime | None:
    if struct is None:
        return None
    try:
        moment = datetime(*struct[:6], tzinfo=timezone.utc)
    except (TypeError, ValueError):
        return None
    return moment if moment.year >= 1990 else None


def _entry_author(entry: Mapping) -> str | None:
    detail = entry.get("author_detail") or {}
    return detail.get("name") or entry.get("author")


def _entry_language(entry: Mapping, title: Mapping, feed_language: str | None) -> str | None:
    """The entry's own language (dc:language, or an xml:lang differing from the feed's)."""
    own = normalize_language(entry.get("language"))
    if own:
        return own
    inherited = normalize_language(title.get("language"))
    return inherited if inherited and inherited != feed_language else None


def _feed_base(feed: Mapping, base_url: str) -> str:
    """Base for relative entry links: the feed's own link when absolute http(s), else the URL
    the body came from. (An explicit xml:base is applied by feedparser and wins over both.)"""
    link = _join(base_url, feed.get("link"))
    return link if _is_http(link) else base_url


def _join(base: str, relative: str | None) -> str:
    if not relative:
        return base
    try:
        return urljoin(base, relative.strip())
    except ValueError:
        return base


def _is_http(url: str | None) -> bool:
    try:
        return bool(url) and urlsplit(url).scheme in ("http", "https")
    except ValueError:
        return False


def _is_html(mapping: Mapping, key: str) -> bool:
    detail = mapping.get(f"{key}_detail") or {}
    return "html" in (detail.get("type") or "")


def _looks_like_json(text: str, headers: Mapping[str, str]) -> bool:
    start = text.lstrip()[:1]
    if start == "{":
        return True
    content_type = (header_value(headers, "content-type") or "").lower()
    return start != "<" and content_type.startswith(_JSON_TYPES)


def _looks_like_html_page(text: str) -> bool:
    head = text.lstrip()[:2048]
    return bool(_HTML_ROOT.search(head)) and not _FEED_ROOT.search(head)


def _bozo_detail(parsed: feedparser.FeedParserDict) -> str:
    """'line 4, column 27: not well-formed (invalid token)' for XML errors, else the text."""
    exc = parsed.get("bozo_exception")
    if exc is None:
        return ""
    if hasattr(exc, "getLineNumber"):
        return f"line {exc.getLineNumber()}, column {exc.getColumnNumber()}: {exc.getMessage()}"
    return " ".join(str(exc).split())[:200]


def _bozo_warning(parsed: feedparser.FeedParserDict) -> str:
    count = len(parsed.entries)
    return (
        f"feed XML is not well-formed ({_bozo_detail(parsed) or 'unknown problem'}); "
        f"{count} entr{'y' if count == 1 else 'ies'} recovered - ask the publisher to fix the feed"
    )


def _encoding_warnings(decoded: DecodedBody) -> tuple[str, ...]:
    if not decoded.mislabelled:
        return ()
    return (
        f"the feed declares charset {decoded.declared} but its bytes are {decoded.encoding}; "
        f"read as {decoded.encoding}",
    )


def _with_warnings(result: ParseResult, warnings: tuple[str, ...]) -> ParseResult:
    return replace(result, warnings=(*warnings, *result.warnings))


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def _error(key: str, message: str) -> ParseResult:
    return ParseResult(error_key=key, message=message)
