"""Plain Swedish text, the common case that tokenizers take a fast path for.

Most Swedish text is ASCII, å ä ö (an é at times) and a few punctuation marks. Such text is NFC
already and casefolds like ASCII (Å Ä Ö É need lower-casing besides), so one bytes.translate of
its UTF-8 does the work of NFC, casefold and splitting. Shared by the stages that tokenize
(classify, parse), which do not import each other.
"""

from __future__ import annotations

PLAIN_MARKS = "\u2013\u2014\u2018\u2019\u201c\u201d\u2022\u2026\u00a0\u00a7\u00ab\u00bb"
PLAIN_LETTERS = "åäöéÅÄÖÉ"
_MARK_BYTES = tuple(mark.encode() for mark in PLAIN_MARKS)
_PLAIN_BYTES = bytes(range(128)) + PLAIN_LETTERS.encode()


def plain_utf8(text: str) -> bytes | None:
    """The UTF-8 of `text` with the marks of PLAIN_MARKS as spaces, when every other character
    is ASCII or one of PLAIN_LETTERS; None for any other text."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return None
    rest = data.translate(None, _PLAIN_BYTES)  # a mark's bytes all stay here, in a row
    if rest:
        for mark in _MARK_BYTES:
            if mark in rest:  # a whole UTF-8 sequence: it cannot match inside another one
                data = data.replace(mark, b" ")
        if data.translate(None, _PLAIN_BYTES):
            return None
    return data
