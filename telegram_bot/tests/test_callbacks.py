"""One-tap buttons act as the presser through the domain, answer, and close themselves."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from ledger.actions import settlement_propose
from ledger.models import Settlement
from outbox.models import notify
from pacts.actions import day_for
from pacts.models import PactDay
from pacts.sweeps import process_deadlines
from telegram_bot import handlers
from telegram_bot.handlers import process_update
from telegram_bot.keyboards import CALLBACK_DATA_MAX_BYTES, callback_data
from telegram_bot.messages import render

from .conftest import callback_update, outbox_for

MONDAY = date(2025, 1, 20)


def press(user, data, *, markup=None, text="🕒 Habit check! Time for Gym."):
    process_update(callback_update(user, data, markup=markup, text=text))


def answer(fake_api) -> dict:
    [call] = fake_api.calls_to("answerCallbackQuery")
    return call.params


def reminder_markup(pact, initiator) -> dict:
    notify(initiator, "reminder", "r", day=day_for(pact, MONDAY))
    return render(outbox_for(initiator, "reminder")).reply_markup.to_dict()


def test_initiator_checks_in_with_one_tap_and_the_button_goes(fake_api, pact, initiator):
    markup = reminder_markup(pact, initiator)
    press(initiator, f"checkin:{pact.pk}:2025-01-20", markup=markup)
    assert day_for(pact, MONDAY).status == PactDay.Status.DONE
    assert answer(fake_api)["text"] == "Checked in ✅"
    [edit] = fake_api.calls_to("editMessageText")
    assert edit.params["text"] == "🕒 Habit check! Time for Gym.\n\n<i>Checked in ✅</i>"
    assert edit.params["reply_markup"] == {
        "inline_keyboard": [
            [
                {
                    "text": "Open Pact →",
                    "web_app": {"url": f"https://app.example.com/pacts/{pact.pk}"},
                }
            ]
        ]
    }


def test_partner_cannot_check_in_for_the_initiator(fake_api, pact, partner):
    press(partner, f"checkin:{pact.pk}:2025-01-20")
    assert day_for(pact, MONDAY).status == PactDay.Status.PENDING
    reply = answer(fake_api)
    assert reply["text"] == "Only the person who made the pact checks in."
    assert reply["show_alert"] in (True, "true", "True")
    assert fake_api.calls_to("editMessageText") == []  # still the initiator's to press


def test_a_stranger_cannot_press_anyones_button(fake_api, pact, stranger):
    press(stranger, f"checkin:{pact.pk}:2025-01-20")
    assert answer(fake_api)["text"] == "You're not part of this pact."
    assert day_for(pact, MONDAY).status == PactDay.Status.PENDING


def test_a_second_check_in_is_refused_and_the_stale_button_removed(fake_api, pact, initiator):
    day_for(pact, MONDAY).check_in(initiator)
    press(initiator, f"checkin:{pact.pk}:2025-01-20")
    assert answer(fake_api)["text"] == "You've already checked in for this day."
    [edit] = fake_api.calls_to("editMessageText")
    assert "reply_markup" not in edit.params  # an edit without one removes the keyboard


def test_a_late_check_in_is_refused_by_the_domain(clock, fake_api, pact, initiator):
    clock.shift(timedelta(hours=12, minutes=1))  # 21:01 London
    press(initiator, f"checkin:{pact.pk}:2025-01-20")
    assert answer(fake_api)["text"] == "The deadline for this day has passed."


@pytest.fixture
def disputed(clock, pact, initiator, partner):
    day = day_for(pact, MONDAY)
    day.check_in(initiator)
    clock.shift(timedelta(hours=1))
    day.dispute(partner, reason="Not buying it")
    return day


def test_initiator_concedes_a_dispute(fake_api, pact, initiator, disputed):
    press(initiator, f"concede:{pact.pk}:2025-01-20")
    disputed.refresh_from_db()
    assert (disputed.status, disputed.resolution) == ("MISSED", "CONCEDED")
    assert answer(fake_api)["text"] == "Conceded 😅 — the day is marked missed."


def test_initiator_stands_by_a_check_in(fake_api, pact, initiator, disputed):
    press(initiator, f"reject:{pact.pk}:2025-01-20")
    disputed.refresh_from_db()
    assert (disputed.status, disputed.resolution) == ("DONE", "REJECTED")
    assert answer(fake_api)["text"] == "Standing by it 💪 — your check-in stands."


def test_partner_cannot_concede_for_the_initiator(fake_api, pact, partner, disputed):
    press(partner, f"concede:{pact.pk}:2025-01-20")
    disputed.refresh_from_db()
    assert disputed.status == "DISPUTED"
    assert answer(fake_api)["text"] == "Only the initiator can concede a dispute."


@pytest.fixture
def proposed(clock, pact, initiator):
    clock.shift(timedelta(hours=12, minutes=1))
    process_deadlines()
    return settlement_propose(pact, initiator)


def test_the_other_party_confirms_a_settlement(fake_api, partner, proposed):
    press(partner, f"confirm_settlement:{proposed.pk}")
    proposed.refresh_from_db()
    assert proposed.status == Settlement.Status.CONFIRMED
    assert answer(fake_api)["text"] == "Settled up 🎉"
    assert len(fake_api.calls_to("editMessageText")) == 1


def test_a_stranger_cannot_confirm_a_settlement(fake_api, stranger, proposed):
    press(stranger, f"confirm_settlement:{proposed.pk}")
    proposed.refresh_from_db()
    assert proposed.status == Settlement.Status.PENDING
    assert answer(fake_api)["text"] == "You're not part of this pact."


def test_not_yet_just_acknowledges(fake_api, partner, proposed):
    press(partner, f"later:{proposed.pk}")
    assert answer(fake_api)["text"].startswith("No rush")
    assert fake_api.calls_to("editMessageText") == []


def test_open_app_answers_with_a_startapp_link(fake_api, pact, initiator):
    press(initiator, f"open_app:pact_{pact.pk}")
    assert answer(fake_api)["url"] == f"https://t.me/HabitPactBot?startapp=pact_{pact.pk}"


@pytest.mark.parametrize("data", ["checkin:nonsense", "teleport:1", "", "open_app:../x"])
def test_malformed_buttons_are_answered_as_out_of_date(fake_api, pact, initiator, data):
    press(initiator, data)
    assert answer(fake_api)["text"].startswith("That button is out of date")


def test_a_crash_in_a_button_handler_tells_the_user(fake_api, pact, initiator, monkeypatch):
    def explode(user, argument):
        raise RuntimeError("boom")

    monkeypatch.setitem(handlers.CALLBACKS, "checkin", explode)
    press(initiator, f"checkin:{pact.pk}:2025-01-20")
    assert answer(fake_api)["text"] == "😅 Something went wrong. Please try again."


def test_every_callback_format_fits_telegrams_64_bytes():
    longest = uuid.UUID(int=2**128 - 1)
    formats = [
        ("checkin", longest, "2025-12-31"),
        ("concede", longest, "2025-12-31"),
        ("reject", longest, "2025-12-31"),
        ("confirm_settlement", longest),
        ("later", longest),
        ("open_app", f"pact_{longest}"),
        ("looks_good", longest, "2025-12-31"),
        ("approve_break", longest),
        ("decline_break", longest),
    ]
    for parts in formats:
        assert len(callback_data(*parts).encode()) <= CALLBACK_DATA_MAX_BYTES
    with pytest.raises(AssertionError):
        callback_data("open_app", f"/pacts/{longest}/days/2025-12-31")
