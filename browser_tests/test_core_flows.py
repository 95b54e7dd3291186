"""The core flows end to end in headless Chromium, as two people inside Telegram:
create a pact, accept the invite as the partner, check in, dispute, concede, waive,
settle, end. Every screen is photographed in light and dark (artifacts/screenshots/)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from browser_tests.conftest import ALEX, SAM, settle
from pacts.models import Pact, PactDay, User
from pacts.sweeps import process_deadlines

# The live server runs in a second thread; on SQLite both threads would share one
# in-memory connection, so these run on the PostgreSQL pass (deselected on SQLite).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]


def calls(page, kind: str) -> list:
    return page.evaluate("kind => window.__tgCalls.filter(c => c[0] === kind)", kind)


def wait_for_call(page, kind: str, arg: str) -> None:
    """The stand-in marks <html data-tg-KIND="ARG ..."> for each call (the site's CSP
    rightly forbids the eval that wait_for_function would need)."""
    expect(page.locator("html")).to_have_attribute(f"data-tg-{kind}", re.compile(rf"\b{arg}\b"))


def expect_back_button(page, state: str) -> None:
    """Wait until the native BackButton is "shown" or "hidden" (it follows each swap)."""
    expect(page.locator("html")).to_have_attribute("data-tg-back", state)


def test_two_friends_walk_the_whole_pact(mini_app, shoot, server_clock):
    # --- Alex opens the app for the first time: empty state, and the phone's zone ----
    alex = mini_app.open(ALEX)
    expect(alex.get_by_text("No pacts yet. Ready to commit to a habit?")).to_be_visible()
    assert calls(alex, "ready") and calls(alex, "expand")
    expect_back_button(alex, "hidden")
    expect(alex.get_by_text("Your phone says you're in Europe/London")).to_be_visible()
    shoot(alex, "01-home-empty")
    alex.get_by_role("button", name="Use Europe/London").click()
    expect(alex.get_by_text("Deadlines now follow Europe/London")).to_be_visible()
    assert User.objects.get(telegram_user_id=ALEX.id).timezone == "Europe/London"

    # --- Create: four steps, validated on the server, state kept between them --------
    alex.get_by_role("link", name="+ Create New Pact").click()
    expect(alex.get_by_text("What habit are you committing to?")).to_be_visible()
    expect_back_button(alex, "shown")
    alex.get_by_role("button", name="Next →").click()
    expect(alex.get_by_text("Give your habit a name.")).to_be_visible()
    shoot(alex, "02-create-step1-error")
    alex.get_by_label("What habit are you committing to?").fill("Go to the gym")
    alex.get_by_text("🏋️").click()
    alex.get_by_role("button", name="Next →").click()
    expect(alex.get_by_text("Which days?")).to_be_visible()
    shoot(alex, "03-create-step2-schedule")
    alex.get_by_role("button", name="Next →").click()
    expect(alex.get_by_text("What's at stake?")).to_be_visible()
    alex.get_by_role("button", name="£10").click()
    expect(alex.get_by_label("Amount per missed day")).to_have_value("10")
    alex.get_by_role("button", name="£5").click()
    shoot(alex, "04-create-step3-stake")
    alex.get_by_role("button", name="Next →").click()
    expect(alex.get_by_text("Go to the gym 🏋️ • Mon–Fri by 9:00 PM • £5/miss")).to_be_visible()
    alex.get_by_label("Who's holding you accountable?").fill(SAM.username)
    shoot(alex, "05-create-step4-partner")
    # The Telegram BackButton walks back a step, keeping what was typed.
    alex.evaluate("() => Telegram.WebApp.BackButton._press()")
    expect(alex.get_by_text("What's at stake?")).to_be_visible()
    expect(alex.get_by_label("Amount per missed day")).to_have_value("5")
    alex.get_by_role("button", name="Next →").click()
    alex.get_by_role("button", name="Create Pact 🚀").click()
    expect(alex.get_by_role("heading", name="Pact created!")).to_be_visible()
    shoot(alex, "06-create-done-invite")
    pact = Pact.objects.get()
    assert pact.stake_amount == 500 and pact.partner_username == SAM.username
    alex.get_by_role("link", name="📤 Send Invite Link").click()
    shared = calls(alex, "openTelegramLink")
    assert shared and f"invite_{pact.invite_code}" in shared[-1][1]

    # --- Sam opens the invite link: start_param routes to the invite -------------------
    sam = mini_app.open(SAM, start_param=f"invite_{pact.invite_code}", theme="dark")
    expect(sam.get_by_text("Alex wants you to hold them to it")).to_be_visible()
    assert sam.url.endswith(f"/invite/{pact.invite_code}")
    shoot(sam, "07-invite")
    sam.get_by_role("button", name="Accept pact 🤝").click()
    expect(sam.get_by_text("Alex has until 9:00 PM to check in.")).to_be_visible()
    assert sam.url.endswith(f"/pacts/{pact.pk}")
    assert "Check In" not in sam.content()

    # --- Alex checks in from home: one tap, haptics, the card swaps in place ----------
    alex = mini_app.open(ALEX)
    card = alex.locator(f"#card-{pact.pk}")
    expect(card.get_by_text("Due today by 9:00 PM")).to_be_visible()
    shoot(alex, "08-home-pending")
    card.get_by_role("button", name="Check In ✅").click()
    expect(card.get_by_text("Completed today at")).to_be_visible()
    assert ["impact", "medium"] in calls(alex, "impact")
    wait_for_call(alex, "notification", "success")
    shoot(alex, "09-home-checked-in")
    assert PactDay.objects.get(pact=pact, date="2025-01-20").status == "DONE"

    # --- Sam disputes; Alex concedes -------------------------------------------------
    sam = mini_app.open(SAM, f"/pacts/{pact.pk}/days/2025-01-20", theme="dark")
    sam.get_by_label("Not convinced? Say why").fill("Didn't see you at the gym today 🤔")
    sam.get_by_role("button", name="Dispute check-in ⚖️").click()
    expect(sam.get_by_text("Disputed Check-in")).to_be_visible()
    shoot(sam, "10-dispute-partner")

    alex = mini_app.open(ALEX, f"/pacts/{pact.pk}")
    expect(
        alex.get_by_text("Your partner isn't convinced. Time to defend yourself!")
    ).to_be_visible()
    alex.get_by_role("link", name="Day details →").click()
    expect(alex.get_by_role("button", name="Concede — I missed it 😅")).to_be_visible()
    expect(alex.get_by_text("Didn't see you at the gym today 🤔")).to_be_visible()
    shoot(alex, "11-dispute-initiator")
    alex.get_by_role("button", name="Concede — I missed it 😅").click()
    expect(alex.get_by_text("You conceded: +£5 to the tab.")).to_be_visible()

    # --- A second day goes by unmet: Tuesday's deadline passes -------------------------
    server_clock.move_to(datetime(2025, 1, 21, 21, 30, tzinfo=UTC))
    process_deadlines()
    assert PactDay.objects.get(pact=pact, date="2025-01-21").status == "MISSED"

    # --- Sam waives Monday's conceded miss -------------------------------------------
    sam = mini_app.open(SAM, f"/pacts/{pact.pk}/days/2025-01-20")
    sam.get_by_role("button", name="Waive this miss 🤝").click()
    expect(sam.get_by_text("Sam waived this miss.")).to_be_visible()
    shoot(sam, "12-day-waived")

    # --- Pact detail, history and ledger -------------------------------------------
    alex = mini_app.open(ALEX, f"/pacts/{pact.pk}")
    expect(alex.get_by_text("Alex owes Sam £5")).to_be_visible()
    shoot(alex, "13-pact-detail")
    alex.get_by_role("link", name="🗓 History").click()
    expect(alex.get_by_role("heading", name="January 2025")).to_be_visible()
    shoot(alex, "14-history")
    alex.evaluate("() => Telegram.WebApp.BackButton._press()")
    expect(alex.get_by_text("📊 Stats")).to_be_visible()
    alex.get_by_role("link", name="Settle Up 💸").click()
    expect(alex.get_by_role("button", name="Propose settlement")).to_be_visible()
    alex.get_by_role("button", name="Propose settlement").click()
    alex.get_by_role("button", name="Yes, propose").click()
    expect(alex.get_by_text("Waiting for the other side to confirm.").first).to_be_visible()
    shoot(alex, "15-ledger-proposed")

    sam = mini_app.open(SAM, f"/pacts/{pact.pk}/ledger")
    sam.get_by_role("button", name="Confirm £5 settled ✅").click()
    expect(sam.get_by_text("All squared up! 🎉").first).to_be_visible()
    shoot(sam, "16-ledger-settled")

    # --- Settings: the user's own, then ending the pact with a confirmation -----------
    alex = mini_app.open(ALEX, "/settings")
    expect(alex.get_by_label("Time zone")).to_have_value("Europe/London")
    alex.get_by_label("Minutes before the deadline").fill("30")
    alex.get_by_role("button", name="Save").click()
    expect(alex.get_by_text("Saved ✓").first).to_be_visible()
    shoot(alex, "17-user-settings")
    assert User.objects.get(telegram_user_id=ALEX.id).reminder_minutes_before == 30

    alex = mini_app.open(ALEX, f"/pacts/{pact.pk}/settings")
    alex.get_by_role("button", name="End pact…").click()
    expect(alex.get_by_text("End this pact for both of you?")).to_be_visible()
    shoot(alex, "18-pact-settings-confirm-end")
    alex.get_by_role("button", name="Yes, end it").click()
    expect(alex.get_by_text("Journey complete.")).to_be_visible()
    pact.refresh_from_db()
    assert pact.status == Pact.Status.ENDED


def test_opened_from_a_plain_link_it_says_how_to_get_in(mini_app, db):
    page = mini_app.open(None)
    expect(page.get_by_text("Open HabitPact from Telegram")).to_be_visible()
    expect(page.get_by_role("link", name="Open the bot in Telegram")).to_have_attribute(
        "href", "https://t.me/HabitPactBot"
    )


def test_a_bad_signature_shows_sign_in_failed_and_a_way_back(mini_app, db):
    page = mini_app.open(ALEX, bot_token="42:ANOTHER-BOT")  # signed for some other bot
    expect(page.get_by_role("heading", name="Telegram sign-in failed")).to_be_visible()
    expect(page.get_by_role("link", name="Reopen from the bot")).to_be_visible()


def alex_and_sams_pact():
    """The two stand-in Telegram users as our users, in an active pact (Alex commits)."""
    from conftest import make_active_pact

    alex, sam = (
        User.objects.create_user(
            telegram_user_id=tg.id,
            display_name=tg.first_name,
            username=tg.username,
            timezone="Europe/London",
        )
        for tg in (ALEX, SAM)
    )
    return make_active_pact(alex, sam)


def test_pact_start_param_opens_the_pact_and_back_goes_home(mini_app, server_clock, shoot):
    pact = alex_and_sams_pact()
    page = mini_app.open(SAM, start_param=f"pact_{pact.pk}")
    expect(page.get_by_text("Alex has until 9:00 PM to check in.")).to_be_visible()
    expect_back_button(page, "shown")
    page.get_by_role("button", name="Skip Today 😬").click()  # opens the confirm step
    page.get_by_role("button", name="Yes, skip it").click()
    expect(page.get_by_text("Skipped. No forfeit today.")).to_be_visible()
    page.evaluate("() => Telegram.WebApp.BackButton._press()")
    expect(page.get_by_text("Good morning, Sam! 👋")).to_be_visible()
    settle(page)
    expect_back_button(page, "hidden")
    assert page.url.endswith("/")


def test_too_many_taps_keep_the_screen_and_toast_slow_down(mini_app, server_clock, settings):
    """Rule 16: the Mini App counts on the API's budget; a refusal swaps nothing."""
    from habitpact.ratelimit import count, user_who

    pact = alex_and_sams_pact()
    settings.RATE_LIMIT_ENABLED = True
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "write": (1, 3600)}
    count("write", user_who(pact.partner))  # the hour's one write, spent through the API
    page = mini_app.open(SAM, start_param=f"pact_{pact.pk}")
    expect(page.get_by_text("Alex has until 9:00 PM to check in.")).to_be_visible()
    page.get_by_role("button", name="Skip Today 😬").click()  # opens the confirm step
    page.get_by_role("button", name="Yes, skip it").click()
    expect(page.locator("#toast")).to_have_text(re.compile(r"^Whoa, slow down! 🐢 Try again in"))
    expect(page.get_by_role("button", name="Skip Today 😬")).to_be_visible()
    assert pact.days.get(date="2025-01-20").status == PactDay.Status.PENDING


