"""The partner's review (rule 11): "Looks good" closes the dispute window at once.

The `pact` fixture: Alex (initiator) and Sam (partner), every day, 21:00 London, 12-hour
dispute window, active from Monday 2025-01-20 09:00 UTC (the clock).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from habitpact.errors import DomainError
from habitpact.tests.api import API, assert_error, client_for
from outbox.models import OutboxMessage
from pacts.actions import day_for, open_days, pact_end, pact_stats
from pacts.models import PactDay

pytestmark = pytest.mark.django_db

MONDAY = date(2025, 1, 20)
URL = "/days/2025-01-20/approve"


def approve(user, pact):
    return client_for(user).post(f"{API}/pacts/{pact.pk}{URL}")


def approvals_sent(user) -> int:
    return OutboxMessage.objects.filter(user=user, kind="checkin_approved").count()


@pytest.fixture
def checked_in(pact, initiator):
    return day_for(pact, MONDAY).check_in(initiator, note="30 mins cardio")


def test_looks_good_closes_the_window_and_tells_the_initiator_once(
    clock, pact, initiator, partner, checked_in
):
    response = approve(partner, pact)
    assert response.status_code == 200
    day = response.json()["day"]
    assert (day["status"], day["approved_at"]) == ("DONE", "2025-01-20T09:00:00Z")
    assert day["dispute_open_until"] == "2025-01-20T09:00:00Z"
    again = approve(partner, pact)  # a double tap: the same answer, no second message
    assert again.json()["day"] == day
    assert approvals_sent(initiator) == 1
    fresh = PactDay.objects.get(pk=checked_in.pk)
    fresh.pact = pact
    assert not fresh.can_dispute(partner)
    assert open_days(pact) == []
    assert pact_stats(pact).approvals == 1


def test_a_dispute_after_looks_good_is_too_late(pact, partner, checked_in):
    checked_in.approve(partner)
    with pytest.raises(DomainError) as excinfo:
        day_for(pact, MONDAY).dispute(partner, reason="Hmm")
    assert excinfo.value.code == "DISPUTE_WINDOW_CLOSED"


def test_the_initiator_cannot_approve_their_own_check_in(pact, initiator, checked_in):
    assert_error(approve(initiator, pact), 403, "FORBIDDEN_WRONG_ROLE")
    assert PactDay.objects.get(pk=checked_in.pk).approved_at is None


def test_a_stranger_cannot_approve(pact, stranger, checked_in):
    assert_error(approve(stranger, pact), 403, "FORBIDDEN_NOT_PARTICIPANT")


def test_only_a_done_day_can_be_approved(pact, initiator, partner):
    assert_error(approve(partner, pact), 409, "INVALID_STATE_TRANSITION")  # PENDING
    day = day_for(pact, MONDAY).check_in(initiator)
    day.dispute(partner, reason="Pics or it didn't happen")
    error = assert_error(approve(partner, pact), 409, "INVALID_STATE_TRANSITION")
    assert "withdraw the dispute" in error["message"]
    assert PactDay.objects.get(pk=day.pk).approved_at is None


def test_after_the_window_approving_is_too_late_and_changes_nothing(
    clock, pact, initiator, partner, checked_in
):
    clock.move_to(datetime(2025, 1, 20, 21, 0, 1, tzinfo=UTC))  # 12 h after 09:00
    error = assert_error(approve(partner, pact), 409, "DISPUTE_WINDOW_CLOSED")
    assert error["details"]["window_end"] == "2025-01-20T21:00:00+00:00"
    assert PactDay.objects.get(pk=checked_in.pk).approved_at is None
    assert approvals_sent(initiator) == 0


def test_after_a_withdrawn_dispute_the_partner_can_still_say_looks_good(
    clock, pact, initiator, partner, checked_in
):
    checked_in.dispute(partner, reason="Hmm")
    day_for(pact, MONDAY).resolve(partner, "WITHDRAW")
    clock.shift(timedelta(minutes=5))
    assert approve(partner, pact).json()["day"]["approved_at"] == "2025-01-20T09:05:00Z"


def test_a_review_outlives_the_pacts_end(pact, initiator, partner, checked_in):
    pact_end(pact, initiator)
    assert approve(partner, pact).status_code == 200
