"""DigestContent -> subject, HTML and plain text, ready to be put in an email.

Jinja2 templates in templates/ (autoescape on for HTML, off for text); the HTML is built from
tables so Outlook and Gmail show it alike, and its CSS is inlined (css-inline). Each entry is
rendered once per story for all recipients (fragments.py); a message is its page around those.
Every message must stay under Gmail's clipping size: when the encoded parts would pass
MAX_MESSAGE_BYTES, the lowest-ranked stories are dropped (a note says how many, and the archive
link finds them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property, lru_cache

from markupsafe import Markup

from scanner.digest.content import DigestContent, DigestEntry
from scanner.digest.definitions import DigestDefinition, Recipient
from scanner.digest.fragments import EntryFragment, html_fragment, text_fragment
from scanner.digest.page import entries_context, page_context, placed
from scanner.digest.sizes import encoded_size, joined_size
from scanner.digest.templating import ENVIRONMENT, INLINER
from scanner.digest.tokens import (
    VERDICTS,
    make_token,
    make_unsubscribe_token,
    token_length,
    unsubscribe_url,
)

MAX_MESSAGE_BYTES = 102_000  # Gmail clips a message past about 102 kB
HEADER_ALLOWANCE = 3_000  # headers and MIME boundaries around the two parts
ENTRY_MARKER = Markup("<!--scanner-entry-->")  # where an entry goes (escaping keeps it unique)


@dataclass(frozen=True)
class RenderedDigest:
    """What goes into the email. `content` is what was rendered (after any trimming)."""

    subject: str
    html: str
    text: str
    content: DigestContent

    @cached_property
    def size(self) -> int:
        """Estimated size of the whole message in bytes, parts quoted-printable encoded."""
        return encoded_size(self.html) + encoded_size(self.text) + HEADER_ALLOWANCE


def render_digest(content: DigestContent, definition: DigestDefinition, recipient: Recipient,
                  public_url: str, secret: str | bytes, now: datetime,
                  max_bytes: int = MAX_MESSAGE_BYTES) -> RenderedDigest:
    """Render one recipient's digest; trims the lowest-ranked stories if it would be too big:
    the fewest that make it fit (all of them if nothing fits). A trim is measured without
    rendering it (_Trim.size); only the one chosen is rendered."""
    links = _Links(secret, content.digest_id, content.week, recipient.email,
                   public_url.rstrip("/"))  # shared by every trim
    trims: dict[int, _Trim] = {}

    def trimmed(count: int) -> _Trim:
        if count not in trims:
            shown = _drop_lowest(content, count) if count else content
            trims[count] = _Trim(shown, definition, recipient, now, links)
        return trims[count]

    count = 0 if trimmed(0).size <= max_bytes else fewest_to_drop(
        lambda count: trimmed(count).size, len(content.entries), max_bytes)
    return trimmed(count).render()


def fewest_to_drop(size_after: Callable[[int], int], entries: int, max_bytes: int) -> int:
    """The fewest stories (1..entries) to drop so that size_after(count) ≤ max_bytes, or
    `entries` when even that is too big; size_after(0) is over. Sizes shrink by roughly the same
    bytes per story, so each guess interpolates between the nearest sizes known; the answer is
    checked on both sides (count fits, count − 1 does not)."""
    over, fits = 0, None  # the most dropped that is still too big; the fewest that fit
    while fits is None or fits - over > 1:
        if fits is None and over >= entries:
            return entries
        per_story = _bytes_per_story(size_after, over, fits, entries)
        guess = over + max(1, -(-(size_after(over) - max_bytes) // max(per_story, 1)))
        guess = min(guess, entries if fits is None else fits - 1)
        if size_after(guess) <= max_bytes:
            fits = guess
        else:
            over = guess
    return fits


def _bytes_per_story(size_after: Callable[[int], int], over: int, fits: int | None,
                     entries: int) -> int:
    """Bytes one dropped story saves, from the two nearest sizes known (a first guess: the
    whole message over its stories, on the large side so the first guess seldom overshoots)."""
    if fits is not None:
        return (size_after(over) - size_after(fits)) // (fits - over) + 1
    if over > 0:
        return (size_after(0) - size_after(over)) // over
    return size_after(0) // entries


class _Trim:
    """A recipient's digest with some stories dropped: its size, and its rendering if it is the
    one chosen; both use its page around the entries, made once."""

    def __init__(self, content: DigestContent, definition: DigestDefinition,
                 recipient: Recipient, now: datetime, links: _Links):
        self.content, self.links = content, links
        self.context = page_context(content, definition, recipient, now, links.base,
                                    links.unsubscribe)

    def render(self) -> RenderedDigest:
        links, language = self.links, self.content.language
        html = "".join(self._html(lambda entry, fragment: fragment.fill(*links.tokens(entry))))
        text = ENVIRONMENT.get_template("digest.txt").render(self.context | entries_context(
            self.content, lambda entry, number: text_fragment(
                entry, language, links.base, number).fill(*links.tokens(entry))))
        return RenderedDigest(self.context["subject"], html, text, self.content)

    @cached_property
    def size(self) -> int:
        """render().size, counted from the pieces, each entry with same-length stand-ins for
        its feedback tokens (token characters are never quoted, so the size is the same, and an
        entry's size is remembered for every recipient). Text entries are whole lines: their
        sizes add to the rest of the text's."""
        links, language = self.links, self.content.language
        html = joined_size(self._html(links.stand_ins))
        text = encoded_size(ENVIRONMENT.get_template("digest.txt").render(
            self.context | entries_context(self.content, lambda entry, number: "")))
        text += joined_size(links.stand_ins(entry, text_fragment(
            entry, language, links.base, number)) for entry, number in placed(self.content))
        return html + text + HEADER_ALLOWANCE

    def _html(self, shown: Callable[[DigestEntry, EntryFragment], str | tuple[str, ...]]
              ) -> list:
        """The page's pieces with shown(entry, its fragment) in each entry's place."""
        page, *after_each = self._page
        pieces = [page]
        for (entry, top_number), after in zip(placed(self.content), after_each):
            pieces.append(shown(entry, html_fragment(entry, self.content.language,
                                                     self.links.base, top_number is not None)))
            pieces.append(after)
        return pieces

    @cached_property
    def _page(self) -> list[str]:
        """The page with a marker for each entry, its CSS inlined, cut at the markers: with each
        entry's fragment (CSS inlined once per story) between, what inlining the whole page
        gives."""
        marked = ENVIRONMENT.get_template("digest.html").render(
            self.context | entries_context(self.content, lambda entry, number: ENTRY_MARKER))
        return INLINER.inline(marked).split(ENTRY_MARKER)


def _drop_lowest(content: DigestContent, count: int) -> DigestContent:
    """The content without its `count` lowest-ranked stories (section stories go first)."""
    in_sections = [e for section in content.sections for e in section.entries]
    order = sorted(in_sections, key=_rank_key) + sorted(content.top, key=_rank_key)
    dropped = {id(entry) for entry in order[:count]}
    sections = tuple(dataclasses.replace(s, entries=tuple(e for e in s.entries
                                                          if id(e) not in dropped))
                     for s in content.sections)
    return dataclasses.replace(
        content, top=tuple(e for e in content.top if id(e) not in dropped),
        sections=tuple(s for s in sections if s.entries), omitted=content.omitted + count)


def _rank_key(entry: DigestEntry) -> tuple:
    return (entry.rank, entry.published.timestamp(), -entry.item_id)


@dataclass
class _Links:
    """One recipient's signed links; an item's feedback tokens are made once per digest."""

    secret: str | bytes
    digest_id: str
    week: str
    email: str
    base: str
    signed: dict[int, tuple[str, str]] = field(default_factory=dict)

    def tokens(self, entry: DigestEntry) -> tuple[str, str]:
        """The entry's "relevant" and "not relevant" tokens."""
        if entry.item_id not in self.signed:
            self.signed[entry.item_id] = tuple(
                make_token(self.secret, self.digest_id, self.week, self.email, entry.item_id,
                           verdict) for verdict in VERDICTS)
        return self.signed[entry.item_id]

    def stand_ins(self, entry: DigestEntry, fragment: EntryFragment) -> tuple[str, ...]:
        """The fragment's pieces with unsigned text as long as the entry's tokens."""
        stand_in = _stand_in(token_length(self.digest_id, self.week, self.email, entry.item_id))
        return fragment.pieces(stand_in, stand_in)

    @cached_property
    def unsubscribe(self) -> str:
        token = make_unsubscribe_token(self.secret, self.digest_id, self.email)
        return unsubscribe_url(self.base, token)


@lru_cache(maxsize=64)
def _stand_in(length: int) -> str:
    return "x" * length
