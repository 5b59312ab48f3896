"""Digest schedules: five-field cron expressions read in Europe/Stockholm time.

    minute hour day-of-month month day-of-week        e.g. "0 7 * * mon" (Mondays 07:00)

Each field takes `*`, a number or name, a range `a-b`, a step `*/n` or `a-b/n`, and lists of
those joined by commas. Months may be written jan–dec, weekdays mon–sun; a weekday number
follows classic cron (0 and 7 = Sunday, 1 = Monday). As in cron, when both day-of-month and
day-of-week are restricted a day matching either one counts.

`normalise` writes weekdays as names, so the expression means the same to every cron reader
(APScheduler 3 counts weekday numbers from Monday = 0, classic cron from Sunday = 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

from scanner.digest.calendar import STOCKHOLM

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov",
               "dec")
FIELDS = (  # name, lowest, highest, names (index 0 = lowest)
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, MONTH_NAMES),
    ("day of week", 0, 7, ("sun", *DAY_NAMES)),
)
SEARCH_DAYS = 366 * 5  # far enough to find 29 February


@dataclass(frozen=True)
class CronSchedule:
    """A parsed expression: the allowed values of each field (weekday 0 = Monday)."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool  # day of month is `*`
    any_weekday: bool  # day of week is `*`

    def matches_day(self, day) -> bool:
        if day.month not in self.months:
            return False
        by_date, by_weekday = day.day in self.days, day.weekday() in self.weekdays
        if self.any_day or self.any_weekday:
            return by_date and by_weekday
        return by_date or by_weekday


def parse_cron(expression: str) -> CronSchedule:
    """Parse a five-field expression. Raises ValueError with what is wrong and an example."""
    parts = expression.split() if isinstance(expression, str) else []
    if len(parts) != 5:
        raise ValueError(f"'{expression}' needs five fields: minute hour day-of-month month "
                         "day-of-week, e.g. \"0 7 * * mon\" (Mondays 07:00)")
    values = [_parse_field(part, *spec) for part, spec in zip(parts, FIELDS)]
    weekdays = frozenset((day - 1) % 7 for day in values[4])  # cron 0/7 = Sunday -> 6
    return CronSchedule(" ".join(parts), *map(frozenset, values[:4]), weekdays,
                        parts[2] == "*", parts[4] == "*")


def normalise(expression: str) -> str:
    """The expression with single spaces and the weekdays written as names, Monday first."""
    cron = parse_cron(expression)
    parts = expression.split()
    if not cron.any_weekday:
        parts[4] = ",".join(DAY_NAMES[day] for day in sorted(cron.weekdays))
    return " ".join(parts)


def next_run(schedule: CronSchedule | str, after: datetime) -> datetime:
    """The first scheduled moment strictly after `after`, in UTC (local times that do not
    exist because of the spring DST change are skipped)."""
    cron = parse_cron(schedule) if isinstance(schedule, str) else schedule
    start = after.astimezone(STOCKHOLM)
    for offset in range(SEARCH_DAYS):
        day = start.date() + timedelta(days=offset)
        if cron.matches_day(day):
            found = _first_time_on(cron, day, after)
            if found is not None:
                return found
    raise ValueError(f"'{cron.expression}' never runs")


def _first_time_on(cron: CronSchedule, day, after: datetime) -> datetime | None:
    for hour in sorted(cron.hours):
        for minute in sorted(cron.minutes):
            moment = datetime.combine(day, time(hour, minute), STOCKHOLM)
            if _exists(moment) and moment > after:
                return moment.astimezone(timezone.utc)
    return None


def _exists(moment: datetime) -> bool:
    round_trip = moment.astimezone(timezone.utc).astimezone(STOCKHOLM)
    return round_trip.replace(tzinfo=None) == moment.replace(tzinfo=None)


def _parse_field(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> set[int]:
    found: set[int] = set()
    for item in text.lower().split(","):
        found |= _parse_item(item, name, low, high, names)
    return found


def _parse_item(item: str, name: str, low: int, high: int, names: tuple[str, ...]) -> set[int]:
    body, _, step_text = item.partition("/")
    step = _number(step_text, name, 1, high) if step_text else 1
    if body == "*":
        first, last = low, high
    elif "-" in body:
        first_text, _, last_text = body.partition("-")
        first, last = _value(first_text, name, low, high, names), _value(last_text, name, low,
                                                                         high, names)
    else:
        first = last = _value(body, name, low, high, names)
        last = high if step_text else last
    if first > last:
        raise ValueError(f"the {name} range '{body}' runs backwards; write the lower value first")
    return set(range(first, last + 1, step))


def _value(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> int:
    if text in names:
        return names.index(text) + low
    return _number(text, name, low, high)


def _number(text: str, name: str, low: int, high: int) -> int:
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"'{text}' is not a valid {name}; use {low}–{high}"
                         + (", or mon–sun" if name == "day of week" else "")
                         + (", or jan–dec" if name == "month" else ""))
    return int(text)
