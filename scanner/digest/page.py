"""What the digest's page templates show around the entries, and where each entry goes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from scanner.digest.calendar import format_date, format_week, format_week_span
from scanner.digest.content import DigestContent, DigestEntry, FailingSource, RisingTopic
from scanner.digest.definitions import DigestDefinition, Recipient
from scanner.digest.texts import number, plural, strings


def page_context(content: DigestContent, definition: DigestDefinition, recipient: Recipient,
                 now: datetime, base: str, unsubscribe_url: str) -> dict:
    """Everything the page templates show except the entries (see entries_context)."""
    s, lang = strings(content.language), content.language
    return {
        "s": s, "lang": lang, "title": content.title, "subject": subject_line(content),
        "period": s["period"].format(span=format_week_span(content.week, lang)),
        "week_label": format_week(content.week, lang).capitalize(),
        "sent": s["sent"].format(date=format_date(now, lang)),
        "rising": [_rising_view(topic, s, lang) for topic in content.rising],
        "failing": [_failing_view(source, s, lang) for source in content.failing_sources],
        "omitted": s["omitted"].format(count=content.omitted) if content.omitted else "",
        "empty": not content.entries, "archive_url": f"{base}/",
        "unsubscribe_url": unsubscribe_url,
        "why_you": s["why_you"].format(email=recipient.email, title=content.title),
        "unsubscribe": s["unsubscribe"].format(title=content.title),
        "preheader": " · ".join(e.title for e in content.entries[:3]),
        "source_health": definition.source_health,
    }


def entries_context(content: DigestContent,
                    shown: Callable[[DigestEntry, int | None], object]) -> dict:
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


def placed(content: DigestContent) -> list[tuple[DigestEntry, int | None]]:
    """Every entry in the order shown, with its number among the top stories (None in a
    section)."""
    top = [(entry, number) for number, entry in enumerate(content.top, start=1)]
    return top + [(entry, None) for section in content.sections for entry in section.entries]


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
