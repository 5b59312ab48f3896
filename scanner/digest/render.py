"""DigestContent -> subject, HTML and plain text, ready to be put in an email.

Jinja2 templates in templates/ (autoescape on for HTML, off for text); the HTML is built from
tables so Outlook and Gmail show it alike, and its CSS is inlined (css-inline). Every message must
stay under Gmail's clipping size: when the encoded parts would pass MAX_MESSAGE_BYTES, the
lowest-ranked stories are dropped (a note says how many, and the archive link finds them).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from email import quoprimime
from pathlib import Path

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from scanner.digest.calendar import format_date, format_week, format_week_span
from scanner.digest.content import DigestContent, DigestEntry, FailingSource, RisingTopic
from scanner.digest.definitions import DigestDefinition, Recipient
from scanner.digest.texts import number, plural, strings
from scanner.digest.tokens import (
    feedback_url,
    make_token,
    make_unsubscribe_token,
    unsubscribe_url,
)

MAX_MESSAGE_BYTES = 102_000  # Gmail clips a message past about 102 kB
HEADER_ALLOWANCE = 3_000  # headers and MIME boundaries around the two parts
TEMPLATES = Path(__file__).parent / "templates"

_ENVIRONMENT = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
)
_QUOTED = bytes(n if len(quoprimime._QUOPRI_BODY_ENCODE_MAP[n]) == 1 else 0 for n in range(256))
_INLINER = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


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
    the fewest that make it fit (all of them if nothing fits), found in a few renders."""
    views: dict[int, dict] = {}  # entry views (with their signed links) shared by the renders
    renders: dict[int, RenderedDigest] = {}

    def dropping(count: int) -> RenderedDigest:
        if count not in renders:
            trimmed = _drop_lowest(content, count) if count else content
            renders[count] = _render(trimmed, definition, recipient, public_url, secret, now,
                                     views)
        return renders[count]

    if dropping(0).size <= max_bytes:
        return renders[0]
    return dropping(fewest_to_drop(lambda count: dropping(count).size,
                                   len(content.entries), max_bytes))


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


def encoded_size(text: str) -> int:
    """Bytes of `text` as a quoted-printable UTF-8 body (how send.py encodes both parts):
    len(quoprimime.body_encode(...)) with default line length, counted without building it."""
    body = text.encode("utf-8")
    if not body:
        return 0
    # the wrapping only looks for "=": every byte quoprimime quotes becomes "=XX" here
    lines = body.translate(_QUOTED).replace(b"\0", b"=XX").decode("ascii").splitlines()
    size = len(lines) - 1 + (body[-1:] in (b"\r", b"\n"))  # the line ends ("\n" each)
    for line in lines:
        size += _encoded_line_size(line)
    return size


def _encoded_line_size(line: str, maxlinelen: int = 76) -> int:
    """One quoted line's length after quoprimime.body_encode's wrapping (soft breaks "=\n")."""
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


def _render(content: DigestContent, definition: DigestDefinition, recipient: Recipient,
            public_url: str, secret: str | bytes, now: datetime,
            views: dict[int, dict] | None = None) -> RenderedDigest:
    context = _context(content, recipient, public_url, secret, now,
                       {} if views is None else views)
    context["source_health"] = definition.source_health
    html = _ENVIRONMENT.get_template("digest.html").render(context)
    text = _ENVIRONMENT.get_template("digest.txt").render(context)
    return RenderedDigest(context["subject"], _INLINER.inline(html), text, content)


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


def _context(content: DigestContent, recipient: Recipient, public_url: str,
             secret: str | bytes, now: datetime, views: dict[int, dict]) -> dict:
    s, lang = strings(content.language), content.language
    base = public_url.rstrip("/")
    links = _Links(secret, content, recipient.email, base, views)
    return {
        "s": s, "lang": lang, "title": content.title, "subject": subject_line(content),
        "period": s["period"].format(span=format_week_span(content.week, lang)),
        "week_label": format_week(content.week, lang).capitalize(),
        "sent": s["sent"].format(date=format_date(now, lang)),
        "top": [_entry_view(e, s, lang, links) for e in content.top],
        "sections": [_section_view(section, s, lang, links) for section in content.sections],
        "rising": [_rising_view(topic, s, lang) for topic in content.rising],
        "failing": [_failing_view(source, s, lang) for source in content.failing_sources],
        "omitted": s["omitted"].format(count=content.omitted) if content.omitted else "",
        "empty": not content.entries, "archive_url": f"{base}/",
        "unsubscribe_url": links.unsubscribe(),
        "why_you": s["why_you"].format(email=recipient.email, title=content.title),
        "unsubscribe": s["unsubscribe"].format(title=content.title),
        "preheader": " · ".join(e.title for e in content.entries[:3]),
    }


@dataclass(frozen=True)
class _Links:
    secret: str | bytes
    content: DigestContent
    email: str
    base: str
    views: dict[int, dict]  # id(entry) → its view, kept while one digest is trimmed

    def feedback(self, item_id: int, verdict: str) -> str:
        token = make_token(self.secret, self.content.digest_id, self.content.week, self.email,
                           item_id, verdict)
        return feedback_url(self.base, token)

    def unsubscribe(self) -> str:
        token = make_unsubscribe_token(self.secret, self.content.digest_id, self.email)
        return unsubscribe_url(self.base, token)


def _entry_view(entry: DigestEntry, s: dict, lang: str, links: _Links) -> dict:
    view = links.views.get(id(entry))
    if view is None or view["entry"] is not entry:
        view = links.views[id(entry)] = _new_entry_view(entry, s, lang, links)
    return view["view"]


def _new_entry_view(entry: DigestEntry, s: dict, lang: str, links: _Links) -> dict:
    names = ", ".join(entry.also_reported_by)
    return {"entry": entry, "view": {
        "title": entry.title, "url": _web_link(entry.url), "summary": entry.summary,
        "source_date": s["source_date"].format(
            source=entry.source_name, date=format_date(entry.published, lang, weekday=False)),
        "tags": list(entry.tags), "why": entry.why,
        "also": s["also"].format(names=names) if names else "",
        "relevant_url": links.feedback(entry.item_id, "relevant"),
        "not_relevant_url": links.feedback(entry.item_id, "inte-relevant"),
    }}


def _web_link(url: str | None) -> str | None:
    """Only http(s) links go into the email; anything else is shown without a link."""
    return url if url and url.lower().startswith(("https://", "http://")) else None


def _section_view(section, s: dict, lang: str, links: _Links) -> dict:
    more = s["more"].format(count=section.more, label=section.label) if section.more else ""
    return {"label": section.label, "entries": [_entry_view(e, s, lang, links)
                                                for e in section.entries], "more": more}


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
