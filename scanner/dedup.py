"""Normalisation and identity: canonical URLs, item identities, content fingerprints.

Within one source, an item's identity says "this is the same item as last time"; its content
hash says whether it changed. Across sources, a story signature (tokens and MinHash LSH band
keys) finds the same story told by several sources under different URLs and wording.
May import only scanner.models, scanner.errors and third-party libraries.
"""

from __future__ import annotations

import hashlib
import re
import sys
import unicodedata
import zlib
from array import array
from collections.abc import Callable, Iterable
from dataclasses import MISSING, dataclass
from dataclasses import fields as dataclass_fields
from fractions import Fraction
from datetime import datetime
from functools import reduce
from itertools import chain
from operator import or_
from typing import Any, NamedTuple
from urllib.parse import unquote_plus, urlsplit, urlunsplit

import numpy as np

from scanner.models import Entry, Item

TRACKING_PARAMETERS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "igshid",
        "mc_cid", "mc_eid", "_hsenc", "_hsmi", "__hstc", "__hssc", "__hsfp", "hsctatracking",
        "ref_src", "ref_url", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "_ga", "_gl",
        "wt.mc_id", "s_cid", "twclid", "ttclid", "li_fat_id", "srsltid", "at_medium",
        "at_campaign",
    }
)  # fmt: skip
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")  # Google Analytics, Piwik/Matomo campaign tags
_DEFAULT_PORTS = {"http": 80, "https": 443}


class _Memo(dict):
    """A pure function's results by argument, each computed on first use; emptied when full.
    A hit is one dict lookup, cheaper than lru_cache's."""

    def __init__(self, function: Callable[[Any], Any], size: int = 65_536):
        super().__init__()
        self.function, self.size = function, size

    def __missing__(self, key: Any) -> Any:
        if len(self) >= self.size:
            self.clear()
        value = self[key] = self.function(key)
        return value


def canonical_url(url: str | None) -> str | None:
    """The URL with scheme and host lower-cased, default port, fragment and tracking parameters
    dropped and the remaining query sorted; path case and trailing slashes kept as given (an
    empty path is "/", which RFC 3986 says is the same). A "#!" fragment (a client-side route
    naming a page) is kept. None for empty, unparsable or non-http(s) URLs."""
    url = (url or "").strip()
    plain = _PLAIN_URL.fullmatch(url)
    if plain is None:
        return _split_canonical(url)
    scheme, host, path, query = plain.groups()
    query = _clean_query(query) if query else ""
    base = f"{scheme}://{host}{path or '/'}"
    return f"{base}?{query}" if query else base


# The shape of nearly every feed link: lower-case http(s) scheme and host, no user, port,
# fragment, IPv6 literal, whitespace or control character. Its parts are what urlsplit finds,
# so its canonical form needs neither urlsplit nor urlunsplit (a test pins the two paths).
_PLAIN_URL = re.compile(r"(https?)://([a-z0-9-]+(?:\.[a-z0-9-]+)*)(/[^?#\s\x00-\x1f\x7f]*)?"
                        r"(?:\?([^#\s\x00-\x1f\x7f]*))?")


