"""Weekly summaries: from Sunday 18:00 in each participant's own zone, once a week."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from conftest import make_active_pact, make_user
from outbox.models import OutboxMessage
from pacts.actions import day_for, pact_end, pact_stats
from pacts.sweeps import (
    materialize_days,
    process_deadlines,
    send_weekly_summaries,
    summary_week,
)

pytestmark = pytest.mark.django_db


def at(hour, minute=0, day=26, month=1):
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


def summaries():
    return OutboxMessage.objects.filter(kind="weekly_summary")


def live_through_the_week(clock, pact, initiator, partner):
    """Mon done, Tue skipped, Wed missed, Thu-Sat done; Sunday still pending."""
    for offset in range(6):
        day = date(2025, 1, 20) + timedelta(days=offset)
        clock.move_to(datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=10))
        materialize_days()
        process_deadlines()
        if offset == 1:
            day_for(pact, day).skip(partner)
        elif offset != 2:
            day_for(pact, day).check_in(initiator)
    clock.move_to(at(10))
    materialize_days()
    process_deadlines()


def test_nothing_before_sunday_18_00(clock, pact, initiator, partner):
    live_through_the_week(clock, pact, initiator, partner)
    clock.move_to(at(17, 59))
    assert send_weekly_summaries() == 0


def test_each_participant_gets_the_weeks_numbers_at_sunday_18_00(clock, pact, initiator, partner):
    live_through_the_week(clock, pact, initiator, partner)
    clock.move_to(at(18))
    assert send_weekly_summaries() == 2
    by_user = {m.user_id: m for m in summaries()}
    assert set(by_user) == {initiator.pk, partner.pk}
    for user, role in ((initiator, "INITIATOR"), (partner, "PARTNER")):
        message = by_user[user.pk]
        assert message.chat_id == user.telegram_user_id
        assert message.dedupe_key == f"weekly_summary:2025-01-20:{user.pk}"
        assert message.payload == {
            "week_start": "2025-01-20",
            "week_end": "2025-01-26",
            "pacts": [
                {
                    "pact_id": str(pact.pk),
                    "title": "Gym 🏋️",
                    "role": role,
                    "done": 4,
                    "missed": 1,
                    "skipped": 1,
                    "streak": 3,
                    "balance": 500,
                    "currency": "GBP",
                }
            ],
        }
    assert pact_stats(pact).current_streak == 3  # the same streak rule


def test_one_summary_per_user_per_week_however_often_the_job_runs(clock, pact):
    clock.move_to(at(18))
    send_weekly_summaries()
    for minutes in (5, 10, 300):
        clock.move_to(at(18) + timedelta(minutes=minutes))
        assert send_weekly_summaries() == 0
    assert summaries().count() == 2


def test_the_next_week_gets_its_own_summary(clock, pact):
    clock.move_to(at(18))
    send_weekly_summaries()
    clock.move_to(at(18, day=2, month=2))
    assert send_weekly_summaries() == 2
    assert (
        sorted(m.payload["week_start"] for m in summaries())
        == ["2025-01-20"] * 2 + ["2025-01-27"] * 2
    )


def test_each_person_gets_it_at_18_00_in_their_own_zone(clock, initiator):
    tokyo = make_user("Kenji", tz="Asia/Tokyo")
    los_angeles = make_user("Rosa", tz="America/Los_Angeles")
    make_active_pact(initiator, tokyo, title="Run")
    make_active_pact(los_angeles, initiator, title="Read")
    clock.move_to(at(9))  # 18:00 in Tokyo
    assert send_weekly_summaries() == 1
    assert summaries().get().user_id == tokyo.pk
    clock.move_to(at(18))  # 18:00 in London
    assert send_weekly_summaries() == 1
    clock.move_to(at(1, 59, day=27))
    assert send_weekly_summaries() == 0
    clock.move_to(at(2, day=27))  # 18:00 Sunday in Los Angeles
    assert send_weekly_summaries() == 1
    rosa = summaries().get(user=los_angeles)
    assert (rosa.payload["week_start"], rosa.payload["week_end"]) == ("2025-01-20", "2025-01-26")


def test_someone_in_two_pacts_gets_one_message_listing_both(clock, initiator, partner):
    make_active_pact(initiator, partner, title="Gym")
    make_active_pact(initiator, partner, title="Books")
    clock.move_to(at(18))
    send_weekly_summaries()
    message = summaries().get(user=initiator)
    assert [p["title"] for p in message.payload["pacts"]] == ["Books", "Gym"]


def test_no_summary_without_an_active_pact(clock, pact, initiator):
    pact_end(pact, initiator)
    clock.move_to(at(18))
    assert send_weekly_summaries() == 0


def test_a_stopped_worker_sends_last_weeks_summary_within_a_day_not_later(clock, pact):
    clock.move_to(at(17, 59, day=27))  # Monday, the worker was down on Sunday evening
    assert send_weekly_summaries() == 2
    assert summaries().first().payload["week_start"] == "2025-01-20"
    clock.move_to(at(18, 1, day=3, month=2))  # a week later, down again for a day
    assert send_weekly_summaries() == 0


def test_summer_time_sunday_is_18_00_local(initiator, partner):
    london = ZoneInfo("Europe/London")
    week = summary_week(london, datetime(2025, 3, 30, 17, 0, tzinfo=UTC))
    assert (week.start, week.due_at) == (date(2025, 3, 24), datetime(2025, 3, 30, 17, tzinfo=UTC))
    before = summary_week(london, datetime(2025, 3, 30, 16, 59, tzinfo=UTC))
    assert before.start == date(2025, 3, 17)
    with time_machine.travel(datetime(2025, 3, 24, 9, tzinfo=UTC), tick=False) as clock:
        make_active_pact(initiator, partner, start_date=date(2025, 3, 24))
        clock.move_to(datetime(2025, 3, 30, 16, 59, tzinfo=UTC))
        assert send_weekly_summaries() == 0
        clock.move_to(datetime(2025, 3, 30, 17, 0, tzinfo=UTC))
        assert send_weekly_summaries() == 2
