"""The bot's profile in each language: its command menu, description and short
description (setMyCommands / setMyDescription / setMyShortDescription, rule 18).

Telegram shows a user the version for their app's language (`language_code`, a two-letter
ISO 639-1 code, so Brazilian Portuguese is published as "pt") and the one without a
language_code to everyone else: English.
"""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext
from telegram import BotCommand

from .client import BotSession


def telegram_code(language: str) -> str | None:
    """Our language → Telegram's language_code; None for English (the default)."""
    return None if language == settings.LANGUAGE_CODE else language.split("-", 1)[0]


def profile() -> dict:
    """The menu and descriptions in the active language."""
    return {
        "commands": [
            BotCommand("start", gettext("Open HabitPact and see your pacts")),
            BotCommand("help", gettext("How pacts, check-ins and the tab work")),
        ],
        # Shown in an empty chat before /start (up to 512 characters).
        "description": gettext(
            "Make a playful habit pact with a friend: pick a habit, a schedule and a "
            "stake. Check in before the deadline, or the Tab Goblin 👺 adds the stake to "
            "your tab. No money moves here: HabitPact just keeps the tab."
        ),
        # On the bot's profile and in shared links (up to 120 characters).
        "short_description": gettext("Habit pacts with a friend and a little money on the line 👺"),
    }


def publish_profile(session: BotSession) -> list[str]:
    """Publish the profile in every language; returns the language codes sent."""
    sent = []
    for language, _name in settings.LANGUAGES:
        code = telegram_code(language)
        with translation.override(language):
            texts = profile()
        session.call("set_my_commands", commands=texts["commands"], language_code=code)
        session.call("set_my_description", description=texts["description"], language_code=code)
        session.call(
            "set_my_short_description",
            short_description=texts["short_description"],
            language_code=code,
        )
        sent.append(code or "default")
    return sent