def _split_canonical(url: str) -> str | None:
    """canonical_url of any URL, through urlsplit."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    netloc = _netloc(parts.username, parts.password, host, port, scheme)
    fragment = parts.fragment if parts.fragment.startswith("!") else ""  # "#!" routes are pages
    return urlunsplit((scheme, netloc, parts.path or "/", _clean_query(parts.query), fragment))


def _netloc(
    user: str | None, password: str | None, host: str, port: int | None, scheme: str
) -> str:
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        host = f"{host}:{port}"
    if user:
        host = f"{user}:{password}@{host}" if password else f"{user}@{host}"
    return host


def _clean_query(query: str) -> str:
    """Tracking parameters dropped, the rest sorted; each pair kept byte for byte."""
    pairs = [pair for pair in query.split("&") if pair and not _is_tracking(pair)]
    return "&".join(sorted(pairs))


def _is_tracking(pair: str) -> bool:
    return _TRACKING_NAME[pair.partition("=")[0]]


def _is_tracking_name(name: str) -> bool:
    name = unquote_plus(name).lower()
    return name in TRACKING_PARAMETERS or name.startswith(TRACKING_PREFIXES)


_TRACKING_NAME = _Memo(_is_tracking_name, 4096)  # a feed's links repeat their parameters


def item_identity(guid: str | None, canonical: str | None, title: str, text: str) -> str:
    """"guid:<guid>", else "url:<canonical URL>", else "hash:<sha1 of normalised title+text>".

    The prefixes keep the three kinds from ever colliding.
    """
    guid = (guid or "").strip()
    if guid:
        return f"guid:{guid}"
    if canonical:
        return f"url:{canonical}"
    return f"hash:{_sha1(normalise_text(title), normalise_text(text))}"


def content_hash(title: str, summary: str, url: str | None) -> str:
    """A stable fingerprint (sha1 hex) of what a reader sees: title, summary text and link.

    Whitespace, case and Unicode form do not count, so re-rendering the same text is no change.
    """
    return _content_hash(title, summary, canonical_url(url))


def _content_hash(title: str, summary: str, canonical: str | None) -> str:
    return _sha1(normalise_text(title), normalise_text(summary), canonical or "")


def normalise_text(text: str) -> str:
    """NFC, case-folded, whitespace collapsed: the form hashes are taken of."""
    text = text or ""
    try:
        latin = text.encode("latin-1")
    except UnicodeEncodeError:
        return _normalised(text)
    folded = latin.translate(_LATIN_CASEFOLD, _LATIN_OTHERWISE)
    if len(folded) == len(latin) and _single_spaced_bytes(folded):
        return folded.decode("latin-1")
    return _normalised(text)


def _normalised(text: str) -> str:
    folded = unicodedata.normalize("NFC", text).casefold()
    return folded if _single_spaced(folded) else " ".join(folded.split())


def _single_spaced_bytes(text: bytes) -> bool:
    return b"  " not in text and text[:1] != b" " and text[-1:] != b" "


# Latin-1 text is NFC already, and the casefold of its characters is one Latin-1 character
# each but for ß and µ: it is translated byte for byte. Translating drops those two and all
# that are not printable, so a text with any of them (rare) is seen to be shorter, and goes
# through the general path.
_LATIN_CASEFOLD = bytes(ord(chr(byte).casefold()) if byte not in (0xB5, 0xDF) else byte
                        for byte in range(256))
_LATIN_OTHERWISE = bytes(byte for byte in range(256)
                         if not chr(byte).isprintable() or byte in (0xB5, 0xDF))


def _single_spaced(text: str) -> bool:
    """True when text is its own words joined by single spaces. (The only whitespace in a
    printable text is the ASCII space: other whitespace is of Unicode's Other or Separator
    categories.)"""
    return text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " "


def _sha1(*fields: str) -> str:
    return hashlib.sha1("\x1f".join(fields).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ItemBatch:
    """Items built from one source's entries, and how many duplicate identities were dropped."""

    items: tuple[Item, ...]
    duplicates: int = 0


def to_items(
    source_id: str, language: str, entries: Iterable[Entry], fetched_at: datetime
) -> ItemBatch:
    """Items for one source's batch: identity, canonical URL, content hash; lang is the entry's
    own language or `language` (the source's); the first of several entries with the same
    identity is kept and the rest counted in ItemBatch.duplicates."""
    drafts, duplicates = _unique_drafts(source_id, language, entries, fetched_at)
    return ItemBatch(items=tuple(map(_new_item, drafts)), duplicates=duplicates)


def to_items_with_stories(source_id: str, language: str, entries: Iterable[Entry],
                          fetched_at: datetime, tags: tuple[str, ...] = ()) -> ItemBatch:
    """to_items, each item with `tags` and its story fields (story_fields of its title and
    summary), each built once."""
    drafts, duplicates = _unique_drafts(source_id, language, entries, fetched_at)
    stories = story_fields([(draft["title"], draft["summary"]) for draft in drafts])
    for draft, (tokens_text, bands, sketch) in zip(drafts, stories):
        draft.update(tags=tags, story_tokens=tokens_text, story_bands=bands, story_sketch=sketch)
    return ItemBatch(items=tuple(map(_new_item, drafts)), duplicates=duplicates)


def to_item(source_id: str, language: str, entry: Entry, fetched_at: datetime) -> Item:
    """One Entry as an Item (tags empty: classification comes later)."""
    return _new_item(_draft(source_id, language, entry, fetched_at))


def _unique_drafts(source_id: str, language: str, entries: Iterable[Entry],
                   fetched_at: datetime) -> tuple[list[dict[str, Any]], int]:
    """The _draft of each entry with an identity not seen before, and how many were seen."""
    drafts: dict[str, dict[str, Any]] = {}
    duplicates = 0
    for entry in entries:
        draft = _draft(source_id, language, entry, fetched_at)
        if draft["identity"] in drafts:
            duplicates += 1
            continue
        drafts[draft["identity"]] = draft
    return list(drafts.values()), duplicates


