"""Issue 15 B7 in Chromium at 390×844: the settings screen's export downloads a JSON file
(fetched with the Mini App's header by app.js), the reminders switch disables the minutes,
and any whole minute saves."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from browser_tests.conftest import ALEX
from pacts.models import User

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]


def test_settings_download_the_export_and_take_any_whole_minute(mini_app, shoot):
    User.objects.create_user(
        telegram_user_id=ALEX.id,
        display_name=ALEX.first_name,
        username=ALEX.username,
        timezone="Europe/London",
    )
    page = mini_app.open(ALEX, "/settings")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download my data ⬇️").click()
    download = info.value
    assert download.suggested_filename == "habitpact-export.json"
    exported = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert exported["user"]["display_name"] == "Alex"

    minutes = page.get_by_label("Minutes before the deadline")
    page.get_by_label("Remind me before a deadline").uncheck()
    expect(minutes).to_be_disabled()
    page.get_by_label("Remind me before a deadline").check()
    expect(minutes).to_be_enabled()
    minutes.fill("7")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved ✓").first).to_be_visible()
    shoot(page, "b7-settings")
    assert User.objects.get(telegram_user_id=ALEX.id).reminder_minutes_before == 7
