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

from scanner.digest.calendar import format_date, format_week, format_week_span
from scanner.digest.content import DigestContent, DigestEntry, FailingSource, RisingTopic
from scanner.digest.definitions import DigestDefinition, Recipient
from scanner.digest.fragments import EntryFragment, html_fragment, text_fragment
from scanner.digest.sizes import encoded_size, joined_size
from scanner.digest.templating import ENVIRONMENT, INLINER
from scanner.digest.texts import number, plural, strings
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
    rendering it (_measure); only the one chosen is rendered."""
    links = _Links(secret, content.digest_id, content.week, recipient.email,
                   public_url.rstrip("/"))  # shared by the measures and the render
    trims: dict[int, DigestContent] = {0: content}
    sizes: dict[int, int] = {}

    def trimmed(count: int) -> DigestContent:
        if count not in trims:
            trims[count] = _drop_lowest(content, count)
        return trims[count]

    def size_after(count: int) -> int:
        if count not in sizes:
            sizes[count] = _measure(trimmed(count), definition, recipient, now, links)
        return sizes[count]

    count = 0 if size_after(0) <= max_bytes else fewest_to_drop(
        size_after, len(content.entries), max_bytes)
    return _render(trimmed(count), definition, recipient, now, links)


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


def subject_line(content: DigestContent) -> str:
    """"Omvärldsbevakning vecka 47: 23 nyheter i 6 prioriterade områden"."""
    s = strings(content.language)
    week = format_week(content.week, content.language)
    if not content.entries:
        return s["subject_empty"].format(title=content.title, week=week)
    count, areas = content.entry_count, content.area_count
    return s["subject"].format(title=content.title, week=week, count=count, areas=areas,
                               news=plural(count, s["news_one"], s["news_many"]),
                               area_word=plural(areas, s["area_one"], s["area_many"]))


def _render(content: DigestContent, definition: DigestDefinition, recipient: Recipient,
            now: datetime, links: _Links) -> RenderedDigest:
    context = _context(content, definition, recipient, now, links)
    html = "".join(_html_pieces(context, content, links.base,
                                lambda entry, fragment: fragment.fill(*links.tokens(entry))))
    text = ENVIRONMENT.get_template("digest.txt").render(context | _entries(
        content, lambda entry, number: text_fragment(
            entry, content.language, links.base, number).fill(*links.tokens(entry))))
    return RenderedDigest(context["subject"], html, text, content)


def _measure(content: DigestContent, definition: DigestDefinition, recipient: Recipient,
             now: datetime, links: _Links) -> int:
    """The size of _render(content, ...), counted from the pages' pieces, each entry with
    same-length stand-ins for its feedback tokens (token characters are never quoted, so the
    size is the same, and an entry's size is remembered for every recipient). Text entries are
    whole lines: their sizes add to the rest of the text's."""
    context = _context(content, definition, recipient, now, links)
    html = joined_size(_html_pieces(context, content, links.base, links.stand_ins))
    text = encoded_size(ENVIRONMENT.get_template("digest.txt").render(
        context | _entries(content, lambda entry, number: "")))
    text += joined_size(links.stand_ins(entry, text_fragment(
        entry, content.language, links.base, number)) for entry, number in _placed(content))
    return html + text + HEADER_ALLOWANCE


def _html_pieces(context: dict, content: DigestContent, base: str,
                 shown: Callable[[DigestEntry, EntryFragment], str | tuple[str, ...]]) -> list:
    """The page with a marker for each entry, its CSS inlined, then in each marker's place
    shown(entry, its fragment (CSS inlined once per story)): what inlining the whole page
    gives."""
    marked = ENVIRONMENT.get_template("digest.html").render(
        context | _entries(content, lambda entry, number: ENTRY_MARKER))
    page, *after_each = INLINER.inline(marked).split(ENTRY_MARKER)
    pieces = [page]
    for (entry, top_number), after in zip(_placed(content), after_each):
        pieces.append(shown(entry, html_fragment(entry, content.language, base,
                                                 top_number is not None)))
        pieces.append(after)
    return pieces


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


# --- template context -------------------------------------------------------------------------


def _context(content: DigestContent, definition: DigestDefinition, recipient: Recipient,
             now: datetime, links: _Links) -> dict:
    """Everything the page templates show except the entries (see _entries)."""
    s, lang = strings(content.language), content.language
    return {
        "s": s, "lang": lang, "title": content.title, "subject": subject_line(content),
        "period": s["period"].format(span=format_week_span(content.week, lang)),
        "week_label": format_week(content.week, lang).capitalize(),
        "sent": s["sent"].format(date=format_date(now, lang)),
        "rising": [_rising_view(topic, s, lang) for topic in content.rising],
        "failing": [_failing_view(source, s, lang) for source in content.failing_sources],
        "omitted": s["omitted"].format(count=content.omitted) if content.omitted else "",
        "empty": not content.entries, "archive_url": f"{links.base}/",
        "unsubscribe_url": links.unsubscribe(),
        "why_you": s["why_you"].format(email=recipient.email, title=content.title),
        "unsubscribe": s["unsubscribe"].format(title=content.title),
        "preheader": " · ".join(e.title for e in content.entries[:3]),
        "source_health": definition.source_health,
    }


def _entries(content: DigestContent, shown: Callable[[DigestEntry, int | None], object]) -> dict:
    """The top stories and sections, each entry as shown(entry, its number among the top
    stories or None)."""
    s = strings(content.language)
    return {
        "top": [shown(entry, number) for number, entry in enumerate(content.top, start=1)],
        "sections": [{"label": section.label,
                      "entries": [shown(entry, None) for entry in section.entries],
                      "more": s["more"].format(count=section.more, label=section.label)
                      if section.more else ""}
                     for section in content.sections],
    }


def _placed(content: DigestContent) -> list[tuple[DigestEntry, int | None]]:
    """Every entry in the order shown, with its number among the top stories (None in a
    section)."""
    top = [(entry, number) for number, entry in enumerate(content.top, start=1)]
    return top + [(entry, None) for section in content.sections for entry in section.entries]


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

    def unsubscribe(self) -> str:
        token = make_unsubscribe_token(self.secret, self.digest_id, self.email)
        return unsubscribe_url(self.base, token)


@lru_cache(maxsize=64)
def _stand_in(length: int) -> str:
    return "x" * length


def _rising_view(topic: RisingTopic, s: dict, lang: str) -> dict:
    line = s["rising_line"].format(count=topic.count, average=number(topic.average, lang))
    return {"label": topic.label, "line": line}


def _failing_view(source: FailingSource, s: dict, lang: str) -> dict:
    last = (s["failing_last_ok"].format(date=format_date(source.last_success, lang))
            if source.last_success else s["failing_never"])
    lines = [f"{s['failing_streak'].format(count=source.error_streak)}, {last}"]
    lines += [source.last_error] if source.last_error else []
    lines += [s["failing_disabled"].format(reason=source.disabled_reason)] \
        if source.disabled_reason else []
    lines += [s["failing_moved"].format(url=source.moved_to)] if source.moved_to else []
    return {"name": source.name, "id": source.source_id, "lines": lines}
