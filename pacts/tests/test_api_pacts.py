"""The pacts API: users/me, create, list, detail, accept, decline, end, invites."""

from datetime import timedelta

import pytest

from conftest import make_active_pact, make_terms, make_user
from habitpact.tests.api import API, assert_error, client_for
from pacts.actions import pact_create
from pacts.models import Pact, PactDay

pytestmark = pytest.mark.django_db

NEW_PACT = {
    "title": "Gym Pact 🏋️",
    "description": "Hit the gym at least once",
    "stake_amount": 500,
    "currency": "GBP",
    "schedule_days": [False, True, True, True, True, True, False],
    "deadline_time": "21:00",
    "start_date": "2025-01-20",
    "end_date": None,
    "dispute_window_hours": 12,
    "partner_username": "samsmith",
}


# --- users/me --------------------------------------------------------------------------


def test_me_shows_the_users_settings(initiator):
    body = client_for(initiator).get(f"{API}/users/me").json()["user"]
    assert body["id"] == str(initiator.pk)
    assert body["timezone"] == "Europe/London"
    assert body["reminder_minutes_before"] == 60
    assert body["notify_reminders"] is True


def test_me_patch_changes_settings(initiator):
    response = client_for(initiator).patch(
        f"{API}/users/me",
        {
            "timezone": "America/Los_Angeles",
            "notify_reminders": False,
            "reminder_minutes_before": 30,
        },
    )
    assert response.status_code == 200
    assert response.json()["user"]["timezone"] == "America/Los_Angeles"
    initiator.refresh_from_db()
    assert (initiator.timezone, initiator.notify_reminders, initiator.reminder_minutes_before) == (
        "America/Los_Angeles",
        False,
        30,
    )


@pytest.mark.parametrize(
    "body, field",
    [
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "utc "}, "timezone"),
        ({"reminder_minutes_before": 1441}, "reminder_minutes_before"),
        ({"reminder_minutes_before": -1}, "reminder_minutes_before"),
        # 0 no longer means "no reminder" (issue 15 B7): that is notify_reminders=false.
        ({"reminder_minutes_before": 0}, "reminder_minutes_before"),
        ({"reminder_minutes_before": "soon"}, "reminder_minutes_before"),
        ({"notify_reminders": "yes"}, "notify_reminders"),
        ({"timezone": None}, "timezone"),
    ],
)
def test_me_patch_refuses_bad_settings_field_by_field(initiator, body, field):
    error = assert_error(
        client_for(initiator).patch(f"{API}/users/me", body), 422, "VALIDATION_ERROR"
    )
    assert field in error["details"]
    initiator.refresh_from_db()
    assert initiator.timezone == "Europe/London"


@pytest.mark.parametrize("minutes", [1, 7, 1440])
def test_me_patch_takes_any_whole_minute_from_1_to_1440(initiator, minutes):
    response = client_for(initiator).patch(f"{API}/users/me", {"reminder_minutes_before": minutes})
    assert response.status_code == 200
    initiator.refresh_from_db()
    assert initiator.reminder_minutes_before == minutes


# --- create -----------------------------------------------------------------------------


def test_create_returns_the_pending_pact_and_its_invite_link(clock, initiator):
    response = client_for(initiator).post(f"{API}/pacts", NEW_PACT)
    assert response.status_code == 201
    body = response.json()
    pact = Pact.objects.get()
    assert body["invite_link"] == f"https://t.me/HabitPactBot?startapp=invite_{pact.invite_code}"
    assert body["pact"]["id"] == str(pact.pk)
    assert body["pact"]["status"] == "PENDING_ACCEPT"
    assert body["pact"]["deadline_time"] == "21:00"
    assert body["pact"]["timezone"] == "Europe/London"
    assert body["pact"]["schedule_days"] == NEW_PACT["schedule_days"]
    assert body["pact"]["end_date"] is None
    assert body["pact"]["partner_username"] == "samsmith"
    assert pact.created_by_user == initiator


