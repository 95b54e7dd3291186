"""Every notification of spec §8: wording, buttons, money, time zones and escaping."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from conftest import make_active_pact, make_terms, make_user
from ledger.actions import settlement_confirm, settlement_propose
from outbox.models import OutboxMessage, notify
from pacts.actions import day_for, pact_create, pact_decline, pact_end
from pacts.sweeps import expire_disputes, expire_invites, materialize_days, process_deadlines
from telegram_bot.messages import Skip, money, render

from .conftest import outbox_for

MONDAY = date(2025, 1, 20)


@pytest.fixture(autouse=True)
def _webapp(settings):
    settings.WEBAPP_URL = "https://app.example.com"
    settings.TELEGRAM_BOT_USERNAME = "HabitPactBot"


def rendered(user, kind):
    return render(outbox_for(user, kind))


def buttons(result) -> list[tuple[str, str]]:
    """(text, target) per button: "cb:<data>", "app:<url>" or "url:<url>"."""
    out = []
    for row in result.reply_markup.inline_keyboard if result.reply_markup else []:
        for b in row:
            if b.callback_data:
                out.append((b.text, f"cb:{b.callback_data}"))
            elif b.web_app:
                out.append((b.text, f"app:{b.web_app.url}"))
            else:
                out.append((b.text, f"url:{b.url}"))
    return out


def app(path: str) -> str:
    return f"app:https://app.example.com{path}"


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (500, "GBP", "£5"),
        (500, "EUR", "€5"),
        (550, "USD", "$5.50"),
        (500, "JPY", "¥500"),
        (1500, "GBP", "£15"),
        (123456, "GBP", "£1,234.56"),
    ],
)
def test_money_uses_the_currencys_symbol_and_digits(amount, currency, expected):
    assert money(amount, currency) == expected


def test_reminder_names_the_deadline_and_stake_with_done_and_open_buttons(pact, initiator):
    day = day_for(pact, MONDAY)
    notify(initiator, "reminder", "r1", day=day)
    result = rendered(initiator, "reminder")
    assert result.text == (
        "🕒 Habit check! Time for <b>Gym 🏋️</b>.\n"
        'Hit Done before <b><tg-time unix="1737406800">9:00 PM</tg-time></b> '
        "or the Tab Goblin adds <b>£5</b> to your bill. 👺"
    )
    assert buttons(result) == [
        ("Open Pact →", app(f"/pacts/{pact.pk}")),
        ("Done ✅", f"cb:checkin:{pact.pk}:2025-01-20"),
    ]


def test_reminder_shows_the_deadline_in_the_recipients_time_zone(pact, initiator):
    initiator.timezone = "America/New_York"
    initiator.save()
    notify(initiator, "reminder", "r1", day=day_for(pact, MONDAY))
    # Both clocks (issue 12): the recipient's own, then Sam's in London.
    assert (
        'before <b><tg-time unix="1737406800">4:00 PM</tg-time> · 9:00 PM for Sam</b>'
        in rendered(initiator, "reminder").text
    )


def test_reminder_for_a_day_already_checked_in_is_not_sent(pact, initiator):
    day = day_for(pact, MONDAY)
    notify(initiator, "reminder", "r1", day=day)
    day.check_in(initiator)
    with pytest.raises(Skip, match="obsolete"):
        rendered(initiator, "reminder")


def test_checkin_confirmation_tells_how_long_the_partner_may_dispute(pact, initiator):
    day_for(pact, MONDAY).check_in(initiator)
    result = rendered(initiator, "checkin_confirmed")
    assert result.text == (
        "✅ Logged <b>DONE</b> for Gym 🏋️ today!\n"
        "Sam can dispute within 12 hours (but only if they're feeling spicy 🌶️)."
    )


def test_partner_hears_of_a_check_in_with_the_note_escaped_and_a_dispute_button(
    pact, initiator, partner
):
    day_for(pact, MONDAY).check_in(initiator, note='Leg day <b>"beast"</b> & more')
    result = rendered(partner, "checkin_partner")
    assert result.text == (
        "🙌 <b>Alex</b> checked in for <b>Gym 🏋️</b> today.\n"
        'Note: "Leg day &lt;b&gt;"beast"&lt;/b&gt; &amp; more"\n'
        'Not convinced? You can dispute until <b><tg-time unix="1737406800">9:00 PM</tg-time></b>.'
    )
    assert buttons(result) == [
        ("🤨 Dispute", app(f"/pacts/{pact.pk}/days/2025-01-20")),
        ("👍 Looks good", f"cb:looks_good:{pact.pk}:2025-01-20"),
    ]


def test_titles_and_names_are_escaped_for_html(clock, db):
    alex = make_user("<Alex & co>")
    sam = make_user("Sam")
    pact = make_active_pact(alex, sam, title="Gym <i>daily</i> & more")
    day_for(pact, MONDAY).check_in(alex)
    assert rendered(sam, "checkin_partner").text.startswith(
        "🙌 <b>&lt;Alex &amp; co&gt;</b> checked in for <b>Gym &lt;i&gt;daily&lt;/i&gt; &amp; more"
    )


def test_missed_deadline_adds_the_stake_and_shows_the_running_total(
    clock, pact, initiator, partner
):
    clock.move_to(datetime(2025, 1, 20, 21, 1, tzinfo=UTC))
    process_deadlines()
    for user in (initiator, partner):
        result = rendered(user, "missed")
        assert result.text == (
            "😬 Deadline passed for <b>Gym 🏋️</b>!\n"
            "<b>+£5</b> added to the tab.\n"
            "Running total: Alex owes Sam <b>£5</b>."
        )
        assert buttons(result) == [("View Details →", app(f"/pacts/{pact.pk}/days/2025-01-20"))]


def test_missed_in_yen_and_dollars(clock, initiator, partner):
    yen = make_active_pact(initiator, partner, currency="JPY", stake_amount=500, title="Yen")
    usd = make_active_pact(initiator, partner, currency="USD", stake_amount=550, title="Usd")
    clock.move_to(datetime(2025, 1, 20, 21, 1, tzinfo=UTC))
    process_deadlines()
    texts = [render(m).text for m in OutboxMessage.objects.filter(user=partner, kind="missed")]
    by_pact = {
        m.payload["pact_id"]: render(m).text
        for m in OutboxMessage.objects.filter(user=partner, kind="missed")
    }
    assert len(texts) == 2
    assert "<b>+¥500</b> added" in by_pact[str(yen.pk)]
    assert "Alex owes Sam <b>¥500</b>" in by_pact[str(yen.pk)]
    assert "<b>+$5.50</b> added" in by_pact[str(usd.pk)]


def _disputed(clock, pact, initiator, partner, reason="Didn't see you at the gym today 🤔"):
    day = day_for(pact, MONDAY)
    day.check_in(initiator)
    clock.shift(timedelta(hours=1))
    day.dispute(partner, reason=reason)
    return day


def test_dispute_opened_to_initiator_has_the_reason_and_resolve_buttons(
    clock, pact, initiator, partner
):
    _disputed(clock, pact, initiator, partner, reason="<sus> & 🤔")
    result = rendered(initiator, "dispute_opened_initiator")
    assert result.text == (
        "🤨 <b>Sam</b> disputed your check-in for <b>Gym 🏋️</b> (Jan 20).\n"
        'Reason: "&lt;sus&gt; &amp; 🤔"\n'
        "Was it legit?\n"
        '<i>Answer by <tg-time unix="1737410400">10:00 PM</tg-time>, or your check-in stands.</i>'
    )
    assert buttons(result) == [
        ("View Dispute →", app(f"/pacts/{pact.pk}/days/2025-01-20")),
        ("Concede 😅", f"cb:concede:{pact.pk}:2025-01-20"),
        ("Stand By It 💪", f"cb:reject:{pact.pk}:2025-01-20"),
    ]


def test_dispute_opened_to_partner_says_when_the_window_closes(clock, pact, initiator, partner):
    _disputed(clock, pact, initiator, partner)
    clock.shift(timedelta(minutes=30))
    result = rendered(partner, "dispute_opened_partner")
    assert result.text == (
        "⚖️ You disputed Alex's check-in for <b>Gym 🏋️</b> (Jan 20).\n"
        "Waiting for their response. The dispute window closes in 11 hours "
        '(<tg-time unix="1737410400">10:00 PM</tg-time>).'
    )


def test_dispute_resolved_by_conceding_adds_the_stake(clock, pact, initiator, partner):
    day = _disputed(clock, pact, initiator, partner)
    day.resolve(initiator, "CONCEDE")
    for user in (initiator, partner):
        assert rendered(user, "dispute_resolved").text == (
            "✅ Dispute resolved for <b>Gym 🏋️</b> (Jan 20).\n"
            "Result: Alex conceded — day marked as <b>MISSED</b>.\n"
            "<b>+£5</b> added to the tab."
        )


def test_dispute_resolved_by_standing_by_it_keeps_the_day_done(clock, pact, initiator, partner):
    _disputed(clock, pact, initiator, partner).resolve(initiator, "REJECT")
    assert rendered(partner, "dispute_resolved").text == (
        "✅ Dispute resolved for <b>Gym 🏋️</b> (Jan 20).\n"
        "Result: Alex stood by it — check-in stands as <b>DONE</b>."
    )


def test_a_withdrawal_reads_as_one_even_if_the_day_is_disputed_again_before_it_is_sent(
    clock, pact, initiator, partner
):
    day = _disputed(clock, pact, initiator, partner)
    day.resolve(partner, "WITHDRAW")
    day.dispute(partner)  # the same round: no new message, and the day is DISPUTED
    assert rendered(initiator, "dispute_resolved").text == (
        "✅ Dispute resolved for <b>Gym 🏋️</b> (Jan 20).\n"
        "Result: Sam withdrew the dispute — check-in stands as <b>DONE</b>."
    )


def test_dispute_window_expired(clock, pact, initiator, partner):
    _disputed(clock, pact, initiator, partner)
    clock.shift(timedelta(hours=13))
    expire_disputes()
    assert rendered(initiator, "dispute_expired").text == (
        "⏰ Dispute window closed for <b>Gym 🏋️</b> (Jan 20).\n"
        "No resolution submitted — check-in stands as <b>DONE</b>."
    )


def test_skipped_and_waived_days(clock, pact, initiator, partner):
    day_for(pact, MONDAY).skip(partner)
    assert rendered(initiator, "day_skipped").text == (
        "⏭️ <b>Sam</b> skipped <b>Gym 🏋️</b> for Jan 20.\n"
        "No check-in needed that day, and nothing goes on the tab."
    )
    clock.move_to(datetime(2025, 1, 21, 21, 1, tzinfo=UTC))
    process_deadlines()
    day_for(pact, date(2025, 1, 21)).waive(partner)
    assert rendered(initiator, "day_waived").text == (
        "🕊️ <b>Sam</b> waived your miss on <b>Gym 🏋️</b> (Jan 21).\n"
        "<b>−£5</b> off the tab.\n"
        "Running total: all square."
    )


def test_invite_answers_reach_the_initiator(clock, initiator, partner):
    make_active_pact(initiator, partner)
    result = rendered(initiator, "pact_accepted")
    assert result.text.startswith("🤝 <b>Sam</b> accepted your pact <b>Gym 🏋️</b>!")
    declined = pact_create(initiator=initiator, terms=make_terms(title="Run"))
    pact_decline(declined, partner)
    result = rendered(initiator, "pact_declined")
    assert result.text.startswith("🙅 <b>Sam</b> declined your pact <b>Run</b>.")
    assert buttons(result) == [("Start New Pact →", app("/pacts/new"))]


def test_expired_invite_tells_the_initiator(clock, initiator):
    pact_create(initiator=initiator, terms=make_terms(title="Read"))
    clock.shift(timedelta(days=7, minutes=1))
    expire_invites()
    assert rendered(initiator, "invite_expired").text.startswith(
        "⌛ Your invite for <b>Read</b> expired"
    )


def test_pact_ended_gives_final_stats_and_balance(clock, pact, initiator, partner):
    day_for(pact, MONDAY).check_in(initiator)
    clock.move_to(datetime(2025, 1, 21, 21, 1, tzinfo=UTC))
    process_deadlines()
    clock.move_to(datetime(2025, 1, 22, 10, 0, tzinfo=UTC))
    pact_end(pact, partner)
    result = rendered(initiator, "pact_ended")
    assert result.text == (
        "🏁 <b>Gym 🏋️</b> has ended!\n"
        "Final stats:\n"
        "• Duration: 3 days\n"
        "• Completed: 1 day\n"
        "• Missed: 1 day\n"
        "• Final balance: Alex owes Sam £5\n"
        "Thanks for playing!"
    )
    assert buttons(result) == [("Start New Pact →", app("/pacts/new"))]


def test_pact_ended_with_a_day_still_open_says_the_balance_is_not_final_yet(
    clock, pact, initiator, partner
):
    """Rule 13: the dispute window and the resolution window survive the end, so the
    balance announced is "so far", naming each open day, until they close."""
    day_for(pact, MONDAY).check_in(initiator)  # Monday 09:00: disputable until 21:00
    clock.move_to(datetime(2025, 1, 21, 8, 0, tzinfo=UTC))
    tuesday = day_for(pact, date(2025, 1, 21)).check_in(initiator)
    tuesday.dispute(partner)  # to be resolved by 20:00
    clock.move_to(datetime(2025, 1, 21, 10, 0, tzinfo=UTC))  # Monday's window has closed
    pact_end(pact, partner)
    result = rendered(initiator, "pact_ended")
    assert result.text == (
        "🏁 <b>Gym 🏋️</b> has ended!\n"
        "Final stats:\n"
        "• Duration: 2 days\n"
        "• Completed: 1 day\n"
        "• Missed: 0 days\n"
        "• Balance so far: all square\n"
        "⏳ Not quite final: Jan 21 is in dispute until 8:00 PM. "
        "The tab follows whatever happens there.\n"
        "Thanks for playing!"
    )
    assert buttons(result) == [
        ("Open Pact →", app(f"/pacts/{pact.pk}")),
        ("Start New Pact →", app("/pacts/new")),
    ]


def test_pact_ended_names_a_day_whose_dispute_window_still_runs(clock, pact, initiator, partner):
    day_for(pact, MONDAY).check_in(initiator)
    clock.shift(timedelta(hours=1))
    pact_end(pact, initiator)
    text = rendered(partner, "pact_ended").text
    assert "• Balance so far: all square\n" in text
    assert "⏳ Not quite final: Jan 20 can be disputed until 9:00 PM." in text
    assert "Final balance" not in text


def _owing(clock, pact, days=3):
    for offset in range(days):
        clock.move_to(datetime(2025, 1, 20 + offset, 21, 1, tzinfo=UTC))
        materialize_days()
        process_deadlines()


def test_settlement_proposed_asks_the_other_party_to_confirm(clock, pact, initiator, partner):
    _owing(clock, pact)
    settlement = settlement_propose(pact, initiator, amount=1500)
    result = rendered(partner, "settlement_proposed")
    assert result.text == (
        "💸 <b>Alex</b> wants to settle up!\n"
        "Amount: <b>£15</b>\n"
        "(Settle however you like — bank transfer, cash, or interpretive dance)"
    )
    assert buttons(result) == [
        ("Confirm Payment Received ✅", f"cb:confirm_settlement:{settlement.pk}"),
        ("Not Yet ⏳", f"cb:later:{settlement.pk}"),
        ("View Tab →", app(f"/pacts/{pact.pk}")),
    ]


def test_settlement_proposed_by_the_partner_asks_the_payer_to_confirm_paying(
    clock, pact, initiator, partner
):
    _owing(clock, pact, days=1)
    settlement_propose(pact, partner)
    labels = [text for text, _ in buttons(rendered(initiator, "settlement_proposed"))]
    assert labels[0] == "Confirm I've Paid ✅"


def test_settlement_confirmed_shows_the_new_balance(clock, pact, initiator, partner):
    _owing(clock, pact)
    settlement_confirm(settlement_propose(pact, initiator, amount=1500), partner)
    for user in (initiator, partner):
        assert rendered(user, "settlement_confirmed").text == (
            "🎉 Settlement complete!\n"
            "<b>£15</b> marked as settled between Alex and Sam.\n"
            "New balance: <b>£0</b>"
        )


def test_weekly_summary_lists_each_pact(pact, initiator):
    OutboxMessage.objects.create(
        user=initiator,
        chat_id=initiator.telegram_user_id,
        kind="weekly_summary",
        dedupe_key="weekly:1",
        payload={
            "week_start": "2025-01-13",
            "week_end": "2025-01-19",
            "pacts": [
                {
                    "pact_id": str(pact.pk),
                    "title": pact.title,
                    "role": "INITIATOR",
                    "done": 5,
                    "missed": 1,
                    "skipped": 1,
                    "streak": 3,
                    "balance": 1500,
                    "currency": "GBP",
                },
            ],
        },
    )
    result = rendered(initiator, "weekly_summary")
    assert result.text == (
        "📊 <b>Your week</b> (Jan 13 – Jan 19)\n\n"
        "<b>Gym 🏋️</b> with Sam\n"
        "✅ 5 done · 😬 1 missed · ⏭️ 1 skipped · 🔥 3 days streak\n"
        "Tab: Alex owes Sam <b>£15</b>"
    )
    assert buttons(result) == [("Open HabitPact →", app("/"))]


def test_unknown_kinds_and_vanished_objects_are_skipped_with_a_reason(pact, initiator):
    odd = OutboxMessage.objects.create(
        user=initiator, chat_id=1, kind="mystery", dedupe_key="m1", payload={}
    )
    with pytest.raises(Skip, match="unknown kind: mystery"):
        render(odd)
    gone = OutboxMessage.objects.create(
        user=initiator,
        chat_id=1,
        kind="missed",
        dedupe_key="m2",
        payload={"pact_id": "00000000-0000-0000-0000-000000000000", "day_id": "x", "date": "x"},
    )
    with pytest.raises(Skip, match="gone: pact"):
        render(gone)
    broken = OutboxMessage.objects.create(
        user=initiator, chat_id=1, kind="missed", dedupe_key="m3", payload={"pact_id": "nope"}
    )
    with pytest.raises(Skip):
        render(broken)
