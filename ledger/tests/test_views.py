"""The Mini App's ledger screen and settling up."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledger.actions import settlement_propose
from ledger.models import LedgerEntry, Settlement
from pacts.sweeps import process_deadlines
from pacts.tests.test_views import MiniApp, events, text


@pytest.fixture
def owed(clock, pact):
    """Monday's deadline passes unmet: Alex owes Sam £5."""
    clock.move_to(datetime(2025, 1, 20, 22, 0, tzinfo=UTC))
    process_deadlines()
    return pact


def test_ledger_lists_entries_with_the_running_balance(owed, initiator):
    body = text(MiniApp(initiator).get(f"/pacts/{owed.pk}/ledger"))
    assert "Alex owes Sam £5" in body
    assert "Missed day" in body and "Mon 20 Jan" in body
    assert "+£5" in body
    assert "Propose settlement" in body


def test_ledger_empty_state(pact, initiator):
    body = text(MiniApp(initiator).get(f"/pacts/{pact.pk}/ledger"))
    assert "No entries yet." in body
    assert "Nothing owed. All square." in body


def test_ledger_of_someone_elses_pact_is_refused(pact, stranger):
    response = MiniApp(stranger).get(f"/pacts/{pact.pk}/ledger")
    assert response.status_code == 403


def test_ledger_runs_in_a_bounded_number_of_queries(owed, initiator, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        MiniApp(initiator).get(f"/pacts/{owed.pk}/ledger")


def test_propose_then_confirm_squares_the_tab(owed, initiator, partner):
    proposed = MiniApp(initiator).post(f"/pacts/{owed.pk}/settlements", {"amount": "5"})
    assert proposed.status_code == 200
    assert "Waiting for the other side to confirm." in text(proposed)
    settlement = Settlement.objects.get()
    page = text(MiniApp(partner).get(f"/pacts/{owed.pk}/ledger"))
    assert "Alex proposed settling <b>£5</b>" in page
    assert "Confirm £5 settled ✅" in page
    confirmed = MiniApp(partner).post(f"/settlements/{settlement.pk}/confirm")
    assert "All squared up! 🎉" in text(confirmed)
    assert events(confirmed)["hp:success"]["message"] == "All squared up! 🎉"
    assert LedgerEntry.objects.filter(type="SETTLEMENT", amount=-500).exists()
    assert "All square" in text(confirmed)


def test_proposing_more_than_the_balance_is_refused_inline(owed, initiator):
    response = MiniApp(initiator).post(f"/pacts/{owed.pk}/settlements", {"amount": "50"})
    assert response.status_code == 422
    assert "The amount must be between 1 and the current balance." in text(response)
    assert not Settlement.objects.exists()


def test_either_side_can_cancel_a_pending_settlement(owed, initiator, partner):
    settlement = settlement_propose(owed, initiator, amount=500)
    response = MiniApp(partner).post(f"/settlements/{settlement.pk}/cancel")
    assert "Settlement cancelled." in text(response)
    settlement.refresh_from_db()
    assert settlement.status == Settlement.Status.CANCELLED


def test_a_stranger_cannot_confirm_a_settlement(owed, initiator, stranger):
    settlement = settlement_propose(owed, initiator, amount=500)
    response = MiniApp(stranger).post(f"/settlements/{settlement.pk}/confirm")
    assert response.status_code == 403
    settlement.refresh_from_db()
    assert settlement.status == Settlement.Status.PENDING
