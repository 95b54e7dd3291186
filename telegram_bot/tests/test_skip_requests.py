"""Rule 9 in the bot: the partner's "asks to skip" message with [Approve skip] [Decline],
the buttons acting through the domain, and the initiator told the outcome once.
Issue 12 item 6: deadlines in both people's clocks when their zones differ."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from conftest import make_active_pact, make_user
from outbox.models import OutboxMessage
from pacts.actions import day_for
from pacts.models import PactDay, SkipRequest
from pacts.sweeps import process_deadlines
from telegram_bot.handlers import process_update
from telegram_bot.keyboards import CALLBACK_DATA_MAX_BYTES
from telegram_bot.messages import Skip, render

from .conftest import callback_update, outbox_for
from .test_messages import app, buttons, rendered

pytestmark = pytest.mark.django_db

MONDAY = date(2025, 1, 20)
T21 = '<tg-time unix="1737406800">'


@pytest.fixture(autouse=True)
def _webapp(settings):
    settings.WEBAPP_URL = "https://app.example.com"
    settings.TELEGRAM_BOT_USERNAME = "HabitPactBot"


def press(user, data, markup=None):
    process_update(callback_update(user, data, markup=markup, text="🙏 Alex asks to skip Gym."))


def test_the_partner_is_asked_with_the_reason_escaped_and_two_buttons(pact, initiator, partner):
    day_for(pact, MONDAY).request_skip(initiator, reason="Flu <3 & fever")
    result = rendered(partner, "skip_requested")
    assert result.text == (
        "🙏 <b>Alex</b> asks to skip <b>Gym 🏋️</b> today: Flu &lt;3 &amp; fever\n"
        f"Answer before <b>{T21}9:00 PM</tg-time></b> — after that the day is decided as usual."
    )
    assert buttons(result) == [
        ("Approve skip 👍", f"cb:skip_ok:{pact.pk}:2025-01-20"),
        ("Decline 🙅", f"cb:skip_no:{pact.pk}:2025-01-20"),
        ("Open Pact →", app(f"/pacts/{pact.pk}")),
    ]
    for row in result.reply_markup.inline_keyboard:
        for button in row:
            if button.callback_data:
                assert len(button.callback_data.encode()) <= CALLBACK_DATA_MAX_BYTES


def test_the_deadline_shows_both_clocks_when_the_zones_differ(clock):
    alex = make_user("Alex", tz="Europe/London")
    sam = make_user("Sam", tz="America/Los_Angeles")
    pact = make_active_pact(alex, sam)
    day_for(pact, MONDAY).request_skip(alex)
    # Sam reads his own clock first, then Alex's (the pact's deadline is 9 PM London).
    assert f"Answer before <b>{T21}1:00 PM</tg-time> · 9:00 PM for Alex</b>" in (
        rendered(sam, "skip_requested").text
    )


def test_an_answered_request_is_not_sent_late(pact, initiator, partner):
    day = day_for(pact, MONDAY)
    day.request_skip(initiator)
    day.decline_skip(partner)
    with pytest.raises(Skip, match="obsolete"):
        rendered(partner, "skip_requested")


def test_approve_skip_button_skips_the_day_and_closes_the_buttons(
    fake_api, pact, initiator, partner
):
    day_for(pact, MONDAY).request_skip(initiator, reason="Flu")
    markup = render(outbox_for(partner, "skip_requested")).reply_markup.to_dict()
    press(partner, f"skip_ok:{pact.pk}:2025-01-20", markup)
    assert day_for(pact, MONDAY).status == PactDay.Status.SKIPPED
    [answer] = fake_api.calls_to("answerCallbackQuery")
    assert answer.params["text"] == "Skip approved 👍 — no check-in needed that day."
    [edit] = fake_api.calls_to("editMessageText")
    assert "skip_ok" not in str(edit.params.get("reply_markup"))
    told = rendered(initiator, "skip_request_answered")
    assert told.text == (
        "👍 <b>Sam</b> approved your skip for <b>Gym 🏋️</b> today.\n"
        "No check-in needed, and nothing goes on the tab. Rest up! 😌"
    )
    # A second tap (an old copy of the message): the same answer, no new message.
    press(partner, f"skip_ok:{pact.pk}:2025-01-20")
    assert OutboxMessage.objects.filter(kind="skip_request_answered").count() == 1


def test_decline_button_keeps_the_day_and_tells_the_initiator_to_check_in(
    fake_api, pact, initiator, partner
):
    day_for(pact, MONDAY).request_skip(initiator)
    press(partner, f"skip_no:{pact.pk}:2025-01-20")
    assert day_for(pact, MONDAY).status == PactDay.Status.PENDING
    told = rendered(initiator, "skip_request_answered")
    assert told.text == (
        "🙅 <b>Sam</b> said no to skipping <b>Gym 🏋️</b> today.\n"
        f"Check in before <b>{T21}9:00 PM</tg-time></b> or <b>£5</b> goes on the tab. 💪"
    )
    assert ("Done ✅", f"cb:checkin:{pact.pk}:2025-01-20") in buttons(told)


def test_the_initiator_cannot_press_the_partners_button(fake_api, pact, initiator):
    day_for(pact, MONDAY).request_skip(initiator)
    press(initiator, f"skip_ok:{pact.pk}:2025-01-20")
    [answer] = fake_api.calls_to("answerCallbackQuery")
    assert answer.params["text"] == "Only the partner can answer a skip request."
    assert SkipRequest.objects.get().status == SkipRequest.Status.OPEN
    assert fake_api.calls_to("editMessageText") == []


def test_a_lapsed_request_tells_the_initiator_and_its_buttons_go(
    fake_api, clock, pact, initiator, partner
):
    day_for(pact, MONDAY).request_skip(initiator)
    clock.move_to(datetime(2025, 1, 20, 21, 0, tzinfo=UTC))
    process_deadlines()
    told = rendered(initiator, "skip_request_answered")
    assert told.text == (
        "⌛ <b>Sam</b> didn't answer your skip request for <b>Gym 🏋️</b> (Jan 20) before the "
        "deadline.\nThe day was decided as usual: missed, and the stake went on the tab."
    )
    press(partner, f"skip_ok:{pact.pk}:2025-01-20")
    [answer] = fake_api.calls_to("answerCallbackQuery")
    assert answer.params["text"] == (
        "That skip request was already lapsed (nobody answered before the deadline)."
    )
    assert len(fake_api.calls_to("editMessageText")) == 1  # the dead buttons go
    assert day_for(pact, MONDAY).status == PactDay.Status.MISSED
