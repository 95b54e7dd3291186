"""Reading a day writes a row only when the materialize job is behind on that very day."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from conftest import make_active_pact
from habitpact.tests.api import API, client_for
from pacts.actions import day_for, todays_days
from pacts.models import Pact, PactDay
from pacts.tests.test_views import MiniApp

pytestmark = pytest.mark.django_db

WEEKDAYS = [True] * 5 + [False] * 2


def written(pact: Pact) -> tuple[int, date | None]:
    pact.refresh_from_db()
    return PactDay.objects.filter(pact=pact).count(), pact.days_materialized_through


@pytest.mark.parametrize("day", ["2025-01-25", "2025-03-03", "2025-01-13"])
def test_asking_about_a_day_the_pact_cannot_have_yet_writes_nothing(clock, initiator, partner, day):
    """Saturday (not scheduled), a Monday beyond tomorrow, a Monday before the pact."""
    pact = make_active_pact(initiator, partner, schedule_days=WEEKDAYS)
    clock.shift(timedelta(days=5))  # Saturday; the worker has been down since Monday
    before = written(pact)
    response = client_for(initiator).get(f"{API}/pacts/{pact.pk}/days/{day}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "DAY_NOT_FOUND"
    assert MiniApp(initiator).get(f"/pacts/{pact.pk}/days/{day}").status_code == 404
    assert written(pact) == before


def test_a_day_the_job_is_behind_on_is_created_when_asked_for(clock, initiator, partner):
    pact = make_active_pact(initiator, partner, schedule_days=WEEKDAYS)
    clock.shift(timedelta(days=3))  # Thursday; the job made Monday and Tuesday only
    assert written(pact) == (2, date(2025, 1, 21))
    assert day_for(pact, date(2025, 1, 23)).status == PactDay.Status.PENDING
    assert written(pact) == (5, date(2025, 1, 24))  # through tomorrow, Friday


def test_a_weekend_with_the_worker_down_has_no_today_and_writes_nothing(clock, initiator, partner):
    pact = make_active_pact(initiator, partner, schedule_days=WEEKDAYS)
    clock.shift(timedelta(days=5))  # Saturday
    before = written(pact)
    assert todays_days([pact], timezone.now())[pact.pk] is None
    assert client_for(initiator).get(f"{API}/pacts").json()["pacts"][0]["today"] is None
    assert written(pact) == before
