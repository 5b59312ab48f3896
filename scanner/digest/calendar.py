"""ISO weeks and dates as readers in Sweden see them: weeks run Monday 00:00 to Sunday 24:00 in
Europe/Stockholm, whatever the UTC offset (a week with a DST change lasts 167 or 169 hours).

Weeks are written as ISO 8601 week strings, "2026-W48". Years whose 1 January is a Thursday (or a
Wednesday in a leap year) have 53 weeks: 2020, 2026, 2032, 2037, ...
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")

WEEKDAYS = {
    "sv": ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
MONTHS = {
    "sv": ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
           "september", "oktober", "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
}
WEEK_WORD = {"sv": "vecka", "en": "week"}


def weeks_in_year(year: int) -> int:
    """52 or 53: the ISO week of 28 December is always the year's last week."""
    return date(year, 12, 28).isocalendar().week


def parse_week(week: str) -> tuple[int, int]:
    """"2026-W48" -> (2026, 48). Raises ValueError naming the problem and the expected form."""
    match = _WEEK.match(week.strip()) if isinstance(week, str) else None
    if not match:
        raise ValueError(f"'{week}' is not an ISO week; write it like 2026-W48")
    year, number = int(match[1]), int(match[2])
    if not 1 <= number <= weeks_in_year(year):
        raise ValueError(f"'{week}' does not exist: {year} has {weeks_in_year(year)} weeks")
    return year, number


def week_start_date(week: str) -> date:
    """The Monday of an ISO week."""
    year, number = parse_week(week)
    return date.fromisocalendar(year, number, 1)


def week_bounds(week: str) -> tuple[datetime, datetime]:
    """(start, end) in UTC of Monday 00:00 to the next Monday 00:00, Stockholm time."""
    monday = week_start_date(week)
    start = datetime.combine(monday, time(0), STOCKHOLM)
    end = datetime.combine(monday + timedelta(days=7), time(0), STOCKHOLM)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def week_of(moment: datetime) -> str:
    """The ISO week that holds `moment` (an aware datetime) in Stockholm."""
    iso = local(moment).date().isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def previous_week(now: datetime) -> str:
    """The last complete week before `now`: on Monday 23 November 2026 that is 2026-W47."""
    return week_of(local(now) - timedelta(days=7))


def shift_week(week: str, weeks: int) -> str:
    """The week `weeks` later (negative: earlier)."""
    monday = week_start_date(week) + timedelta(weeks=weeks)
    iso = monday.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def previous_weeks(week: str, count: int = 8) -> list[str]:
    """The `count` weeks before `week`, oldest first (the history the rising-topic rule needs)."""
    return [shift_week(week, -offset) for offset in range(count, 0, -1)]


def local(moment: datetime) -> datetime:
    """`moment` in Stockholm time. A naive datetime is taken to be UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(STOCKHOLM)


def format_date(moment: datetime | date, language: str = "sv", weekday: bool = True) -> str:
    """"måndag 23 november" / "Monday 23 November" (Stockholm time for datetimes)."""
    day = local(moment).date() if isinstance(moment, datetime) else moment
    text = f"{day.day} {MONTHS[_lang(language)][day.month - 1]}"
    return f"{WEEKDAYS[_lang(language)][day.weekday()]} {text}" if weekday else text


def format_week(week: str, language: str = "sv") -> str:
    """"vecka 48" / "week 48"."""
    return f"{WEEK_WORD[_lang(language)]} {parse_week(week)[1]}"


def format_week_span(week: str, language: str = "sv") -> str:
    """"16–22 november 2026", across months "30 november – 6 december 2026"."""
    monday = week_start_date(week)
    sunday = monday + timedelta(days=6)
    months = MONTHS[_lang(language)]
    if monday.month == sunday.month:
        return f"{monday.day}–{sunday.day} {months[sunday.month - 1]} {sunday.year}"
    first = f"{monday.day} {months[monday.month - 1]}"
    first += f" {monday.year}" if monday.year != sunday.year else ""
    return f"{first} – {sunday.day} {months[sunday.month - 1]} {sunday.year}"


def _lang(language: str) -> str:
    return "en" if language == "en" else "sv"
