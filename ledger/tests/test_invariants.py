import uuid
from datetime import UTC, date, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ledger.actions import settlement_confirm, settlement_propose
from ledger.invariants import check_ledger
from ledger.models import LedgerEntry
from pacts.actions import day_for
from pacts.models import PactDay
from pacts.sweeps import materialize_days, process_deadlines

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(clock, pact, initiator, partner):
    """Missed, waived, done, skipped days and a confirmed settlement."""
    for day in (20, 21, 22, 23):
        clock.move_to(datetime(2025, 1, day, 9, tzinfo=UTC))
        materialize_days()
        today = day_for(pact, date(2025, 1, day))
        if day == 22:
            today.check_in(initiator)
        if day == 23:
            today.skip(partner)
        clock.move_to(datetime(2025, 1, day, 21, 1, tzinfo=UTC))
        process_deadlines()
    day_for(pact, date(2025, 1, 21)).waive(partner)
    settlement_confirm(settlement_propose(pact, initiator, amount=300), partner)
    return pact


def test_a_healthy_history_has_no_violations(history, capsys):
    assert check_ledger() == []
    call_command("check_ledger")
    assert "Ledger OK" in capsys.readouterr().out


def test_a_missed_day_without_its_forfeit_is_reported(history):
    # Simulate a lost write: a day marked missed behind the ledger's back.
    PactDay.objects.filter(date=date(2025, 1, 22)).update(status="MISSED")
    rules = {v.rule for v in check_ledger()}
    assert rules == {"missed day without exactly one forfeit and no waiver"}
    with pytest.raises(CommandError):
        call_command("check_ledger")


def test_a_forfeit_on_a_done_day_is_reported(history):
    done = PactDay.objects.get(date=date(2025, 1, 22))
    LedgerEntry.objects.create(pact=history, pact_day=done, type="FORFEIT", amount=500)
    assert {v.rule for v in check_ledger()} == {
        "undecided, done or skipped day with a ledger entry"
    }


def test_a_settlement_entry_without_a_settlement_is_reported(history):
    LedgerEntry.objects.create(pact=history, type="SETTLEMENT", amount=-100)
    assert {v.rule for v in check_ledger()} == {
        "settlement entry without exactly one confirmed settlement"
    }


# --- issue 11 item 8: the checks rule 13 and 14 add --------------------------------------


def test_a_negative_balance_is_reported(history):
    LedgerEntry.objects.create(pact=history, type="ADJUSTMENT", amount=-1000, note="oops")
    assert {v.rule for v in check_ledger()} == {"negative balance"}
    assert [uuid.UUID(v.pact_id) for v in check_ledger()] == [history.pk]


def test_a_pending_day_of_an_ended_pact_is_reported(history, clock):
    from pacts.models import Pact

    materialize_days()  # Friday's day: PENDING, deadline ahead
    Pact.objects.filter(pk=history.pk).update(status="ENDED")  # ended behind its back
    assert {v.rule for v in check_ledger()} == {"pending day of a pact that is no longer running"}


def test_a_pending_day_left_past_its_deadline_by_two_sweep_intervals_is_reported(history, clock):
    clock.move_to(datetime(2025, 1, 24, 21, 4, tzinfo=UTC))  # Friday 21:00 + 4 min
    materialize_days()
    assert check_ledger() == []  # within two sweeps of the deadline
    clock.move_to(datetime(2025, 1, 24, 21, 4, 1, tzinfo=UTC))
    assert {v.rule for v in check_ledger()} == {
        "pending day more than two sweep intervals past its deadline"
    }
    process_deadlines()
    assert check_ledger() == []
