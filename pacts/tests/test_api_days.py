"""The days API: list, detail and every transition with each of its error codes.

The `pact` fixture: Alex (initiator) and Sam (partner), every day, 21:00 London, active
from Monday 2025-01-20 09:00 UTC (the clock), so Monday and Tuesday exist.
"""

from datetime import timedelta

import pytest

from habitpact.tests.api import API, assert_error, client_for
from ledger.models import LedgerEntry
from pacts.models import PactDay

pytestmark = pytest.mark.django_db

MONDAY = "2025-01-20"
TUESDAY = "2025-01-21"


def day_url(pact, date=MONDAY, action=""):
    return f"{API}/pacts/{pact.pk}/days/{date}" + (f"/{action}" if action else "")


def post(user, pact, action, body=None, date=MONDAY):
    return client_for(user).post(day_url(pact, date, action), body or {})


# --- list and detail ---------------------------------------------------------------------


def test_days_list_newest_first_with_total(pact, initiator):
    body = client_for(initiator).get(f"{API}/pacts/{pact.pk}/days").json()
    assert [d["date"] for d in body["days"]] == [TUESDAY, MONDAY]
    assert (body["total"], body["limit"], body["offset"]) == (2, 30, 0)
    monday = body["days"][1]
    assert monday["status"] == "PENDING"
    assert monday["deadline"] == "2025-01-20T21:00:00Z"
    assert monday["checked_in_at"] is None


def test_days_list_paginates_and_filters_by_status(pact, initiator):
    post(initiator, pact, "checkin")
    client = client_for(initiator)
    page = client.get(f"{API}/pacts/{pact.pk}/days?limit=1&offset=1").json()
    assert [d["date"] for d in page["days"]] == [MONDAY]
    assert page["total"] == 2
    done = client.get(f"{API}/pacts/{pact.pk}/days?status=DONE").json()
    assert [d["date"] for d in done["days"]] == [MONDAY] and done["total"] == 1
    far = client.get(f"{API}/pacts/{pact.pk}/days?offset={2**31 - 1}").json()
    assert far["days"] == [] and far["total"] == 2


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=101", "limit=ten", "offset=-1", f"offset={10**20}", "status=LATE"],
)
def test_days_list_refuses_bad_query_parameters(pact, initiator, query):
    response = client_for(initiator).get(f"{API}/pacts/{pact.pk}/days?{query}")
    assert_error(response, 422, "VALIDATION_ERROR")


def test_day_detail(pact, initiator):
    body = client_for(initiator).get(day_url(pact)).json()
    assert body["day"]["date"] == MONDAY
    assert body["day"]["id"] == str(PactDay.objects.get(pact=pact, date=MONDAY).pk)


@pytest.mark.parametrize(
    "date", ["2025-01-25", "1999-01-01", "2025-13-01", "2025-02-30", "20250120", "today", "0"]
)
def test_unknown_or_malformed_day_is_day_not_found(pact, initiator, date):
    assert_error(client_for(initiator).get(day_url(pact, date)), 404, "DAY_NOT_FOUND")
    assert_error(post(initiator, pact, "checkin", date=date), 404, "DAY_NOT_FOUND")


def test_a_stranger_learns_nothing_about_a_day(pact, stranger):
    response = client_for(stranger).get(day_url(pact, "not-a-date"))
    assert_error(response, 403, "FORBIDDEN_NOT_PARTICIPANT")


# --- check-in ---------------------------------------------------------------------------------


def test_initiator_checks_in(pact, initiator):
    response = post(initiator, pact, "checkin", {"note": "Did 30 mins cardio"})
    assert response.status_code == 200
    day = response.json()["day"]
    assert day["status"] == "DONE"
    assert day["checked_in_at"] == "2025-01-20T09:00:00Z"
    assert day["dispute_open_until"] == "2025-01-20T21:00:00Z"
    assert day["checkin_note"] == "Did 30 mins cardio"


def test_checking_in_twice_is_already_checked_in(pact, initiator):
    post(initiator, pact, "checkin")
    assert_error(post(initiator, pact, "checkin"), 409, "ALREADY_CHECKED_IN")


