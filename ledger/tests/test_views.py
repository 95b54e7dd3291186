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
    asked = MiniApp(initiator).post(f"/pacts/{owed.pk}/settlements", {"amount": "5"})
    assert "Propose settling £5 with Sam?" in text(asked)
    assert not Settlement.objects.exists()
    proposed = MiniApp(initiator).post(
        f"/pacts/{owed.pk}/settlements", {"amount": "5", "step": "confirm"}
    )
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


@pytest.mark.parametrize("step", ["", "confirm"])
@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("50", "Enter at most £5."),
        ("0", "Enter more than £0."),
        ("-2", "Enter more than £0."),
        ("five", "Enter an amount, like 5 or 5.50."),
        ("", "Enter how much was paid, like 5 or 5.50."),
    ],
)
def test_a_bad_settlement_amount_says_why_in_money_and_keeps_the_typing(
    owed, initiator, typed, message, step
):
    """Rule changed on purpose (issue 15 B5): the range refusal is said in money, not
    "between 1 and the current balance", and an empty field no longer proposes it all."""
    response = MiniApp(initiator).post(
        f"/pacts/{owed.pk}/settlements", {"amount": typed, "step": step}
    )
    assert response.status_code == 422
    body = text(response)
    assert message in body
    assert f'value="{typed}"' in body
    assert "Propose settling" not in body
    assert not Settlement.objects.exists()


def test_the_form_shows_the_balance_it_proposes_and_cancel_keeps_the_amount(owed, initiator):
    page = text(MiniApp(initiator).get(f"/pacts/{owed.pk}/ledger"))
    assert 'name="amount" value="5.00"' in page
    assert "The whole balance is £5." in page
    back = MiniApp(initiator).post(f"/pacts/{owed.pk}/settlements", {"amount": "3", "step": "edit"})
    assert back.status_code == 200
    assert 'name="amount" value="3"' in text(back)
    assert "Propose settling" not in text(back)
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
