"""The ledger and settlements API."""

from datetime import timedelta

import pytest

from habitpact.tests.api import API, assert_error, client_for
from ledger.models import Settlement

pytestmark = pytest.mark.django_db


def miss(user, pact, date):
    response = client_for(user).post(f"{API}/pacts/{pact.pk}/days/{date}/miss")
    assert response.status_code == 200, response.content


@pytest.fixture
def owing(pact, initiator, partner, clock):
    """Two misses (Monday, Tuesday), the second waived, a minute apart each (entries are
    listed by time): 3 entries, balance 500."""
    miss(initiator, pact, "2025-01-20")
    clock.shift(timedelta(minutes=1))
    miss(initiator, pact, "2025-01-21")
    clock.shift(timedelta(minutes=1))
    client_for(partner).post(f"{API}/pacts/{pact.pk}/days/2025-01-21/waive")
    return pact


def test_ledger_lists_entries_newest_first_with_balance_and_total(owing, partner):
    body = client_for(partner).get(f"{API}/pacts/{owing.pk}/ledger").json()
    assert body["balance"] == 500
    assert body["total_entries"] == 3
    assert [(e["type"], e["amount"], e["date"]) for e in body["entries"]] == [
        ("WAIVER", -500, "2025-01-21"),
        ("FORFEIT", 500, "2025-01-21"),
        ("FORFEIT", 500, "2025-01-20"),
    ]
    assert body["entries"][0]["note"] == "Miss waived"
    assert body["entries"][0]["created_at"] == "2025-01-20T09:02:00Z"


def test_ledger_paginates(owing, initiator):
    client = client_for(initiator)
    page = client.get(f"{API}/pacts/{owing.pk}/ledger?limit=2&offset=2").json()
    assert [e["date"] for e in page["entries"]] == ["2025-01-20"]
    assert page["total_entries"] == 3 and page["balance"] == 500
    assert client.get(f"{API}/pacts/{owing.pk}/ledger?offset=99999").json()["entries"] == []
    assert_error(client.get(f"{API}/pacts/{owing.pk}/ledger?limit=0"), 422, "VALIDATION_ERROR")


def test_an_empty_ledger(pact, initiator):
    body = client_for(initiator).get(f"{API}/pacts/{pact.pk}/ledger").json()
    assert body == {"entries": [], "balance": 0, "total_entries": 0}


def test_a_stranger_cannot_read_the_ledger(owing, stranger):
    response = client_for(stranger).get(f"{API}/pacts/{owing.pk}/ledger")
    assert_error(response, 403, "FORBIDDEN_NOT_PARTICIPANT")
    assert "500" not in response.content.decode()


# --- settlements ---------------------------------------------------------------------------


def propose(user, pact, body=None):
    return client_for(user).post(f"{API}/pacts/{pact.pk}/settlements", body or {})


def test_settling_up_takes_a_proposal_and_the_other_partys_confirmation(
    owing, initiator, partner, clock
):
    response = propose(partner, owing)
    assert response.status_code == 201
    proposed = response.json()["settlement"]
    assert proposed["amount"] == 500
    assert proposed["status"] == "PENDING"
    assert proposed["proposed_by_user_id"] == str(partner.pk)
    assert proposed["to_user_confirmed_at"] == "2025-01-20T09:02:00Z"
    assert proposed["from_user_confirmed_at"] is None

    listed = client_for(initiator).get(f"{API}/pacts/{owing.pk}/settlements").json()
    assert [s["id"] for s in listed["settlements"]] == [proposed["id"]]

    clock.shift(timedelta(minutes=1))
    confirmed = client_for(initiator).post(f"{API}/settlements/{proposed['id']}/confirm")
    assert confirmed.status_code == 200
    assert confirmed.json()["settlement"]["status"] == "CONFIRMED"
    ledger = client_for(initiator).get(f"{API}/pacts/{owing.pk}/ledger").json()
    assert ledger["balance"] == 0
    assert ledger["entries"][0]["type"] == "SETTLEMENT"
    assert ledger["entries"][0]["amount"] == -500


def test_a_partial_settlement(owing, initiator):
    response = propose(initiator, owing, {"amount": 200})
    assert response.json()["settlement"]["amount"] == 200


@pytest.mark.parametrize("amount", [0, -5, 501, 10**40, "all", True])
def test_a_settlement_amount_must_be_between_one_and_the_balance(owing, initiator, amount):
    assert_error(propose(initiator, owing, {"amount": amount}), 422, "VALIDATION_ERROR")
    assert not Settlement.objects.exists()


def test_nothing_to_settle_is_an_invalid_transition(pact, initiator):
    assert_error(propose(initiator, pact), 409, "INVALID_STATE_TRANSITION")


def test_one_pending_settlement_at_a_time(owing, initiator, partner):
    propose(initiator, owing, {"amount": 100})
    assert_error(propose(partner, owing), 409, "INVALID_STATE_TRANSITION")


def test_either_party_cancels_a_pending_settlement(owing, initiator, partner):
    settlement_id = propose(initiator, owing).json()["settlement"]["id"]
    response = client_for(partner).post(f"{API}/settlements/{settlement_id}/cancel")
    assert response.status_code == 200
    assert response.json()["settlement"]["status"] == "CANCELLED"
    confirm = client_for(partner).post(f"{API}/settlements/{settlement_id}/confirm")
    assert_error(confirm, 409, "INVALID_STATE_TRANSITION")


def test_a_confirmed_settlement_cannot_be_cancelled(owing, initiator, partner):
    settlement_id = propose(initiator, owing).json()["settlement"]["id"]
    client_for(partner).post(f"{API}/settlements/{settlement_id}/confirm")
    cancel = client_for(initiator).post(f"{API}/settlements/{settlement_id}/cancel")
    assert_error(cancel, 409, "INVALID_STATE_TRANSITION")


def test_a_stranger_cannot_touch_a_settlement(owing, initiator, stranger):
    settlement_id = propose(initiator, owing).json()["settlement"]["id"]
    for action in ("confirm", "cancel"):
        response = client_for(stranger).post(f"{API}/settlements/{settlement_id}/{action}")
        assert_error(response, 403, "FORBIDDEN_NOT_PARTICIPANT")
    assert_error(propose(stranger, owing), 403, "FORBIDDEN_NOT_PARTICIPANT")
    listed = client_for(stranger).get(f"{API}/pacts/{owing.pk}/settlements")
    assert_error(listed, 403, "FORBIDDEN_NOT_PARTICIPANT")


@pytest.mark.parametrize("settlement_id", ["00000000-0000-0000-0000-000000000000", "nope"])
def test_an_unknown_settlement_is_not_found(initiator, settlement_id):
    response = client_for(initiator).post(f"{API}/settlements/{settlement_id}/confirm")
    assert_error(response, 404, "NOT_FOUND")
