"""Text helpers shared by the feed parser and (later) the HTML-page parser.

Everything here is pure: strings in, strings out, no clock, no network.

- `decode_body`: bytes to text, deciding the real encoding of the bytes (a feed that says UTF-8
  but is Latin-1, or says ISO-8859-1 but is UTF-8, both come out right).
- `fix_mojibake`: repairs UTF-8 text that was decoded as Windows-1252 somewhere upstream
  ("pÃ¥" -> "på", "â€“" -> "–").
- `html_to_text` / `clean_line` / `trim_text`: readable plain text from HTML fragments.
- `sanitize_html`: a safe HTML copy (nh3) with links made absolute.
- `parse_date_utc`, `normalize_language`.
"""

from __future__ import annotations

import codecs
import email.utils
import html
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from urllib.parse import urljoin, urlsplit

import nh3
from dateutil import parser as dateutil_parser

# --------------------------------------------------------------------------- body decoding


@dataclass(frozen=True)
class DecodedBody:
    """A body as text, with the encoding really used and the one the server or document declared."""

    text: str
    encoding: str  # codec name actually used, e.g. "utf-8", "cp1252"
    declared: str | None = None  # from the Content-Type header, else the XML/HTML declaration

    @property
    def mislabelled(self) -> bool:
        """True when the declared charset is not the one the bytes are really in."""
        if self.declared is None or self.encoding == "ascii":
            return False
        return _group(self.declared) != _group(self.encoding)


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.I)
_DOC_CHARSET = re.compile(
    rb"""<\?xml[^>]*?\sencoding\s*=\s*["']([\w.:-]+)|<meta[^>]*?charset\s*=\s*["']?([\w.:-]+)""",
    re.I,
)
_WESTERN = {"iso8859-1", "cp1252", "ascii"}  # decoded as cp1252, their common superset


def decode_body(body: bytes, headers: Mapping[str, str] | None = None) -> DecodedBody:
    """Decode a response body, trusting the bytes over the labels.

    Order: a byte-order mark; strict UTF-8 (valid UTF-8 is UTF-8 whatever the label says); a
    declared non-western charset that decodes cleanly (e.g. windows-1250); else Windows-1252,
    the superset of ISO-8859-1 that browsers use for "latin-1" (undefined bytes kept as Latin-1).
    """
    declared = declared_charset(body, headers or {})
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return DecodedBody(body[len(bom) :].decode(codec, "replace"), codec, declared)
    if declared and _family(declared).startswith(("utf-16", "utf-32")) and b"\x00" in body[:200]:
        return DecodedBody(body.decode(declared, "replace"), declared, declared)
    if body.isascii():
        return DecodedBody(body.decode("ascii"), "ascii", declared)
    try:
        return DecodedBody(body.decode("utf-8"), "utf-8", declared)
    except UnicodeDecodeError:
        pass
    if declared and _family(declared) not in _WESTERN | {"utf-8"}:
        try:
            return DecodedBody(body.decode(declared), _family(declared), declared)
        except (UnicodeDecodeError, LookupError):
            pass
    return DecodedBody(body.decode("cp1252", "scanner-latin1"), "cp1252", declared)


def declared_charset(body: bytes, headers: Mapping[str, str]) -> str | None:
    """The charset named by the Content-Type header, else by the document's first 1 KiB."""
    content_type = header_value(headers, "content-type") or ""
    found = _HEADER_CHARSET.search(content_type)
    if found:
        return found.group(1).lower()
    found = _DOC_CHARSET.search(body[:1024])
    if not found:
        return None
    return (found.group(1) or found.group(2)).decode("ascii").lower()


