"""The stored tag model's envelope: magic line, JSON header (format, scikit-learn and numpy
versions), zlib-compressed body. Checked here without unpickling the model, so a process that
only hands stored models to the parse workers (the scan's main process) never imports numpy,
scipy or the feature code."""

from __future__ import annotations

import importlib.metadata
import json
import zlib
from functools import cache

from scanner.errors import ScannerError

FORMAT_VERSION = 1
MAGIC = b"scanner-tagmodel\n"


class ModelFormatError(ScannerError):
    """Stored model bytes were written by another format or scikit-learn version."""


@cache
def sklearn_version() -> str:
    """The installed scikit-learn's version, read without importing it ("?" when absent)."""
    try:
        return importlib.metadata.version("scikit-learn")
    except importlib.metadata.PackageNotFoundError:
        return "?"


def envelope(header: dict, body: bytes) -> bytes:
    """Stored model bytes around a pickled body."""
    return MAGIC + json.dumps(header).encode() + b"\n" + zlib.compress(body, 6)


def unpacked_body(data: bytes) -> bytes:
    """The pickled body of stored model bytes whose header this installation can read."""
    check_header(data)
    try:
        return zlib.decompress(data.split(b"\n", 2)[2])
    except (zlib.error, IndexError) as exc:
        raise ModelFormatError(f"the stored tag model is damaged ({exc}); retrain it") from exc


def check_header(data: bytes) -> None:
    """Refuse bytes of another format version or scikit-learn release."""
    try:
        header = json.loads(data.split(b"\n", 2)[1]) if data.startswith(MAGIC) else None
    except ValueError:
        header = None
    if not isinstance(header, dict):
        raise ModelFormatError("these bytes are not a scanner tag model; retrain the model")
    if header.get("format_version") != FORMAT_VERSION:
        raise ModelFormatError(
            f"the stored tag model has format version {header.get('format_version')}, this "
            f"scanner reads version {FORMAT_VERSION}; retrain the model from the labels")
    stored, running = header.get("sklearn", "?"), sklearn_version()
    if stored.split(".")[:2] != running.split(".")[:2]:
        raise ModelFormatError(
            f"the stored tag model was trained with scikit-learn {stored}, this installation "
            f"has {running}; retrain the model from the labels (or install {stored})")
