"""The local run in a plain browser (DEBUG): designed error screens, and the second person
opening an invite from the dev login."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

from browser_tests.conftest import ALEX, SAM
from pacts.models import User


def test_under_debug_an_unknown_pact_shows_the_designed_screen_not_the_raw_fragment(
    mini_app, settings, db, shoot
):
    User.objects.create_user(
        telegram_user_id=ALEX.id, display_name="Alex", username=ALEX.username, timezone="UTC"
    )
    settings.DEBUG = True
    page = mini_app.open(ALEX, f"/pacts/{uuid.uuid4()}")

    # The 404 is swapped into the app as in production; django-htmx's debug handler would
    # have replaced the whole document with the fragment (no #app, no toast region).
    expect(page.locator("#app")).to_contain_text("We couldn't find that pact.")
    expect(page.locator("#toast")).to_have_count(1)
    expect(page.locator("link[rel=stylesheet]")).to_have_count(1)
    shoot(page, "debug-unknown-pact")


def test_the_second_person_opens_a_pending_invite_from_the_dev_login(mini_app, settings, db, shoot):
    from datetime import timedelta

    from django.utils import timezone

    from conftest import make_terms
    from pacts.actions import pact_create

    alex, _ = (
        User.objects.create_user(
            telegram_user_id=p.id, display_name=name, username=p.username, timezone="UTC"
        )
        for p, name in ((ALEX, "Alex"), (SAM, "Sam"))
    )
    invite = pact_create(
        initiator=alex,
        terms=make_terms(title="Read 📚", start_date=timezone.now().date() + timedelta(days=1)),
    )
    settings.DEBUG = True
    page = mini_app.open(None, "/dev/login")
    shoot(page, "dev-login-pending-invite")

    page.get_by_role("button", name="Open as Sam").click()

    expect(page).to_have_url(f"{mini_app.base}/invite/{invite.invite_code}")
    expect(page.get_by_role("button", name="Accept pact 🤝")).to_be_visible()
    shoot(page, "dev-login-invite-opened-as-sam")