def _draft(source_id: str, language: str, entry: Entry, fetched_at: datetime
           ) -> dict[str, Any]:
    """The fields of an entry's Item, those it takes from the entry and its identity."""
    canonical = canonical_url(entry.url)
    return {
        "source_id": source_id,
        "identity": item_identity(entry.guid, canonical, entry.title, entry.summary),
        "url": entry.url,
        "canonical_url": canonical,
        "title": entry.title,
        "summary": entry.summary,
        "content_html": entry.content_html,
        "published": entry.published,
        "fetched": fetched_at,
        "date_missing": entry.date_missing,
        "content_hash": _content_hash(entry.title, entry.summary, canonical),
        "lang": entry.language or language,
        "author": entry.author,
        **_LATER_DEFAULTS,
    }


def _new_item(fields: dict[str, Any]) -> Item:
    """Item(**fields), given every field, without the frozen __init__ (which sets each field
    through object.__setattr__: a fifth of making an item from an entry). A test pins it."""
    if not _PLAIN_ITEM:
        return Item(**fields)
    item = object.__new__(Item)
    item.__dict__.update(fields)
    return item


# The defaults of the fields after `author`, in order: an item's attributes are set in the
# order of its fields, as __init__ sets them, so items share their attribute names' table.
_LATER_DEFAULTS = {field.name: field.default for field in dataclass_fields(Item)
                   if field.default is not MISSING and field.name != "author"}
_PLAIN_ITEM = not hasattr(Item, "__post_init__") and not hasattr(Item, "__slots__") and all(
    field.default_factory is MISSING for field in dataclass_fields(Item))


# --------------------------------------------------------------------------- story clustering
# The same story from several sources (a press release, the trade press's news about it, a
# reprint on a municipality's site) has different URLs and wording. A StorySignature holds the
# normalised word tokens of the title and the start of the text, and MinHash LSH band keys: items
# sharing any band key are candidates (a database index finds them), and same_story verifies.
# Thresholds come from real near-duplicates (bench/stories.py): reprints have token Jaccard
# .6-1.0, reworded reports of one event .3-.45 with near-equal titles, and different stories on
# one topic (two regions' library plans, two statistics reports) at most .27, sometimes with
# equal titles but then sharing under a third of their text tokens.

STORY_SIGNATURE_VERSION = 1  # bump when tokens or band keys change: stored ones are then stale
STORY_TEXT_WORDS = 100  # words of the text, after the title, that make the signature
STORY_BANDS, STORY_ROWS = 24, 3  # P(candidate) 1-(1-J**3)**24: .96 at J .5, .65 at .35, .18 at .2
TITLE_BANDS, TITLE_ROWS = 8, 3  # titles of 3+ tokens: .86 at title Jaccard .6, .99 at .8
STORY_JACCARD = Fraction(35, 100)  # token-set Jaccard that alone makes two items one story
TITLE_JACCARD = Fraction(6, 10)  # title-token Jaccard that makes one story ...
TEXT_OVERLAP = 0.4  # ... with this share of the smaller set of text tokens in common
_STORY_SHARE = (STORY_JACCARD.numerator, STORY_JACCARD.denominator)
_TITLE_SHARE = (TITLE_JACCARD.numerator, TITLE_JACCARD.denominator)
SHARED_TOKENS = 3  # fewer tokens in common is never enough ("Regional biblioteksplan")
_LANES = max(STORY_BANDS * STORY_ROWS, TITLE_BANDS * TITLE_ROWS)  # min-hashes per signature
_LANE_MASK = int.from_bytes(b"\x7f\xff" * _LANES, "big")  # 15 bits of each 16-bit lane
_WORD = re.compile(r"[^\W_]+")
_ACCENTED = re.compile("[éèêëáàâãíìîïóòôõúùûüýçñšžæø\u00ad]")
_ACCENTS = str.maketrans("éèêëáàâãíìîïóòôõúùûüýçñšžæø", "eeeeaaaaiiiioooouuuuycnszäö", "\u00ad")
_VOWEL_THEN_CONSONANT = re.compile("[aeiouyåäö][^aeiouyåäö]")
_SUFFIXES = frozenset(
    """a arna erna heterna orna ad e ade ande arne are aste en anden aren heten ern ar er heter
    or as arnas ernas ornas es ades andes ens arens hetens erns at et ets andet het ast""".split()
)  # step 1 of the Snowball Swedish stemmer (its "et" has exceptions, not kept here)
_CONSONANT_PAIRS = frozenset("dd gd nn dt gt kt tt".split())  # step 2: drop the last letter
_S_ENDING = frozenset("bcdfghjklmnoprtvy")  # a final s after these is a genitive or plural
STOPWORDS = frozenset(
    """alla allt att av bara blev bli blir blivit de dem den denna deras dess dessa det detta dig
    din dina ditt du där då efter eftersom ej eller en er era ert ett från för ha hade han hans
    har hela henne hennes hon honom hur här hos i icke ingen inom inte man med mellan men mig min
    mina mitt mot mycket ni nu när någon något några och om oss på samma sedan sig sin sina sitta
    själv skulle som så sådan sådana till under upp ut utan vad var vara varför varit varje vars
    vem vi vid vilka vilkas vilken vilket vår våra vårt än är även åt över också kan ska får
    måste många mer mest kommer finns genom två tre dag nya nytt ny andra
    about after all also and any are because been but can could did does each for from had has
    have her his how into its just more most new not now only other our out over she should
    some such than that the their them then there these they this those through was were what
    when where which while who will with would you your""".split()
)  # fmt: skip


