"""How many bytes a digest's parts take in the email: quoted-printable UTF-8, as send.py encodes
them, counted without building the encoded text."""

from __future__ import annotations

from email import quoprimime
from functools import lru_cache

_QUOTED = bytes(n if len(quoprimime._QUOPRI_BODY_ENCODE_MAP[n]) == 1 else 0 for n in range(256))
CACHED_LINES = 1 << 15  # most lines recur in every recipient's message and trimming render


def encoded_size(text: str) -> int:
    """len(quoprimime.body_encode(...)) of `text` as UTF-8 with the default line length."""
    body = text.encode("utf-8")
    if not body:
        return 0
    # the wrapping only looks for "=": every byte quoprimime quotes becomes "=XX" here
    lines = body.translate(_QUOTED).replace(b"\0", b"=XX").decode("ascii").splitlines()
    size = len(lines) - 1 + (body[-1:] in (b"\r", b"\n"))  # the line ends ("\n" each)
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
