"""Each shown story's entry, rendered once and reused by every recipient and every trimming render.

An entry's HTML (templates/entry.html, its CSS inlined) and text (templates/entry.txt) are the
same for every recipient except for the two signed feedback links. They are rendered with a slot
in place of each link's token and cached; `EntryFragment.fill` puts one recipient's tokens in.
Inlining the CSS of an entry on its own gives the same markup as inlining the whole message
(every rule that applies inside an entry is about the entry's own elements); the speed-path
tests pin the whole message against the plain rendering.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from scanner.digest.calendar import format_date
from scanner.digest.content import DigestEntry
from scanner.digest.templating import ENVIRONMENT, INLINER, STYLESHEET
from scanner.digest.texts import strings
from scanner.digest.tokens import feedback_url

# Private-use characters: nothing else puts them after the last user text of an entry.
RELEVANT_SLOT, NOT_RELEVANT_SLOT = "\ue000", "\ue001"
CACHED_ENTRIES = 4096  # per kind; a week's shown stories for every digest fit easily


@dataclass(frozen=True)
class EntryFragment:
    """An entry's markup or text around its two token slots."""

    head: str  # up to the "relevant" token
    middle: str  # between the two tokens
    tail: str  # after the "not relevant" token

    def fill(self, relevant_token: str, not_relevant_token: str) -> str:
        return f"{self.head}{relevant_token}{self.middle}{not_relevant_token}{self.tail}"

    def pieces(self, relevant_token: str, not_relevant_token: str) -> tuple[str, ...]:
        """What fill() joins."""
        return self.head, relevant_token, self.middle, not_relevant_token, self.tail


@lru_cache(maxsize=CACHED_ENTRIES)
def html_fragment(entry: DigestEntry, language: str, base: str, top: bool) -> EntryFragment:
    """The entry's HTML with the CSS inlined (`top`: as one of the week's top stories)."""
    return _split(INLINER.inline_fragment(_entry_html(entry, language, base, top), STYLESHEET))


@lru_cache(maxsize=CACHED_ENTRIES)
def text_fragment(entry: DigestEntry, language: str, base: str,
                  number: int | None) -> EntryFragment:
    """The entry's plain text (`number`: its place among the top stories, else a bullet)."""
    view = entry_view(entry, language, base)
    return _split(ENVIRONMENT.get_template("entry.txt").render(
        e=view, s=strings(language), number=number))


def plain_html_fragment(entry: DigestEntry, language: str, base: str,
                        top: bool) -> EntryFragment:
    """The entry's HTML as the page template would have it, before the CSS is inlined."""
    return _split(_entry_html(entry, language, base, top))


def _entry_html(entry: DigestEntry, language: str, base: str, top: bool) -> str:
    view = entry_view(entry, language, base)
    return ENVIRONMENT.get_template("entry.html").render(e=view, s=strings(language), top=top)


def entry_view(entry: DigestEntry, language: str, base: str) -> dict:
    """What the entry templates show of an entry; feedback links end in the token slots."""
    s, names = strings(language), ", ".join(entry.also_reported_by)
    return {
        "title": entry.title, "url": _web_link(entry.url), "summary": entry.summary,
        "source_date": s["source_date"].format(
            source=entry.source_name, date=format_date(entry.published, language,
                                                       weekday=False)),
        "tags": list(entry.tags), "why": entry.why,
        "also": s["also"].format(names=names) if names else "",
        "relevant_url": feedback_url(base, RELEVANT_SLOT),
        "not_relevant_url": feedback_url(base, NOT_RELEVANT_SLOT),
    }


def _web_link(url: str | None) -> str | None:
    """Only http(s) links go into the email; anything else is shown without a link."""
    return url if url and url.lower().startswith(("https://", "http://")) else None


def _split(rendered: str) -> EntryFragment:
    """Cut at the last slots: only the template's own words follow them."""
    before, _, tail = rendered.rpartition(NOT_RELEVANT_SLOT)
    head, _, middle = before.rpartition(RELEVANT_SLOT)
    return EntryFragment(head, middle, tail)
