"""Issue 13: each question has one answer, whichever door asks it (API, Mini App, bot)."""

from __future__ import annotations

import json
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from conftest import make_terms
from habitpact.tests.api import API, client_for
from ledger.models import LedgerEntry
from pacts import limits
from pacts.actions import day_for, pact_create, todays_days
from pacts.models import Pact, User
from pacts.tests.test_views import MiniApp, text
from telegram_bot.handlers import process_update
from telegram_bot.messages import tab_line

from .conftest import callback_update, message_update

pytestmark = pytest.mark.django_db


def miniapp_error(response) -> str:
    return json.loads(response.headers["HX-Trigger"])["hp:error"]["code"]


def api_error(response) -> str:
    return response.json()["error"]["code"]


# --- today's day ----------------------------------------------------------------------


def test_after_three_days_without_the_worker_every_door_shows_the_same_today(
    clock, pact, initiator
):
    clock.shift(timedelta(days=3))  # Thursday; no materialize job ran
    listed = client_for(initiator).get(f"{API}/pacts").json()["pacts"][0]["today"]
    assert listed is not None
    assert listed["date"] == "2025-01-23"
    detail = client_for(initiator).get(f"{API}/pacts/{pact.pk}").json()["today"]
    assert (detail["date"], detail["status"]) == (listed["date"], listed["status"])
    home = text(MiniApp(initiator).get("/"))
    assert "Check In ✅" in home
    assert todays_days([pact], timezone.now())[pact.pk].date.isoformat() == listed["date"]


def test_a_pact_that_is_not_running_has_no_today_on_any_door(clock, initiator, partner):
    pact_create(initiator=initiator, terms=make_terms())
    assert client_for(initiator).get(f"{API}/pacts").json()["pacts"][0]["today"] is None
    assert "Check In" not in text(MiniApp(initiator).get("/"))


# --- invite codes -----------------------------------------------------------------------

BAD_CODES = ["abc-def", "a_b", "a" * 65, "ünï", "doesnotexist"]


@pytest.mark.parametrize("code", BAD_CODES)
def test_every_door_refuses_the_same_bad_invite_codes_the_same_way(
    fake_api, clock, initiator, partner, code
):
    pact = pact_create(initiator=initiator, terms=make_terms())
    path = quote(code, safe="")
    api = client_for(partner)
    assert api_error(api.get(f"{API}/invites/{path}")) == "PACT_NOT_FOUND"
    assert api_error(api.post(f"{API}/invites/{path}/accept")) == "PACT_NOT_FOUND"
    answered = api.post(f"{API}/pacts/{pact.pk}/accept", {"invite_code": code}, format="json")
    assert api_error(answered) == "PACT_NOT_FOUND"
    app = MiniApp(partner)
    assert miniapp_error(app.get(f"/invite/{path}")) == "PACT_NOT_FOUND"
    assert miniapp_error(app.post(f"/invite/{path}/accept")) == "PACT_NOT_FOUND"
    assert miniapp_error(app.post(f"/invite/{path}/decline")) == "PACT_NOT_FOUND"
    process_update(message_update(partner, f"/start invite_{code}"))
    [reply] = fake_api.calls_to("sendMessage")
    assert reply.params["text"] == (
        "🤔 That invite link doesn't work. Ask your friend to send it again."
    )
    pact.refresh_from_db()
    assert pact.status == Pact.Status.PENDING_ACCEPT


# --- dates in paths ---------------------------------------------------------------------

ODD_DATES = ["2025-W04-1", "2025-02-30", "20250120", "2025-1-2", "2025-01-20T00", "２０２５-01-20"]


@pytest.mark.parametrize("day", ODD_DATES)
def test_every_door_refuses_the_same_odd_dates(fake_api, pact, initiator, day):
    path = quote(day, safe="")
    api = client_for(initiator)
    assert api_error(api.get(f"{API}/pacts/{pact.pk}/days/{path}")) == "DAY_NOT_FOUND"
    assert api_error(api.post(f"{API}/pacts/{pact.pk}/days/{path}/skip")) == "DAY_NOT_FOUND"
    app = MiniApp(initiator)
    assert miniapp_error(app.get(f"/pacts/{pact.pk}/days/{path}")) == "DAY_NOT_FOUND"
    assert miniapp_error(app.post(f"/pacts/{pact.pk}/days/{path}/skip")) == "DAY_NOT_FOUND"
    process_update(callback_update(initiator, f"checkin:{pact.pk}:{day}"))
    [answer] = fake_api.calls_to("answerCallbackQuery")
    assert answer.params["text"].startswith("That button is out of date")


def test_a_real_date_is_the_same_day_on_every_door(pact, initiator):
    api = client_for(initiator).get(f"{API}/pacts/{pact.pk}/days/2025-01-20")
    assert api.status_code == 200
    assert MiniApp(initiator).get(f"/pacts/{pact.pk}/days/2025-01-20").status_code == 200


# --- the tab in words -------------------------------------------------------------------


@pytest.mark.parametrize("missed", [False, True])
def test_the_bot_and_the_mini_app_word_the_tab_alike(clock, pact, initiator, partner, missed):
    balance = 0
    if missed:
        day_for(pact, pact.start_date).miss(initiator)
        balance = pact.stake_amount
    home = text(MiniApp(initiator).get("/"))
    assert f"Tab: {tab_line(pact, balance, bold=False)}" in home
    assert tab_line(pact, balance) == ("Alex owes Sam <b>£5</b>" if missed else "all square")


# --- the injected clock -----------------------------------------------------------------


def test_a_conceded_days_forfeit_and_its_waiver_carry_the_transitions_clock(
    clock, pact, initiator, partner
):
    day = day_for(pact, pact.start_date).check_in(initiator)
    day.dispute(partner)
    later = timezone.now() + timedelta(hours=1)  # the caller's clock, not the wall's
    day.resolve(initiator, "CONCEDE", now=later)
    forfeit = LedgerEntry.objects.get(pact_day=day, type="FORFEIT")
    assert forfeit.created_at == day.resolution_at == later
    waived_at = later + timedelta(hours=1)
    day.waive(partner, now=waived_at)
    assert LedgerEntry.objects.get(pact_day=day, type="WAIVER").created_at == waived_at


# --- the spec's bounds ------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, low, high",
    [
        ("stake_amount", limits.STAKE_MIN, limits.STAKE_MAX),
        ("dispute_window_hours", limits.DISPUTE_WINDOW_MIN_HOURS, limits.DISPUTE_WINDOW_MAX_HOURS),
    ],
)
def test_the_domain_and_the_database_hold_the_same_bounds(clock, pact, field, low, high):
    for value, allowed in [(low - 1, False), (low, True), (high, True), (high + 1, False)]:
        assert (field in make_terms(**{field: value}).errors()) is not allowed
        try:
            with transaction.atomic():
                Pact.objects.filter(pk=pact.pk).update(**{field: value})
        except IntegrityError:
            assert not allowed
        else:
            assert allowed


def test_the_domain_and_the_database_hold_the_same_reminder_bound(initiator):
    for value, allowed in [
        (limits.REMINDER_MAX_MINUTES, True),
        (limits.REMINDER_MAX_MINUTES + 1, False),
    ]:
        try:
            with transaction.atomic():
                User.objects.filter(pk=initiator.pk).update(reminder_minutes_before=value)
        except IntegrityError:
            assert not allowed
        else:
            assert allowed
    assert Pact._meta.get_field("title").max_length == limits.TITLE_MAX_LENGTH