@dataclass(frozen=True)
class StorySignature:
    """What story clustering knows of an item: `tokens` (title and text start, normalised),
    `title_tokens` (a subset of tokens) and `bands`, the LSH keys ("b3:<12 hex>" from the
    tokens, "t1:<12 hex>" from a title of 3+ tokens); items sharing a band key are candidates."""

    tokens: frozenset[str]
    title_tokens: frozenset[str]
    bands: tuple[str, ...]


def story_signature(title: str, text: str) -> StorySignature:
    """The signature of an item from its title and the first STORY_TEXT_WORDS words of its
    plain text. The same on every process and machine, so band keys can be stored."""
    return story_signatures([(title, text)])[0]


def story_signatures(texts: Iterable[tuple[str, str]]) -> list[StorySignature]:
    """story_signature of each (title, text) in turn, the min-hashes of all taken together:
    numpy's fixed cost is paid once, not for every item."""
    return _signatures([_token_pair(title, text) for title, text in texts])


class StoryFields(NamedTuple):
    """What an item keeps of its story signature: signature_tokens_text, the band keys and
    story_sketch."""

    tokens_text: str
    bands: tuple[str, ...]
    sketch: StorySketch


def story_fields(texts: Iterable[tuple[str, str]]) -> list[StoryFields]:
    """The StoryFields of story_signature(title, text) for each (title, text), worked out
    without the signatures (their token sets and Python ints for every token): the sketch's
    bucket bits come out of the same padded table of token rows as the min-hashes."""
    pairs = [_token_pair(title, text) for title, text in texts]
    bands, sketches = _bands_and_sketches(pairs, sketches=True)
    return list(map(StoryFields, map(_tokens_text, pairs), bands, sketches))


TokenPair = tuple[frozenset[str], set[str]]  # an item's title tokens, and its other tokens


def _token_pair(title: str, text: str) -> TokenPair:
    """The tokens of the title, and those of the text start that are not the title's."""
    title_tokens = frozenset(_tokens_of((title or "").split()))
    rest = _tokens_of((text or "").split(maxsplit=STORY_TEXT_WORDS)[:STORY_TEXT_WORDS])
    rest -= title_tokens
    return title_tokens, rest


def _tokens_of(words: list[str]) -> set[str]:
    """The distinct tokens of whitespace-separated words. Most words have one token: the set is
    made of each word's token straight away (a repeated word is looked up again, which is
    cheaper than making the words distinct first), and only if some word has several are all
    words' tokens added."""
    tokens = set(map(_WORD_TOKEN.__getitem__, words))
    if _SEVERAL in tokens:
        tokens.discard(_SEVERAL)
        tokens.update(chain.from_iterable(map(_WORD_TOKENS.__getitem__, words)))
    tokens.discard("")
    return tokens


def _tokens_text(pair: TokenPair) -> str:
    """signature_tokens_text of the signature with these tokens."""
    title, rest = pair
    return f"{' '.join(sorted(title))} | {' '.join(sorted(rest))}"


def _word_tokens(word: str) -> tuple[str, ...]:
    """Tokens of one word: casefolded (å ä ö kept, other accents dropped), split on all but
    letters and digits ("KB:s", "e-böcker"), stopwords and short words dropped, numbers kept
    ("75 miljoner", "2025" tell stories apart), words stemmed."""
    folded = unicodedata.normalize("NFC", word).casefold()
    if _ACCENTED.search(folded):
        folded = folded.translate(_ACCENTS)
    return tuple(token for token in map(_token, _WORD.findall(folded)) if token)