@pytest.mark.parametrize(
    "change, field",
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 256}, "title"),
        ({"stake_amount": 0}, "stake_amount"),
        ({"stake_amount": 10_001}, "stake_amount"),
        ({"stake_amount": 10**30}, "stake_amount"),
        ({"stake_amount": "lots"}, "stake_amount"),
        ({"currency": "ABC"}, "currency"),
        ({"currency": "gbp"}, "currency"),
        ({"schedule_days": [False] * 7}, "schedule_days"),
        ({"schedule_days": [True] * 6}, "schedule_days"),
        ({"schedule_days": ["yes"] * 7}, "schedule_days"),
        ({"schedule_days": "weekdays"}, "schedule_days"),
        ({"deadline_time": "25:00"}, "deadline_time"),
        ({"deadline_time": "21:00:30"}, "deadline_time"),
        ({"deadline_time": "9:00"}, "deadline_time"),
        ({"deadline_time": 2100}, "deadline_time"),
        ({"start_date": "2025-02-30"}, "start_date"),
        ({"start_date": "2025-01-19"}, "start_date"),
        ({"end_date": "2025-01-20"}, "end_date"),
        ({"dispute_window_hours": 0}, "dispute_window_hours"),
        ({"dispute_window_hours": 73}, "dispute_window_hours"),
        ({"partner_username": "1samsmith"}, "partner_username"),
        ({"partner_username": "sam"}, "partner_username"),
        ({"partner_username": "sam smith"}, "partner_username"),
        ({"description": "x" * 2001}, "description"),
        ({"title": "nul\x00byte"}, "title"),
    ],
)
def test_create_refuses_bad_terms_field_by_field(clock, initiator, change, field):
    response = client_for(initiator).post(f"{API}/pacts", {**NEW_PACT, **change})
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert field in error["details"], error
    assert not Pact.objects.exists()


def test_create_refuses_a_body_that_is_not_an_object(clock, initiator):
    response = client_for(initiator).post(f"{API}/pacts", [1, 2], format="json")
    assert_error(response, 422, "VALIDATION_ERROR")


# --- list --------------------------------------------------------------------------------


def test_list_shows_my_pacts_with_partner_balance_and_today(clock, initiator, partner, stranger):
    active = make_active_pact(initiator, partner)
    pending = pact_create(initiator=initiator, terms=make_terms(title="Read"))
    PactDay.objects.get(pact=active, date="2025-01-20")

    body = client_for(initiator).get(f"{API}/pacts").json()
    by_id = {p["id"]: p for p in body["pacts"]}
    assert set(by_id) == {str(active.pk), str(pending.pk)}
    item = by_id[str(active.pk)]
    assert item["my_role"] == "INITIATOR"
    assert item["partner"] == {"id": str(partner.pk), "display_name": "Sam"}
    assert item["balance"] == 0
    assert item["stake_amount"] == 500 and item["currency"] == "GBP"
    assert item["today"] == {
        "date": "2025-01-20",
        "status": "PENDING",
        "deadline": "2025-01-20T21:00:00Z",
    }
    assert by_id[str(pending.pk)]["partner"] is None
    assert by_id[str(pending.pk)]["today"] is None

    seen_by_partner = client_for(partner).get(f"{API}/pacts").json()["pacts"]
    assert [(p["id"], p["my_role"]) for p in seen_by_partner] == [(str(active.pk), "PARTNER")]
    assert seen_by_partner[0]["partner"]["id"] == str(initiator.pk)
    assert client_for(stranger).get(f"{API}/pacts").json() == {"pacts": []}


def test_list_filters_by_status_and_role(clock, initiator, partner):
    active = make_active_pact(initiator, partner)
    pending = pact_create(initiator=initiator, terms=make_terms(title="Read"))
    theirs = make_active_pact(partner, initiator, title="Run")
    client = client_for(initiator)

    def ids(query):
        return {p["id"] for p in client.get(f"{API}/pacts{query}").json()["pacts"]}

    assert ids("?status=ACTIVE") == {str(active.pk), str(theirs.pk)}
    assert ids("?status=PENDING_ACCEPT") == {str(pending.pk)}
    assert ids("?role=PARTNER") == {str(theirs.pk)}
    assert ids("?role=INITIATOR&status=ACTIVE") == {str(active.pk)}
    assert ids("?status=ENDED") == set()
    assert_error(client.get(f"{API}/pacts?status=BOGUS"), 422, "VALIDATION_ERROR")
    assert_error(client.get(f"{API}/pacts?role=boss"), 422, "VALIDATION_ERROR")


