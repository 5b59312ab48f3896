"""ISO weeks in Stockholm time (DST, 53-week years, year boundaries), Swedish dates, schedules."""

from datetime import date, datetime, timedelta, timezone

import pytest

from scanner.digest.calendar import (
    format_date,
    format_week,
    format_week_span,
    parse_week,
    previous_week,
    previous_weeks,
    shift_week,
    week_bounds,
    week_of,
    weeks_in_year,
)
from scanner.digest.cron import next_run, normalise, parse_cron

UTC = timezone.utc


def test_an_ordinary_week_runs_monday_to_sunday_midnight_stockholm_time():
    start, end = week_bounds("2026-W48")
    assert start == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # Mon 23 Nov 00:00 CET
    assert end == datetime(2026, 11, 29, 23, 0, tzinfo=UTC)  # Sun 29 Nov 24:00 CET
    assert end - start == timedelta(days=7)


def test_the_week_summer_time_starts_is_an_hour_shorter():
    start, end = week_bounds("2026-W13")  # clocks go forward on Sunday 29 March
    assert start == datetime(2026, 3, 22, 23, 0, tzinfo=UTC)
    assert end == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)
    assert end - start == timedelta(hours=167)


def test_the_week_summer_time_ends_is_an_hour_longer():
    start, end = week_bounds("2026-W43")  # clocks go back on Sunday 25 October
    assert start == datetime(2026, 10, 18, 22, 0, tzinfo=UTC)
    assert end == datetime(2026, 10, 25, 23, 0, tzinfo=UTC)
    assert end - start == timedelta(hours=169)


def test_2026_has_53_weeks_and_its_last_week_ends_in_2027():
    assert [weeks_in_year(y) for y in (2020, 2024, 2025, 2026, 2027, 2032)] == [53, 52, 52, 53,
                                                                              52, 53]
    start, end = week_bounds("2026-W53")
    assert start == datetime(2026, 12, 27, 23, 0, tzinfo=UTC)  # Monday 28 December
    assert end == datetime(2027, 1, 3, 23, 0, tzinfo=UTC)  # Sunday 3 January 2027, 24:00
    assert shift_week("2026-W53", 1) == "2027-W01"
    assert previous_week(datetime(2027, 1, 4, 6, 0, tzinfo=UTC)) == "2026-W53"


def test_week_one_can_start_in_the_year_before():
    start, _ = week_bounds("2026-W01")
    assert start == datetime(2025, 12, 28, 23, 0, tzinfo=UTC)  # Monday 29 December 2025
    assert week_of(datetime(2025, 12, 31, 12, tzinfo=UTC)) == "2026-W01"
    assert shift_week("2026-W01", -1) == "2025-W52"


def test_a_week_that_does_not_exist_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="2025 has 52 weeks"):
        week_bounds("2025-W53")
    with pytest.raises(ValueError, match="write it like 2026-W48"):
        parse_week("vecka 48")


def test_week_of_uses_stockholm_time_not_utc():
    sunday_late = datetime(2026, 11, 22, 23, 30, tzinfo=UTC)  # Monday 00:30 in Stockholm
    assert week_of(sunday_late) == "2026-W48"
    assert week_of(sunday_late - timedelta(hours=1)) == "2026-W47"


def test_previous_week_is_the_last_complete_week():
    monday_morning = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    assert previous_week(monday_morning) == "2026-W47"
    assert previous_week(monday_morning + timedelta(days=6)) == "2026-W47"
    assert previous_weeks("2026-W02", 3) == ["2025-W51", "2025-W52", "2026-W01"]


def test_swedish_and_english_dates():
    monday = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    assert format_date(monday) == "måndag 23 november"
    assert format_date(monday, "en") == "Monday 23 November"
    assert format_date(datetime(2026, 11, 28, 23, 30, tzinfo=UTC)) == "söndag 29 november"
    assert format_date(date(2026, 6, 6), weekday=False) == "6 juni"
    assert format_week("2026-W48") == "vecka 48" and format_week("2026-W48", "en") == "week 48"
    assert format_week_span("2026-W47") == "16–22 november 2026"
    assert format_week_span("2026-W49") == "30 november – 6 december 2026"
    assert format_week_span("2026-W53") == "28 december 2026 – 3 januari 2027"
    assert format_week_span("2026-W47", "en") == "16–22 November 2026"


def test_schedules_are_cron_in_stockholm_time():
    friday = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert next_run("0 7 * * mon", friday) == datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    summer = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)
    assert next_run("0 7 * * mon", summer) == datetime(2026, 6, 8, 5, 0, tzinfo=UTC)  # CEST
    # 02:30 does not exist on 29 March 2026: the next Sunday's 02:30 is used
    assert next_run("30 2 * * sun", datetime(2026, 3, 28, tzinfo=UTC)) == datetime(
        2026, 4, 5, 0, 30, tzinfo=UTC)
    assert next_run("0 8 1 */3 *", friday) == datetime(2027, 1, 1, 7, 0, tzinfo=UTC)


def test_weekday_numbers_follow_classic_cron_and_are_written_as_names():
    assert normalise("0  7 * * 1") == "0 7 * * mon"
    assert normalise("0 7 * * 0") == normalise("0 7 * * 7") == "0 7 * * sun"
    assert normalise("0 7 * * 1-5") == "0 7 * * mon,tue,wed,thu,fri"
    assert parse_cron("0 7 * * mon-fri").weekdays == frozenset(range(5))


@pytest.mark.parametrize("expression, message", [
    ("0 7 * *", "needs five fields"),
    ("60 7 * * mon", "'60' is not a valid minute; use 0–59"),
    ("0 7 * * måndag", "not a valid day of week; use 0–7, or mon–sun"),
    ("0 7 * * fri-mon", "runs backwards"),
    ("0 7 32 * *", "not a valid day of month"),
])
def test_a_bad_schedule_says_what_is_wrong(expression, message):
    with pytest.raises(ValueError, match=message):
        parse_cron(expression)
