"""Rules 10 and 11 in headless Chromium, as two people inside Telegram: Alex asks for a
break and Sam approves it; Alex checks in and Sam says "Looks good". Every screen is
photographed in light and dark (artifacts/screenshots/)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from browser_tests.conftest import ALEX, SAM, settle
from browser_tests.test_core_flows import alex_and_sams_pact
from pacts.breaks import Break
from pacts.models import PactDay

# The live server runs in a second thread (see test_core_flows).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]


def test_a_break_asked_for_and_approved(mini_app, shoot, server_clock):
    pact = alex_and_sams_pact()
    alex = mini_app.open(ALEX, start_param=f"pact_{pact.pk}")
    alex.get_by_text("🏖️ Plan a break").click()
    alex.get_by_label("First day off").fill("2025-01-22")
    alex.get_by_label("Last day off").fill("2025-01-24")
    alex.get_by_placeholder("Reason (optional): ski trip, flu…").fill("Ski trip 🎿")
    shoot(alex, "fair-01-plan-break")
    alex.get_by_role("button", name="Ask for a break 🏖️").click()
    expect(
        alex.get_by_text("Waiting for Sam to approve your break: Jan 22 – Jan 24")
    ).to_be_visible()
    shoot(alex, "fair-02-break-requested")

    sam = mini_app.open(SAM, start_param=f"pact_{pact.pk}")
    expect(sam.get_by_text("Alex asks for a break: Jan 22 – Jan 24 (3 days)")).to_be_visible()
    expect(sam.get_by_text("“Ski trip 🎿”")).to_be_visible()
    shoot(sam, "fair-03-break-asked-partner")
    sam.get_by_role("button", name="Approve break ✅").click()
    expect(sam.get_by_text("Break planned: Jan 22 – Jan 24")).to_be_visible()
    settle(sam)
    assert Break.objects.get().status == Break.Status.APPROVED

    server_clock.move_to(datetime(2025, 1, 22, 9, 0, tzinfo=UTC))
    # Two days on: Alex opens the app again (fresh initData, as Telegram signs each open).
    alex = mini_app.open(ALEX, start_param=f"pact_{pact.pk}")
    expect(alex.get_by_text("🏖️ On a break until Jan 24")).to_be_visible()
    expect(alex.get_by_text("On a break today. Rest up! 🏖️")).to_be_visible()
    shoot(alex, "fair-04-on-a-break")
    alex.get_by_role("link", name="🗓 History").click()
    expect(alex.get_by_label("Jan 22: Break 🏖️")).to_be_visible()
    expect(alex.get_by_label("Jan 24: Break 🏖️ (planned)")).to_be_visible()
    shoot(alex, "fair-05-history-break-days")


def test_looks_good(mini_app, shoot, server_clock):
    pact = alex_and_sams_pact()
    server_clock.move_to(datetime(2025, 1, 20, 19, 42, tzinfo=UTC))
    alex = mini_app.open(ALEX, start_param=f"pact_{pact.pk}")
    alex.get_by_placeholder("Add a note (optional)").fill("30 mins cardio")
    alex.get_by_role("button", name="Done ✅").click()
    expect(alex.get_by_text("Nice one! ✅ Checked in at 7:42 PM.")).to_be_visible()

    sam = mini_app.open(SAM, start_param=f"pact_{pact.pk}")
    expect(sam.get_by_text("checked in at 7:42 PM: “30 mins cardio”")).to_be_visible()
    expect(sam.get_by_text("You can dispute for")).to_be_visible()
    expect(sam.get_by_role("button", name="🤨 Dispute")).to_be_visible()
    shoot(sam, "fair-06-review-partner")
    sam.get_by_role("button", name="👍 Looks good").click()
    expect(sam.get_by_text("Looks good! 👍 The check-in stands.")).to_be_visible()
    expect(sam.get_by_role("button", name="👍 Looks good")).to_have_count(0)
    expect(sam.get_by_text("Check-ins approved 👍")).to_be_visible()
    shoot(sam, "fair-07-looks-good-done")
    assert PactDay.objects.get(pact=pact, date="2025-01-20").approved_at is not None
