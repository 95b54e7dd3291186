from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from pacts.schedule import describe_schedule, due_dates, local_deadline

LONDON = ZoneInfo("Europe/London")
LA = ZoneInfo("America/Los_Angeles")


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_deadline_on_an_ordinary_winter_day_in_london_is_gmt():
    assert local_deadline(date(2025, 1, 20), time(21, 0), LONDON) == utc(2025, 1, 20, 21, 0)


def test_deadline_in_british_summer_time_is_an_hour_earlier_in_utc():
    assert local_deadline(date(2025, 7, 1), time(21, 0), LONDON) == utc(2025, 7, 1, 20, 0)


def test_deadline_in_the_skipped_hour_moves_to_the_first_valid_instant_after_it():
    # London springs forward at 01:00 GMT on 2025-03-30: 01:00-01:59 local never happens.
    deadline = local_deadline(date(2025, 3, 30), time(1, 30), LONDON)
    assert deadline == utc(2025, 3, 30, 1, 0)
    assert deadline.astimezone(LONDON).strftime("%H:%M %Z") == "02:00 BST"


def test_deadline_in_the_skipped_hour_in_los_angeles():
    # LA springs forward at 02:00 PST on 2025-03-09 → 03:00 PDT (10:00 UTC).
    assert local_deadline(date(2025, 3, 9), time(2, 15), LA) == utc(2025, 3, 9, 10, 0)


def test_deadline_in_the_repeated_hour_takes_the_first_occurrence():
    # London falls back on 2025-10-26: 01:30 happens at 00:30 UTC (BST) and 01:30 UTC.
    assert local_deadline(date(2025, 10, 26), time(1, 30), LONDON) == utc(2025, 10, 26, 0, 30)
    # LA falls back on 2025-11-02: 01:30 PDT is 08:30 UTC (first), 01:30 PST is 09:30.
    assert local_deadline(date(2025, 11, 2), time(1, 30), LA) == utc(2025, 11, 2, 8, 30)


def test_deadline_after_the_change_on_a_dst_day_uses_the_new_offset():
    assert local_deadline(date(2025, 3, 30), time(21, 0), LONDON) == utc(2025, 3, 30, 20, 0)
    assert local_deadline(date(2025, 11, 2), time(21, 0), LA) == utc(2025, 11, 3, 5, 0)


def test_due_dates_follow_the_schedule_and_the_pact_dates():
    weekdays = [True] * 5 + [False] * 2
    got = due_dates(
        weekdays, date(2025, 1, 22), date(2025, 1, 28), date(2025, 1, 20), date(2025, 1, 31)
    )
    assert got == [date(2025, 1, d) for d in (22, 23, 24, 27, 28)]


def test_describe_schedule_reads_like_a_person_would_say_it():
    assert describe_schedule([True] * 7) == "Every day"
    assert describe_schedule([True] * 5 + [False] * 2) == "Mon-Fri"
    assert describe_schedule([False] * 5 + [True] * 2) == "Weekends"
    assert describe_schedule([True, False, True, False, True, False, False]) == "Mon, Wed, Fri"
