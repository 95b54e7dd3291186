"""Rules 10 and 11 in the bot: the break request and the check-in notice carry buttons
that act in place, through the same domain calls as the API, and close themselves."""

from __future__ import annotations

from datetime import date

import pytest

from outbox.models import OutboxMessage
from pacts.actions import day_for
from pacts.breaks import Break, break_propose
from pacts.models import PactDay
from telegram_bot.handlers import process_update
from telegram_bot.messages import Skip, render

from .conftest import callback_update, outbox_for

MONDAY = date(2025, 1, 20)
TUESDAY = date(2025, 1, 21)
THURSDAY = date(2025, 1, 23)


@pytest.fixture(autouse=True)
def _webapp(settings):
    settings.WEBAPP_URL = "https://app.example.com"
    settings.TELEGRAM_BOT_USERNAME = "HabitPactBot"


def buttons(result) -> list[tuple[str, str]]:
    out = []
    for row in result.reply_markup.inline_keyboard if result.reply_markup else []:
        for b in row:
            out.append((b.text, f"cb:{b.callback_data}" if b.callback_data else "app"))
    return out


def press(user, data, markup, text):
    process_update(callback_update(user, data, markup=markup, text=text))


def answer(fake_api) -> dict:
    [call] = fake_api.calls_to("answerCallbackQuery")
    return call.params


@pytest.fixture
def asked(pact, initiator):
    brk, _ = break_propose(
        pact, initiator, start_date=TUESDAY, end_date=THURSDAY, reason="Ski <trip>"
    )
    return brk


def test_the_partner_is_asked_with_approve_and_decline_buttons(pact, partner, asked):
    result = render(outbox_for(partner, "break_proposed"))
    assert result.text == (
        "🏖️ <b>Alex</b> asks for a break from <b>Gym 🏋️</b>: Jan 21 – Jan 23 (3 days).\n"
        'Reason: "Ski &lt;trip&gt;"\n'
        "No check-ins and nothing on the tab those days — if you agree."
    )
    assert buttons(result) == [
        ("Approve break ✅", f"cb:approve_break:{asked.pk}"),
        ("Decline", f"cb:decline_break:{asked.pk}"),
        ("Open Pact →", "app"),
    ]


def test_approve_break_acts_in_place_and_the_initiator_is_told(
    fake_api, pact, initiator, partner, asked
):
    result = render(outbox_for(partner, "break_proposed"))
    press(partner, f"approve_break:{asked.pk}", result.reply_markup.to_dict(), "🏖️ Break?")
    assert Break.objects.get(pk=asked.pk).status == Break.Status.APPROVED
    assert PactDay.objects.get(pact=pact, date=TUESDAY).status == PactDay.Status.SKIPPED
    assert answer(fake_api)["text"] == "Break approved ✅ — no check-ins Jan 21–Jan 23."
    [edit] = fake_api.calls_to("editMessageText")
    assert [b["text"] for row in edit.params["reply_markup"]["inline_keyboard"] for b in row] == [
        "Open Pact →"
    ]
    told = render(outbox_for(initiator, "break_approved"))
    assert told.text.startswith("✅ <b>Sam</b> approved your break from <b>Gym 🏋️</b>")
    # Once answered, the request is not sent again (say, after an outage).
    with pytest.raises(Skip, match="obsolete"):
        render(outbox_for(partner, "break_proposed"))


def test_the_initiator_cannot_approve_their_own_break_by_button(fake_api, initiator, asked):
    press(initiator, f"approve_break:{asked.pk}", None, "🏖️ Break?")
    assert answer(fake_api)["text"] == "Only your partner can approve a break you asked for."
    assert Break.objects.get(pk=asked.pk).status == Break.Status.PROPOSED


def test_decline_break_by_button(fake_api, initiator, partner, asked):
    press(partner, f"decline_break:{asked.pk}", None, "🏖️ Break?")
    assert Break.objects.get(pk=asked.pk).status == Break.Status.DECLINED
    assert render(outbox_for(initiator, "break_declined")).text.startswith(
        "🙅 <b>Sam</b> declined your break"
    )
    press(partner, f"approve_break:{asked.pk}", None, "🏖️ Break?")  # a stale button
    assert "declined" in fake_api.calls_to("answerCallbackQuery")[-1].params["text"]


def test_looks_good_from_the_check_in_notice(fake_api, pact, initiator, partner):
    day_for(pact, MONDAY).check_in(initiator, note="30 mins cardio")
    notice = render(outbox_for(partner, "checkin_partner"))
    assert [text for text, _ in buttons(notice)] == ["🤨 Dispute", "👍 Looks good"]
    data = f"looks_good:{pact.pk}:2025-01-20"
    press(partner, data, notice.reply_markup.to_dict(), "🙌 Alex checked in")
    assert PactDay.objects.get(pact=pact, date=MONDAY).approved_at is not None
    assert answer(fake_api)["text"] == "👍 Approved — Alex's check-in stands."
    press(partner, data, notice.reply_markup.to_dict(), "🙌 Alex checked in")  # double tap
    assert OutboxMessage.objects.filter(kind="checkin_approved").count() == 1
    told = render(outbox_for(initiator, "checkin_approved"))
    assert told.text == (
        "✅ <b>Sam</b> approved your check-in for <b>Gym 🏋️</b> today. "
        "No disputes now — it stands. 🙌"
    )
    # Re-rendered now (a delayed delivery), the notice offers neither answer any more.
    assert [text for text, _ in buttons(render(outbox_for(partner, "checkin_partner")))] == [
        "View day →"
    ]


def test_the_initiator_cannot_say_looks_good(fake_api, pact, initiator):
    day_for(pact, MONDAY).check_in(initiator)
    press(initiator, f"looks_good:{pact.pk}:2025-01-20", None, "✅ Logged")
    assert answer(fake_api)["text"] == "Only your partner can say your check-in looks good."
    assert PactDay.objects.get(pact=pact, date=MONDAY).approved_at is None


def test_break_started_and_ended_notices(pact, initiator, partner):
    brk, _ = break_propose(pact, partner, start_date=TUESDAY, end_date=THURSDAY)
    assert render(outbox_for(initiator, "break_started")).text == (
        "🏖️ <b>Sam</b> put <b>Gym 🏋️</b> on a break: Jan 21 – Jan 23 (3 days).\n"
        "No check-ins needed those days, and nothing goes on the tab. Enjoy!"
    )
    brk.end(initiator)
    assert render(outbox_for(partner, "break_ended")).text == (
        "↩️ <b>Alex</b> called off the break from <b>Gym 🏋️</b> (Jan 21 – Jan 23).\n"
        "Check-ins are back on schedule."
    )
