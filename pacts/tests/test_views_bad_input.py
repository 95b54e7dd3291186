"""Hostile form input to the Mini App (issue 11): a form error or a 404 screen, never a
500, and nothing changed. Each of these answered 500 before habitpact/forms.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledger.models import Settlement
from pacts.models import Pact, PactDay
from pacts.sweeps import process_deadlines
from pacts.tests.test_views import MONDAY, MiniApp, _checked_in, _step, text

NUL = "Did it\x00 honest"


def test_a_nul_byte_in_the_check_in_note_is_a_form_error(pact, initiator):
    response = MiniApp(initiator).post(
        f"/pacts/{pact.pk}/days/{MONDAY}/check-in", {"note": NUL, "fragment": "live"}
    )
    assert response.status_code == 422
    assert "a character we can&#x27;t keep" in text(response)
    assert PactDay.objects.get(pact=pact, date=MONDAY).status == PactDay.Status.PENDING


def test_a_check_in_key_longer_than_64_characters_is_a_form_error(pact, initiator):
    response = MiniApp(initiator).post(
        f"/pacts/{pact.pk}/days/{MONDAY}/check-in", {"key": "k" * 65, "fragment": "live"}
    )
    assert response.status_code == 422
    assert PactDay.objects.get(pact=pact, date=MONDAY).status == PactDay.Status.PENDING


def test_a_64_character_key_still_checks_in(pact, initiator):
    response = MiniApp(initiator).post(
        f"/pacts/{pact.pk}/days/{MONDAY}/check-in", {"key": "k" * 64, "fragment": "live"}
    )
    assert response.status_code == 200
    assert PactDay.objects.get(pact=pact, date=MONDAY).status == PactDay.Status.DONE


def test_a_nul_byte_in_a_dispute_reason_is_a_form_error(pact, initiator, partner):
    _checked_in(pact, initiator)
    response = MiniApp(partner).post(f"/pacts/{pact.pk}/days/{MONDAY}/dispute", {"reason": NUL})
    assert response.status_code == 422
    assert PactDay.objects.get(pact=pact, date=MONDAY).status == PactDay.Status.DONE


def test_a_nul_byte_in_the_end_reason_is_a_form_error(pact, partner):
    response = MiniApp(partner).post(f"/pacts/{pact.pk}/settings", {"reason": NUL})
    assert response.status_code == 422
    pact.refresh_from_db()
    assert pact.status == Pact.Status.ACTIVE


def test_a_nul_byte_in_the_title_is_a_form_error_and_creates_nothing(initiator, clock):
    app = MiniApp(initiator)
    step = text(_step(app, 1, title=NUL))
    assert "Step 1/4" in step and "a character we can&#x27;t keep" in step
    terms = {
        "title": NUL,
        "days": ["0"],
        "deadline": "21:00",
        "start": "2025-01-20",
        "currency": "GBP",
        "stake": "5",
        "window": "12",
    }
    created = _step(app, 4, go="create", **terms)
    assert "Step 1/4" in text(created)
    assert not Pact.objects.exists()


@pytest.mark.parametrize("stake", ["1e999999", "Infinity", "-Infinity", "NaN", "1e12"])
def test_an_absurd_stake_is_a_form_error(initiator, clock, stake):
    response = _step(MiniApp(initiator), 3, currency="GBP", stake=stake, window="12")
    assert response.status_code == 200
    assert "Enter an amount, like 5 or 5.50." in text(response)
    assert "Step 3/4" in text(response)


@pytest.fixture
def owed(clock, pact):
    clock.move_to(datetime(2025, 1, 20, 22, 0, tzinfo=UTC))
    process_deadlines()
    return pact


@pytest.mark.parametrize("amount", ["Infinity", "-Infinity", "1e999999", "NaN", "5\x00"])
def test_an_absurd_settlement_amount_is_a_form_error(owed, initiator, amount):
    response = MiniApp(initiator).post(f"/pacts/{owed.pk}/settlements", {"amount": amount})
    assert response.status_code == 422
    assert "Enter an amount, like 5 or 5.50." in text(response)
    assert not Settlement.objects.exists()


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "10000-01", "2025-13"])
def test_history_of_a_month_out_of_range_shows_this_month(clock, pact, initiator, month):
    response = MiniApp(initiator).get(f"/pacts/{pact.pk}/history", month=month)
    assert response.status_code == 200
    assert "January 2025" in text(response)


def test_a_pact_address_that_is_not_a_uuid_gets_the_apps_404_screen(initiator, clock):
    for htmx in (True, False):
        response = MiniApp(initiator, htmx=htmx).get("/pacts/not-a-uuid")
        assert response.status_code == 404
        body = text(response)
        assert "We couldn't open that" in body
        assert "There&#x27;s nothing at that address." in body
        assert "Back to your pacts" in body
    assert 'rel="stylesheet"' in body  # the full page: the app's frame and styles


def test_an_unknown_api_address_gets_the_error_envelope(client, db):
    response = client.get("/api/v2/no-such-thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
