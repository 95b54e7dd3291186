"""POST /webhook/tg: the secret token, replays, bad bodies; and the commands it serves."""

from __future__ import annotations

import json

import pytest

from conftest import make_active_pact, make_terms
from pacts.actions import pact_cancel, pact_create, pact_decline
from telegram_bot.models import ProcessedUpdate

from .conftest import WEBHOOK_SECRET, message_update

URL = "/webhook/tg"


def post(client, update, secret=WEBHOOK_SECRET):
    headers = {"HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": secret} if secret is not None else {}
    return client.post(URL, data=json.dumps(update), content_type="application/json", **headers)


def sent(fake_api):
    return fake_api.calls_to("sendMessage")


def keyboard(call) -> list[dict]:
    return [b for row in call.params["reply_markup"]["inline_keyboard"] for b in row]


@pytest.mark.parametrize("secret", [None, "", "wrong", WEBHOOK_SECRET + "x"])
def test_a_wrong_or_missing_secret_is_refused_and_nothing_runs(client, fake_api, initiator, secret):
    response = post(client, message_update(initiator, "/start"), secret=secret)
    assert response.status_code == 403
    assert sent(fake_api) == []
    assert not ProcessedUpdate.objects.exists()


def test_an_unset_secret_refuses_everything(client, settings, fake_api, initiator):
    settings.TELEGRAM_WEBHOOK_SECRET = ""
    assert post(client, message_update(initiator, "/start"), secret="").status_code == 403


def test_only_post_with_an_update_is_accepted(client, fake_api):
    assert client.get(URL).status_code == 405
    response = client.post(
        URL,
        data="not json",
        content_type="application/json",
        HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=WEBHOOK_SECRET,
    )
    assert response.status_code == 400


def test_a_replayed_update_is_handled_once(client, fake_api, initiator):
    update = message_update(initiator, "/help")
    first, second = post(client, update), post(client, update)
    assert (first.status_code, second.status_code) == (200, 200)
    assert (first.json()["duplicate"], second.json()["duplicate"]) == (False, True)
    assert len(sent(fake_api)) == 1


def test_start_welcomes_with_a_web_app_button_and_registers_the_user(client, fake_api, db):
    from pacts.models import User

    update = message_update(User(telegram_user_id=4242, display_name="Newbie"), "/start")
    assert post(client, update).status_code == 200
    [call] = sent(fake_api)
    assert call.chat_id == 4242
    assert call.params["text"].startswith("👋 Welcome to <b>HabitPact</b>, Newbie!")
    assert keyboard(call) == [
        {"text": "Open HabitPact 🚀", "web_app": {"url": "https://app.example.com/"}}
    ]
    assert User.objects.get(telegram_user_id=4242).display_name == "Newbie"


def test_start_in_a_group_uses_a_startapp_link_instead(client, fake_api, initiator):
    post(client, message_update(initiator, "/start@HabitPactBot", chat_type="supergroup"))
    [call] = sent(fake_api)
    assert call.chat_id == -100123
    assert keyboard(call) == [
        {"text": "Open HabitPact 🚀", "url": "https://t.me/HabitPactBot?startapp=home"}
    ]


def test_start_with_an_invite_opens_the_invite_screen(client, fake_api, clock, initiator, partner):
    pact = pact_create(initiator=initiator, terms=make_terms())
    post(client, message_update(partner, f"/start invite_{pact.invite_code}"))
    [call] = sent(fake_api)
    assert call.params["text"] == (
        "📨 <b>Alex</b> invited you to a habit pact: <b>Gym 🏋️</b>\n"
        "£5 on the tab for every missed day, deadline 9:00 PM (Europe/London), "
        "2 free skips a month.\n\n"
        "Open the invite to see the details and accept or decline."
    )
    assert keyboard(call) == [
        {
            "text": "Open Invite →",
            "web_app": {"url": f"https://app.example.com/invite/{pact.invite_code}"},
        }
    ]


def test_start_with_an_unknown_or_answered_invite_says_so(
    client, fake_api, clock, initiator, partner
):
    post(client, message_update(partner, "/start invite_doesnotexist"))
    pact = pact_create(initiator=initiator, terms=make_terms())
    pact_decline(pact, partner)
    post(client, message_update(partner, f"/start invite_{pact.invite_code}"))
    texts = [call.params["text"] for call in sent(fake_api)]
    assert texts == [
        "🤔 That invite link doesn't work. Ask your friend to send it again.",
        "⌛ That invite has expired or was declined. Ask your friend for a new one.",
    ]


def test_start_with_a_withdrawn_or_accepted_invite_shows_a_stranger_only_its_status(
    client, fake_api, clock, initiator, partner, stranger
):
    # Rule 15: once answered, the code tells a stranger its status and nothing else.
    withdrawn = pact_create(initiator=initiator, terms=make_terms(title="Secret plan"))
    pact_cancel(withdrawn, initiator)
    accepted = make_active_pact(initiator, partner, title="Other secret")
    post(client, message_update(stranger, f"/start invite_{withdrawn.invite_code}"))
    post(client, message_update(stranger, f"/start invite_{accepted.invite_code}"))
    texts = [call.params["text"] for call in sent(fake_api)]
    assert texts == [
        "🗑️ That invite was withdrawn by the person who sent it.",
        "✅ That invite has already been accepted.",
    ]
    assert all("Alex" not in text and "secret" not in text for text in texts)


def test_help_explains_and_offers_the_app(client, fake_api, initiator):
    post(client, message_update(initiator, "/help"))
    [call] = sent(fake_api)
    assert call.params["text"].startswith("<b>How HabitPact works</b>")
    assert keyboard(call)[0]["web_app"] == {"url": "https://app.example.com/"}


def test_other_text_in_private_points_to_the_commands(client, fake_api, initiator):
    post(client, message_update(initiator, "hello bot"))
    [call] = sent(fake_api)
    assert "/start and /help" in call.params["text"]


def test_a_handler_failure_is_logged_and_the_user_told(
    client, fake_api, initiator, monkeypatch, caplog
):
    from telegram_bot import handlers

    def explode(*args, **kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(handlers, "upsert_telegram_user", explode)
    response = post(client, message_update(initiator, "/start"))
    assert response.status_code == 200  # Telegram must not resend it
    [call] = sent(fake_api)
    assert call.params["text"] == "😅 Something went wrong. Please try again."
    [record] = [r for r in caplog.records if r.msg == "bot_handler_error"]
    assert record.telegram_user_id == initiator.telegram_user_id
    assert record.exc_info[0] is RuntimeError


@pytest.mark.parametrize(
    "body",
    [
        '{"update_id": 9223372036854775808, "message": {}}',  # 2**63
        '{"update_id": "123456789012345678901234567890"}',
        '{"update_id": Infinity}',
        '{"update_id": NaN}',
        '{"update_id": 1.0}',
        '{"update_id": true}',
        '{"update_id": -1}',
        '[{"update_id": 1}]',
        '{"update_id": 5, "message": ' + "[" * 100_000 + "]" * 100_000 + "}",
        "[" * 100_000 + "]" * 100_000,
    ],
    ids=[
        "2**63",
        "30 digits",
        "Infinity",
        "NaN",
        "float",
        "bool",
        "negative",
        "list",
        "deep",
        "deep-list",
    ],
)
def test_a_hostile_update_is_refused_with_400_not_a_500(client, db, fake_api, body):
    response = client.post(
        URL,
        data=body,
        content_type="application/json",
        HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=WEBHOOK_SECRET,
    )
    assert response.status_code == 400
    assert not ProcessedUpdate.objects.exists()
    assert sent(fake_api) == []
