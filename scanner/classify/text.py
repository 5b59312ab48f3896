"""Swedish-aware text helpers for tagging: folding, tokens, Snowball stems and keyword patterns.

- `fold`: NFC + casefold, strips accents that Swedish writing treats as decoration (é -> e,
  á -> a, š -> s) but keeps å, ä and ö; Norwegian/Danish æ and ø fold to their Swedish
  twins ä and ö, so Nordic cognates meet the same keywords.
- `tokens`: runs of letters and digits; hyphens, colons and apostrophes split words
  ("e-böcker" -> e, böcker; "KB:s" -> kb, s).
- `stem`: the Snowball Swedish stem ("biblioteken", "bibliotekens" -> "bibliotek"), cached.
- `parse_keyword`: a taxonomy keyword -> `Atom`s, one per word. `*` at the start or end of a
  word is a wildcard for compounds: `läsfrämj*` (prefix), `*bibliotek` (suffix, also on the
  stem), `*bibliotek*` (infix). A plain word matches the same word or any word with its stem.
  Several words make a phrase that matches consecutive tokens.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

from scanner.plaintext import plain_utf8

WILDCARD_MIN = 3  # letters a wildcard needs; `ab*` would match far too many words
STEM_MIN = 4  # a shorter stem joins unrelated words (bok ~ boka, sam ~ same): exact match only

_FOLD_MAP = {
    "é": "e", "è": "e", "ê": "e", "ë": "e", "á": "a", "à": "a", "â": "a", "ã": "a",
    "í": "i", "ì": "i", "î": "i", "ï": "i", "ó": "o", "ò": "o", "ô": "o", "õ": "o",
    "ú": "u", "ù": "u", "û": "u", "ü": "u", "ý": "y", "ç": "c", "ñ": "n", "š": "s",
    "ž": "z", "č": "c", "đ": "d", "ŋ": "n", "ŧ": "t", "æ": "ä", "ø": "ö", "\u00ad": "",
}
_FOLDABLE = re.compile("[" + "".join(_FOLD_MAP) + "]")
# The usual non-ASCII punctuation, and the characters that fold (an explicit class is fast):
_PUNCTUATION = "\u2010\u2011\u2012\u2013\u2014\u2015\u2018\u2019\u201a\u201c\u201d\u201e\u2026" \
               "\u2022\u2023\u2032\u2033\u00ab\u00bb\u00b4\u00b7\u00a7\u00b0\u00a9\u00ae\u2122\u2039" \
               "\u203a\u2212\u00d7\u20ac\u00a3\u00bf\u00a1\u2192\u2190\u25cf\u25aa\u2713\ufffd"
_SPECIAL = re.compile("[" + _PUNCTUATION + "".join(_FOLD_MAP) + "]")
_TOKEN = re.compile(r"[^\W_]+")
# ASCII bytes that are not letters or digits become spaces; UTF-8 lead/trail bytes stay:
_SEPARATE = bytes(b if b >= 128 or chr(b).isalnum() else 32 for b in range(256))
# the one plain letter that folds (to e), and the last byte of its UTF-8, which no other
# character of plain text has
_E_ACUTE = (("é".encode(), "é".encode()[-1:]), ("É".encode(), "É".encode()[-1:]))
_PIECE = re.compile(r"\*?[^\W_]+\*?|\*+")  # a keyword's words, `*` kept on its word
_INNER_STAR = re.compile(r"[^\W_]\*+[^\W_]")
_STEMMER = snowballstemmer.stemmer("swedish")


def fold(text: str) -> str:
    """Lower-case comparable form: NFC, casefold, decorative accents off, å ä ö kept."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    text = text.casefold()
    return _FOLDABLE.sub(_fold_char, text) if _FOLDABLE.search(text) else text


def _fold_char(match: re.Match[str]) -> str:
    return _FOLD_MAP[match.group()]


