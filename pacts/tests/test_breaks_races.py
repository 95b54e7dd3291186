"""Breaks and "Looks good" under real concurrency: threads, row locks, PostgreSQL.

Each test releases its threads at once (`run_together`) and checks that exactly one
valid outcome came of it, with one message per outcome.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from conftest import make_active_pact, make_user, run_together
from habitpact.errors import DomainError
from ledger.models import LedgerEntry
from outbox.models import OutboxMessage
from pacts.actions import day_for
from pacts.breaks import Break, break_propose
from pacts.models import PactDay
from pacts.sweeps import materialize_days, process_deadlines

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

MONDAY_9 = datetime(2025, 1, 20, 9, 0, tzinfo=UTC)
MONDAY = date(2025, 1, 20)
TUESDAY = date(2025, 1, 21)
WEDNESDAY = date(2025, 1, 22)
FRIDAY = date(2025, 1, 24)


@pytest.fixture
def people():
    return make_user("Alex"), make_user("Sam")


def _asked(alex, sam, *, title="Gym", start=WEDNESDAY, end=FRIDAY):
    pact = make_active_pact(alex, sam, title=title)
    brk, _ = break_propose(pact, alex, start_date=start, end_date=end, reason="Trip")
    return pact, brk


def test_many_approvals_at_once_approve_once_and_tell_once(people):
    alex, sam = people
    with time_machine.travel(MONDAY_9, tick=False):
        pact, brk = _asked(alex, sam, start=TUESDAY)
        results = run_together(10, lambda _: Break.objects.get(pk=brk.pk).approve(sam))
    assert all(isinstance(r, Break) and r.status == "APPROVED" for r in results), results
    assert OutboxMessage.objects.filter(kind="break_approved").count() == 1
    assert PactDay.objects.get(pact=pact, date=TUESDAY).on_break_id == brk.pk


def test_approve_racing_decline_ends_one_way_with_one_message(people):
    alex, sam = people
    with time_machine.travel(MONDAY_9, tick=False):
        pacts = [_asked(alex, sam, title=f"P{i}", start=TUESDAY) for i in range(5)]

        def act(i):
            brk = Break.objects.get(pk=pacts[i // 2][1].pk)
            return brk.approve(sam) if i % 2 == 0 else brk.decline(sam)

        results = run_together(10, act)
    for i, (pact, brk) in enumerate(pacts):
        brk.refresh_from_db()
        pair = results[2 * i : 2 * i + 2]
        errors = [r for r in pair if isinstance(r, DomainError)]
        assert [e.code for e in errors] == ["INVALID_STATE_TRANSITION"], pair
        tuesday = PactDay.objects.get(pact=pact, date=TUESDAY)
        if brk.status == "APPROVED":
            assert (tuesday.status, tuesday.on_break_id) == ("SKIPPED", brk.pk)
        else:
            assert brk.status == "DECLINED"
            assert (tuesday.status, tuesday.on_break_id) == ("PENDING", None)
        kinds = OutboxMessage.objects.filter(payload__break_id=str(brk.pk)).exclude(
            kind="break_proposed"
        )
        assert kinds.count() == 1


def test_two_proposals_at_once_make_one_break(people):
    alex, sam = people
    with time_machine.travel(MONDAY_9, tick=False):
        pact = make_active_pact(alex, sam)

        def propose(i):
            who = alex if i % 2 == 0 else sam
            return break_propose(pact, who, start_date=TUESDAY, end_date=TUESDAY, reason=str(i))

        results = run_together(6, propose)
    made = [r for r in results if isinstance(r, tuple) and r[1]]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(made) == 1 and len(refused) == 5, results
    assert {r.code for r in refused} == {"BREAK_ALREADY_PLANNED"}
    assert Break.objects.count() == 1


def test_approval_racing_the_materialize_job_and_the_deadline_sweep(people):
    """Tuesday 21:00 London: Tuesday's deadline passes (the sweep misses it) and the
    horizon reaches Wednesday (the job creates it) while the partner approves breaks
    starting Wednesday. Each Wednesday exists once, as a break day; each Tuesday is
    missed once; nothing is lost or doubled whichever commits first."""
    alex, sam = people
    with time_machine.travel(MONDAY_9, tick=False):
        asked = [_asked(alex, sam, title=f"P{i}") for i in range(8)]
    tuesday_deadline = datetime(2025, 1, 21, 21, 0, tzinfo=UTC)
    with time_machine.travel(tuesday_deadline, tick=False):

        def act(i):
            if i == 0:
                return materialize_days()
            if i == 1:
                return process_deadlines()
            return Break.objects.get(pk=asked[i - 2][1].pk).approve(sam)

        results = run_together(2 + len(asked), act)
        materialize_days()
        process_deadlines()
    assert all(not isinstance(r, Exception) for r in results), results
    for pact, brk in asked:
        days = {d.date: d for d in PactDay.objects.filter(pact=pact)}
        assert set(days) == {MONDAY, TUESDAY, WEDNESDAY}
        assert (days[WEDNESDAY].status, days[WEDNESDAY].on_break_id) == ("SKIPPED", brk.pk)
        assert days[TUESDAY].status == "MISSED"
        assert LedgerEntry.objects.filter(pact_day=days[TUESDAY], type="FORFEIT").count() == 1
        assert not LedgerEntry.objects.filter(pact_day=days[WEDNESDAY]).exists()
    assert OutboxMessage.objects.filter(kind="break_approved").count() == len(asked)


def test_looks_good_racing_a_dispute_one_wins(people):
    alex, sam = people
    with time_machine.travel(MONDAY_9, tick=False):
        pacts = [make_active_pact(alex, sam, title=f"P{i}") for i in range(6)]
        for pact in pacts:
            day_for(pact, MONDAY).check_in(alex, note="30 mins cardio")

        def act(i):
            day = day_for(pacts[i // 2], MONDAY)
            return day.approve(sam) if i % 2 == 0 else day.dispute(sam, reason="Hmm")

        results = run_together(2 * len(pacts), act)
    for i, pact in enumerate(pacts):
        day = PactDay.objects.get(pact=pact, date=MONDAY)
        pair = results[2 * i : 2 * i + 2]
        errors = [r for r in pair if isinstance(r, DomainError)]
        assert len(errors) == 1, pair
        if day.status == "DONE":
            assert day.approved_at is not None and day.disputed_at is None
            assert errors[0].code == "DISPUTE_WINDOW_CLOSED"
        else:
            assert day.status == "DISPUTED" and day.approved_at is None
            assert errors[0].code == "INVALID_STATE_TRANSITION"
    approvals = OutboxMessage.objects.filter(kind="checkin_approved").count()
    disputes = OutboxMessage.objects.filter(kind="dispute_opened_initiator").count()
    assert approvals + disputes == len(pacts)


def test_many_looks_good_at_once_tell_the_initiator_once(people):
    alex, sam = people
    with time_machine.travel(MONDAY_9, tick=False):
        pact = make_active_pact(alex, sam)
        day_for(pact, MONDAY).check_in(alex)
        results = run_together(10, lambda _: day_for(pact, MONDAY).approve(sam))
    assert all(isinstance(r, PactDay) for r in results), results
    assert {r.approved_at for r in results} == {MONDAY_9}
    assert OutboxMessage.objects.filter(kind="checkin_approved").count() == 1
