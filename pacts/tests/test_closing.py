"""Closing a pact (rule 13): overdue days are decided first; running windows survive.

Every way a pact closes (ending it by hand or through the API, the completion job,
deleting an account) decides each PENDING day whose deadline has passed exactly as the
deadline sweep would, before any sweep has run; only days still ahead are removed. A DONE
day's dispute window and a DISPUTED day's resolution window keep running after the end.
"""

from datetime import UTC, date, datetime, timedelta

import pytest

from conftest import make_active_pact
from habitpact.tests.api import API, client_for
from ledger.models import LedgerEntry
from outbox.models import OutboxMessage
from pacts.actions import balance_of, complete_finished_pacts, pact_end
from pacts.models import Pact, PactDay
from pacts.privacy import user_delete
from pacts.sweeps import expire_disputes, process_deadlines

pytestmark = pytest.mark.django_db

MONDAY_DEADLINE = datetime(2025, 1, 20, 21, 0, tzinfo=UTC)  # 21:00 London = UTC in January


def statuses(pact: Pact) -> dict[date, str]:
    return dict(PactDay.objects.filter(pact=pact).values_list("date", "status"))


def forfeits(pact: Pact) -> dict[date, int]:
    return dict(
        LedgerEntry.objects.filter(pact=pact, type="FORFEIT").values_list(
            "pact_day__date", "amount"
        )
    )


def assert_missed_like_the_sweep(pact: Pact, days: list[date]) -> None:
    assert forfeits(pact) == dict.fromkeys(days, 500)
    for day in days:
        assert (
            OutboxMessage.objects.filter(
                kind="missed", payload__date=day.isoformat(), payload__pact_id=str(pact.pk)
            ).count()
            == 2
        )
    entry = LedgerEntry.objects.filter(pact=pact, type="FORFEIT").first()
    assert entry.note == "Missed check-in"
    assert (entry.from_user_id, entry.to_user_id) == (pact.initiator.pk, pact.partner.pk)


# --- item 1: ending after the deadline does not escape the forfeit -----------------------


def test_ending_after_the_deadline_before_any_sweep_writes_the_forfeit(
    clock, pact, initiator, partner
):
    clock.move_to(MONDAY_DEADLINE + timedelta(minutes=1))  # check-in refused, no sweep yet
    assert not pact.days.get(date=date(2025, 1, 20)).can_check_in(initiator)

    response = client_for(initiator).post(f"{API}/pacts/{pact.pk}/end", {"reason": "meh"})

    assert response.status_code == 200, response.content
    assert statuses(pact) == {date(2025, 1, 20): "MISSED"}  # Tuesday (ahead) removed
    assert_missed_like_the_sweep(pact, [date(2025, 1, 20)])
    assert balance_of(pact) == 500
    assert process_deadlines() == 0  # nothing left for the sweep


def test_ending_after_hours_of_a_stopped_worker_decides_every_overdue_day(
    clock, pact, initiator, partner
):
    # Worker down from Monday morning: no sweep, no materialize. Days 20 and 21 exist
    # (made at acceptance); 22 and 23 were never created, and all four deadlines passed.
    clock.move_to(datetime(2025, 1, 23, 22, 0, tzinfo=UTC))
    pact_end(pact, partner)
    days = [date(2025, 1, d) for d in (20, 21, 22, 23)]
    assert statuses(pact) == dict.fromkeys(days, "MISSED")
    assert_missed_like_the_sweep(pact, days)
    assert balance_of(pact) == 2000


def test_ending_before_the_deadline_still_removes_the_days_ahead(clock, pact, partner):
    clock.move_to(MONDAY_DEADLINE - timedelta(minutes=1))
    pact_end(pact, partner)
    assert statuses(pact) == {}
    assert balance_of(pact) == 0