_WORD_TOKENS = _Memo(_word_tokens)


def _word_token(word: str) -> str:
    """The word's one token, "" for none, _SEVERAL for more."""
    tokens = _WORD_TOKENS[word]
    if len(tokens) == 1:
        return tokens[0]
    return _SEVERAL if tokens else ""


_SEVERAL = " "  # no token holds a space
_WORD_TOKEN = _Memo(_word_token)


def _token(word: str) -> str:
    """The token of a piece of a word, "" for none."""
    if word.isdigit():
        return word if len(word) >= 2 else ""
    if len(word) < 3 or word in STOPWORDS:
        return ""
    return _stem(word)


def _stem(word: str) -> str:
    """Steps 1 and 2 of the Snowball Swedish stemmer, simplified (biblioteken, bibliotekens ->
    bibliotek; stärkta -> stärk): suffixes are only removed after the first vowel-consonant
    pair and the third letter."""
    match = _VOWEL_THEN_CONSONANT.search(word)
    region = max(match.end(), 3) if match else len(word)
    word = _strip_suffix(word, region)
    if word[-2:] in _CONSONANT_PAIRS and len(word) - 2 >= region:
        word = word[:-1]
    return word


def _strip_suffix(word: str, region: int) -> str:
    """The longest inflection suffix inside the region; else a genitive or plural s after a
    letter that takes one."""
    for size in range(min(7, len(word) - region), 0, -1):
        if word[-size:] in _SUFFIXES:
            return word[:-size]
    if word[-1] == "s" and len(word) - 1 >= region and word[-2] in _S_ENDING:
        return word[:-1]
    return word


def _signatures(pairs: list[TokenPair]) -> list[StorySignature]:
    """The signature of each (title tokens, other tokens)."""
    bands, _ = _bands_and_sketches(pairs, sketches=False)
    return [StorySignature(title | rest, title, item_bands)
            for (title, rest), item_bands in zip(pairs, bands)]


def _bands_and_sketches(pairs: list[TokenPair], sketches: bool
                        ) -> tuple[list[tuple[str, ...]], list[StorySketch]]:
    """The band keys of each (title tokens, other tokens), and its story_sketch if asked: story
    bands of all its tokens (none without tokens: an item without words is nobody's candidate)
    and title bands of a title of SHARED_TOKENS or more (short titles, "Nyheter", would match
    too much). A batch whose padded table would be mostly padding (one very long title or
    text) is taken in halves."""
    if not pairs:
        return [], []
    title_width = max(1, max(len(title) for title, _ in pairs))
    rest_width = max(1, max(len(rest) for _, rest in pairs))
    rows = sum(len(title) + len(rest) for title, rest in pairs)
    if len(pairs) > 1 and len(pairs) * (title_width + rest_width) > 2 * rows + 64 * len(pairs):
        half = len(pairs) // 2
        first, second = (_bands_and_sketches(part, sketches)
                         for part in (pairs[:half], pairs[half:]))
        return first[0] + second[0], first[1] + second[1]
    table = _token_table(pairs, title_width, rest_width)
    bands = _bands(pairs, table, title_width)
    return bands, _sketches(pairs, table, title_width) if sketches else []


def _token_table(pairs: list[TokenPair], title_width: int, rest_width: int) -> np.ndarray:
    """The token rows of every item (items, title_width + rest_width, _ROW_LANES): its title
    tokens' rows, padding up to title_width, its other tokens' rows, padding up to the end.
    Padding rows are all 0xFFFF, above any 15-bit hash: they change no minimum."""
    row, padding = _TOKEN_ROWS.__getitem__, _PADDING.__getitem__
    parts: list[bytes] = []
    for title, rest in pairs:
        parts += map(row, title)
        parts.append(padding(title_width - len(title)))
        parts += map(row, rest)
        parts.append(padding(rest_width - len(rest)))
    table = np.frombuffer(b"".join(parts), np.uint16)
    return table.reshape(len(pairs), title_width + rest_width, _ROW_LANES)


def _bands(pairs: list[TokenPair], table: np.ndarray, title_width: int
           ) -> list[tuple[str, ...]]:
    """Each item's band keys from its rows: a column's minimum is a min-hash."""
    title_minima = _row_minima(table[:, :title_width])
    minima = np.minimum(_row_minima(table[:, title_width:]), title_minima)
    keys = _band_keys(minima[:, :_STORY_LANES], title_minima[:, :_TITLE_LANES])
    bands = []
    for start, (title, rest) in zip(range(0, len(keys), _KEYS_PER_ITEM), pairs):
        if len(title) >= SHARED_TOKENS:
            bands.append(keys[start:start + _KEYS_PER_ITEM])
        else:
            bands.append(keys[start:start + STORY_BANDS] if title or rest else ())
    return bands