def test_check_in_retry_with_the_same_key_returns_the_same_body(pact, initiator):
    body = {"note": "Leg day", "idempotency_key": "5d1c7f3e-retry"}
    first = post(initiator, pact, "checkin", body)
    second = post(initiator, pact, "checkin", body)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()


def test_check_in_retry_with_the_same_key_and_another_note_is_a_mismatch(pact, initiator):
    post(initiator, pact, "checkin", {"note": "Leg day", "idempotency_key": "k-1"})
    response = post(initiator, pact, "checkin", {"note": "Arm day", "idempotency_key": "k-1"})
    assert_error(response, 409, "IDEMPOTENCY_MISMATCH")


def test_partner_cannot_check_in(pact, partner):
    assert_error(post(partner, pact, "checkin"), 403, "FORBIDDEN_WRONG_ROLE")


def test_stranger_cannot_check_in(pact, stranger):
    assert_error(post(stranger, pact, "checkin"), 403, "FORBIDDEN_NOT_PARTICIPANT")


def test_checking_in_for_tomorrow_is_an_invalid_transition(pact, initiator):
    assert_error(post(initiator, pact, "checkin", date=TUESDAY), 409, "INVALID_STATE_TRANSITION")


def test_checking_in_on_an_ended_pact_is_refused(pact, initiator):
    client_for(initiator).post(f"{API}/pacts/{pact.pk}/end")
    response = post(initiator, pact, "checkin", date=MONDAY)
    assert response.status_code in (404, 409)


@pytest.mark.parametrize(
    "body",
    [{"idempotency_key": "k" * 65}, {"note": "n" * 1001}, {"note": ["x"]}, {"note": "\x00"}],
)
def test_check_in_refuses_malformed_input(pact, initiator, body):
    assert_error(post(initiator, pact, "checkin", body), 422, "VALIDATION_ERROR")
    assert PactDay.objects.get(pact=pact, date=MONDAY).status == "PENDING"


# --- miss, skip --------------------------------------------------------------------------


def test_initiator_owns_up_to_a_miss(pact, initiator):
    response = post(initiator, pact, "miss")
    assert response.status_code == 200
    assert response.json()["day"]["status"] == "MISSED"
    assert LedgerEntry.objects.get(pact=pact).amount == 500


def test_partner_cannot_mark_a_miss(pact, partner):
    assert_error(post(partner, pact, "miss"), 403, "FORBIDDEN_WRONG_ROLE")


def test_miss_after_the_deadline_is_an_invalid_transition(pact, initiator, clock):
    clock.shift(timedelta(hours=12, minutes=1))
    assert_error(post(initiator, pact, "miss"), 409, "INVALID_STATE_TRANSITION")


@pytest.mark.parametrize("who", ["initiator", "partner"])
def test_either_participant_skips_before_the_deadline(pact, who, request):
    response = post(request.getfixturevalue(who), pact, "skip", date=TUESDAY)
    assert response.status_code == 200
    assert response.json()["day"]["status"] == "SKIPPED"
    assert response.json()["day"]["skipped_at"] == "2025-01-20T09:00:00Z"


def test_skipping_a_done_day_is_an_invalid_transition(pact, initiator):
    post(initiator, pact, "checkin")
    assert_error(post(initiator, pact, "skip"), 409, "INVALID_STATE_TRANSITION")


def test_skipping_after_the_deadline_is_an_invalid_transition(pact, partner, clock):
    clock.shift(timedelta(hours=12, minutes=1))
    assert_error(post(partner, pact, "skip"), 409, "INVALID_STATE_TRANSITION")


# --- dispute and resolve -------------------------------------------------------------------


@pytest.fixture
def checked_in(pact, initiator):
    post(initiator, pact, "checkin", {"note": "Gym"})
    return pact


def test_partner_disputes_a_check_in(checked_in, partner):
    response = post(partner, checked_in, "dispute", {"reason": "Didn't see you there 🤔"})
    assert response.status_code == 200
    day = response.json()["day"]
    assert day["status"] == "DISPUTED"
    assert day["dispute_reason"] == "Didn't see you there 🤔"
    assert day["dispute_resolve_until"] == "2025-01-20T21:00:00Z"


def test_initiator_cannot_dispute(checked_in, initiator):
    assert_error(post(initiator, checked_in, "dispute"), 403, "FORBIDDEN_WRONG_ROLE")


