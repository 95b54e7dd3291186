"""The weekly summary always fits in one Telegram message (issue 11): 12 pacts with
255-character titles made 4480 characters, which Telegram refuses, so it was marked
FAILED and never arrived."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from conftest import make_active_pact
from outbox.models import OutboxMessage
from pacts.sweeps import send_weekly_summaries
from telegram_bot.messages import MAX_TEXT_LENGTH, render

from .test_delivery import drain

pytestmark = pytest.mark.usefixtures("fake_api")

SUNDAY_18 = datetime(2025, 1, 26, 18, 0, tzinfo=UTC)


def long_title(i: int) -> str:
    return f"{i:02d} " + "Run a little further than yesterday & stretch " * 6


def test_twelve_pacts_with_255_character_titles_are_summarised_and_sent(
    clock, fake_api, initiator, partner
):
    for i in range(12):
        make_active_pact(initiator, partner, title=long_title(i)[:255])
    clock.move_to(SUNDAY_18)
    assert send_weekly_summaries() == 2

    drain()

    summaries = OutboxMessage.objects.filter(kind="weekly_summary")
    assert {m.status for m in summaries} == {OutboxMessage.Status.SENT}
    texts = [call.params["text"] for call in fake_api.calls_to("sendMessage")]
    assert all(len(text) <= MAX_TEXT_LENGTH for text in texts)
    [alex] = [t for t in texts if t.startswith("📊") and "with Sam" in t]
    assert alex.count("with Sam") == 12  # every pact, titles shortened
    assert "00 Run a little" in alex and "11 Run a little" in alex
    assert "&amp;" in alex  # still escaped after shortening


def test_more_pacts_than_fit_name_how_many_are_left_for_the_app(clock, initiator, partner):
    for i in range(60):
        make_active_pact(initiator, partner, title=long_title(i)[:255])
    clock.move_to(SUNDAY_18)
    send_weekly_summaries()
    message = OutboxMessage.objects.get(kind="weekly_summary", user=initiator)

    text = render(message).text

    assert len(text) <= MAX_TEXT_LENGTH
    shown = text.count("with Sam")
    assert 10 < shown < 60
    assert f"…and {60 - shown} more pacts in the app" in text


def test_a_short_summary_is_unchanged(clock, initiator, partner):
    make_active_pact(initiator, partner, title="Gym")
    clock.move_to(SUNDAY_18)
    send_weekly_summaries()
    text = render(OutboxMessage.objects.get(kind="weekly_summary", user=initiator)).text
    assert "<b>Gym</b> with Sam" in text
    assert "more pact" not in text
