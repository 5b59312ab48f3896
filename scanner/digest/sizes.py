"""How many bytes a digest's parts take in the email: quoted-printable UTF-8, as send.py encodes
them, counted without building the encoded text.

quoprimime.body_encode quotes byte by byte, then wraps each line on its own, so a text's size is
the sum of its lines' sizes plus its line ends. `joined_size` uses that for text kept in pieces
(a page around its entries): each piece's whole lines are counted once and remembered, and only
the lines that run from one piece into the next are counted anew.
"""

from __future__ import annotations

from collections.abc import Iterable
from email import quoprimime
from functools import lru_cache

_QUOTED = bytes(n if len(quoprimime._QUOPRI_BODY_ENCODE_MAP[n]) == 1 else 0 for n in range(256))
CACHED_LINES = 1 << 15  # most lines recur in every recipient's message and trimming render
CACHED_PIECES = 1 << 14


def encoded_size(text: str) -> int:
    """len(quoprimime.body_encode(...)) of `text` as UTF-8 with the default line length."""
    return _lines_size(_quoted(text))


def joined_size(pieces: Iterable[str | tuple[str, ...]]) -> int:
    """encoded_size of the pieces joined, from their lines; a tuple of pieces is joined and
    remembered as one (an entry with its tokens)."""
    total, carry = 0, ""  # carry: the quoted line begun in earlier pieces
    for piece in pieces:
        first, whole_lines, rest = _piece_lines(piece)
        if rest is None:
            carry += first
        else:
            total += _lines_size(carry + first) + whole_lines
            carry = rest
    return total + _lines_size(carry)


@lru_cache(maxsize=CACHED_PIECES)
def _piece_lines(piece: str | tuple[str, ...]) -> tuple[str, int, str | None]:
    """The quoted piece as (up to its first line end, the size of the whole lines after that,
    what follows its last "\\n"); (all of it, 0, None) when no line ends in it. A piece ending in
    "\\r" keeps it in the rest: with a "\\n" from the next piece it makes one line end."""
    text = piece if isinstance(piece, str) else "".join(piece)
    segments = _quoted(text).splitlines(keepends=True)
    rest = segments.pop() if segments and not segments[-1].endswith("\n") else ""
    if not segments:
        return rest, 0, None
    return segments[0], _lines_size("".join(segments[1:])), rest


def _quoted(text: str) -> str:
    """The text as UTF-8 with every byte quoprimime quotes as "=XX" (the wrapping only looks for
    "=", so this is all it needs)."""
    return text.encode("utf-8").translate(_QUOTED).replace(b"\0", b"=XX").decode("ascii")


def _lines_size(quoted: str) -> int:
    """Encoded size of quoted text: its lines plus a "\\n" for each line end."""
    if not quoted:
        return 0
    lines = quoted.splitlines()
    size = len(lines) - 1 + (quoted[-1] in "\r\n")
    for line in lines:
        size += _encoded_line_size(line)
    return size


@lru_cache(maxsize=CACHED_LINES)
def _encoded_line_size(line: str, maxlinelen: int = 76) -> int:
    """One quoted line's length after quoprimime.body_encode's wrapping (soft breaks "=\\n")."""
    size, start, last_start = 0, 0, len(line) - 1 - maxlinelen
    while start <= last_start:
        stop = start + maxlinelen - 1
        if line[stop - 2] == "=":
            size, start = size + (stop - 1 - start) + 1, stop - 2
        elif line[stop - 1] == "=":
            size, start = size + (stop - start) + 1, stop - 1
        else:
            size, start = size + (stop - start) + 2, stop
    if line and line[-1] in " \t":
        room = start - last_start
        tail = 3 if room >= 3 else 3 if room == 2 else 5
        return size + len(line) - 1 - start + tail
    return size + len(line) - start