def test_every_screen_fits_a_320px_phone(mini_app, server_clock):
    pact = alex_and_sams_pact()
    paths = [
        "/",
        "/pacts/new",
        f"/pacts/{pact.pk}",
        f"/pacts/{pact.pk}/history",
        f"/pacts/{pact.pk}/ledger",
        f"/pacts/{pact.pk}/settings",
        f"/pacts/{pact.pk}/days/2025-01-20",
        "/settings",
    ]
    page = mini_app.open(ALEX, width=320)
    for path in paths:
        page.goto(mini_app.base + path)
        page.wait_for_selector("#app .screen:not(#shell)")
        settle(page)
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at 320px"
    # Each step of the create flow, too.
    page.goto(mini_app.base + "/pacts/new")
    page.get_by_label("What habit are you committing to?").fill("Read")
    for question in ("Which days?", "What's at stake?", "Who's holding you accountable?"):
        page.get_by_role("button", name="Next →").click()
        expect(page.get_by_text(question)).to_be_visible()
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"'{question}' scrolls sideways by {overflow}px at 320px"


def test_dev_login_lets_a_person_use_the_app_in_a_normal_browser(mini_app, settings, db):
    User.objects.create_user(
        telegram_user_id=SAM.id, display_name="Sam", username=SAM.username, timezone="UTC"
    )
    settings.DEBUG = True
    page = mini_app.open(None, "/dev/login")  # Telegram's script present, no initData
    page.get_by_role("button", name="Sam").click()
    expect(page.get_by_text(re.compile(r"Good \w+, Sam! 👋"))).to_be_visible()
    # Outside Telegram the screens carry their own back links.
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("link", name="Back")).to_be_visible()
