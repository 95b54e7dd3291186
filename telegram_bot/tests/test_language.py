"""Rule 18 at the bot: messages rendered in each recipient's language, the bot's replies
in the sender's, and its menu published per language."""

from __future__ import annotations

from django.core.management import call_command
from django.utils import translation

from outbox.models import OutboxMessage


def test_bot_messages_are_rendered_in_each_recipients_language(fake_api, pact):
    # The pact fixture queued "Sam accepted your pact" for Alex.
    initiator = pact.initiator
    initiator.language = "ru"
    initiator.save()
    call_command("deliver_outbox")
    [sent] = [
        c for c in fake_api.calls_to("sendMessage") if c.chat_id == initiator.telegram_user_id
    ]
    assert "5\xa0£" in sent.params["text"], sent.params["text"]
    assert OutboxMessage.objects.filter(user=initiator, status="SENT").exists()
    assert translation.get_language() == "en"


def test_set_webhook_publishes_the_menu_and_descriptions_per_language(fake_api, db):
    out = call_command("set_webhook")
    assert out is None
    for method in ("setMyCommands", "setMyDescription", "setMyShortDescription"):
        codes = [call.params.get("language_code") for call in fake_api.calls_to(method)]
        assert codes == [None, "ru", "es", "pt"], (method, codes)
    commands = {
        call.params.get("language_code"): call.params["commands"]
        for call in fake_api.calls_to("setMyCommands")
    }
    assert [c["command"] for c in commands[None]] == ["start", "help"]
    assert commands[None][0]["description"] == "Open HabitPact and see your pacts"
    assert commands["ru"][0]["description"] == "Открыть HabitPact и твои пакты"
    [ru] = [
        c for c in fake_api.calls_to("setMyDescription") if c.params.get("language_code") == "ru"
    ]
    assert "Гоблин" in ru.params["description"]


def test_a_command_is_answered_in_the_senders_telegram_language(fake_api, initiator):
    from telegram_bot.handlers import process_update

    from .conftest import message_update

    initiator.language_code = "ru"
    initiator.save()
    process_update(message_update(initiator, "/help"))
    [reply] = fake_api.calls_to("sendMessage")
    assert reply.params["text"].startswith("<b>Как работает HabitPact</b>")
    button = reply.params["reply_markup"]["inline_keyboard"][0][0]
    assert button["text"] == "Открыть HabitPact →"
    assert translation.get_language() == "en"


def test_the_users_choice_beats_telegrams_language_in_the_bot(fake_api, initiator):
    from telegram_bot.handlers import process_update

    from .conftest import message_update

    initiator.language_code, initiator.language = "ru", "es"
    initiator.save()
    process_update(message_update(initiator, "/start"))
    [reply] = fake_api.calls_to("sendMessage")
    assert reply.params["text"].startswith("👋 ¡Bienvenido a <b>HabitPact</b>, Alex!")