def header_value(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header lookup (fetchers may hand over any key case)."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def _family(charset: str) -> str:
    try:
        return codecs.lookup(charset).name
    except LookupError:
        return charset.lower()


def _group(charset: str) -> str:
    family = _family(charset)
    return "western" if family in _WESTERN else family


def _latin1_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    """Codec error handler: bytes undefined in Windows-1252 (0x81, 0x8D, ...) as Latin-1."""
    chunk = error.object[error.start : error.end]
    return bytes(chunk).decode("latin-1"), error.end


codecs.register_error("scanner-latin1", _latin1_fallback)

# --------------------------------------------------------------------------- mojibake


def _byte_of_char() -> dict[str, int]:
    """Each character that Windows-1252 or Latin-1 decoding produces, mapped back to its byte."""
    table = {chr(b): b for b in range(256)}
    table.update({bytes([b]).decode("cp1252", "ignore"): b for b in range(0x80, 0xA0)})
    table.pop("", None)
    return table


_BYTE_OF = _byte_of_char()
_CONT = "".join(re.escape(c) for c, b in _BYTE_OF.items() if 0x80 <= b <= 0xBF)
# Lead bytes kept narrow on purpose: Â/Ã (Latin-1 letters such as å ä ö é), â (punctuation such
# as – ” …), ð (emoji), ï»¿ (a stray BOM). Legit text almost never has these followed by a
# continuation character, so Swedish "hallå”…" or "»SMÅ«" is left alone. (Ä/Å leads, i.e.
# Latin Extended-A such as Polish ł, are left out: "Å«" and "Å”" occur in Swedish text.)
_MOJIBAKE = re.compile(f"[\u00c2\u00c3][{_CONT}]|\u00e2[{_CONT}]{{2}}|\u00f0[{_CONT}]{{3}}")


def fix_mojibake(text: str) -> str:
    """Repair UTF-8 that was decoded as Windows-1252/Latin-1, also when mixed with good text."""
    for _ in range(3):  # double-encoded text needs two passes
        if not _may_hold_mojibake(text) or not _MOJIBAKE.search(text):
            break
        text = _MOJIBAKE.sub(_redecode, text)
    if "\u00ef" in text:  # the BOM's first character alone is found faster than all three
        text = text.replace("\u00ef\u00bb\u00bf", "")
    return text


def _may_hold_mojibake(text: str) -> bool:
    """False when no lead character occurs: str.__contains__ is far cheaper than the regex."""
    # The leads spelled out: four `in` tests cost a quarter of any() over a generator.
    return "\u00c2" in text or "\u00c3" in text or "\u00e2" in text or "\u00f0" in text


def _redecode(match: re.Match[str]) -> str:
    raw = bytes(_BYTE_OF[c] for c in match.group(0))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return match.group(0)


# --------------------------------------------------------------------------- HTML to text

_BLOCK_TAG = re.compile(
    r"<(?:br|hr|/?(?:p|div|li|ul|ol|dl|dt|dd|h[1-6]|tr|table|thead|tbody|blockquote|pre|section"
    r"|article|header|footer|aside|nav|figure|figcaption|address|details|summary|main))\b[^>]*>",
    re.I,
)
_CELL_TAG = re.compile(r"</?(?:td|th)\b[^>]*>", re.I)
_MARKUP = re.compile(r"<[a-zA-Z/!]|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]\w*);")
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]\w*);")
_INVISIBLE_CHARS = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_INVISIBLE = dict.fromkeys(map(ord, _INVISIBLE_CHARS))
_DROP_WITH_CONTENT = {"script", "style", "template", "noscript", "iframe", "object"}


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment: tags gone, entities decoded, block elements as new lines,
    scripts and styles dropped, whitespace collapsed; lines joined by "\\n"."""
    if not _MARKUP.search(fragment):
        return tidy_lines(fragment)
    marked = _CELL_TAG.sub(" ", _BLOCK_TAG.sub("\n", fragment))
    stripped = _without_inline_tags(marked)
    if stripped is None:
        stripped = _strip_all_tags(marked)
    return tidy_lines(html.unescape(stripped))


# Inline elements that an HTML parser puts in the tree as they come, their text in document
# order: no raw-text content, none "special" but the void ones (so misnesting never moves text),
# no table parts.
_INLINE_TAG_NAMES = (
    "a|b|i|em|strong|span|u|small|code|sup|sub|abbr|cite|mark|q|s|del|ins|time|font|big|tt|strike"
    "|kbd|var|samp|dfn|bdi|bdo|img|wbr"  # img and wbr: void, never open around text
)
_HTML_SPACE = "[ \t\n\f]"  # the HTML parser's whitespace (\r is already \n to it)
_INLINE_TAG = re.compile(
    rf"<(?:/(?:{_INLINE_TAG_NAMES}){_HTML_SPACE}*"
    rf"|(?:{_INLINE_TAG_NAMES})"
    rf"(?:{_HTML_SPACE}+[a-zA-Z_:][-a-zA-Z0-9_:.]*"
    rf"(?:{_HTML_SPACE}*={_HTML_SPACE}*(?:\"[^\"]*\"|'[^']*'|[^ \t\n\f\r\"'=<>`]+))?)*"
    rf"{_HTML_SPACE}*/?)>",
    re.I,
)
# A character reference other than these (html.unescape and the HTML parser differ on some:
# "&#1;", "&copy" without ";").
_UNCOMMON_REFERENCE = re.compile(r"&(?!(?:amp|lt|gt|quot|apos|nbsp);)")


def _without_inline_tags(fragment: str) -> str | None:
    """The fragment with its tags removed, when every tag is a plain inline one and every
    reference is a common named one; None for anything else (nh3 reads that).

    Exact because for such a fragment nh3's tag stripping keeps exactly the text between the
    tags, in order, with the same references decoded; nh3 escapes &, <, > and U+00A0 in its
    output and the caller unescapes both. It saves an HTML parse of every summary.
    """
    stripped = _INLINE_TAG.sub("", fragment)
    if "<" in stripped or "\x00" in stripped or "\r" in stripped:
        return None  # other markup, or characters the HTML parser drops or changes
    if "&" in stripped and _UNCOMMON_REFERENCE.search(stripped):
        return None
    return stripped


def clean_line(value: str | None, is_html: bool = False) -> str:
    """One line of text (a title, an author): markup removed, whitespace collapsed, mojibake
    repaired (before and after decoding entities, which may hide it: "&#195;&#165;")."""
    if not value:
        return ""
    value = fix_mojibake(value)
    if is_html or _MARKUP.search(value):
        value = html_to_text(value)  # also decodes double-escaped "&amp;amp;" titles
    line = _collapse_spaces(_drop_invisible(value))
    return _nfc(fix_mojibake(line))


def tidy_lines(text: str) -> str:
    """Plain text tidied: invisible characters dropped, spaces collapsed, blank lines removed."""
    lines = [_collapse_spaces(line, True) for line in _drop_invisible(text).splitlines()]
    return _nfc("\n".join(filter(None, lines)))


def _nfc(text: str) -> str:
    """unicodedata.normalize("NFC", text), which checks every character of a non-ASCII text.

    Text of Latin-1 characters only (most Swedish text) is always NFC: each is a composed
    form or no letter at all, and none combines with a neighbour. Encoding it to Latin-1 is a
    plain copy, much cheaper than that check; with "ignore" other text loses characters
    instead of raising.
    """
    if len(text.encode("latin-1", "ignore")) == len(text):
        return text
    return unicodedata.normalize("NFC", text)


def _collapse_spaces(text: str, is_line: bool = False) -> str:
    """The words of text joined by single spaces, as " ".join(text.split()) gives them.
    `is_line`: text is a line from str.splitlines(), so it holds no line break."""
    # Most lines already are, and then the checks are cheaper than making a string per word.
    single_spaced = "  " not in text and text[:1] != " " and text[-1:] != " "
    if single_spaced and _no_whitespace_but_spaces(text, is_line):
        return text
    return " ".join(text.split())


def _no_whitespace_but_spaces(text: str, is_line: bool = False) -> bool:
    """True only when the ASCII space is the one whitespace character in text (False may be
    wrong; then _collapse_spaces splits and joins, which gives the text back all the same).
    `is_line`: text is a line from str.splitlines(), so it holds no line break."""
    if len(text.encode("latin-1", "ignore")) != len(text):
        # The only whitespace in a printable text is the ASCII space (all other whitespace is
        # of Unicode's Other or Separator categories, which isprintable() rejects).
        return text.isprintable()
    # Latin-1 text (most Swedish text): its whitespace besides the space, spelled out; eleven
    # searches for one character cost half of isprintable()'s look-up of every character.
    if "\t" in text or "\x1f" in text or "\xa0" in text:
        return False
    # The other eight are line breaks to str.splitlines().
    return is_line or not (
        "\n" in text
        or "\r" in text
        or "\x0b" in text
        or "\x0c" in text
        or "\x1c" in text
        or "\x1d" in text
        or "\x1e" in text
        or "\x85" in text
    )


def _drop_invisible(text: str) -> str:
    """Text without zero-width characters and soft hyphens."""
    # str.translate looks up every character in the table (slow on non-ASCII text); most
    # texts hold none of these, and six substring searches are cheap (those of
    # _INVISIBLE_CHARS, spelled out: any() over a generator costs more than the searches).
    if (
        "\u200b" in text
        or "\u200c" in text
        or "\u200d" in text
        or "\u2060" in text
        or "\ufeff" in text
        or "\u00ad" in text
    ):
        return text.translate(_INVISIBLE)
    return text


def trim_text(text: str, limit: int) -> str:
    """Cut text to at most `limit` characters, at a sentence end or else a word, with "…"."""
    if len(text) <= limit:
        return text
    window = text[: limit - 1]
    sentence_end = max(window.rfind(mark) for mark in (". ", "! ", "? ", "\n"))
    if sentence_end >= limit * 0.6:
        return window[: sentence_end + 1].rstrip() + " …"
    space = window.rfind(" ")
    cut = window[:space] if space >= limit * 0.6 else window
    return cut.rstrip(" ,;:-–") + "…"


def text_to_html(text: str) -> str:
    """Plain text as a minimal safe HTML copy: one <p> per line."""
    return "".join(f"<p>{html.escape(line, quote=False)}</p>" for line in text.splitlines() if line)


# --------------------------------------------------------------------------- sanitising

SAFE_TAGS = frozenset(nh3.ALLOWED_TAGS - {"area", "map", "center", "details", "summary", "nav"})
# In nh3's output every attribute is name="value" and "<" outside tags is escaped, so this finds
# exactly the URL attributes (each allowed tag has at most one: a href, img src, q/del/ins cite).
_URL_ATTRIBUTE = re.compile(r'(<[a-z][a-z0-9]*\b[^<>]*?\s(?:href|src|cite)=")([^"]*)"')
_ABSOLUTE = re.compile(r"^(?:https?:|mailto:)", re.I)


def _cleaner(**options: object) -> Callable[[str], str]:
    """A reusable nh3 cleaner (built once: much faster than nh3.clean with options each call)."""
    if hasattr(nh3, "Cleaner"):
        return nh3.Cleaner(**options).clean
    return partial(nh3.clean, **options)  # nh3 < 0.3


_strip_all_tags = _cleaner(tags=set(), clean_content_tags=_DROP_WITH_CONTENT)
_sanitize = _cleaner(
    tags=set(SAFE_TAGS),
    clean_content_tags=_DROP_WITH_CONTENT,
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer nofollow",
)


def sanitize_html(fragment: str, base_url: str | None = None) -> str:
    """A safe copy of an HTML fragment: nh3's allow-list (no script, style, iframe, on* or
    javascript: links), relative href/src/cite made absolute against `base_url`."""
    if not fragment or not fragment.strip():
        return ""
    if "<" not in fragment and "&" not in fragment:
        return html.escape(fragment.strip(), quote=False)  # plain text: nothing to clean
    cleaned = _sanitize(fragment).strip()
    if base_url:
        cleaned = _URL_ATTRIBUTE.sub(partial(_absolute_attribute, base_url), cleaned)
    return cleaned


def _absolute_attribute(base_url: str, match: re.Match[str]) -> str:
    value = match.group(2)
    if _ABSOLUTE.match(value):
        return match.group(0)
    try:
        absolute = join_url(base_url, html.unescape(value).strip())
    except ValueError:
        absolute = ""
    return f'{match.group(1)}{html.escape(absolute, quote=True)}"'


# --------------------------------------------------------------------------- URLs

# URL parts that urllib's split-and-rebuild hands back unchanged: a path without "." or ".."
# segments or ";" (split off as params), a query or fragment only when not empty (an empty one
# is dropped), no spaces or control characters (stripped or removed).
_PLAIN_PATH = r"(?:/(?!\.\.?(?:[/?#]|$))[^/?#;\x00-\x20\x7f]*)*"
_PLAIN_QUERY_FRAGMENT = r"(?:\?[^#\x00-\x20\x7f]+)?(?:#[^\x00-\x20\x7f]+)?"
# An ASCII host without brackets: urlsplit has no IPv6 or Unicode host check to make.
_PLAIN_ABSOLUTE_URL = re.compile(
    rf"https?://[A-Za-z0-9._~%!$&'()*+,=:@-]+{_PLAIN_PATH}{_PLAIN_QUERY_FRAGMENT}"
)
_PLAIN_ROOT_PATH = re.compile(rf"(?=/[^/]){_PLAIN_PATH}{_PLAIN_QUERY_FRAGMENT}|/")


def join_url(base: str, url: str) -> str:
    """urllib.parse.urljoin(base, url), with the two commonest shapes of `url` answered without
    splitting and rebuilding it: an absolute http(s) URL (joined, it comes back as it is) and a
    path from the site root under an http(s) base."""
    if _PLAIN_ABSOLUTE_URL.fullmatch(url):
        urlsplit(base)  # raises for a base urljoin could not split either
        return url
    if _PLAIN_ROOT_PATH.fullmatch(url):
        scheme, netloc = urlsplit(base)[:2]
        if scheme in ("http", "https"):
            return f"{scheme}://{netloc}{url}"
    return urljoin(base, url)


def joined_url_and_scheme(base: str | None, url: str) -> tuple[str, str]:
    """(join_url(base, url) when there is a base, else url; url_scheme of that), matching an
    absolute http(s) URL, the commonest link, once instead of in each."""
    if _PLAIN_ABSOLUTE_URL.fullmatch(url):
        if base:
            urlsplit(base)  # raises for a base urljoin could not split either
        return url, url[: url.index(":")]
    absolute = join_url(base, url) if base else url
    return absolute, url_scheme(absolute)


def url_scheme(url: str) -> str:
    """urlsplit(url).scheme, lowercased (ValueError for a URL urlsplit rejects)."""
    if _PLAIN_ABSOLUTE_URL.fullmatch(url):
        return url[: url.index(":")]
    return urlsplit(url).scheme.lower()


# --------------------------------------------------------------------------- dates


class _SwedishEnglishDates(dateutil_parser.parserinfo):
    """dateutil names in English and Swedish ("3 mars 2025 kl. 10:00", "mån 3 mars")."""

    JUMP = [*dateutil_parser.parserinfo.JUMP, "den", "kl", "kl.", "klockan"]
    WEEKDAYS = [
        ("Mon", "Monday", "mån", "måndag"),
        ("Tue", "Tuesday", "tis", "tisdag"),
        ("Wed", "Wednesday", "ons", "onsdag"),
        ("Thu", "Thursday", "tor", "tors", "torsdag"),
        ("Fri", "Friday", "fre", "fredag"),
        ("Sat", "Saturday", "lör", "lördag"),
        ("Sun", "Sunday", "sön", "söndag"),
    ]
    MONTHS = [
        ("Jan", "January", "januari"),
        ("Feb", "February", "februari"),
        ("Mar", "March", "mars"),
        ("Apr", "April"),
        ("May", "maj"),
        ("Jun", "June", "juni"),
        ("Jul", "July", "juli"),
        ("Aug", "August", "augusti"),
        ("Sep", "Sept", "September"),
        ("Oct", "October", "okt", "oktober"),
        ("Nov", "November"),
        ("Dec", "December"),
    ]


_DATE_INFO = _SwedishEnglishDates(dayfirst=True)
_HAS_YEAR = re.compile(r"(?<!\d)(?:19|20|21)\d\d(?!\d)")
EARLIEST_PLAUSIBLE_YEAR = 1990  # older dates are CMS placeholders (1970-01-01), not news


def parse_date_utc(value: str | None, default_tz: timezone = timezone.utc) -> datetime | None:
    """An aware UTC datetime from RFC 822, ISO 8601 or a free-form English/Swedish date string.

    A value without a time zone is taken to be in `default_tz`. Returns None when the value is
    empty, unreadable, has no four-digit year (so nothing is filled in from the clock) or is
    before 1990.
    """
    text = (value or "").strip()
    if not text:
        return None
    for reader in (_rfc822, _iso8601, _free_form):
        parsed = reader(text)
        if parsed is not None:
            return to_utc(parsed, default_tz)
    return None


def to_utc(moment: datetime, default_tz: timezone = timezone.utc) -> datetime | None:
    """Aware UTC datetime, or None for dates before EARLIEST_PLAUSIBLE_YEAR."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=default_tz)
    try:
        moment = moment.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None
    return moment if moment.year >= EARLIEST_PLAUSIBLE_YEAR else None


def _rfc822(text: str) -> datetime | None:
    try:
        return email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def _iso8601(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _free_form(text: str) -> datetime | None:
    if not _HAS_YEAR.search(text):
        return None
    try:
        return dateutil_parser.parse(text, parserinfo=_DATE_INFO)
    except (ValueError, OverflowError, TypeError):
        return None


# --------------------------------------------------------------------------- language

_LANGUAGE_NAMES = {"swedish": "sv", "svenska": "sv", "english": "en", "engelska": "en"}
_LANGUAGE_TAG = re.compile(r"^([a-z]{2,3})(?:[-_][a-z0-9]{1,8})*$")


def normalize_language(value: str | None) -> str | None:
    """'sv-SE', 'sv_se', 'Swedish' -> 'sv'; 'en-US' -> 'en'; anything unreadable -> None."""
    text = (value or "").strip().lower()
    if text in _LANGUAGE_NAMES:
        return _LANGUAGE_NAMES[text]
    found = _LANGUAGE_TAG.match(text)
    return found.group(1) if found else None
