"""Issue 14 in a real Chromium with a current Telegram client (the stand-in's `native`):
the MainButton and SecondaryButton per screen, native confirms, the write-access banner
and the partner asked before accepting, who can't be reached, sharing the invite card
the server prepared, and the home-screen offer after the third check-in."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from browser_tests.conftest import ALEX, SAM, settle
from conftest import make_active_pact, make_terms
from pacts.actions import pact_create
from pacts.models import PactDay, User
from telegram_bot.tests.fake_bot_api import FakeBotApi

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]
MONDAY = date(2025, 1, 20)


def people(*, alex_reachable: bool = True) -> tuple[User, User]:
    alex, sam = (
        User.objects.create_user(
            telegram_user_id=tg.id,
            display_name=tg.first_name,
            username=tg.username,
            timezone="Europe/London",
        )
        for tg in (ALEX, SAM)
    )
    User.objects.filter(pk=alex.pk).update(can_receive_messages=alex_reachable)
    return alex, sam


def calls(page, kind: str) -> list:
    return page.evaluate("kind => window.__tgCalls.filter(c => c[0] === kind)", kind)


def expect_bottom(page, main: str, secondary: str = "hidden") -> None:
    """The native buttons' text ("hidden" when not shown), as the stand-in mirrors them."""
    html = page.locator("html")
    expect(html).to_have_attribute("data-tg-mainbutton", main)
    expect(html).to_have_attribute("data-tg-secondarybutton", secondary)


def press(page, which: str) -> None:
    page.evaluate(f"() => Telegram.WebApp.{which}._press()")


@pytest.fixture
def bot_api(settings):
    with FakeBotApi() as api:
        settings.TELEGRAM_BOT_TOKEN = api.token
        settings.TELEGRAM_API_URL = api.url
        yield api


def test_the_partner_is_asked_for_messages_then_accepts_with_the_main_button(
    mini_app, server_clock
):
    alex, _ = people(alex_reachable=False)
    pact = pact_create(initiator=alex, terms=make_terms(title="Read 📚"))
    sam = mini_app.open(SAM, start_param=f"invite_{pact.invite_code}", native=True)
    expect(sam.get_by_text("wants you to hold them to it")).to_be_visible()
    settle(sam)
    expect_bottom(sam, "Accept pact 🤝", "No thanks")
    expect(sam.locator("html")).to_have_attribute("data-tg-secondarybutton-position", "left")
    # The in-page buttons stay (one code path: the native one presses them).
    expect(sam.get_by_role("button", name="Accept pact 🤝")).to_be_visible()

    press(sam, "MainButton")
    expect(sam.get_by_role("heading", name=re.compile("Today"))).to_be_visible()
    assert len(calls(sam, "requestWriteAccess")) == 1  # asked before accepting
    assert calls(sam, "MainButtonProgress")  # the button showed progress meanwhile
    assert User.objects.get(telegram_user_id=SAM.id).can_receive_messages
    # Sam is reachable now: no banner; Alex never started the bot, and Sam is told.
    expect(sam.locator("#reach-banner")).to_have_count(0)
    expect(
        sam.get_by_text(
            "Alex hasn't turned on messages from HabitPact, so reminders can't reach them."
        )
    ).to_be_visible()
    expect_bottom(sam, "hidden", "Skip Today 😬")  # nothing to check in; either may skip


def test_the_banner_asks_telegram_and_tells_the_server(mini_app, server_clock):
    alex, sam = people(alex_reachable=False)
    make_active_pact(alex, sam)
    page = mini_app.open(ALEX, native=True)
    banner = page.get_by_role("link", name="Let HabitPact message you 🔔")
    expect(banner).to_be_visible()
    banner.click()
    expect(page.locator("#reach-banner")).to_have_count(0)
    assert len(calls(page, "requestWriteAccess")) == 1
    assert User.objects.get(pk=alex.pk).can_receive_messages
    expect(page.get_by_text("Messages on! 🔔")).to_be_visible()


