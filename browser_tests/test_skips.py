"""Issue 12 in headless Chromium, as Alex and Sam inside Telegram: skip with the
allowance (behind its confirm), the allowance used up, "Ask Sam to skip", and Sam
approving in the Mini App. Every screen is photographed in light and dark."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from browser_tests.conftest import ALEX, SAM
from pacts.models import PactDay, SkipRequest, User

# The live server runs in a second thread: the PostgreSQL pass, as the other flows.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]


def alex_and_sams_pact(**terms):
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
    return make_active_pact(alex, sam, **terms)


def test_skip_use_the_allowance_then_ask_and_the_partner_approves(mini_app, shoot, server_clock):
    pact = alex_and_sams_pact(skips_per_month=1)

    # --- Alex skips tomorrow with the one free skip: a confirm says what it costs -----
    alex = mini_app.open(ALEX, f"/pacts/{pact.pk}/days/2025-01-21")
    alex.get_by_role("button", name="Skip Tue, Jan 21 😬").click()
    expect(
        alex.get_by_text("It uses one of your free skips: 1 of 1 left in January.")
    ).to_be_visible()
    shoot(alex, "s1-skip-confirm")
    alex.get_by_role("button", name="Yes, skip it").click()
    expect(alex.get_by_text("Day skipped. No harm done.")).to_be_visible()
    assert PactDay.objects.get(pact=pact, date=date(2025, 1, 21)).skip_used_allowance

    # --- Today: none left, so Skip gives way to "Ask Sam to skip" ----------------------
    alex = mini_app.open(ALEX, f"/pacts/{pact.pk}")
    expect(alex.get_by_text("0 of 1 skips left in January")).to_be_visible()
    expect(alex.get_by_role("button", name="Skip Today 😬")).to_have_count(0)
    alex.get_by_role("button", name="Ask Sam to skip 🙏").click()
    expect(alex.get_by_text("You've used January's free skips, so Sam decides.")).to_be_visible()
    alex.get_by_label("Why? (optional)").fill("Down with the flu 🤒")
    shoot(alex, "s2-ask-to-skip")
    alex.get_by_role("button", name="Send request 🙏").click()
    expect(alex.get_by_text("You asked Sam to skip: “Down with the flu 🤒”")).to_be_visible()
    shoot(alex, "s3-asked")
    assert SkipRequest.objects.get().status == SkipRequest.Status.OPEN

    # --- Sam sees the request on the pact screen and approves ---------------------------
    sam = mini_app.open(SAM, f"/pacts/{pact.pk}", theme="dark")
    expect(sam.get_by_text("asks to skip today: “Down with the flu 🤒”")).to_be_visible()
    expect(sam.get_by_text("0 of 1 skips left in January")).to_be_visible()  # both see it
    shoot(sam, "s4-partner-sees-request")
    sam.get_by_role("button", name="Approve skip 👍").click()
    expect(sam.get_by_text("Skip approved. Rest day granted 😌")).to_be_visible()
    expect(sam.get_by_text("You approved this skip.")).to_be_visible()
    shoot(sam, "s5-partner-approved")
    day = PactDay.objects.get(pact=pact, date=date(2025, 1, 20))
    assert (day.status, day.skipped_by_user_id, day.skip_used_allowance) == (
        PactDay.Status.SKIPPED,
        pact.partner.pk,
        False,
    )

    # --- Alex sees the outcome; the allowance is unchanged -----------------------------
    alex = mini_app.open(ALEX, f"/pacts/{pact.pk}")
    expect(alex.get_by_text("Sam approved your skip.")).to_be_visible()
    expect(alex.get_by_text("0 of 1 skips left in January")).to_be_visible()
    shoot(alex, "s6-initiator-approved")
