from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from pacts.schedule import due_dates, local_deadline

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


# --- rule 12: a 00:00 deadline is midnight at the END of its date (24:00) ---------------

SANTIAGO = ZoneInfo("America/Santiago")


def test_a_midnight_deadline_is_the_end_of_its_day_not_the_start():
    assert local_deadline(date(2025, 1, 20), time(0, 0), LONDON) == utc(2025, 1, 21, 0, 0)
    # In summer, midnight at the end of 1 July BST is 23:00 UTC that same date.
    assert local_deadline(date(2025, 7, 1), time(0, 0), LONDON) == utc(2025, 7, 1, 23, 0)


def test_a_midnight_deadline_in_santiagos_spring_forward_gap_is_the_first_instant_after():
    # Chile springs forward at 24:00 on Saturday 2025-09-06 (-04): the clock goes from
    # 23:59:59 straight to Sunday 01:00 (-03), so Sunday's 00:00 never happens. The
    # deadline of Saturday's day is then 01:00 -03, the transition itself (04:00 UTC).
    deadline = local_deadline(date(2025, 9, 6), time(0, 0), SANTIAGO)
    assert deadline == utc(2025, 9, 7, 4, 0)
    assert deadline.astimezone(SANTIAGO).strftime("%Y-%m-%d %H:%M %z") == "2025-09-07 01:00 -0300"
    # The day before and after are ordinary: midnight at their end.
    assert local_deadline(date(2025, 9, 5), time(0, 0), SANTIAGO) == utc(2025, 9, 6, 4, 0)
    assert local_deadline(date(2025, 9, 7), time(0, 0), SANTIAGO) == utc(2025, 9, 8, 3, 0)


def test_a_midnight_deadline_on_santiagos_fall_back_day_comes_after_the_repeated_hour():
    # Chile falls back at 24:00 on Saturday 2025-04-05 (-03) to 23:00 (-04): 23:00-23:59
    # happens twice, and the end of the day is the one Sunday 00:00 (-04, 04:00 UTC), so
    # that Saturday is 25 hours long for a midnight pact.
    assert local_deadline(date(2025, 4, 5), time(0, 0), SANTIAGO) == utc(2025, 4, 6, 4, 0)
    # The repeated hour itself still takes its first occurrence.
    assert local_deadline(date(2025, 4, 5), time(23, 30), SANTIAGO) == utc(2025, 4, 6, 2, 30)