def test_disputing_a_pending_day_is_an_invalid_transition(pact, partner):
    assert_error(post(partner, pact, "dispute"), 409, "INVALID_STATE_TRANSITION")


def test_disputing_after_the_window_is_dispute_window_closed(checked_in, partner, clock):
    clock.shift(timedelta(hours=12))
    error = assert_error(post(partner, checked_in, "dispute"), 409, "DISPUTE_WINDOW_CLOSED")
    assert error["details"]["window_end"].startswith("2025-01-20T21:00:00")


@pytest.fixture
def disputed(checked_in, partner):
    post(partner, checked_in, "dispute", {"reason": "Photo?"})
    return checked_in


@pytest.mark.parametrize(
    "who, resolution, status",
    [
        ("initiator", "CONCEDE", "MISSED"),
        ("initiator", "REJECT", "DONE"),
        ("partner", "WITHDRAW", "DONE"),
    ],
)
def test_resolving_a_dispute(disputed, who, resolution, status, request):
    user = request.getfixturevalue(who)
    response = post(user, disputed, "resolve", {"resolution": resolution})
    assert response.status_code == 200
    assert response.json()["day"]["status"] == status
    assert LedgerEntry.objects.filter(pact=disputed).count() == (resolution == "CONCEDE")


@pytest.mark.parametrize(
    "who, resolution", [("partner", "CONCEDE"), ("partner", "REJECT"), ("initiator", "WITHDRAW")]
)
def test_resolving_with_the_wrong_role_is_forbidden(disputed, who, resolution, request):
    user = request.getfixturevalue(who)
    response = post(user, disputed, "resolve", {"resolution": resolution})
    assert_error(response, 403, "FORBIDDEN_WRONG_ROLE")


@pytest.mark.parametrize("body", [{}, {"resolution": "concede"}, {"resolution": 1}])
def test_resolve_needs_a_known_resolution(disputed, initiator, body):
    error = assert_error(post(initiator, disputed, "resolve", body), 422, "VALIDATION_ERROR")
    assert "resolution" in error["details"]


def test_resolving_too_late_is_resolution_window_closed(disputed, initiator, clock):
    clock.shift(timedelta(hours=12))
    response = post(initiator, disputed, "resolve", {"resolution": "REJECT"})
    assert_error(response, 409, "RESOLUTION_WINDOW_CLOSED")


def test_resolving_without_a_dispute_is_an_invalid_transition(checked_in, initiator):
    response = post(initiator, checked_in, "resolve", {"resolution": "REJECT"})
    assert_error(response, 409, "INVALID_STATE_TRANSITION")


# --- waive --------------------------------------------------------------------------------------


def test_partner_waives_a_miss_and_the_forfeit_is_reversed(pact, initiator, partner):
    post(initiator, pact, "miss")
    response = post(partner, pact, "waive")
    assert response.status_code == 200
    assert response.json()["day"]["status"] == "WAIVED"
    balance = client_for(partner).get(f"{API}/pacts/{pact.pk}/ledger").json()["balance"]
    assert balance == 0


def test_initiator_cannot_waive(pact, initiator):
    post(initiator, pact, "miss")
    assert_error(post(initiator, pact, "waive"), 403, "FORBIDDEN_WRONG_ROLE")


def test_waiving_a_miss_already_settled_is_refused_and_the_tab_stays_at_zero(
    pact, initiator, partner
):
    """Rule 14: miss +500, settle -500, waive would be -500 ("Sam owes Alex £5")."""
    from ledger.actions import settlement_confirm, settlement_propose

    post(initiator, pact, "miss")
    settlement_confirm(settlement_propose(pact, initiator, amount=500), partner)
    assert_error(post(partner, pact, "waive"), 409, "WAIVE_EXCEEDS_BALANCE")
    body = client_for(partner).get(f"{API}/pacts/{pact.pk}/ledger").json()
    assert body["balance"] == 0
    assert not LedgerEntry.objects.filter(type="WAIVER").exists()
    assert PactDay.objects.get(pact=pact, date=MONDAY).status == "MISSED"


def test_waiving_a_pending_day_is_an_invalid_transition(pact, partner):
    assert_error(post(partner, pact, "waive"), 409, "INVALID_STATE_TRANSITION")
