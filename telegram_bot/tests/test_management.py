"""manage.py set_webhook, run_polling and deliver_outbox against the fake Bot API."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from outbox.models import OutboxMessage

from .conftest import WEBHOOK_SECRET, message_update


def test_set_webhook_registers_the_url_with_the_secret(fake_api, settings, db):
    call_command("set_webhook")
    [call] = fake_api.calls_to("setWebhook")
    assert call.params["url"] == "https://app.example.com/webhook/tg"
    assert call.params["secret_token"] == WEBHOOK_SECRET
    assert call.params["allowed_updates"] == [
        "message",
        "callback_query",
        "inline_query",
        "my_chat_member",
    ]


def test_set_webhook_refuses_to_register_without_a_secret(fake_api, settings, db):
    settings.TELEGRAM_WEBHOOK_SECRET = ""
    with pytest.raises(CommandError, match="TELEGRAM_WEBHOOK_SECRET"):
        call_command("set_webhook")
    assert fake_api.calls_to("setWebhook") == []


def test_set_webhook_can_remove_it(fake_api, db):
    call_command("set_webhook", "--delete")
    assert len(fake_api.calls_to("deleteWebhook")) == 1


def test_polling_handles_each_update_once_and_confirms_them(fake_api, initiator):
    update = message_update(initiator, "/help")
    fake_api.updates = [update, dict(update)]  # Telegram handing one out twice
    call_command("run_polling", "--once")
    assert len(fake_api.calls_to("deleteWebhook")) == 1
    assert len(fake_api.calls_to("sendMessage")) == 1
    offsets = [call.params.get("offset") for call in fake_api.calls_to("getUpdates")]
    assert offsets[-1] == str(update["update_id"] + 1)


def test_deliver_outbox_command_sends_what_is_due(fake_api, pact, capsys):
    call_command("deliver_outbox")
    assert "'sent': 1" in capsys.readouterr().out
    assert OutboxMessage.objects.get().status == "SENT"