def test_the_pact_screens_main_button_checks_in_and_skip_confirms_natively(mini_app, server_clock):
    alex, sam = people()
    pact = make_active_pact(alex, sam)
    page = mini_app.open(ALEX, f"/pacts/{pact.pk}", native=True)
    expect(page.get_by_role("button", name="Done ✅")).to_be_visible()
    settle(page)
    expect_bottom(page, "Done ✅", "Skip Today 😬")
    expect(page.locator("#reach-banner")).to_have_count(0)

    press(page, "SecondaryButton")  # skip: a native confirm first
    expect(page.locator("html")).to_have_attribute(
        "data-tg-confirm-message", re.compile("^Skip today\\?")
    )
    expect(page.get_by_text("Skipped. No forfeit today.")).to_be_visible()
    assert PactDay.objects.get(pact=pact, date=MONDAY).status == "SKIPPED"
    expect_bottom(page, "hidden")


def test_a_declined_confirm_changes_nothing(mini_app, server_clock):
    alex, sam = people()
    pact = make_active_pact(alex, sam)
    page = mini_app.open(ALEX, f"/pacts/{pact.pk}/settings", native=True, confirmAnswer=False)
    page.get_by_role("button", name="End pact…").click()
    expect(page.locator("html")).to_have_attribute(
        "data-tg-confirm-message", re.compile("^End this pact")
    )
    settle(page)
    pact.refresh_from_db()
    assert pact.status == "ACTIVE"
    # The page's own confirm step is not shown either: Telegram's replaced it.
    expect(page.get_by_role("button", name="Yes, end it")).to_have_count(0)


def test_the_invite_is_shared_as_the_card_the_server_prepared(mini_app, server_clock, bot_api):
    alex, _ = people()
    pact = pact_create(initiator=alex, terms=make_terms(title="Read 📚"))
    page = mini_app.open(ALEX, f"/pacts/{pact.pk}", native=True)
    page.get_by_role("button", name="📤 Send Invite Link").click()
    expect(page.locator("html")).to_have_attribute("data-tg-sharemessage", re.compile("prep"))
    [[_, shared_id]] = calls(page, "shareMessage")
    assert list(bot_api.prepared) == [shared_id]
    assert calls(page, "openTelegramLink") == []


def test_an_older_client_shares_the_plain_link(mini_app, server_clock, bot_api):
    alex, _ = people()
    pact = pact_create(initiator=alex, terms=make_terms())
    page = mini_app.open(ALEX, f"/pacts/{pact.pk}")  # Bot API 6.0: no shareMessage
    page.get_by_role("button", name="📤 Send Invite Link").click()
    expect(page.locator("html")).to_have_attribute(
        "data-tg-opentelegramlink", re.compile("t.me/share/url")
    )
    assert bot_api.calls_to("savePreparedInlineMessage") == []


def test_the_home_screen_is_offered_once_after_the_third_check_in(mini_app, server_clock):
    alex, sam = people()
    pacts = [make_active_pact(alex, sam, title=f"Habit {n}") for n in range(4)]
    page = mini_app.open(ALEX, native=True)
    for n, pact in enumerate(pacts):  # check-ins on this device, across pacts
        page.goto(mini_app.base + f"/pacts/{pact.pk}")
        expect(page.get_by_role("button", name="Done ✅")).to_be_visible()
        settle(page)
        expect_bottom(page, "Done ✅", "Skip Today 😬")
        press(page, "MainButton")
        expect(page.get_by_text("Nice one! ✅")).to_be_visible()
        if n < 2:
            assert calls(page, "checkHomeScreenStatus") == []
        elif n == 2:
            expect(page.locator("html")).to_have_attribute(
                "data-tg-addtohomescreen", "addToHomeScreen"
            )
    settle(page)
    assert calls(page, "addToHomeScreen") == []  # the fourth: offered once only
    assert PactDay.objects.filter(status="DONE").count() == 4
