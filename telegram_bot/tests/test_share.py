"""Invite from any chat (issue 14): the prepared invite card for `WebApp.shareMessage`,
and inline mode (`@HabitPactBot` in any chat), over real HTTP to the Bot API stand-in
with python-telegram-bot as the client."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from telegram import Bot, PreparedInlineMessage
from telegram.error import BadRequest

from conftest import make_active_pact, make_terms, make_user
from habitpact.tests.api import API, assert_error, client_for
from pacts.actions import pact_cancel, pact_create
from telegram_bot.share import invite_card

from .conftest import WEBHOOK_SECRET
from .conftest import tg_user as bot_user
from .fake_bot_api import Fault

pytestmark = pytest.mark.usefixtures("fake_api")


@pytest.fixture
def invite(clock, initiator):
    return pact_create(initiator=initiator, terms=make_terms(title="Read 📚", stake_amount=300))


def prepare(user, pact):
    return client_for(user).post(f"{API}/pacts/{pact.pk}/invite/prepared")


def test_the_server_prepares_the_invite_card_and_returns_its_id(fake_api, invite, initiator):
    response = prepare(initiator, invite)
    assert response.status_code == 200, response.content
    body = response.json()
    [call] = fake_api.calls_to("savePreparedInlineMessage")
    assert body["prepared_message_id"] in fake_api.prepared
    assert body["invite_link"] == f"https://t.me/HabitPactBot?startapp=invite_{invite.invite_code}"
    assert body["expires_at"]
    assert call.params["user_id"] == str(initiator.telegram_user_id)
    assert (call.params["allow_user_chats"], call.params["allow_group_chats"]) == ("true", "true")
    card = fake_api.prepared[body["prepared_message_id"]]
    text = card["input_message_content"]["message_text"]
    assert card["type"] == "article"
    facts = ("<b>Alex</b>", "Read 📚", "£3 on the tab", "Every day", "9:00 PM", "Europe/London")
    for fact in facts:
        assert fact in text, (fact, text)
    assert card["reply_markup"] == {
        "inline_keyboard": [[{"text": "Open the pact", "url": body["invite_link"]}]]
    }


def test_only_the_initiator_shares_an_open_invite(fake_api, clock, invite, initiator, stranger):
    assert_error(prepare(stranger, invite), 403, "FORBIDDEN_NOT_PARTICIPANT")
    active = make_active_pact(initiator, make_user("Kim"))
    assert_error(prepare(initiator, active), 409, "PACT_NOT_ACTIVE")
    pact_cancel(invite, initiator)
    assert_error(prepare(initiator, invite), 409, "PACT_NOT_ACTIVE")
    assert fake_api.calls_to("savePreparedInlineMessage") == []


def test_an_expired_invite_is_not_shared(fake_api, clock, invite, initiator):
    clock.move_to(invite.invite_expires_at + timedelta(seconds=1))
    assert_error(prepare(initiator, invite), 409, "PACT_NOT_ACTIVE")


def test_when_telegram_fails_the_page_gets_the_plain_link(fake_api, invite, initiator):
    fake_api.fail_next("savePreparedInlineMessage", Fault.server_error())
    error = assert_error(prepare(initiator, invite), 503, "TELEGRAM_UNAVAILABLE")
    assert error["details"]["invite_link"].endswith(f"startapp=invite_{invite.invite_code}")


def test_without_a_bot_token_the_page_gets_the_plain_link(settings, invite, initiator):
    settings.TELEGRAM_BOT_TOKEN = ""
    assert_error(prepare(initiator, invite), 503, "TELEGRAM_UNAVAILABLE")


# --- the stand-in answers as Telegram does (python-telegram-bot as the client) --------


async def _with_bot(fake_api, action):
    async with Bot(fake_api.token, base_url=f"{fake_api.url}/bot") as bot:
        return await action(bot)


def run_bot(fake_api, action):
    import asyncio

    return asyncio.run(_with_bot(fake_api, action))


def test_ptb_reads_the_stand_ins_prepared_message(fake_api, invite):
    async def save(bot):
        return await bot.save_prepared_inline_message(
            user_id=42, result=invite_card(invite), allow_user_chats=True
        )

    prepared = run_bot(fake_api, save)
    assert isinstance(prepared, PreparedInlineMessage)
    assert prepared.id in fake_api.prepared
    assert prepared.expiration_date > timezone.now()


def test_the_stand_in_refuses_what_telegram_refuses(fake_api, invite):
    card = invite_card(invite)

    async def nowhere(bot):
        return await bot.save_prepared_inline_message(user_id=42, result=card)

    async def too_many(bot):
        return await bot.answer_inline_query("q1", [card] * 2)

    with pytest.raises(BadRequest, match="(?i)peer_types_invalid"):
        run_bot(fake_api, nowhere)
    with pytest.raises(BadRequest, match="(?i)result_id_duplicate"):
        run_bot(fake_api, too_many)


# --- inline mode --------------------------------------------------------------------

_ids = itertools.count(800_000)


def inline_query(user, text: str = "") -> dict:
    return {
        "update_id": next(_ids),
        "inline_query": {
            "id": f"iq{next(_ids)}",
            "from": bot_user(user),
            "query": text,
            "offset": "",
            "chat_type": "group",
        },
    }


def ask(client, fake_api, user, text: str = "") -> dict:
    response = client.post(
        "/webhook/tg",
        data=json.dumps(inline_query(user, text)),
        content_type="application/json",
        HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=WEBHOOK_SECRET,
    )
    assert response.status_code == 200
    [call] = fake_api.calls_to("answerInlineQuery")
    fake_api.calls.clear()
    return call.params


def test_typing_the_bots_name_lists_open_invites_then_active_pacts(
    client, fake_api, clock, invite, initiator, partner
):
    active = make_active_pact(initiator, partner, title="Run 🏃")
    answer = ask(client, fake_api, initiator)
    assert (answer["cache_time"], answer["is_personal"]) == ("10", "true")
    results = answer["results"]
    assert [r["id"] for r in results] == [f"invite_{invite.pk.hex}", f"pact_{active.pk.hex}"]
    invite_text = results[0]["input_message_content"]["message_text"]
    assert "Read 📚" in invite_text and "<b>Alex</b>" in invite_text
    assert results[0]["reply_markup"]["inline_keyboard"][0][0]["url"].endswith(
        f"startapp=invite_{invite.invite_code}"
    )
    status = results[1]["input_message_content"]["message_text"]
    assert "Run 🏃" in status and "Alex × Sam" in status
    assert results[1]["reply_markup"]["inline_keyboard"][0][0]["url"].endswith(
        f"startapp=pact_{active.pk}"
    )
    assert answer["button"]["text"] == "Open HabitPact"
    # The partner sees the active pact only (the invite is Alex's to send).
    assert [r["id"] for r in ask(client, fake_api, partner)["results"]] == [f"pact_{active.pk.hex}"]
    # A typed query narrows by title.
    assert [r["id"] for r in ask(client, fake_api, initiator, "run")["results"]] == [
        f"pact_{active.pk.hex}"
    ]


def test_a_stranger_gets_no_cards_only_the_way_in(client, fake_api, clock, invite, stranger):
    answer = ask(client, fake_api, stranger)
    assert answer["results"] == []
    assert answer["button"] == {
        "text": "Start a pact",
        "web_app": {"url": "https://app.example.com/pacts/new"},
    }
