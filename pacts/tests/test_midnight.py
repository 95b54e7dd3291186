"""Rule 12: a `deadline_time` of 00:00 is midnight at the END of the day (24:00).

Before the rule, 00:00 resolved to the start of the day: check-in was impossible and
every day forfeited. These tests pin the day's whole life (materialised deadline,
check-in at 23:30, the sweep at midnight) in London and across Santiago's DST changes,
which happen at midnight, and the word "midnight" on the screens and in the bot.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from conftest import make_active_pact, make_terms, make_user
from outbox.models import OutboxMessage, notify
from pacts.actions import day_for, pact_accept, pact_create
from pacts.models import PactDay
from pacts.sweeps import process_deadlines
from pacts.templatetags.hp import clock as clock_filter
from pacts.tests.test_views import MiniApp, text
from telegram_bot.messages import render, when

pytestmark = pytest.mark.django_db

MONDAY = date(2025, 1, 20)
LONDON = ZoneInfo("Europe/London")
SANTIAGO = ZoneInfo("America/Santiago")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def midnight_pact(clock, initiator, partner):
    """Alex's every-day pact with Sam, due by midnight (London = UTC in January)."""
    return make_active_pact(initiator, partner, deadline_time=time(0, 0))


def test_a_midnight_day_is_due_at_the_next_days_0000_local(midnight_pact):
    day = day_for(midnight_pact, MONDAY)
    assert day.deadline_at == utc(2025, 1, 21, 0, 0)
    assert day.deadline_at.astimezone(LONDON).time() == time(0, 0)
    assert day.deadline_at.astimezone(LONDON).date() == MONDAY + timedelta(days=1)


def test_a_midnight_day_can_be_checked_in_at_2330_on_its_date(clock, midnight_pact, initiator):
    day = day_for(midnight_pact, MONDAY)
    clock.move_to(utc(2025, 1, 20, 23, 30))
    assert day.can_check_in(initiator)
    assert day.check_in(initiator).status == PactDay.Status.DONE


def test_a_midnight_day_is_missed_at_midnight_not_before(clock, midnight_pact):
    day = day_for(midnight_pact, MONDAY)
    clock.move_to(utc(2025, 1, 20, 23, 59, 59))
    process_deadlines()
    day.refresh_from_db()
    assert day.status == PactDay.Status.PENDING
    clock.move_to(utc(2025, 1, 21, 0, 0))
    process_deadlines()
    day.refresh_from_db()
    assert day.status == PactDay.Status.MISSED


def _santiago_pact(moment: datetime, day: date):
    alex = make_user("Ana", tz="America/Santiago")
    sam = make_user("Beto", tz="America/Santiago")
    pact = pact_create(
        initiator=alex, terms=make_terms(deadline_time=time(0, 0), start_date=day), now=moment
    )
    return pact_accept(pact, sam, now=moment), alex


def test_santiago_spring_forward_midnight_gap_day_is_due_at_0100_and_can_be_met(clock):
    # Saturday 2025-09-06 ends at 24:00 -04, which is Sunday 01:00 -03 (04:00 UTC):
    # Sunday's 00:00 never happens, so the day is due at the first instant after it.
    clock.move_to(utc(2025, 9, 6, 12, 0))
    pact, alex = _santiago_pact(utc(2025, 9, 6, 12, 0), date(2025, 9, 6))
    day = day_for(pact, date(2025, 9, 6))
    assert day.deadline_at == utc(2025, 9, 7, 4, 0)
    # 23:30 local on its date (-04) is 03:30 UTC: still open.
    clock.move_to(utc(2025, 9, 7, 3, 30))
    assert day.check_in(alex).status == PactDay.Status.DONE


def test_santiago_spring_forward_midnight_gap_day_is_missed_at_the_jump(clock):
    clock.move_to(utc(2025, 9, 6, 12, 0))
    pact, _ = _santiago_pact(utc(2025, 9, 6, 12, 0), date(2025, 9, 6))
    day = day_for(pact, date(2025, 9, 6))
    clock.move_to(utc(2025, 9, 7, 3, 59, 59))
    process_deadlines()
    day.refresh_from_db()
    assert day.status == PactDay.Status.PENDING
    clock.move_to(utc(2025, 9, 7, 4, 0))
    process_deadlines()
    day.refresh_from_db()
    assert day.status == PactDay.Status.MISSED


def test_santiago_fall_back_day_lasts_through_both_2330s_until_midnight(clock):
    # Saturday 2025-04-05: 24:00 -03 falls back to 23:00 -04, so 23:30 happens twice
    # (02:30 and 03:30 UTC) and the day ends at Sunday 00:00 -04 (04:00 UTC).
    clock.move_to(utc(2025, 4, 5, 12, 0))
    pact, alex = _santiago_pact(utc(2025, 4, 5, 12, 0), date(2025, 4, 5))
    day = day_for(pact, date(2025, 4, 5))
    assert day.deadline_at == utc(2025, 4, 6, 4, 0)
    clock.move_to(utc(2025, 4, 6, 3, 30))  # the second 23:30, still Saturday locally
    assert day.check_in(alex).status == PactDay.Status.DONE


# --- "midnight" in words ---------------------------------------------------------------


def test_the_clock_filter_says_midnight_for_0000_and_the_time_otherwise():
    assert clock_filter(time(0, 0)) == "midnight"
    assert clock_filter(time(21, 0)) == "9:00 PM"
    assert clock_filter(time(0, 30)) == "12:30 AM"


def test_the_pact_screen_says_check_in_by_midnight(clock, midnight_pact, initiator):
    body = text(MiniApp(initiator).get(f"/pacts/{midnight_pact.pk}"))
    assert "Check in by midnight" in body
    assert "12:00 AM" not in body


def test_the_day_screen_says_check_in_by_midnight(clock, midnight_pact, initiator):
    body = text(MiniApp(initiator).get(f"/pacts/{midnight_pact.pk}/days/2025-01-20"))
    assert "Check in by midnight" in body
    assert "12:00 AM" not in body


def test_the_invite_screen_says_the_deadline_is_midnight(clock, initiator, partner):
    invite = pact_create(initiator=initiator, terms=make_terms(deadline_time=time(0, 0)))
    body = text(MiniApp(partner).get(f"/invite/{invite.invite_code}"))
    assert "midnight" in body
    assert "12:00 AM" not in body


def test_when_says_midnight_tonight_not_12_am_tomorrow():
    now = utc(2025, 1, 20, 20, 0)
    assert when(utc(2025, 1, 21, 0, 0), LONDON, now) == "midnight"
    assert when(utc(2025, 1, 22, 0, 0), LONDON, now) == "midnight tomorrow"
    assert when(utc(2025, 1, 23, 0, 0), LONDON, now) == "midnight, Jan 22"
    assert when(utc(2025, 1, 21, 9, 0), LONDON, now) == "9:00 AM tomorrow"


def test_the_reminder_says_hit_done_before_midnight(clock, midnight_pact, initiator, settings):
    settings.WEBAPP_URL = "https://app.example.com"
    clock.move_to(utc(2025, 1, 20, 23, 0))
    notify(initiator, "reminder", "r1", day=day_for(midnight_pact, MONDAY))
    message = OutboxMessage.objects.get(user=initiator, kind="reminder")
    # The recipient's clock is Telegram's date_time entity (issue 12).
    assert 'Hit Done before <b><tg-time unix="1737417600">midnight</tg-time></b>' in (
        render(message).text
    )
