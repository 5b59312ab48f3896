"""Text helpers of the digest: clean summaries cut at a sentence, title tokens for near-duplicates."""

from __future__ import annotations

import html
import re
import unicodedata

SUMMARY_LIMIT = 300
WHY_LIMIT = 140
ABBREVIATIONS = ("t.ex.", "bl.a.", "m.m.", "s.k.", "d.v.s.", "dvs.", "osv.", "o.s.v.", "ca.",
                 "nr.", "kl.", "jfr.", "resp.", "prof.", "dr.", "e.g.", "i.e.", "etc.", "mr.",
                 "st.", "kap.", "fr.o.m.", "t.o.m.", "p.g.a.", "pga.")

_TAG = re.compile(r"<[^>]{0,500}>")
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)]*(?=\s+[\"'“”(]*[A-ZÅÄÖÉÜ0-9])")
_LONGER_WORD = re.compile(r"\w\w+")  # a whole word: \w+ but not one letter alone


def clean_text(text: str) -> str:
    """Plain text on one line: leftover tags and entities removed, whitespace collapsed."""
    text = text or ""
    if "<" in text:
        text = _TAG.sub(" ", text)
    # str.split() splits at exactly the characters \s matches: runs become one space
    return " ".join(unicodedata.normalize("NFC", html.unescape(text)).split())


def summarise(text: str, limit: int = SUMMARY_LIMIT) -> str:
    """The first one or two sentences, within `limit` characters; a first sentence that is too
    long is cut at a word boundary and ends with "…"."""
    cleaned = clean_text(text)
    sentences = split_sentences(cleaned)
    if not sentences:
        return ""
    kept = sentences[0]
    if len(kept) > limit:
        return cut_words(kept, limit)
    if len(sentences) > 1 and len(kept) + 1 + len(sentences[1]) <= limit:
        kept = f"{kept} {sentences[1]}"
    return kept


def split_sentences(text: str) -> list[str]:
    """Sentences of clean text; common Swedish and English abbreviations do not end one."""
    sentences, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        if _ends_with_abbreviation(text[start:match.end()]):
            continue
        sentences.append(text[start:match.end()].strip())
        start = match.end()
    rest = text[start:].strip()
    return sentences + ([rest] if rest else [])


def _ends_with_abbreviation(sentence: str) -> bool:
    last = sentence.rsplit(" ", 1)[-1].lower()
    return last in ABBREVIATIONS or bool(re.fullmatch(r"\w\.", last))


def cut_words(text: str, limit: int) -> str:
    """`text` cut at the last space before `limit - 1` characters, with "…" appended."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    cut = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return cut.rstrip(" ,;:–-") + "…"


def title_tokens(title: str) -> frozenset[str]:
    """Lower-case words of two letters or more of a title, for comparing titles across
    sources."""
    return frozenset(_LONGER_WORD.findall(clean_text(title).casefold()))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Shared words over all words; 0 for two empty sets."""
    union = len(a | b)
    return len(a & b) / union if union else 0.0
