"""parse_swedish_date: the date forms Swedish (and English) web pages write, in running text."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from scanner.parse.dates import find_date_text, parse_swedish_date

NOW = datetime(2021, 3, 1, 12, 0, tzinfo=timezone.utc)  # 13:00 in Stockholm
UTC = timezone.utc


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    "text, expected",
    [
        # Swedish dates are local (CET in winter: UTC+1); a date alone is local midnight.
        ("13 januari 2021", utc(2021, 1, 12, 23)),
        ("den 13 jan. 2021", utc(2021, 1, 12, 23)),
        ("Senast uppdaterad: den 13 januari 2021", utc(2021, 1, 12, 23)),
        ("den 13:e januari 2021", utc(2021, 1, 12, 23)),
        ("onsdag 13 januari, 2021", utc(2021, 1, 12, 23)),
        ("2021-01-13", utc(2021, 1, 12, 23)),
        ("13/1 2021", utc(2021, 1, 12, 23)),
        ("13/1/2021", utc(2021, 1, 12, 23)),
        ("13.1.2021", utc(2021, 1, 12, 23)),
        ("5 maj 2020", utc(2020, 5, 4, 22)),  # summer time: UTC+2
        ("13 okt 2020", utc(2020, 10, 12, 22)),
        ("1 sept. 2020", utc(2020, 8, 31, 22)),
        ("13 januari 2021 kl. 14.30", utc(2021, 1, 13, 13, 30)),
        ("13 januari 2021 klockan 14:30", utc(2021, 1, 13, 13, 30)),
        ("Uppdaterad den 20 november 2020 kl. 14.30", utc(2020, 11, 20, 13, 30)),
        ("2021-01-13 14:30", utc(2021, 1, 13, 13, 30)),
        ("2021-01-13 14:30:15", utc(2021, 1, 13, 13, 30, 15)),
        ("2021-01-13T14:30:00+00:00", utc(2021, 1, 13, 14, 30)),
        ("2021-01-13T09:30:12+01:00", utc(2021, 1, 13, 8, 30, 12)),
        ("2021-01-13T14:30:00.123Z", utc(2021, 1, 13, 14, 30)),
        ("January 13, 2021", utc(2021, 1, 12, 23)),
        ("13 Jan 2021", utc(2021, 1, 12, 23)),
        ("Jan 13th, 2021 at 2:30 pm", utc(2021, 1, 13, 13, 30)),
        ("1/13/2021", utc(2021, 1, 12, 23)),  # month first only when the day cannot be a month
        ("Publicerad 13 mars 2020, uppdaterad 2021-01-01", utc(2020, 3, 12, 23)),  # first wins
        ("13 januari 2021 20.000 besökare", utc(2021, 1, 12, 23)),  # not a time
    ],
)
def test_forms(text, expected):
    assert parse_swedish_date(text, NOW) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("13 januari", utc(2021, 1, 12, 23)),  # this year: it is not in the future
        ("13 december", utc(2020, 12, 12, 23)),  # last year: this year's is months ahead
        ("2 mars", utc(2021, 3, 1, 23)),  # tomorrow is within the one-day tolerance
        ("29 februari", utc(2020, 2, 28, 23)),  # 2021 has none; 2020 has
        ("Publicerad den 3 feb. kl 10.15", utc(2021, 2, 3, 9, 15)),
    ],
)
def test_year_is_inferred_not_in_the_future(text, expected):
    assert parse_swedish_date(text, NOW) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("idag", utc(2021, 2, 28, 23)),
        ("i dag kl. 09.15", utc(2021, 3, 1, 8, 15)),
        ("Publicerad igår", utc(2021, 2, 27, 23)),
        ("i går kl 18:00", utc(2021, 2, 28, 17)),
        ("i förrgår", utc(2021, 2, 26, 23)),
        ("yesterday", utc(2021, 2, 27, 23)),
    ],
)
def test_relative_days(text, expected):
    assert parse_swedish_date(text, NOW) == expected


def test_relative_day_follows_stockholm_not_utc():
    late_evening = datetime(2021, 3, 1, 23, 30, tzinfo=UTC)  # 00:30 on 2 March in Stockholm
    assert parse_swedish_date("idag", late_evening) == utc(2021, 3, 1, 23)


@pytest.mark.parametrize(
    "text",
    ["", None, "inget datum här", "32 januari 2021", "Biblioteket 2021-13-45",
     "12 marknader 2021", "1 500 kronor", "Mars 2021", "dagarna före jul", "idaghem",
     "02-602 70 00", "13 januari 1970"],
)
def test_no_date(text):
    assert parse_swedish_date(text, NOW) is None


def test_without_now_forms_that_need_it_are_not_read():
    assert parse_swedish_date("13 januari", None) is None
    assert parse_swedish_date("idag", None) is None
    assert parse_swedish_date("13 januari 2021", None) == utc(2021, 1, 12, 23)


def test_naive_now_is_utc_and_other_zones_work():
    assert parse_swedish_date("idag", datetime(2021, 3, 1, 12)) == utc(2021, 2, 28, 23)
    assert parse_swedish_date("13 januari 2021", NOW, tz="UTC") == utc(2021, 1, 13)
    assert parse_swedish_date("13 januari 2021", NOW, tz="Europe/Helsinki") == utc(2021, 1, 12, 22)


def test_find_date_text_gives_the_span():
    text = "Senast uppdaterad: den 13 januari 2021 kl. 14.30 av Anna"
    start, end = find_date_text(text)
    assert text[start:end] == "13 januari 2021 kl. 14.30"
    assert find_date_text("inget datum") is None