def test_deleting_an_account_after_the_deadline_writes_the_forfeit(clock, pact, initiator):
    clock.move_to(MONDAY_DEADLINE + timedelta(minutes=1))
    user_delete(initiator)
    pact.refresh_from_db()
    assert pact.status == Pact.Status.ENDED
    assert statuses(pact) == {date(2025, 1, 20): "MISSED"}
    assert forfeits(pact) == {date(2025, 1, 20): 500}
    # The partner is told of the miss; the deleted account's own messages are erased.
    assert OutboxMessage.objects.filter(kind="missed", user=pact.partner).count() == 1
    assert not OutboxMessage.objects.filter(user=initiator).exists()


def test_the_completion_job_decides_overdue_days_itself(clock, initiator, partner):
    pact = make_active_pact(initiator, partner, end_date=date(2025, 1, 21))
    pact.days.get(date=date(2025, 1, 20)).check_in(initiator)
    clock.move_to(datetime(2025, 1, 22, 0, 30, tzinfo=UTC))  # Tuesday overdue, no sweep
    assert complete_finished_pacts() == 1
    pact.refresh_from_db()
    assert pact.status == Pact.Status.ENDED
    assert statuses(pact) == {date(2025, 1, 20): "DONE", date(2025, 1, 21): "MISSED"}
    assert_missed_like_the_sweep(pact, [date(2025, 1, 21)])


# --- item 5 (single-threaded half): a stale pact gets no new days ----------------------


def test_materializing_a_stale_active_pact_after_it_ended_inserts_nothing(clock, pact, partner):
    stale = Pact.objects.get(pk=pact.pk)  # what the job read: ACTIVE
    pact_end(pact, partner)
    clock.shift(timedelta(days=3))
    assert stale.status == Pact.Status.ACTIVE
    assert stale.materialize_days(clock_now()) == 0
    assert statuses(pact) == {}


def clock_now() -> datetime:
    from django.utils import timezone

    return timezone.now()


# --- item 4: windows survive the end ------------------------------------------------------


def test_a_running_dispute_window_survives_the_end(clock, pact, initiator, partner):
    day = pact.days.get(date=date(2025, 1, 20))
    day.check_in(initiator)  # 09:00, window open for 12 h
    pact_end(pact, initiator)  # the initiator ends it at once
    clock.shift(timedelta(hours=1))
    day = pact.days.get(date=date(2025, 1, 20))
    assert day.can_dispute(partner)
    day.dispute(partner, reason="no photo")
    assert day.status == PactDay.Status.DISPUTED
    day.resolve(initiator, "CONCEDE")
    assert balance_of(pact) == 500
    assert forfeits(pact) == {date(2025, 1, 20): 500}


def test_a_closed_dispute_window_stays_closed_after_the_end(clock, pact, initiator, partner):
    day = pact.days.get(date=date(2025, 1, 20))
    day.check_in(initiator)
    clock.shift(timedelta(hours=12, minutes=1))
    pact_end(pact, initiator)
    assert not pact.days.get(date=date(2025, 1, 20)).can_dispute(partner)


@pytest.mark.parametrize(
    ("resolution", "who", "balance"),
    [("CONCEDE", "initiator", 500), ("REJECT", "initiator", 0), ("WITHDRAW", "partner", 0)],
)
def test_a_dispute_can_be_resolved_after_the_end_and_the_ledger_follows(
    clock, pact, initiator, partner, request, resolution, who, balance
):
    day = pact.days.get(date=date(2025, 1, 20))
    day.check_in(initiator)
    day.dispute(partner)
    pact_end(pact, partner)
    clock.shift(timedelta(hours=2))
    day = pact.days.get(date=date(2025, 1, 20))
    user = request.getfixturevalue(who)
    assert day.can_resolve(user, resolution)
    day.resolve(user, resolution)
    assert balance_of(pact) == balance


def test_the_dispute_expiry_sweep_decides_disputes_of_ended_pacts(clock, pact, initiator, partner):
    day = pact.days.get(date=date(2025, 1, 20))
    day.check_in(initiator)
    day.dispute(partner)
    pact_end(pact, partner)
    clock.shift(timedelta(hours=12))
    assert expire_disputes() == 1
    day.refresh_from_db()
    assert (day.status, day.resolution) == ("DONE", "DONE_STANDS")