def _row_minima(rows: np.ndarray) -> np.ndarray:
    """The minimum of each item's rows (items, width, lanes -> items, lanes), in halves: each
    step is one elementwise minimum over whole blocks of rows, which numpy vectorises, where a
    reduce along the rows calls its loop for every row. (Odd widths: the halves overlap by a
    row, which cannot change a minimum.)"""
    width = rows.shape[1]
    while width > 1:
        half = (width + 1) // 2
        rows = np.minimum(rows[:, :half], rows[:, width - half:width])
        width = half
    return rows[:, 0]


def _band_keys(story_minima: np.ndarray, title_minima: np.ndarray) -> tuple[str, ...]:
    """Every item's story and title band keys, item after item: each band's prefix and the hex
    of its rows of min-hashes (big-endian). They are written into one text in one go, which
    a split cuts into keys."""
    items = len(story_minima)
    minima = np.concatenate((story_minima, title_minima), axis=1)
    digits = minima.astype(">u2").tobytes().hex().encode("ascii")
    text = np.empty((items, _KEYS_PER_ITEM, _KEY_WIDTH + 1), np.uint8)
    text[:, :, :_PREFIX_WIDTH] = _KEY_PREFIXES
    text[:, :, _PREFIX_WIDTH:_KEY_WIDTH] = np.frombuffer(digits, np.uint8).reshape(
        items, _KEYS_PER_ITEM, _KEY_WIDTH - _PREFIX_WIDTH)
    text[:, :, _KEY_WIDTH] = ord(" ")
    return tuple(text.tobytes().decode("ascii").split())


def _sketches(pairs: list[TokenPair], table: np.ndarray, title_width: int
              ) -> list[StorySketch]:
    """Each item's story_sketch from its rows: a bitmap of the buckets of its title's rows and
    of all its rows (padding falls in a column past the last bucket), packed into bytes, read
    as ints. The bitmap is set through flat indices, numpy's quick way to scatter."""
    items, map_width = len(pairs), _BUCKETS + 8
    columns = np.minimum(table[:, :, _LANES], _BUCKETS).astype(np.intp)
    starts = np.arange(0, 2 * items * map_width, 2 * map_width)[:, None]
    bitmap = np.zeros(2 * items * map_width, np.bool_)
    bitmap[(columns[:, :title_width] + starts).ravel()] = True
    bitmap[(columns + (starts + map_width)).ravel()] = True
    packed = np.packbits(bitmap.reshape(items, 2, map_width)[:, :, :_BUCKETS], axis=2,
                         bitorder="little").tobytes()
    size, from_bytes = _BUCKETS // 8, int.from_bytes
    return [(len(title) + len(rest), len(title),
             from_bytes(packed[start + size:start + 2 * size], "little"),
             from_bytes(packed[start:start + size], "little"))
            for start, (title, rest) in zip(range(0, len(packed), 2 * size), pairs)]


def _token_row(token: str) -> bytes:
    """A token's row of native 16-bit integers: _LANES independent 15-bit hashes (SHAKE-128,
    not hash(), which is salted per process), then the token's bucket (see _bucket_bit). 15
    bits are plenty: two different minima agree by chance about once in a thousand rows, and
    a band needs all its rows to agree."""
    data = token.encode("utf-8")
    return _native_lanes(hashlib.shake_128(data).digest(2 * _LANES), zlib.crc32(data) % _BUCKETS)


def _native_lanes(digest: bytes, bucket: int) -> bytes:
    """The big-endian 16-bit lanes of a digest, each masked to 15 bits, and the bucket, as
    native 16-bit integers. (Masked as one Python int and swapped by an array: a token's first
    sight, in every new worker, costs a third of what numpy's calls on 73 numbers cost.)"""
    masked = int.from_bytes(digest, "big") & _LANE_MASK
    lanes = array("H", masked.to_bytes(len(digest), "big"))
    if sys.byteorder == "little":
        lanes.byteswap()
    lanes.append(bucket)
    return lanes.tobytes()


_ROW_LANES = _LANES + 1
_BUCKETS = 512
_TOKEN_ROWS = _Memo(_token_row)
_PADDING = _Memo(lambda rows: b"\xff\xff" * _ROW_LANES * rows, 1024)

