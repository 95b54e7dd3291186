"""Rule 16: the §13 limits hold per user and action whichever door the action comes
through (the API, the Mini App, a bot button), on one budget in rate_limit_counters."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from habitpact.tests.api import API, assert_error, client_for
from outbox.models import OutboxMessage
from pacts.actions import day_for
from pacts.models import PactDay
from pacts.tests.test_views import MiniApp
from telegram_bot.handlers import process_update
from telegram_bot.tests.conftest import callback_update, fake_api  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db

MONDAY = date(2025, 1, 20)


@pytest.fixture
def limits_on(settings, clock):
    """Limits switched on, on the frozen clock (09:00:00, the start of a window)."""
    settings.RATE_LIMIT_ENABLED = True


def api_checkin(user, pact, day: str = "2025-01-21"):
    """A check-in through the API; Tuesday's by default, which is refused (409) but
    counts, so Monday's day stays PENDING for the door under test."""
    return client_for(user).post(f"{API}/pacts/{pact.pk}/days/{day}/checkin", {})


def press(user, data: str) -> None:
    """Press a bot button (the fake Bot API records the answer)."""
    process_update(callback_update(user, data))


def callback_answer(api) -> dict:
    return api.calls_to("answerCallbackQuery")[-1].params


def assert_mini_app_slowed_down(response, *, retry_after: int):
    """The screen stays (nothing swapped) and a toast says why, in the app's voice."""
    assert response.status_code == 429
    assert response["HX-Reswap"] == "none"
    assert response["Retry-After"] == str(retry_after)
    event = json.loads(response["HX-Trigger"])["hp:error"]
    assert event["code"] == "RATE_LIMITED"
    assert event["toast"] is True
    assert event["message"] == f"Whoa, slow down! 🐢 Try again in {retry_after} seconds."


def test_check_ins_through_the_api_and_the_mini_app_share_one_budget(limits_on, pact, initiator):
    for _ in range(4):
        assert api_checkin(initiator, pact).status_code != 429
    app = MiniApp(initiator)
    url = f"/pacts/{pact.pk}/days/2025-01-20/check-in"
    assert app.post(url, {"key": "k1"}).status_code == 200  # the fifth: checks in
    assert day_for(pact, MONDAY).status == PactDay.Status.DONE
    # The sixth, through either door, is refused.
    assert_error(api_checkin(initiator, pact, "2025-01-20"), 429, "RATE_LIMITED")
    assert_mini_app_slowed_down(app.post(url, {"key": "k2"}), retry_after=60)


def test_a_check_in_refused_in_the_mini_app_changes_nothing(limits_on, pact, initiator):
    for _ in range(5):
        assert api_checkin(initiator, pact).status_code != 429
    response = MiniApp(initiator).post(f"/pacts/{pact.pk}/days/2025-01-20/check-in")
    assert_mini_app_slowed_down(response, retry_after=60)
    assert day_for(pact, MONDAY).status == PactDay.Status.PENDING
    assert not OutboxMessage.objects.filter(kind__startswith="checkin").exists()


def test_dispute_and_withdraw_loops_in_the_mini_app_are_held_to_three_a_minute(
    limits_on, pact, initiator, partner
):
    day_for(pact, MONDAY).check_in(initiator)
    app = MiniApp(partner)
    day_url = f"/pacts/{pact.pk}/days/2025-01-20"
    for _ in range(3):
        assert app.post(f"{day_url}/dispute", {"reason": "Sure?"}).status_code == 200
        assert app.post(f"{day_url}/resolve", {"resolution": "WITHDRAW"}).status_code == 200
    assert_mini_app_slowed_down(app.post(f"{day_url}/dispute"), retry_after=60)
    assert day_for(pact, MONDAY).status == PactDay.Status.DONE
    # The API counted the same three.
    response = client_for(partner).post(f"{API}/pacts/{pact.pk}/days/2025-01-20/dispute", {})
    assert_error(response, 429, "RATE_LIMITED")


def test_a_bot_button_draws_on_the_same_check_in_budget(limits_on, fake_api, pact, initiator):  # noqa: F811
    for _ in range(5):
        assert api_checkin(initiator, pact).status_code != 429
    press(initiator, f"checkin:{pact.pk}:2025-01-20")
    answer = callback_answer(fake_api)
    assert answer["text"] == "🐢 Slow down! Try again in 60 s."
    assert answer.get("show_alert") in (None, False, "false", "False")
    assert day_for(pact, MONDAY).status == PactDay.Status.PENDING
    assert fake_api.calls_to("editMessageText") == []  # the button stays for later


def test_bot_presses_count_against_the_api_and_mini_app_budget(
    limits_on,
    fake_api,  # noqa: F811
    pact,
    initiator,
):
    for _ in range(5):
        press(initiator, f"checkin:{pact.pk}:2025-01-21")
    assert not any(
        call.params["text"].startswith("🐢") for call in fake_api.calls_to("answerCallbackQuery")
    )
    assert_error(api_checkin(initiator, pact, "2025-01-20"), 429, "RATE_LIMITED")
    response = MiniApp(initiator).post(f"/pacts/{pact.pk}/days/2025-01-20/check-in")
    assert_mini_app_slowed_down(response, retry_after=60)


def test_screens_count_as_reads_and_a_whole_page_says_slow_down(
    limits_on, settings, clock, pact, initiator
):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "read": (2, 60)}
    clock.move_to(datetime(2025, 1, 20, 9, 0, 20, tzinfo=UTC))
    assert client_for(initiator).get(f"{API}/pacts").status_code == 200
    assert MiniApp(initiator).get(f"/pacts/{pact.pk}").status_code == 200
    # A history-restore request renders the whole page: the problem screen says why.
    response = MiniApp(initiator, htmx=False).get(f"/pacts/{pact.pk}")
    assert response.status_code == 429
    assert response["Retry-After"] == "40"
    assert "Whoa, slow down! 🐢 Try again in 40 seconds." in response.content.decode()
    assert "Gym" not in response.content.decode()


def test_other_users_and_other_actions_keep_their_own_budgets(limits_on, pact, initiator, partner):
    for _ in range(5):
        api_checkin(initiator, pact)
    assert MiniApp(partner).get(f"/pacts/{pact.pk}").status_code == 200
    assert MiniApp(initiator).get(f"/pacts/{pact.pk}/days/2025-01-20").status_code == 200
    response = MiniApp(initiator).post(f"/pacts/{pact.pk}/days/2025-01-20/skip")
    assert response.status_code == 200
    assert day_for(pact, MONDAY).status == PactDay.Status.SKIPPED


def test_twenty_dispute_withdraw_cycles_in_the_mini_app_tell_the_initiator_once(
    limits_on, clock, pact, initiator, partner
):
    """Issue 11's loop, paced to the limit (3 disputes a minute): one round, one message."""
    day_for(pact, MONDAY).check_in(initiator)
    app = MiniApp(partner)
    day_url = f"/pacts/{pact.pk}/days/2025-01-20"
    for _ in range(20):
        clock.shift(timedelta(seconds=20))
        assert app.post(f"{day_url}/dispute", {"reason": "Sure?"}).status_code == 200
        assert app.post(f"{day_url}/resolve", {"resolution": "WITHDRAW"}).status_code == 200
    to_initiator = OutboxMessage.objects.filter(user=initiator, kind__startswith="dispute")
    assert sorted(to_initiator.values_list("kind", flat=True)) == [
        "dispute_opened_initiator",
        "dispute_resolved",
    ]
