"""A source's `include`/`exclude` keyword filters, applied to each entry.

A base module apart from config.py (which validates sources.yaml with pydantic and ruamel), so
the parse workers can filter without importing what validation needs.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from scanner.models import Source


def passes_filters(source: Source, title: str, text: str) -> bool:
    """Keep an item when it matches an `include` keyword (if any are given) and no `exclude` one.

    Case-insensitive whole words; `*` stands for any letters: `bibliotek*`, `*bibliotek`.
    """
    if not source.include and not source.exclude:
        return True
    haystack = _fold(f"{title}\n{text}")
    if source.include and not any(_keyword_pattern(k).search(haystack) for k in source.include):
        return False
    return not any(_keyword_pattern(k).search(haystack) for k in source.exclude)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


@lru_cache(maxsize=2048)
def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    words = [r"\w*".join(map(re.escape, word.split("*"))) for word in _fold(keyword).split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)")
