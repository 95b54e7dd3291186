"""The API takes exactly the JSON types its schema names (issue 11): "500", 5.0 and 1e3
are not integers, 123 is not a string, and only canonical IANA zone names are zones.
Each of these was accepted before the strict fields of habitpact/api.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from conftest import make_terms
from habitpact.errors import DomainError
from habitpact.tests.api import API, assert_error, client_for
from ledger.models import Settlement
from pacts.actions import pact_create
from pacts.models import Pact
from pacts.sweeps import process_deadlines
from pacts.tests.test_api_pacts import NEW_PACT
from pacts.tests.test_views import MiniApp

pytestmark = pytest.mark.django_db


# JSON that DRF's IntegerField turned into a valid value; each is 422 now. (Values in
# range, so only the type can be the reason for the refusal.)
def not_integers(n: int) -> list[str]:
    return [f'"{n}"', f"{n}.0", f"{n / 10}e1", f"{n}e0", "true", f"[{n}]"]


def send(client, method: str, url: str, body: str):
    return getattr(client, method)(url, data=body, content_type="application/json")


def with_value(base: dict, field: str, literal: str) -> str:
    """`base` as JSON with `field` set to the raw JSON `literal` (so 1e3 stays 1e3)."""
    marker = "__RAW__"
    return json.dumps({**base, field: marker}).replace(f'"{marker}"', literal)


@pytest.mark.parametrize(
    "field, literal",
    [("stake_amount", v) for v in not_integers(500)]
    + [("dispute_window_hours", v) for v in not_integers(12)],
)
def test_create_takes_only_json_integers(clock, initiator, field, literal):
    body = with_value(NEW_PACT, field, literal)
    response = send(client_for(initiator), "post", f"{API}/pacts", body)
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert field in error["details"]
    assert not Pact.objects.exists()


@pytest.mark.parametrize("literal", ["123", "12.5", "1e3"])
@pytest.mark.parametrize("field", ["title", "description"])
def test_create_takes_only_json_strings(clock, initiator, field, literal):
    body = with_value(NEW_PACT, field, literal)
    response = send(client_for(initiator), "post", f"{API}/pacts", body)
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert field in error["details"]
    assert not Pact.objects.exists()


@pytest.mark.parametrize("literal", not_integers(30))
def test_me_patch_takes_only_a_json_integer_for_reminder_minutes(initiator, literal):
    body = with_value({}, "reminder_minutes_before", literal)
    response = send(client_for(initiator), "patch", f"{API}/users/me", body)
    assert_error(response, 422, "VALIDATION_ERROR")
    initiator.refresh_from_db()
    assert initiator.reminder_minutes_before != 30


def test_check_in_note_and_key_must_be_strings(pact, initiator):
    url = f"{API}/pacts/{pact.pk}/days/2025-01-20/checkin"
    for field in ("note", "idempotency_key"):
        response = send(client_for(initiator), "post", url, with_value({}, field, "42"))
        assert field in assert_error(response, 422, "VALIDATION_ERROR")["details"]
    response = send(client_for(initiator), "post", f"{API}/pacts/{pact.pk}/end", '{"reason": 7}')
    assert_error(response, 422, "VALIDATION_ERROR")
    pact.refresh_from_db()
    assert pact.status == Pact.Status.ACTIVE


@pytest.mark.parametrize("literal", not_integers(500))
def test_settlement_amount_must_be_a_json_integer(clock, pact, initiator, literal):
    clock.move_to(datetime(2025, 1, 20, 22, 0, tzinfo=UTC))
    process_deadlines()
    body = with_value({}, "amount", literal)
    response = send(client_for(initiator), "post", f"{API}/pacts/{pact.pk}/settlements", body)
    assert_error(response, 422, "VALIDATION_ERROR")
    assert not Settlement.objects.exists()


def test_plain_json_integers_and_strings_still_work(clock, initiator):
    body = json.dumps({**NEW_PACT, "stake_amount": 500, "title": "Gym"})
    assert send(client_for(initiator), "post", f"{API}/pacts", body).status_code == 201


# --- time zones ----------------------------------------------------------------------------

NOT_ZONES = ["localtime", "Factory"]


@pytest.mark.parametrize("zone", NOT_ZONES)
def test_the_api_takes_only_canonical_zone_names(initiator, zone):
    response = client_for(initiator).patch(f"{API}/users/me", {"timezone": zone}, format="json")
    assert "timezone" in assert_error(response, 422, "VALIDATION_ERROR")["details"]
    initiator.refresh_from_db()
    assert initiator.timezone == "Europe/London"


@pytest.mark.parametrize("zone", ["localtime", "Factory"])
def test_the_mini_app_takes_only_canonical_zone_names(initiator, clock, zone):
    response = MiniApp(initiator).post("/settings", {"timezone": zone})
    assert response.status_code == 422
    initiator.refresh_from_db()
    assert initiator.timezone == "Europe/London"
    offer = MiniApp(initiator, zone=zone).get("/")
    assert zone not in offer.content.decode()  # not offered as the phone's zone either


@pytest.mark.parametrize("zone", ["America/Santiago", "UTC", "Asia/Kolkata", "Asia/Calcutta"])
def test_real_zones_are_still_accepted(initiator, zone):
    response = client_for(initiator).patch(f"{API}/users/me", {"timezone": zone}, format="json")
    assert response.status_code == 200
    assert response.json()["user"]["timezone"] == zone


def test_a_pact_is_not_made_in_a_zone_saved_before_zones_were_checked(clock, initiator):
    initiator.timezone = "localtime"
    initiator.save(update_fields=["timezone"])
    with pytest.raises(DomainError) as refusal:
        pact_create(initiator=initiator, terms=make_terms())
    assert "timezone" in refusal.value.details
    assert not Pact.objects.exists()