_STORY_LANES, _TITLE_LANES = STORY_BANDS * STORY_ROWS, TITLE_BANDS * TITLE_ROWS
_STORY_PREFIXES = tuple(f"b{band}:" for band in range(STORY_BANDS))
_TITLE_PREFIXES = tuple(f"t{band}:" for band in range(TITLE_BANDS))
_KEYS_PER_ITEM = STORY_BANDS + TITLE_BANDS
_PREFIX_WIDTH = max(map(len, _STORY_PREFIXES + _TITLE_PREFIXES))
_KEY_WIDTH = _PREFIX_WIDTH + 4 * STORY_ROWS  # 4 hex digits per 16-bit min-hash
_KEY_PREFIXES = np.frombuffer(  # right-aligned: the spaces before a short one are split off
    "".join(prefix.rjust(_PREFIX_WIDTH) for prefix in _STORY_PREFIXES + _TITLE_PREFIXES)
    .encode("ascii"), np.uint8).reshape(_KEYS_PER_ITEM, _PREFIX_WIDTH)
assert STORY_ROWS == TITLE_ROWS


def same_story(a: StorySignature, b: StorySignature) -> bool:
    """True when two signatures tell the same story: at least SHARED_TOKENS tokens in common,
    and either token-set Jaccard >= STORY_JACCARD, or title Jaccard >= TITLE_JACCARD and
    TEXT_OVERLAP of the smaller set of text tokens in common (or no text on one side)."""
    title = tuple(b.title_tokens)
    return _same_tokens(a, title + tuple(b.tokens - b.title_tokens), len(title))


@dataclass(frozen=True, slots=True)
class StoredTokens:
    """A stored item's story tokens as a story index keeps them: the token text
    (signature_tokens_text, so its tokens are distinct), read into tokens only when a
    comparison gets past the sketch (rarely); the number of tokens and of title tokens; and
    `buckets` and `title_buckets`, the _bucket_bit of every token and of the title's OR-ed
    together."""

    text: str
    size: int
    titled: int
    buckets: int
    title_buckets: int

    @property
    def tokens(self) -> tuple[str, ...]:
        """The tokens, the first `titled` of them the title's."""
        title_part, _, rest = self.text.rpartition("|")
        return tuple(title_part.split() + rest.split())


StorySketch = tuple[int, int, int, int]  # StoredTokens' size, titled, buckets, title_buckets


def stored_tokens(text: str, sketch: StorySketch | None = None) -> StoredTokens:
    """StoredTokens of a token text (signature_tokens_text), with its story_sketch when it is
    known already (a parse worker works it out), else worked out of the text."""
    if sketch is None:
        title_part, _, rest = text.rpartition("|")
        sketch = _sketch(title_part.split(), rest.split())
    return StoredTokens(text, *sketch)


def story_sketch(signature: StorySignature) -> StorySketch:
    """What stored_tokens needs besides the token text, from the signature's token sets."""
    title = signature.title_tokens
    return _sketch(title, signature.tokens - title)


def _sketch(title: Iterable[str], rest: Iterable[str]) -> StorySketch:
    bits = _BUCKET_BIT.__getitem__
    title_bits = list(map(bits, title))
    rest_bits = list(map(bits, rest))
    title_buckets = reduce(or_, title_bits, 0)
    return (len(title_bits) + len(rest_bits), len(title_bits),
            reduce(or_, rest_bits, title_buckets), title_buckets)


_BUCKET_BITS = tuple(1 << bucket for bucket in range(_BUCKETS))


def _bucket_bit(token: str) -> int:
    """The bit of the token's hash bucket: a token set's bits OR-ed together sketch it in one
    integer. The hash is the same in every process (parse workers sketch new items)."""
    return _BUCKET_BITS[zlib.crc32(token.encode("utf-8")) % len(_BUCKET_BITS)]


_BUCKET_BIT = _Memo(_bucket_bit, 1 << 17)


class Sketch(NamedTuple):
    """The buckets of a new item's tokens and title tokens, how many of each fell into a
    bucket already filled (`spare`), and the set sizes: enough to rule out most candidates
    without comparing tokens."""

    buckets: int
    spare: int
    size: int
    title_buckets: int
    title_spare: int
    title_size: int

    def rules_out(self, b: StoredTokens) -> bool:
        """True when same_story must say no. Each token shared with `b` fills a bucket both
        have, and no more of them fall together than `spare`: so the shared tokens are at most
        shared buckets + spare. If that is too few for SHARED_TOKENS and STORY_JACCARD, and
        the same bound on the titles too few for TITLE_JACCARD, the verdict is no (each test
        only gets easier with more tokens shared)."""
        shared = (self.buckets & b.buckets).bit_count() + self.spare
        if shared < SHARED_TOKENS:
            return True
        if shared * _STORY_BOUND[1] >= _STORY_BOUND[0] * (self.size + b.size):
            return False
        titles = (self.title_buckets & b.title_buckets).bit_count() + self.title_spare
        return titles * _TITLE_BOUND[1] < _TITLE_BOUND[0] * (self.title_size + b.titled)


