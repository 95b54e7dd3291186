"""Breaks (DECISIONS rule 10): proposing, approving, the days they turn off, ending early.

The `pact` fixture: Alex (initiator) and Sam (partner), every day, 21:00 London, active
from Monday 2025-01-20 09:00 UTC (the clock), so Monday and Tuesday exist.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction

from habitpact.errors import DomainError
from ledger.models import LedgerEntry
from outbox.models import OutboxMessage
from pacts.actions import pact_end, pact_stats
from pacts.breaks import Break, break_propose, open_break
from pacts.models import PactDay
from pacts.sweeps import materialize_days, process_deadlines, send_reminders

pytestmark = pytest.mark.django_db

MONDAY = date(2025, 1, 20)
TUESDAY = date(2025, 1, 21)
WEDNESDAY = date(2025, 1, 22)
THURSDAY = date(2025, 1, 23)
FRIDAY = date(2025, 1, 24)


def at(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def propose(pact, user, start=TUESDAY, end=THURSDAY, reason="Ski trip 🎿"):
    brk, _created = break_propose(pact, user, start_date=start, end_date=end, reason=reason)
    return brk


def status_of(pact, day: date) -> str:
    return PactDay.objects.get(pact=pact, date=day).status


def kinds_for(user) -> list[str]:
    return list(OutboxMessage.objects.filter(user=user).values_list("kind", flat=True))


def code(excinfo) -> str:
    return excinfo.value.code


# --- proposing --------------------------------------------------------------------------


def test_a_partners_break_is_approved_at_once_and_turns_existing_days_off(pact, initiator, partner):
    brk = propose(pact, partner)
    assert brk.status == Break.Status.APPROVED
    assert brk.answered_by_user == partner
    tuesday = PactDay.objects.get(pact=pact, date=TUESDAY)
    assert (tuesday.status, tuesday.on_break_id, tuesday.skipped_by_user_id) == (
        PactDay.Status.SKIPPED,
        brk.pk,
        None,
    )
    assert status_of(pact, MONDAY) == PactDay.Status.PENDING  # today: not in the break
    assert "break_started" in kinds_for(initiator)
    assert "break_proposed" not in kinds_for(partner)


def test_an_initiators_break_waits_for_the_partner_and_changes_no_day(pact, initiator, partner):
    brk = propose(pact, initiator)
    assert brk.status == Break.Status.PROPOSED
    assert status_of(pact, TUESDAY) == PactDay.Status.PENDING
    assert kinds_for(partner).count("break_proposed") == 1


def test_the_partner_approves_and_the_initiator_is_told_once(pact, initiator, partner):
    brk = propose(pact, initiator)
    brk.approve(partner)
    again = Break.objects.get(pk=brk.pk)
    again.approve(partner)  # a retry or a double tap: the same answer
    assert Break.objects.get(pk=brk.pk).status == Break.Status.APPROVED
    assert status_of(pact, TUESDAY) == PactDay.Status.SKIPPED
    assert kinds_for(initiator).count("break_approved") == 1


def test_days_the_job_creates_later_are_off_from_the_start(clock, pact, partner):
    brk = propose(pact, partner, end=THURSDAY)
    clock.move_to(at(TUESDAY))
    materialize_days()
    clock.move_to(at(WEDNESDAY))
    materialize_days()
    days = {d.date: d for d in PactDay.objects.filter(pact=pact)}
    assert days[WEDNESDAY].status == PactDay.Status.SKIPPED
    assert days[THURSDAY].status == PactDay.Status.SKIPPED
    assert days[THURSDAY].on_break_id == brk.pk
    clock.move_to(at(THURSDAY))
    materialize_days()
    friday = PactDay.objects.get(pact=pact, date=FRIDAY)
    assert (friday.status, friday.on_break_id) == (PactDay.Status.PENDING, None)


def test_break_days_get_no_reminder_no_forfeit_and_use_no_allowance(clock, pact, partner):
    propose(pact, partner, end=WEDNESDAY)
    clock.move_to(at(TUESDAY, 20, 30))  # half an hour before Tuesday's deadline
    materialize_days()
    send_reminders()
    clock.move_to(at(WEDNESDAY, 22))
    materialize_days()
    process_deadlines()
    break_days = PactDay.objects.filter(pact=pact, date__in=[TUESDAY, WEDNESDAY])
    assert {d.status for d in break_days} == {PactDay.Status.SKIPPED}
    assert all(d.reminded_at is None for d in break_days)
    assert not LedgerEntry.objects.filter(pact_day__in=break_days).exists()
    assert pact_stats(pact).skips_used_this_month == 0  # rule 8 counts only own skips


def test_a_break_starts_tomorrow_at_the_earliest(pact, partner):
    with pytest.raises(DomainError) as excinfo:
        propose(pact, partner, start=MONDAY)
    assert code(excinfo) == "VALIDATION_ERROR"
    assert excinfo.value.details == {"start_date": "A break starts tomorrow at the earliest."}


def test_tomorrow_is_the_pacts_tomorrow_not_utcs(clock, initiator, partner):
    from conftest import make_active_pact, make_user

    alex = make_user("Alexa", tz="America/Los_Angeles")
    clock.move_to(datetime(2025, 1, 21, 6, 0, tzinfo=UTC))  # still Monday in LA
    pact = make_active_pact(alex, partner, start_date=MONDAY)
    brk, _ = break_propose(pact, partner, start_date=TUESDAY, end_date=TUESDAY)
    assert brk.status == Break.Status.APPROVED


@pytest.mark.parametrize(
    ("start", "end", "field", "message"),
    [
        (TUESDAY, MONDAY, "end_date", "The break can't end before it starts."),
        (TUESDAY, TUESDAY + timedelta(days=30), "end_date", "A break lasts 1 to 30 days."),
    ],
)
def test_a_break_lasts_one_to_thirty_days(pact, partner, start, end, field, message):
    with pytest.raises(DomainError) as excinfo:
        propose(pact, partner, start=start, end=end)
    assert code(excinfo) == "VALIDATION_ERROR"
    assert excinfo.value.details[field] == message
    assert not Break.objects.exists()


def test_thirty_days_is_the_longest_break(pact, partner):
    brk = propose(pact, partner, start=TUESDAY, end=TUESDAY + timedelta(days=29))
    assert brk.days == 30


def test_one_open_or_future_break_at_a_time(pact, initiator, partner):
    first = propose(pact, initiator)
    with pytest.raises(DomainError) as excinfo:
        propose(pact, partner, start=FRIDAY, end=FRIDAY)
    assert code(excinfo) == "BREAK_ALREADY_PLANNED"
    assert excinfo.value.details["break_id"] == str(first.pk)
    assert (
        excinfo.value.message == "There's already a break planned (Jan 21 – Jan 23). End it first."
    )
    assert Break.objects.count() == 1


def test_the_same_proposal_again_is_a_retry_not_a_conflict(pact, initiator, partner):
    first, created = break_propose(
        pact, initiator, start_date=TUESDAY, end_date=THURSDAY, reason="Trip"
    )
    again, created_again = break_propose(
        pact, initiator, start_date=TUESDAY, end_date=THURSDAY, reason="Trip"
    )
    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert kinds_for(partner).count("break_proposed") == 1


def test_strangers_and_inactive_pacts_cannot_have_breaks(pact, initiator, stranger):
    with pytest.raises(DomainError) as excinfo:
        propose(pact, stranger)
    assert code(excinfo) == "FORBIDDEN_NOT_PARTICIPANT"
    pact_end(pact, initiator)
    with pytest.raises(DomainError) as excinfo:
        propose(pact, initiator)
    assert code(excinfo) == "PACT_NOT_ACTIVE"


# --- answering --------------------------------------------------------------------------


def test_only_the_partner_answers_a_proposal(pact, initiator, partner, stranger):
    brk = propose(pact, initiator)
    for user, expected in (
        (initiator, "FORBIDDEN_WRONG_ROLE"),
        (stranger, "FORBIDDEN_NOT_PARTICIPANT"),
    ):
        for action in (brk.approve, brk.decline):
            with pytest.raises(DomainError) as excinfo:
                action(user)
            assert code(excinfo) == expected
    assert Break.objects.get(pk=brk.pk).status == Break.Status.PROPOSED
    assert not brk.can_approve(initiator) and brk.can_approve(partner)


def test_a_declined_break_changes_nothing_and_cannot_be_approved(pact, initiator, partner):
    brk = propose(pact, initiator)
    brk.decline(partner)
    brk.decline(partner)  # again: the same answer
    with pytest.raises(DomainError) as excinfo:
        brk.approve(partner)
    assert code(excinfo) == "INVALID_STATE_TRANSITION"
    assert Break.objects.get(pk=brk.pk).status == Break.Status.DECLINED
    assert status_of(pact, TUESDAY) == PactDay.Status.PENDING
    assert kinds_for(initiator).count("break_declined") == 1
    assert open_break(pact) is None
    assert propose(pact, initiator, start=FRIDAY, end=FRIDAY).status == Break.Status.PROPOSED


def test_approval_must_come_before_the_first_day_and_a_late_proposal_lapses(
    clock, pact, initiator, partner
):
    brk = propose(pact, initiator)
    clock.move_to(at(TUESDAY))
    with pytest.raises(DomainError) as excinfo:
        brk.approve(partner)
    assert code(excinfo) == "INVALID_STATE_TRANSITION"
    assert status_of(pact, TUESDAY) == PactDay.Status.PENDING
    materialize_days()  # the daily job settles it
    assert Break.objects.get(pk=brk.pk).status == Break.Status.LAPSED
    assert propose(pact, initiator, start=FRIDAY, end=FRIDAY).status == Break.Status.PROPOSED


# --- ending -----------------------------------------------------------------------------


def test_ending_a_running_break_schedules_the_days_after_today_again(
    clock, pact, initiator, partner
):
    brk = propose(pact, partner, end=FRIDAY)
    clock.move_to(at(WEDNESDAY))
    materialize_days()  # Wednesday and Thursday created as break days
    brk.end(initiator)
    brk.refresh_from_db()
    assert (brk.status, brk.end_date, brk.ended_by_user) == (
        Break.Status.ENDED,
        WEDNESDAY,
        initiator,
    )
    assert status_of(pact, TUESDAY) == PactDay.Status.SKIPPED
    assert status_of(pact, WEDNESDAY) == PactDay.Status.SKIPPED  # today stays off
    thursday = PactDay.objects.get(pact=pact, date=THURSDAY)
    assert (thursday.status, thursday.on_break_id, thursday.skipped_at) == (
        PactDay.Status.PENDING,
        None,
        None,
    )
    clock.move_to(at(THURSDAY))
    materialize_days()
    assert status_of(pact, FRIDAY) == PactDay.Status.PENDING
    clock.move_to(at(THURSDAY, 20, 30))
    assert send_reminders() == 1  # Thursday is an ordinary day again
    assert kinds_for(partner).count("break_ended") == 1


def test_ending_a_future_break_cancels_it_whole(pact, initiator, partner):
    brk = propose(pact, partner)
    brk.end(partner)
    brk.end(partner)  # again: the same answer
    assert Break.objects.get(pk=brk.pk).status == Break.Status.CANCELLED
    assert status_of(pact, TUESDAY) == PactDay.Status.PENDING
    assert kinds_for(initiator).count("break_ended") == 1
    assert pact_stats(pact).breaks_taken == 0


def test_the_proposer_withdraws_a_proposal_but_the_partner_must_answer_it(pact, initiator, partner):
    brk = propose(pact, initiator)
    with pytest.raises(DomainError) as excinfo:
        brk.end(partner)
    assert code(excinfo) == "INVALID_STATE_TRANSITION"
    brk.end(initiator)
    assert Break.objects.get(pk=brk.pk).status == Break.Status.CANCELLED
    assert "break_ended" not in kinds_for(partner)


def test_a_finished_break_is_closed_by_the_clock_and_counts_as_taken(clock, pact, partner):
    brk = propose(pact, partner, end=TUESDAY)
    clock.move_to(at(WEDNESDAY))
    materialize_days()
    assert Break.objects.get(pk=brk.pk).status == Break.Status.ENDED
    with pytest.raises(DomainError) as excinfo:
        Break.objects.get(pk=brk.pk).end(partner)
    assert code(excinfo) == "INVALID_STATE_TRANSITION"
    assert pact_stats(pact).breaks_taken == 1
    assert propose(pact, partner, start=THURSDAY, end=THURSDAY).status == Break.Status.APPROVED


def test_ending_the_pact_ends_its_break_and_removes_break_days_ahead(clock, pact, partner):
    brk = propose(pact, partner, end=FRIDAY)
    clock.move_to(at(WEDNESDAY))
    materialize_days()
    pact_end(pact, partner)
    assert Break.objects.get(pk=brk.pk).status == Break.Status.ENDED
    assert set(PactDay.objects.filter(pact=pact).values_list("date", flat=True)) == {
        MONDAY,
        TUESDAY,
    }  # Monday missed by the close; Tuesday a day off; Wednesday (deadline ahead) gone


# --- the database's own guard -----------------------------------------------------------


def _raw_break(pact, user, **fields):
    values = {"start_date": TUESDAY, "end_date": TUESDAY, "status": Break.Status.APPROVED}
    values.update(fields)
    with transaction.atomic():
        Break.objects.create(pact=pact, proposed_by_user=user, **values)


@pytest.mark.parametrize(
    "fields",
    [
        {"end_date": MONDAY},
        {"end_date": TUESDAY + timedelta(days=30)},
        {"status": "PAUSED"},
    ],
)
def test_the_database_refuses_a_break_out_of_bounds(pact, partner, fields):
    with pytest.raises(IntegrityError):
        _raw_break(pact, partner, **fields)


def test_the_database_allows_thirty_days_and_refuses_a_second_open_break(pact, partner):
    _raw_break(pact, partner, end_date=TUESDAY + timedelta(days=29))
    with pytest.raises(IntegrityError):
        _raw_break(pact, partner, status=Break.Status.PROPOSED, start_date=FRIDAY, end_date=FRIDAY)
    _raw_break(pact, partner, status=Break.Status.DECLINED, start_date=FRIDAY, end_date=FRIDAY)
    assert Break.objects.count() == 2