def test_list_balance_follows_the_ledger(clock, pact, initiator):
    clock.shift(timedelta(hours=13))  # past Monday's 21:00 deadline
    from pacts.sweeps import process_deadlines

    process_deadlines()
    body = client_for(initiator).get(f"{API}/pacts").json()
    assert body["pacts"][0]["balance"] == 500


# --- detail --------------------------------------------------------------------------


def test_detail_has_terms_participants_balance_stats_and_today(pact, initiator, partner):
    body = client_for(initiator).get(f"{API}/pacts/{pact.pk}").json()
    assert body["pact"]["id"] == str(pact.pk)
    assert body["pact"]["status"] == "ACTIVE"
    assert body["pact"]["dispute_window_hours"] == 12
    assert body["pact"]["created_at"] == "2025-01-20T09:00:00Z"
    roles = {p["role"]: (p["user"]["id"], p["status"]) for p in body["participants"]}
    assert roles == {
        "INITIATOR": (str(initiator.pk), "ACCEPTED"),
        "PARTNER": (str(partner.pk), "ACCEPTED"),
    }
    assert body["balance"] == 0
    assert body["stats"]["current_streak"] == 0
    assert body["today"]["date"] == "2025-01-20"
    assert body["today"]["deadline"] == "2025-01-20T21:00:00Z"
    assert body["today"]["can_check_in"] is True
    assert body["today"]["can_dispute"] is False
    assert body["invite_link"] is None

    seen_by_partner = client_for(partner).get(f"{API}/pacts/{pact.pk}").json()
    assert seen_by_partner["today"]["can_check_in"] is False


def test_detail_of_a_pending_pact_gives_its_initiator_the_invite_link(clock, initiator):
    pact = pact_create(initiator=initiator, terms=make_terms())
    body = client_for(initiator).get(f"{API}/pacts/{pact.pk}").json()
    assert body["invite_link"].endswith(f"startapp=invite_{pact.invite_code}")
    assert body["today"] is None


def test_detail_of_a_strangers_pact_is_forbidden_and_reveals_nothing(pact, stranger):
    response = client_for(stranger).get(f"{API}/pacts/{pact.pk}")
    error = assert_error(response, 403, "FORBIDDEN_NOT_PARTICIPANT")
    assert pact.title not in response.content.decode()
    assert error["details"] == {}


@pytest.mark.parametrize(
    "pact_id", ["00000000-0000-0000-0000-000000000000", "not-a-uuid", "1", "%00", "x" * 500]
)
def test_detail_of_an_unknown_pact_is_pact_not_found(initiator, pact_id):
    assert_error(client_for(initiator).get(f"{API}/pacts/{pact_id}"), 404, "PACT_NOT_FOUND")


# --- accept / decline / end ----------------------------------------------------------


def code_of(pact) -> dict:
    """The body accept/decline need since rule 15: the invite code, not just the id."""
    return {"invite_code": pact.invite_code}


def test_partner_accepts_and_the_pact_is_active(clock, initiator, partner):
    pact = pact_create(initiator=initiator, terms=make_terms())
    response = client_for(partner).post(f"{API}/pacts/{pact.pk}/accept", code_of(pact))
    assert response.status_code == 200
    body = response.json()
    assert body["pact"]["status"] == "ACTIVE"
    assert {p["role"] for p in body["participants"]} == {"INITIATOR", "PARTNER"}
    assert body["today"]["date"] == "2025-01-20"


def test_initiator_cannot_accept_their_own_pact(clock, initiator):
    pact = pact_create(initiator=initiator, terms=make_terms())
    response = client_for(initiator).post(f"{API}/pacts/{pact.pk}/accept", code_of(pact))
    assert_error(response, 403, "FORBIDDEN_WRONG_ROLE")


def test_accepting_twice_is_pact_not_active(pact, partner):
    response = client_for(partner).post(f"{API}/pacts/{pact.pk}/accept", code_of(pact))
    assert_error(response, 409, "PACT_NOT_ACTIVE")


def test_a_stranger_cannot_accept_or_decline_an_active_pact(pact, stranger):
    # Rule 15: without the code a pact id is an unknown invite (404, not 403), and with
    # it the answered invite is refused; either way not a byte of the pact.
    client = client_for(stranger)
    for action in ("accept", "decline"):
        response = client.post(f"{API}/pacts/{pact.pk}/{action}")
        assert_error(response, 404, "PACT_NOT_FOUND")
        assert pact.title not in response.content.decode()
        response = client.post(f"{API}/pacts/{pact.pk}/{action}", code_of(pact))
        assert_error(response, 409, "PACT_NOT_ACTIVE")
        assert pact.title not in response.content.decode()


