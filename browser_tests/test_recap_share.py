"""Share recap on the history screen (issue 14 item 4), in Chromium with the stand-in
Telegram.WebApp: on a phone, shareToStory with a link Telegram can fetch without our
header; on the desktop, the picture fetched with the header and shown."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from browser_tests.conftest import ALEX, settle
from browser_tests.test_core_flows import alex_and_sams_pact

# The live server runs in a second thread (PostgreSQL pass only, as the other flows).
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]


def test_on_a_phone_share_recap_opens_the_story_editor_with_a_fetchable_link(
    mini_app, server_clock
):
    pact = alex_and_sams_pact()
    page = mini_app.open(ALEX, f"/pacts/{pact.pk}/history", platform="android", native=True)
    page.get_by_role("button", name="Share this week").click()
    link = re.compile(rf"/pacts/{pact.pk}/recap\.png\?week=2025-W04&sig=")
    expect(page.locator("html")).to_have_attribute("data-tg-sharetostory", link)
    story = page.evaluate("() => window.__story")
    assert story["params"] == {"text": "My week on HabitPact 💪"}
    # Telegram's client fetches it as-is: no Authorization header.
    link_url = urlsplit(story["url"])  # WEBAPP_URL + path: the live server serves the path
    response = page.request.get(f"{mini_app.base}{link_url.path}?{link_url.query}")
    assert response.status == 200
    assert response.headers["content-type"] == "image/png"
    assert response.body()[:8] == b"\x89PNG\r\n\x1a\n"


def test_on_the_desktop_share_recap_shows_the_picture_it_fetched_with_the_header(
    mini_app, server_clock
):
    pact = alex_and_sams_pact()
    page = mini_app.open(ALEX, f"/pacts/{pact.pk}/history")
    settle(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Last week").click()
    assert download.value.suggested_filename == "habitpact-recap-2025-W03.png"
    preview = page.locator("[data-recap-preview]")
    expect(preview).to_be_visible()
    assert preview.get_attribute("src").startswith("blob:")
    assert (
        page.evaluate("() => document.querySelector('[data-recap-preview]').naturalWidth") == 1080
    )
    assert (
        page.evaluate("() => (window.__tgCalls || []).filter(c => c[0] === 'shareToStory')") == []
    )
