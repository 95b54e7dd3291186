"""The breaks API (rule 10): each endpoint's shape and each of its error codes.

The `pact` fixture: Alex (initiator) and Sam (partner), every day, 21:00 London, active
from Monday 2025-01-20 09:00 UTC (the clock).
"""

from __future__ import annotations

import uuid

import pytest

from habitpact.tests.api import API, assert_error, client_for
from pacts.breaks import Break
from pacts.models import PactDay

pytestmark = pytest.mark.django_db

TRIP = {"start_date": "2025-01-21", "end_date": "2025-01-23", "reason": "Ski trip 🎿"}


def propose(user, pact, body=None):
    return client_for(user).post(f"{API}/pacts/{pact.pk}/breaks", body or TRIP)


def act(user, break_id, action):
    return client_for(user).post(f"{API}/breaks/{break_id}/{action}")


def test_the_initiator_asks_and_gets_the_break_back_with_what_they_may_do(pact, initiator, partner):
    response = propose(initiator, pact)
    assert response.status_code == 201
    body = response.json()["break"]
    assert body == {
        "id": body["id"],
        "pact_id": str(pact.pk),
        "start_date": "2025-01-21",
        "end_date": "2025-01-23",
        "days": 3,
        "reason": "Ski trip 🎿",
        "status": "PROPOSED",
        "proposed_by": {"id": str(initiator.pk), "display_name": "Alex"},
        "created_at": "2025-01-20T09:00:00Z",
        "answered_at": None,
        "ended_at": None,
        "can_approve": False,
        "can_decline": False,
        "can_end": True,  # withdrawing one's own proposal
    }
    listed = client_for(partner).get(f"{API}/pacts/{pact.pk}/breaks").json()["breaks"]
    assert [(b["id"], b["can_approve"], b["can_decline"], b["can_end"]) for b in listed] == [
        (body["id"], True, True, False)
    ]


def test_a_retry_of_the_same_proposal_answers_200_with_the_same_break(pact, initiator):
    first = propose(initiator, pact)
    again = propose(initiator, pact)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["break"]["id"] == first.json()["break"]["id"]


def test_the_partner_approves_and_the_days_json_shows_the_break(pact, initiator, partner):
    break_id = propose(initiator, pact).json()["break"]["id"]
    response = act(partner, break_id, "approve")
    assert response.status_code == 200
    assert response.json()["break"]["status"] == "APPROVED"
    assert act(partner, break_id, "approve").json()["break"]["status"] == "APPROVED"
    day = client_for(initiator).get(f"{API}/pacts/{pact.pk}/days/2025-01-21").json()["day"]
    assert (day["status"], day["break_id"]) == ("SKIPPED", break_id)


def test_pact_detail_shows_the_current_break_and_the_new_stats(pact, initiator, partner):
    break_id = propose(partner, pact).json()["break"]["id"]
    for user in (initiator, partner):
        body = client_for(user).get(f"{API}/pacts/{pact.pk}").json()
        assert body["current_break"]["id"] == break_id
        assert body["current_break"]["status"] == "APPROVED"
        assert body["today"]["can_approve"] is False
        assert {
            "skips_used_this_month",
            "skip_requests_approved",
            "skip_requests_declined",
            "breaks_taken",
            "disputes_opened",
            "disputes_conceded",
            "disputes_rejected",
            "disputes_withdrawn",
            "disputes_expired",
            "waivers",
            "approvals",
        } <= set(body["stats"])


def test_decline_and_end(pact, initiator, partner):
    break_id = propose(initiator, pact).json()["break"]["id"]
    assert act(partner, break_id, "decline").json()["break"]["status"] == "DECLINED"
    other = propose(partner, pact, {**TRIP, "reason": ""}).json()["break"]["id"]
    ended = act(initiator, other, "end").json()["break"]
    assert (ended["status"], ended["ended_at"]) == ("CANCELLED", "2025-01-20T09:00:00Z")
    assert PactDay.objects.get(pact=pact, date="2025-01-21").status == PactDay.Status.PENDING


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**TRIP, "start_date": "2025-01-20"}, "start_date"),  # today
        ({**TRIP, "end_date": "2025-01-19"}, "end_date"),
        ({**TRIP, "end_date": "2025-02-20"}, "end_date"),  # 31 days
        ({**TRIP, "reason": "x" * 501}, "reason"),
        ({"start_date": "2025-01-21"}, "end_date"),
        ({**TRIP, "start_date": "tomorrow"}, "start_date"),
        ({**TRIP, "reason": 7}, "reason"),
    ],
)
def test_bad_proposals_are_422_with_the_field_and_change_nothing(pact, initiator, body, field):
    error = assert_error(propose(initiator, pact, body), 422, "VALIDATION_ERROR")
    assert field in error["details"]
    assert not Break.objects.exists()


def test_a_second_break_is_409_break_already_planned(pact, initiator, partner):
    first = propose(initiator, pact).json()["break"]["id"]
    error = assert_error(
        propose(partner, pact, {**TRIP, "start_date": "2025-01-25", "end_date": "2025-01-26"}),
        409,
        "BREAK_ALREADY_PLANNED",
    )
    assert error["details"]["break_id"] == first


def test_answering_errors(pact, initiator, partner, stranger):
    break_id = propose(initiator, pact).json()["break"]["id"]
    assert_error(act(initiator, break_id, "approve"), 403, "FORBIDDEN_WRONG_ROLE")
    assert_error(act(stranger, break_id, "approve"), 403, "FORBIDDEN_NOT_PARTICIPANT")
    assert_error(act(partner, break_id, "end"), 409, "INVALID_STATE_TRANSITION")
    assert_error(act(partner, uuid.uuid4(), "approve"), 404, "NOT_FOUND")
    assert_error(act(partner, "not-a-uuid", "decline"), 404, "NOT_FOUND")
    act(partner, break_id, "decline")
    assert_error(act(partner, break_id, "approve"), 409, "INVALID_STATE_TRANSITION")
    assert Break.objects.get(pk=break_id).status == Break.Status.DECLINED


def test_strangers_cannot_list_or_propose(pact, stranger):
    assert_error(
        client_for(stranger).get(f"{API}/pacts/{pact.pk}/breaks"), 403, "FORBIDDEN_NOT_PARTICIPANT"
    )
    assert_error(propose(stranger, pact), 403, "FORBIDDEN_NOT_PARTICIPANT")
    assert_error(
        client_for(stranger).get(f"{API}/pacts/{uuid.uuid4()}/breaks"), 404, "PACT_NOT_FOUND"
    )
