"""Rule 17 end to end, over real HTTP to the Bot API stand-in: a partner who joins from
a link can't be reached, both people see it, and once they allow the bot to write the
messages they missed (the current ones) arrive."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta

import pytest
from django.utils import timezone

from conftest import make_terms
from habitpact.testing import sign_init_data, tg_user
from habitpact.tests.api import API, client_for
from outbox.models import OutboxMessage, notify
from pacts.actions import day_for, pact_create
from pacts.models import User
from pacts.reach import messages_refused

from .conftest import WEBHOOK_SECRET, message_update
from .conftest import tg_user as bot_user
from .test_delivery import drain

pytestmark = pytest.mark.usefixtures("fake_api")
MONDAY = date(2025, 1, 20)


def webhook(client, update):
    response = client.post(
        "/webhook/tg",
        data=json.dumps(update),
        content_type="application/json",
        HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=WEBHOOK_SECRET,
    )
    assert response.status_code == 200, response.content
    return response


def mini_app(init_data: str):
    """An API client authenticating the way the Mini App does (initData on every call)."""
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"tma {init_data}")
    return client


def reach(user: User) -> bool:
    return User.objects.get(pk=user.pk).can_receive_messages


def participant_reach(body: dict) -> dict[str, bool]:
    return {p["role"]: p["can_receive_messages"] for p in body["participants"]}


def test_a_partner_who_joins_from_a_link_is_reached_once_they_allow_it(
    client, clock, fake_api, initiator
):
    webhook(client, message_update(initiator, "/start"))  # Alex started the bot
    assert reach(initiator)
    pact = pact_create(initiator=initiator, terms=make_terms())

    # Sam opens the invite link: the Mini App signs them up from initData; they never
    # pressed Start, so Telegram refuses the bot's messages to them.
    sam = {"id": 424242, "first_name": "Sam", "username": "sam", "language_code": "en"}
    fake_api.never_started(sam["id"])
    app = mini_app(sign_init_data(sam, start_param=f"invite_{pact.invite_code}"))
    me = app.get(f"{API}/users/me").json()["user"]
    assert me["can_receive_messages"] is False
    assert app.post(f"{API}/invites/{pact.invite_code}/accept").status_code == 200
    partner = User.objects.get(telegram_user_id=sam["id"])

    day_for(pact, MONDAY).check_in(initiator)  # "Alex checked in" goes to Sam
    report = drain()
    assert report.undeliverable == 1
    row = OutboxMessage.objects.get(user=partner, kind="checkin_partner")
    assert row.status == "UNDELIVERABLE"
    assert "can't initiate conversation" in row.last_error
    assert not reach(partner)

    # Both see it, in the API's pact detail.
    detail = client_for(initiator).get(f"{API}/pacts/{pact.pk}").json()
    assert participant_reach(detail) == {"INITIATOR": True, "PARTNER": False}

    # Sam taps "Let HabitPact message you": Telegram sends the service message.
    clock.shift(timedelta(minutes=1))
    webhook(client, fake_api.allow_write(sam))
    assert reach(partner)
    row.refresh_from_db()
    assert row.status == "PENDING"
    assert participant_reach(client_for(initiator).get(f"{API}/pacts/{pact.pk}").json()) == {
        "INITIATOR": True,
        "PARTNER": True,
    }
    fake_api.calls.clear()
    assert drain().sent == 1
    [call] = fake_api.calls_to("sendMessage")
    assert call.chat_id == sam["id"]
    assert call.params["text"].startswith("🙌 <b>Alex</b> checked in for <b>Gym 🏋️</b>")


def test_a_reminder_whose_deadline_passed_is_not_sent_late(client, clock, fake_api, pact, partner):
    fake_api.never_started(partner.telegram_user_id)

    notify(partner, "reminder", "r1", day=day_for(pact, MONDAY))
    notify(partner, "pact_ended", "e1", pact_id=str(pact.pk))
    drain()
    assert set(OutboxMessage.objects.filter(user=partner).values_list("kind", "status")) >= {
        ("reminder", "UNDELIVERABLE"),
        ("pact_ended", "UNDELIVERABLE"),
    }
    clock.move_to(day_for(pact, MONDAY).deadline_at + timedelta(minutes=1))
    webhook(client, fake_api.allow_write(bot_user(partner)))
    statuses = dict(OutboxMessage.objects.filter(user=partner).values_list("kind", "status"))
    assert statuses["reminder"] == "UNDELIVERABLE"  # for a deadline already gone
    assert statuses["pact_ended"] == "PENDING"


def test_start_in_private_allows_and_blocking_the_bot_refuses(client, clock, initiator):
    assert not reach(initiator)
    webhook(client, message_update(initiator, "/start", chat_type="group"))
    assert not reach(initiator)  # /start in a group proves nothing about the private chat
    webhook(client, message_update(initiator, "/start"))
    assert reach(initiator)
    clock.shift(timedelta(minutes=1))
    webhook(client, chat_member_update(initiator, "kicked"))
    assert not reach(initiator)
    clock.shift(timedelta(minutes=1))
    webhook(client, chat_member_update(initiator, "member"))
    assert reach(initiator)


_update_ids = itertools.count(700_000)


def chat_member_update(user: User, status: str) -> dict:
    """The user blocked ("kicked") or unblocked ("member") the bot in their private chat."""
    bot = {"id": 1, "is_bot": True, "first_name": "HabitPact", "username": "HabitPactBot"}

    def member(state: str) -> dict:
        return {"user": bot, "status": state, **({"until_date": 0} if state == "kicked" else {})}

    return {
        "update_id": next(_update_ids),
        "my_chat_member": {
            "chat": {"id": user.telegram_user_id, "type": "private", "first_name": "x"},
            "from": bot_user(user),
            "date": int(timezone.now().timestamp()),
            "old_chat_member": member("member" if status == "kicked" else "kicked"),
            "new_chat_member": member(status),
        },
    }


def test_init_data_that_allows_writing_turns_it_on_unless_older_than_a_refusal(clock, partner):
    signed = int(timezone.now().timestamp())
    allows = {**tg_user(partner), "allows_write_to_pm": True}
    clock.shift(timedelta(minutes=5))

    messages_refused(partner, source="delivery")  # a 403 after that initData was signed
    app = mini_app(sign_init_data(allows, auth_date=signed))
    assert app.get(f"{API}/users/me").json()["user"]["can_receive_messages"] is False
    fresh = mini_app(sign_init_data(allows))  # the app opened again: signed now
    assert fresh.get(f"{API}/users/me").json()["user"]["can_receive_messages"] is True
    assert reach(partner)


def test_the_mini_app_says_write_access_was_granted(clock, partner):
    api = client_for(partner)
    assert api.get(f"{API}/users/me").json()["user"]["can_receive_messages"] is False
    response = api.post(f"{API}/users/me/write-access")
    assert response.status_code == 200
    assert response.json()["user"]["can_receive_messages"] is True
    assert reach(partner)


def test_a_403_on_delivery_marks_the_user_unreachable(clock, fake_api, pact, initiator):
    User.objects.filter(pk=initiator.pk).update(can_receive_messages=True)
    fake_api.block_chat(initiator.telegram_user_id)
    drain()
    assert not reach(initiator)
    assert OutboxMessage.objects.get(user=initiator, kind="pact_accepted").status == (
        "UNDELIVERABLE"
    )