# shared >= n/d * (|a| + |b| - shared) is shared >= n/(n+d) * (|a| + |b|)
_STORY_BOUND = (_STORY_SHARE[0], sum(_STORY_SHARE))
_TITLE_BOUND = (_TITLE_SHARE[0], sum(_TITLE_SHARE))


class StoryProbe:
    """A new item's side of the comparisons with stored items: its sketch at once, its token
    sets only when a comparison gets past the sketch."""

    __slots__ = ("stored", "sketch", "_signature")

    def __init__(self, stored: StoredTokens):
        self.stored = stored
        self.sketch = Sketch(stored.buckets, stored.size - stored.buckets.bit_count(),
                             stored.size, stored.title_buckets,
                             stored.titled - stored.title_buckets.bit_count(), stored.titled)
        self._signature: StorySignature | None = None

    def signature(self) -> StorySignature:
        """The signature (without bands) that same_story compares."""
        if self._signature is None:
            tokens, titled = self.stored.tokens, self.stored.titled
            self._signature = StorySignature(frozenset(tokens), frozenset(tokens[:titled]), ())
        return self._signature


def same_as_stored(a: StoryProbe, b: StoredTokens) -> bool:
    """same_story of a new item and a stored one; the sketch rules most pairs out first,
    without comparing tokens."""
    if a.sketch.rules_out(b):
        return False
    return _same_tokens(a.signature(), b.tokens, b.titled)


def _same_tokens(a: StorySignature, known: tuple[str, ...], titled: int) -> bool:
    """same_story of a signature and tokens, the first `titled` of them the title's.
    (_at_least is written out: a story index asks this of its candidates.)"""
    tokens = a.tokens
    shared = len(tokens.intersection(known))
    if shared < SHARED_TOKENS:
        return False
    if shared * _STORY_SHARE[1] >= _STORY_SHARE[0] * (len(tokens) + len(known) - shared):
        return True
    titles_shared = len(a.title_tokens.intersection(known[:titled]))
    titles_union = len(a.title_tokens) + titled - titles_shared
    if not titles_union or titles_shared * _TITLE_SHARE[1] < _TITLE_SHARE[0] * titles_union:
        return False
    text_a, text_b = tokens - a.title_tokens, known[titled:]
    return len(text_a.intersection(text_b)) >= TEXT_OVERLAP * min(len(text_a), len(text_b))


def _at_least(part: int, whole: int, share: tuple[int, int]) -> bool:
    """part / whole >= numerator / denominator, exactly (in integers), for whole > 0."""
    return part * share[1] >= share[0] * whole


def story_similarity(a: StorySignature, b: StorySignature) -> float:
    """Jaccard similarity of the two token sets (0.0 when both are empty)."""
    return _jaccard(a.tokens, b.tokens)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def signature_tokens_text(sig: StorySignature) -> str:
    """The signature as text to store: the title tokens, " | ", the other tokens; each part
    sorted and space-joined. signature_from_tokens reads it back."""
    rest = sig.tokens - sig.title_tokens
    return f"{' '.join(sorted(sig.title_tokens))} | {' '.join(sorted(rest))}"


def same_story_tokens(a: str, b: str) -> bool:
    """same_story on two stored token texts, without recomputing their bands."""
    return same_story(comparable_signature(a), comparable_signature(b))


def comparable_signature(text: str) -> StorySignature:
    """The signature of a stored token text without its bands: what same_story compares.
    Tokens are interned, so the many signatures of a story index share their strings."""
    title_part, bar, _ = text.rpartition("|")
    tokens = text.split()
    if bar:
        tokens.remove("|")
    tokens = frozenset(map(sys.intern, tokens))
    return StorySignature(tokens, frozenset(map(sys.intern, title_part.split())), ())


def signature_from_tokens(text: str) -> StorySignature:
    """The StorySignature that signature_tokens_text wrote, bands recomputed (so it equals the
    original). Text without "|" is read as tokens with no title tokens."""
    title_part, _, rest = text.rpartition("|")
    title_tokens = frozenset(title_part.split())
    return _signatures([(title_tokens, set(rest.split()) - title_tokens)])[0]