def lowering_table(is_word_character) -> bytes:
    """A bytes.translate table for `plain_utf8` output: ASCII capitals and Å Ä Ö É to lower
    case, the other ASCII characters that are not word characters to spaces."""
    table = bytearray(b if b >= 128 or is_word_character(chr(b)) else 32 for b in range(256))
    for upper, lower in zip(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", b"abcdefghijklmnopqrstuvwxyz"):
        table[upper] = lower
    for upper, lower in zip("ÅÄÖÉ".encode()[1::2], "åäöé".encode()[1::2]):  # after the byte C3
        table[upper] = lower
    return bytes(table)


_PLAIN_SEPARATE = lowering_table(str.isalnum)


def tokens(text: str) -> list[str]:
    """The folded words of `text`: runs of letters and digits; everything else separates words.

    Written for speed (it runs on every item): bytes.translate and str.split do the work of
    `re.findall(r"[^\\W_]+", fold(text))` in C — for plain Swedish text in one translate —,
    with a regex pass only for the usual non-ASCII punctuation and accents, and the exact
    regex when other symbols turn up.
    """
    plain = plain_utf8(text)
    if plain is not None:
        return plain_tokens(plain)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    text = text.casefold()
    if text.isascii():
        return text.encode("ascii").translate(_SEPARATE).decode("ascii").split()
    if _SPECIAL.search(text):
        text = _SPECIAL.sub(_special_char, text)
    words = text.encode("utf-8", "replace").translate(_SEPARATE).decode("utf-8", "replace").split()
    if "".join(words).isalnum():
        return words
    return _TOKEN.findall(text)  # rarer punctuation or symbols: the slow, exact way


def plain_tokens(plain: bytes) -> list[str]:
    """`tokens` of a text whose `plain_utf8` is `plain`."""
    return plain_lowered(plain).decode("utf-8").split()


def plain_lowered(plain: bytes) -> bytes:
    """What `plain_tokens` splits: `plain` with é as e, lower-cased, and every ASCII character
    that is not a letter or digit a space."""
    for e_acute, last_byte in _E_ACUTE:
        if plain.find(last_byte) >= 0:  # memchr (`in` would first try the bytes as an int)
            plain = plain.replace(e_acute, b"e")
    return plain.translate(_PLAIN_SEPARATE)


def _special_char(match: re.Match[str]) -> str:
    return _FOLD_MAP.get(match.group(), " ")


@lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    """Snowball Swedish stem of an already folded word."""
    return _STEMMER.stemWord(word)


@dataclass(frozen=True)
class Atom:
    """One word of a keyword: kind is word, prefix (`x*`), suffix (`*x`) or infix (`*x*`)."""

    kind: str
    text: str  # folded
    stem: str = ""  # word: the stem its inflections share ("" when too short to trust)


def parse_keyword(keyword: str) -> tuple[Atom, ...]:
    """The atoms of a keyword; ValueError says why it could never match (and how to fix it)."""
    folded = fold(keyword).strip()
    if not folded:
        raise ValueError("the keyword is empty; write a word, e.g. bibliotek or bibliotek*")
    inner = _INNER_STAR.search(folded)
    if inner:
        raise ValueError(f"'{keyword}': `*` may only start or end a word, e.g. läsfrämj*, "
                         "*bibliotek or *bibliotek*")
    atoms = tuple(_atom(piece) for piece in _PIECE.findall(folded))
    if not atoms:
        raise ValueError(f"'{keyword}' has no letters or digits, so it can never match; "
                         "write a word, e.g. bibliotek*")
    return atoms


def _atom(piece: str) -> Atom:
    core = piece.strip("*")
    if not core:
        raise ValueError("`*` alone would match every word; put letters with it, e.g. bibliotek*")
    starts, ends = piece.startswith("*"), piece.endswith("*")
    if (starts or ends) and len(core) < WILDCARD_MIN:
        raise ValueError(f"'{piece}' is too short for a wildcard: it would match almost any "
                         f"word; give it at least {WILDCARD_MIN} letters")
    if starts and ends:
        return Atom("infix", core)
    if ends:
        return Atom("prefix", core)
    if starts:
        return Atom("suffix", core)
    stemmed = stem(core)
    if not stemmed:
        raise ValueError(f"'{piece}' is empty after stemming, so it can never match")
    return Atom("word", core, stemmed if len(stemmed) >= STEM_MIN else "")
