"""The skip allowance (rule 8) and skip requests (rule 9) through the JSON API.

The `pact` fixture: Alex (initiator) and Sam (partner), every day, 21:00 London, active
from Monday 2025-01-20 09:00 UTC (the clock), 2 free skips a month.
"""

from datetime import UTC, datetime

import pytest

from conftest import make_active_pact, make_terms
from habitpact.tests.api import API, assert_error, client_for
from outbox.models import OutboxMessage
from pacts.actions import pact_create
from pacts.models import Pact, PactDay, SkipRequest

from .test_api_pacts import NEW_PACT

pytestmark = pytest.mark.django_db

MONDAY = "2025-01-20"
TUESDAY = "2025-01-21"


def day_url(pact, date=MONDAY, action=""):
    return f"{API}/pacts/{pact.pk}/days/{date}" + (f"/{action}" if action else "")


def post(user, pact, action, body=None, date=MONDAY):
    return client_for(user).post(day_url(pact, date, action), body or {})


def test_create_takes_skips_per_month_and_the_pact_returns_it(clock, initiator):
    client = client_for(initiator)
    body = client.post(f"{API}/pacts", {**NEW_PACT, "skips_per_month": 5}).json()
    assert body["pact"]["skips_per_month"] == 5
    default = client.post(f"{API}/pacts", NEW_PACT).json()
    assert default["pact"]["skips_per_month"] == 2


@pytest.mark.parametrize("value", [-1, 11, 2.5, "two", True, None])
def test_create_refuses_a_bad_allowance_with_the_field(clock, initiator, value):
    response = client_for(initiator).post(f"{API}/pacts", {**NEW_PACT, "skips_per_month": value})
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert "skips_per_month" in error["details"], error
    assert not Pact.objects.exists()


def test_the_invite_shows_the_allowance(clock, initiator, partner):
    pact = pact_create(initiator=initiator, terms=make_terms())
    body = client_for(partner).get(f"{API}/invites/{pact.invite_code}").json()
    assert body["pact"]["skips_per_month"] == 2


def test_detail_shows_this_months_allowance_to_both(pact, initiator, partner):
    post(initiator, pact, "skip")
    for user in (initiator, partner):
        body = client_for(user).get(f"{API}/pacts/{pact.pk}").json()
        assert body["skip_allowance"] == {"month": "2025-01", "allowed": 2, "used": 1, "left": 1}
        assert body["pact"]["skips_per_month"] == 2


def test_the_third_skip_of_the_month_is_409_skip_allowance_used(clock, initiator, partner):
    pact = make_active_pact(initiator, partner, skips_per_month=1)
    assert post(initiator, pact, "skip").status_code == 200
    error = assert_error(post(initiator, pact, "skip", date=TUESDAY), 409, "SKIP_ALLOWANCE_USED")
    assert error["details"] == {"month": "2025-01", "allowed": 1, "used": 1}
    assert PactDay.objects.get(date=TUESDAY).status == "PENDING"
    today = client_for(initiator).get(f"{API}/pacts/{pact.pk}").json()["today"]
    assert today["can_skip"] is False
    # The partner's skip is never counted.
    assert post(partner, pact, "skip", date=TUESDAY).status_code == 200


def test_the_skip_request_round_trip(clock, pact, initiator, partner):
    day = client_for(initiator).get(day_url(pact)).json()["day"]
    assert day["skip_request"] is None
    response = post(initiator, pact, "skip-request", {"reason": "Sick 🤒"})
    assert response.status_code == 200, response.content
    assert response.json()["day"]["skip_request"] == {
        "status": "OPEN",
        "reason": "Sick 🤒",
        "requested_at": "2025-01-20T09:00:00Z",
    }
    today = client_for(partner).get(f"{API}/pacts/{pact.pk}").json()["today"]
    assert today["can_answer_skip"] is True and today["skip_request"]["status"] == "OPEN"
    approved = post(partner, pact, "skip-request/approve")
    assert approved.status_code == 200
    assert approved.json()["day"]["status"] == "SKIPPED"
    assert approved.json()["day"]["skip_request"]["status"] == "APPROVED"
    again = post(partner, pact, "skip-request/approve")  # a retry: the same answer
    assert again.json() == approved.json()
    assert OutboxMessage.objects.filter(kind="skip_request_answered").count() == 1
    listed = client_for(initiator).get(f"{API}/pacts/{pact.pk}/days").json()["days"]
    assert [d["skip_request"] and d["skip_request"]["status"] for d in listed] == [
        None,
        "APPROVED",
    ]


def test_declining_through_the_api(pact, initiator, partner):
    post(initiator, pact, "skip-request")
    response = post(partner, pact, "skip-request/decline")
    assert response.json()["day"]["status"] == "PENDING"
    assert response.json()["day"]["skip_request"]["status"] == "DECLINED"


@pytest.mark.parametrize(
    ("who", "action", "body", "status", "code"),
    [
        ("partner", "skip-request", {}, 403, "FORBIDDEN_WRONG_ROLE"),
        ("stranger", "skip-request", {}, 403, "FORBIDDEN_NOT_PARTICIPANT"),
        ("initiator", "skip-request", {"reason": "x" * 501}, 422, "VALIDATION_ERROR"),
        ("initiator", "skip-request", {"reason": 5}, 422, "VALIDATION_ERROR"),
        ("initiator", "skip-request/approve", {}, 403, "FORBIDDEN_WRONG_ROLE"),
        ("partner", "skip-request/approve", {}, 409, "INVALID_STATE_TRANSITION"),
        ("partner", "skip-request/decline", {}, 409, "INVALID_STATE_TRANSITION"),
        ("stranger", "skip-request/decline", {}, 403, "FORBIDDEN_NOT_PARTICIPANT"),
    ],
)
def test_bad_skip_requests_get_their_code_and_change_nothing(
    pact, request, who, action, body, status, code
):
    assert_error(post(request.getfixturevalue(who), pact, action, body), status, code)
    assert SkipRequest.objects.count() == 0
    assert PactDay.objects.get(date=MONDAY).status == "PENDING"


def test_a_second_open_request_is_409_skip_request_open(pact, initiator):
    post(initiator, pact, "skip-request", {"reason": "Sick"})
    assert post(initiator, pact, "skip-request", {"reason": "Sick"}).status_code == 200  # retry
    assert_error(
        post(initiator, pact, "skip-request", {"reason": "Sicker"}), 409, "SKIP_REQUEST_OPEN"
    )
    assert SkipRequest.objects.count() == 1


def test_past_the_deadline_nothing_can_be_asked_or_answered(clock, pact, initiator, partner):
    post(initiator, pact, "skip-request", {"reason": "Sick"})
    clock.move_to(datetime(2025, 1, 20, 21, 0, tzinfo=UTC))
    assert_error(post(partner, pact, "skip-request/approve"), 409, "INVALID_STATE_TRANSITION")
    assert_error(post(partner, pact, "skip-request/decline"), 409, "INVALID_STATE_TRANSITION")
    response = post(initiator, pact, "skip-request", {"reason": "Sicker"})
    assert_error(response, 409, "INVALID_STATE_TRANSITION")
    assert_error(post(initiator, pact, "skip-request", date="2025-01-19"), 404, "DAY_NOT_FOUND")
    assert SkipRequest.objects.get().status == "OPEN"  # until the sweep lapses it
    assert PactDay.objects.get(date=MONDAY).status == "PENDING"
