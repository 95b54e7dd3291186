from datetime import UTC, datetime

import pytest

from habitpact.errors import DomainError
from ledger.actions import settlement_cancel, settlement_confirm, settlement_propose
from ledger.models import LedgerEntry, Settlement
from outbox.models import OutboxMessage
from pacts.actions import balance_of, pact_end
from pacts.sweeps import materialize_days, process_deadlines

pytestmark = pytest.mark.django_db


@pytest.fixture
def owed(clock, pact):
    """Three missed days: Alex owes Sam £15."""
    for day in (20, 21, 22):
        clock.move_to(datetime(2025, 1, day, 21, 1, tzinfo=UTC))
        materialize_days()
        process_deadlines()
    assert balance_of(pact) == 1500
    return pact


def refused(code, fn, *args, **kwargs):
    with pytest.raises(DomainError) as excinfo:
        fn(*args, **kwargs)
    assert excinfo.value.code == code, excinfo.value


def test_proposal_defaults_to_the_balance_and_counts_as_the_proposers_confirmation(
    owed, initiator, partner
):
    settlement = settlement_propose(owed, initiator)
    assert settlement.amount == 1500
    assert settlement.from_user_confirmed_at is not None
    assert settlement.to_user_confirmed_at is None
    assert OutboxMessage.objects.filter(kind="settlement_proposed", user=partner).count() == 1


def test_the_other_partys_confirmation_writes_one_settlement_entry(owed, initiator, partner):
    settlement = settlement_propose(owed, initiator, amount=1000)
    settlement_confirm(settlement, initiator)  # harmless no-op
    assert not LedgerEntry.objects.filter(type="SETTLEMENT").exists()
    settlement_confirm(settlement, partner)
    settlement_confirm(settlement, partner)  # again: nothing more
    entry = LedgerEntry.objects.get(type="SETTLEMENT")
    assert entry.amount == -1000
    settlement.refresh_from_db()
    assert settlement.status == Settlement.Status.CONFIRMED
    assert settlement.ledger_entry == entry
    assert balance_of(owed) == 500
    assert OutboxMessage.objects.filter(kind="settlement_confirmed").count() == 2


def test_partner_may_propose_too(owed, initiator, partner):
    settlement = settlement_propose(owed, partner)
    assert settlement.to_user_confirmed_at is not None
    settlement_confirm(settlement, initiator)
    assert balance_of(owed) == 0


@pytest.mark.parametrize("amount", [0, -1, 1501])
def test_amount_must_be_between_one_and_the_balance(owed, initiator, amount):
    refused("VALIDATION_ERROR", settlement_propose, owed, initiator, amount=amount)
    assert not Settlement.objects.exists()


def test_nothing_to_settle_when_nothing_is_owed(clock, pact, initiator):
    refused("INVALID_STATE_TRANSITION", settlement_propose, pact, initiator)


def test_one_pending_settlement_at_a_time(owed, initiator, partner):
    settlement_propose(owed, initiator, amount=100)
    refused("INVALID_STATE_TRANSITION", settlement_propose, owed, partner, amount=100)


def test_either_party_may_cancel_and_then_a_new_one_can_be_proposed(owed, initiator, partner):
    settlement = settlement_propose(owed, initiator, amount=100)
    settlement_cancel(settlement, partner)
    assert settlement.status == Settlement.Status.CANCELLED
    refused("INVALID_STATE_TRANSITION", settlement_confirm, settlement, partner)
    settlement_propose(owed, partner, amount=200)


def test_a_confirmed_settlement_cannot_be_cancelled(owed, initiator, partner):
    settlement = settlement_propose(owed, initiator)
    settlement_confirm(settlement, partner)
    refused("INVALID_STATE_TRANSITION", settlement_cancel, settlement, initiator)


def test_a_stranger_cannot_touch_a_settlement(owed, initiator, stranger):
    settlement = settlement_propose(owed, initiator)
    refused("FORBIDDEN_NOT_PARTICIPANT", settlement_confirm, settlement, stranger)
    refused("FORBIDDEN_NOT_PARTICIPANT", settlement_cancel, settlement, stranger)
    refused("FORBIDDEN_NOT_PARTICIPANT", settlement_propose, owed, stranger)


def test_a_pending_settlement_stays_confirmable_after_the_pact_ends(owed, initiator, partner):
    settlement = settlement_propose(owed, initiator)
    pact_end(owed, partner)
    settlement_confirm(settlement, partner)
    assert balance_of(owed) == 0


def test_confirming_more_than_the_tab_after_a_waiver_is_refused(clock, owed, initiator, partner):
    from datetime import date

    from pacts.actions import day_for

    settlement = settlement_propose(owed, initiator)  # £15
    day_for(owed, date(2025, 1, 20)).waive(partner)  # tab now £10
    refused("INVALID_STATE_TRANSITION", settlement_confirm, settlement, partner)
    assert balance_of(owed) == 1000
