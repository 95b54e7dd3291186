"""Skips and skip requests under real concurrency (PostgreSQL row locks, real threads):
every race ends in exactly one valid outcome, one ledger effect and one message."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from conftest import make_active_pact, make_user, run_together
from habitpact.errors import DomainError
from ledger.models import LedgerEntry
from outbox.models import OutboxMessage
from pacts.actions import day_for
from pacts.models import PactDay, SkipRequest
from pacts.sweeps import process_deadlines

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]

MONDAY = date(2025, 1, 20)
TUESDAY = date(2025, 1, 21)
MONDAY_9 = datetime(2025, 1, 20, 9, 0, tzinfo=UTC)
DEADLINE = datetime(2025, 1, 20, 21, 0, tzinfo=UTC)


@pytest.fixture
def people():
    return make_user("Alex"), make_user("Sam")


def test_two_skips_at_once_with_one_left_exactly_one_succeeds(people):
    alex, sam = people
    with time_machine.travel(MONDAY_9, tick=False):
        pact = make_active_pact(alex, sam, skips_per_month=1)
        days = [MONDAY, TUESDAY]
        results = run_together(2, lambda i: day_for(pact, days[i]).skip(alex))
    skipped = [r for r in results if isinstance(r, PactDay)]
    refusals = [r for r in results if isinstance(r, DomainError)]
    assert len(skipped) == 1, results
    assert [r.code for r in refusals] == ["SKIP_ALLOWANCE_USED"]
    assert PactDay.objects.filter(status="SKIPPED", skip_used_allowance=True).count() == 1
    assert PactDay.objects.filter(status="PENDING").count() == 1


def test_many_approvals_at_once_skip_once_and_tell_the_initiator_once(people):
    alex, sam = people
    with time_machine.travel(MONDAY_9, tick=False):
        pact = make_active_pact(alex, sam)
        day_for(pact, MONDAY).request_skip(alex, reason="Flu")
        results = run_together(10, lambda _: day_for(pact, MONDAY).approve_skip(sam))
    assert all(isinstance(r, PactDay) for r in results), results
    assert SkipRequest.objects.get().status == SkipRequest.Status.APPROVED
    assert PactDay.objects.get(date=MONDAY).status == PactDay.Status.SKIPPED
    assert OutboxMessage.objects.filter(kind="skip_request_answered").count() == 1


def test_approve_and_decline_at_once_end_in_one_answer(people):
    alex, sam = people
    with time_machine.travel(MONDAY_9, tick=False):
        pact = make_active_pact(alex, sam)
        day_for(pact, MONDAY).request_skip(alex)

        def answer(i):
            day = day_for(pact, MONDAY)
            return day.approve_skip(sam) if i % 2 else day.decline_skip(sam)

        results = run_together(6, answer)
    outcome = SkipRequest.objects.get().status
    assert outcome in (SkipRequest.Status.APPROVED, SkipRequest.Status.DECLINED)
    day_status = PactDay.objects.get(date=MONDAY).status
    assert day_status == ("SKIPPED" if outcome == "APPROVED" else "PENDING")
    # The answers that agreed came back as the day; the others were refused.
    for result in results:
        assert isinstance(result, (PactDay, DomainError)), result
    [told] = OutboxMessage.objects.filter(kind="skip_request_answered")
    assert told.payload["outcome"] == outcome


def test_approvals_racing_the_deadline_sweep_end_in_exactly_one_outcome(people):
    alex, sam = people
    with time_machine.travel(MONDAY_9, tick=False):
        pacts = [make_active_pact(alex, sam, title=f"P{i}") for i in range(10)]
        for pact in pacts:
            day_for(pact, MONDAY).request_skip(alex, reason="Sick")
    # The approvals were sent a moment before the deadline; the sweep runs at it.
    with time_machine.travel(DEADLINE, tick=False):

        def act(i):
            if i == 0:
                return process_deadlines()
            day = day_for(pacts[i - 1], MONDAY)
            return day.approve_skip(sam, now=DEADLINE - timedelta(milliseconds=1))

        results = run_together(11, act)
        process_deadlines()  # whatever the sweep skipped while an approval held it
    for result in results[1:]:
        assert isinstance(result, (PactDay, DomainError)), result
    for day in PactDay.objects.filter(date=MONDAY):
        request = SkipRequest.objects.get(day=day)
        forfeits = LedgerEntry.objects.filter(pact_day=day, type="FORFEIT").count()
        told = tuple(
            OutboxMessage.objects.filter(
                kind="skip_request_answered", payload__request_id=str(request.pk)
            ).values_list("payload__outcome", flat=True)
        )
        assert (day.status, request.status, forfeits, told) in {
            ("SKIPPED", "APPROVED", 0, ("APPROVED",)),
            ("MISSED", "LAPSED", 1, ("LAPSED",)),
        }, (day.status, request.status, forfeits, told)


def test_two_requests_at_once_leave_one_open(people):
    alex, sam = people
    with time_machine.travel(MONDAY_9, tick=False):
        pact = make_active_pact(alex, sam)
        results = run_together(
            5, lambda i: day_for(pact, MONDAY).request_skip(alex, reason=f"reason {i}")
        )
    assert SkipRequest.objects.filter(status="OPEN").count() == 1
    assert sum(isinstance(r, SkipRequest) for r in results) == 1, results
    assert {r.code for r in results if isinstance(r, DomainError)} == {"SKIP_REQUEST_OPEN"}
    assert OutboxMessage.objects.filter(kind="skip_requested").count() == 1