def test_an_expired_invite_cannot_be_accepted(clock, initiator, partner):
    pact = pact_create(initiator=initiator, terms=make_terms())
    clock.shift(timedelta(days=8))
    response = client_for(partner).post(f"{API}/pacts/{pact.pk}/accept", code_of(pact))
    assert_error(response, 409, "PACT_NOT_ACTIVE")


def test_partner_declines(clock, initiator, partner):
    pact = pact_create(initiator=initiator, terms=make_terms())
    response = client_for(partner).post(f"{API}/pacts/{pact.pk}/decline", code_of(pact))
    assert response.status_code == 200
    assert response.json()["pact"]["status"] == "DECLINED"
    # Rule 15: the code now reaches the pact, which refuses: it is already answered.
    again = client_for(partner).post(f"{API}/pacts/{pact.pk}/accept", code_of(pact))
    assert_error(again, 409, "PACT_NOT_ACTIVE")


@pytest.mark.parametrize("who", ["initiator", "partner"])
def test_either_participant_ends_an_active_pact(pact, who, request):
    user = request.getfixturevalue(who)
    response = client_for(user).post(f"{API}/pacts/{pact.pk}/end", {"reason": "Done: 30 days!"})
    assert response.status_code == 200
    assert response.json()["pact"]["status"] == "ENDED"
    assert response.json()["pact"]["end_reason"] == "Done: 30 days!"
    again = client_for(user).post(f"{API}/pacts/{pact.pk}/end", {})
    assert_error(again, 409, "PACT_NOT_ACTIVE")


def test_ending_a_pending_pact_is_pact_not_active(clock, initiator):
    pact = pact_create(initiator=initiator, terms=make_terms())
    assert_error(client_for(initiator).post(f"{API}/pacts/{pact.pk}/end"), 409, "PACT_NOT_ACTIVE")


# --- invites ---------------------------------------------------------------------------


def test_invite_preview_shows_terms_inviter_and_status(clock, initiator, stranger):
    pact = pact_create(initiator=initiator, terms=make_terms())
    body = client_for(stranger).get(f"{API}/invites/{pact.invite_code}").json()
    assert body["status"] == "PENDING_ACCEPT"
    assert body["initiator"] == {"display_name": "Alex", "username": "alex_tg"}
    assert body["pact"]["title"] == "Gym 🏋️"
    assert body["pact"]["stake_amount"] == 500
    assert body["pact"]["deadline_time"] == "21:00"
    assert body["pact"]["schedule_days"] == [True] * 7


def test_invite_preview_says_already_accepted_or_expired(clock, initiator, partner, stranger):
    accepted = make_active_pact(initiator, partner)
    waiting = pact_create(initiator=initiator, terms=make_terms(title="Later"))
    client = client_for(stranger)
    assert client.get(f"{API}/invites/{accepted.invite_code}").json()["status"] == (
        "ALREADY_ACCEPTED"
    )
    clock.shift(timedelta(days=7, seconds=1))
    client = client_for(stranger)
    assert client.get(f"{API}/invites/{waiting.invite_code}").json()["status"] == "EXPIRED"


@pytest.mark.parametrize("code", ["nope", "a" * 64, "%00", "bad%20code", "x" * 300])
def test_unknown_invite_code_is_not_found(stranger, code):
    assert_error(client_for(stranger).get(f"{API}/invites/{code}"), 404, "PACT_NOT_FOUND")
    assert_error(client_for(stranger).post(f"{API}/invites/{code}/accept"), 404, "PACT_NOT_FOUND")


def test_accepting_by_invite_code_makes_the_pact_active(clock, initiator):
    pact = pact_create(initiator=initiator, terms=make_terms())
    newcomer = make_user("Kim")
    response = client_for(newcomer).post(f"{API}/invites/{pact.invite_code}/accept")
    assert response.status_code == 200
    assert response.json()["pact"]["status"] == "ACTIVE"
    pact.refresh_from_db()
    assert pact.partner == newcomer
    again = client_for(make_user("Lee")).post(f"{API}/invites/{pact.invite_code}/accept")
    assert_error(again, 409, "PACT_NOT_ACTIVE")
