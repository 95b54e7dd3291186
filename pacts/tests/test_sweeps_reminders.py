"""Reminders: `reminder_minutes_before` the deadline, to the initiator, once per day."""

from datetime import UTC, date, datetime

import pytest
import time_machine

from conftest import make_active_pact
from outbox.models import OutboxMessage
from pacts.actions import day_for, pact_end, user_update_settings
from pacts.models import PactDay
from pacts.sweeps import materialize_days, process_deadlines, send_reminders

pytestmark = pytest.mark.django_db

MONDAY = date(2025, 1, 20)


def at(hour, minute=0, second=0, day=20, month=1):
    return datetime(2025, month, day, hour, minute, second, tzinfo=UTC)


def reminders():
    return OutboxMessage.objects.filter(kind="reminder")


def test_no_reminder_a_second_before_its_moment(clock, pact):
    clock.move_to(at(19, 59, 59))  # 21:00 deadline, 60 minutes before
    assert send_reminders() == 0
    assert not reminders().exists()


def test_the_initiator_is_reminded_an_hour_before_the_deadline(clock, pact, initiator):
    clock.move_to(at(20))
    assert send_reminders() == 1
    day = PactDay.objects.get(pact=pact, date=MONDAY)
    assert day.reminded_at == at(20)
    message = reminders().get()
    assert (message.user_id, message.chat_id) == (initiator.pk, initiator.telegram_user_id)
    assert message.payload == {"pact_id": str(pact.pk), "day_id": str(day.pk), "date": "2025-01-20"}
    assert message.dedupe_key == f"reminder:{day.pk}:{initiator.pk}"


def test_each_day_gets_at_most_one_reminder(clock, pact):
    clock.move_to(at(20))
    send_reminders()
    clock.move_to(at(20, 30))
    assert send_reminders() == 0
    assert reminders().count() == 1


def test_the_initiators_own_minutes_set_the_moment(clock, pact, initiator):
    user_update_settings(initiator, reminder_minutes_before=15)
    clock.move_to(at(20, 44, 59))
    assert send_reminders() == 0
    clock.move_to(at(20, 45))
    assert send_reminders() == 1


def test_a_day_before_reminder_comes_for_tomorrows_day(clock, pact, initiator):
    user_update_settings(initiator, reminder_minutes_before=1440)
    clock.move_to(at(21, 1))
    assert send_reminders() == 1  # Tuesday's (Monday's deadline has passed)
    assert reminders().get().payload["date"] == "2025-01-21"


def test_no_reminder_for_someone_who_turned_them_off(clock, pact, initiator):
    user_update_settings(initiator, notify_reminders=False)
    clock.move_to(at(20, 30))
    assert send_reminders() == 0


def test_the_partners_settings_do_not_matter(clock, pact, partner):
    user_update_settings(partner, notify_reminders=False, reminder_minutes_before=1)
    clock.move_to(at(20))
    assert send_reminders() == 1


def test_no_reminder_for_a_day_already_checked_in_or_skipped(clock, pact, initiator, partner):
    day_for(pact, MONDAY).check_in(initiator)
    clock.move_to(at(20))
    assert send_reminders() == 0
    clock.move_to(at(9, day=21))
    day_for(pact, date(2025, 1, 21)).skip(partner)
    clock.move_to(at(20, day=21))
    assert send_reminders() == 0


def test_no_reminder_for_an_ended_pact(clock, pact, initiator):
    pact_end(pact, initiator)
    clock.move_to(at(20))
    assert send_reminders() == 0


def test_a_late_worker_still_reminds_before_the_deadline_but_not_after(clock, pact):
    clock.move_to(at(20, 50))  # the worker was down at 20:00
    assert send_reminders() == 1
    clock.move_to(at(21, 5, day=21))  # down through Tuesday's reminder and deadline
    materialize_days()
    process_deadlines()
    assert send_reminders() == 0
    assert reminders().count() == 1


def test_reminders_follow_summer_time(initiator, partner):
    with time_machine.travel(at(12, day=29, month=3), tick=False) as clock:
        make_active_pact(initiator, partner, start_date=date(2025, 3, 29))
        clock.move_to(at(0, day=30, month=3))
        materialize_days()
        # Sunday 30 March: 21:00 BST = 20:00 UTC, so the reminder is due at 19:00 UTC.
        clock.move_to(at(18, 59, 59, day=30, month=3))
        assert send_reminders() == 0
        clock.move_to(at(19, day=30, month=3))
        assert send_reminders() == 1
    assert reminders().get().payload["date"] == "2025-03-30"
