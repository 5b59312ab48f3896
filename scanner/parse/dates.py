"""Dates as Swedish (and English) web pages write them, read out of surrounding text.

    parse_swedish_date("Senast uppdaterad: den 13 januari 2021 kl. 14.30", now)
    -> datetime(2021, 1, 13, 13, 30, tzinfo=UTC)

Forms: "13 januari 2021", "den 13 jan. 2021", "13:e januari", "2021-01-13", "2021-01-13 14:30",
ISO 8601 with offset, "13/1 2021", "13/1/2021", "13.1.2021", "13 januari" (year inferred so the
date is not in the future), "idag", "igår", "i förrgår" (only when `now` is given), English
"January 13, 2021", "13 Jan 2021", "today", "yesterday"; each with an optional time
("kl. 14.30", "klockan 14:30", "14:30", "2:30 pm"). The first date in the text wins. Times
without an offset are local time in `tz` (Europe/Stockholm by default); the result is UTC.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

MONTHS = {
    "januari": 1, "jan": 1, "january": 1,
    "februari": 2, "feb": 2, "february": 2,
    "mars": 3, "mar": 3, "march": 3,
    "april": 4, "apr": 4,
    "maj": 5, "may": 5,
    "juni": 6, "jun": 6, "june": 6,
    "juli": 7, "jul": 7, "july": 7,
    "augusti": 8, "aug": 8, "august": 8,
    "september": 9, "sep": 9, "sept": 9,
    "oktober": 10, "okt": 10, "october": 10, "oct": 10,
    "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}  # fmt: skip
RELATIVE_DAYS = {
    "idag": 0, "i dag": 0, "today": 0,
    "igår": 1, "i går": 1, "yesterday": 1,
    "i förrgår": 2, "förrgår": 2,
}  # fmt: skip
EARLIEST_YEAR = 1990
LATEST_YEAR = 2100

_MONTH = "(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_DAY = r"(?P<day>[0-3]?\d)(?::[ae]|st|nd|rd|th|\.)?"
_YEAR = r"(?P<year>(?:19|20|21)\d\d)"
# A time after the date: "kl. 14.30", "klockan 14:30", ", 14:30", "at 2:30 pm", "T14:30:00".
_TIME = (
    r"(?:(?:\s*,)?\s*(?:kl\.?|klockan|at|-)?\s*|T)"
    r"(?P<hour>[0-2]?\d)[:.](?P<minute>[0-5]\d)(?!\d|\.\d)(?::(?P<second>[0-5]\d)(?:\.\d+)?)?"
    r"(?:\s*(?P<ampm>[ap]\.?m\.?)(?!\w))?"
    r"(?P<offset>\s*(?:Z|[+-][01]\d:?[0-5]\d))?"
)
_END = r"(?!\w)"
_FORMS = {
    "iso": rf"(?<![\d/.-]){_YEAR}-(?P<month>[01]?\d)-(?P<day>[0-3]?\d)(?![\d-])",
    "day_month_year": rf"(?<![\w/.]){_DAY}\s*{_MONTH}(?:\s*,)?\s+{_YEAR}(?!\d)",
    "month_day_year": rf"(?<!\w){_MONTH}\s+{_DAY}(?:\s*,)?\s+{_YEAR}(?!\d)",
    "numeric": rf"(?<![\w/.-])(?P<day>[0-3]?\d)[/.](?P<month>[01]?\d)(?:[/.]|\s+){_YEAR}(?!\d)",
    "day_month": rf"(?<![\w/.]){_DAY}\s*{_MONTH}{_END}(?!\s*,?\s*\d{{4}})",
    "relative": r"(?<!\w)(?P<relative>i\s+förrgår|förrgår|i\s*dag|i\s*går|today|yesterday)"
    + _END,
}


def parse_swedish_date(
    text: str | None, now: datetime | None, tz: str = "Europe/Stockholm"
) -> datetime | None:
    """The first date (and time) written in `text`, as an aware UTC datetime; None when there is
    none. `now` (aware, or naive UTC) decides the year of "13 januari" (the latest such date not
    more than a day after `now`) and the day of "igår"; with `now=None` those forms are ignored."""
    if not text:
        return None
    zone = _zone(tz)
    local_now = _local(now, zone) if now is not None else None
    for form, match in _candidates(text):
        moment = _build(form, match, local_now, zone)
        if moment is not None:
            return moment.astimezone(timezone.utc)
    return None


def find_date_text(text: str) -> tuple[int, int] | None:
    """(start, end) of the first date-like span in `text`, for callers that cut dates out."""
    found = next(_candidates(text), None)
    return found[1].span() if found else None


def _candidates(text: str):
    """(form, match) pairs ordered by where they start in the text; the longest first on ties."""
    found = []
    for form, pattern in _compiled().items():
        found.extend((m.start(), -len(m.group(0)), form, m) for m in pattern.finditer(text))
    for _start, _length, form, match in sorted(found, key=lambda f: f[:2]):
        yield form, match


@lru_cache(maxsize=1)
def _compiled() -> dict[str, re.Pattern[str]]:
    return {
        form: re.compile(pattern + (f"(?:{_TIME})?" if form != "relative" else _relative_time()),
                         re.IGNORECASE)
        for form, pattern in _FORMS.items()
    }


def _relative_time() -> str:
    return r"(?:(?:\s*,)?\s*(?:kl\.?|klockan|at)\s*(?P<hour>[0-2]?\d)[:.](?P<minute>[0-5]\d)(?!\d))?"


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _local(now: datetime, zone: ZoneInfo) -> datetime:
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return now.astimezone(zone)


def _build(form: str, match: re.Match[str], now: datetime | None, zone: ZoneInfo):
    """The aware datetime a match stands for, or None when it is not a real, plausible date."""
    try:
        day = _day_of(form, match, now)
        if day is None:
            return None
        return _with_time(day, match, zone)
    except ValueError:
        return None


def _day_of(form: str, match: re.Match[str], now: datetime | None) -> date | None:
    if form == "relative":
        if now is None:
            return None
        word = " ".join(match.group("relative").lower().split())
        return now.date() - timedelta(days=RELATIVE_DAYS[word])
    month_text = match.group("month")
    month = int(month_text) if month_text.isdigit() else MONTHS[month_text.lower()]
    day = int(match.group("day"))
    if form == "numeric" and month > 12 >= day:
        day, month = month, day  # 1/13/2021: an English month-first date
    if form == "day_month":
        return _infer_year(day, month, now)
    year = int(match.group("year"))
    return date(year, month, day) if EARLIEST_YEAR <= year <= LATEST_YEAR else None


def _infer_year(day: int, month: int, now: datetime | None) -> date | None:
    """"13 januari" is this year's, unless that is more than a day ahead: then last year's."""
    if now is None:
        return None
    candidate = date(now.year, month, day) if _valid(now.year, month, day) else None
    if candidate is None or candidate > now.date() + timedelta(days=1):
        year = now.year - 1
        return date(year, month, day) if _valid(year, month, day) else None
    return candidate


def _valid(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _with_time(day: date, match: re.Match[str], zone: ZoneInfo) -> datetime:
    groups = match.groupdict()
    hour = int(groups.get("hour") or 0)
    minute = int(groups.get("minute") or 0)
    second = int(groups.get("second") or 0)
    ampm = (groups.get("ampm") or "").lower().replace(".", "")
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    tzinfo = _offset(groups.get("offset")) or zone
    return datetime.combine(day, time(hour, minute, second), tzinfo=tzinfo)


def _offset(text: str | None) -> timezone | None:
    text = (text or "").strip().upper()
    if not text:
        return None
    if text == "Z":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
