"""Issue 15 B in a real Chromium at 390×844: long titles fit every screen, the copy tells
the truth for each state and reader, toasts keep off the navigation, the 503 screen's
button works under the CSP, and the favicon loads. Screenshots (light and dark) go to
artifacts/screenshots/b*-*.png; the closing note of the issue names them."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from django.template.loader import render_to_string
from playwright.sync_api import expect

from browser_tests.conftest import ALEX, SAM, VIEWPORT, settle
from conftest import make_active_pact, make_terms
from pacts.actions import day_for, pact_create, pact_decline, pact_end
from pacts.models import User

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]

LONG = "W" * 240  # unbroken, and the widest Latin glyph
MONDAY = date(2025, 1, 20)


def people() -> tuple[User, User]:
    return tuple(
        User.objects.create_user(
            telegram_user_id=tg.id,
            display_name=tg.first_name,
            username=tg.username,
            timezone="Europe/London",
        )
        for tg in (ALEX, SAM)
    )


def open_screen(page, base: str, path: str) -> None:
    page.goto(base + path)
    page.wait_for_selector("#app .screen:not(#shell)")
    settle(page)


def page_width(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth")


def test_a_240_character_title_fits_every_screen(mini_app, shoot, server_clock):
    alex, sam = people()
    pact = make_active_pact(alex, sam, title=LONG)
    day_for(pact, MONDAY)
    waiting = pact_create(initiator=alex, terms=make_terms(title=LONG + "2"))
    past = make_active_pact(alex, sam, title=LONG + "3")
    pact_end(past, alex)
    screens = [
        (
            ALEX,
            [
                ("home", "/"),
                ("detail", f"/pacts/{pact.pk}"),
                ("history", f"/pacts/{pact.pk}/history"),
                ("ledger", f"/pacts/{pact.pk}/ledger"),
                ("settings", f"/pacts/{pact.pk}/settings"),
                ("day", f"/pacts/{pact.pk}/days/2025-01-20"),
                ("invite-own", f"/invite/{waiting.invite_code}"),
                ("waiting", f"/pacts/{waiting.pk}"),
                ("user-settings", "/settings"),
            ],
        ),
        (
            SAM,
            [
                ("home-partner", "/"),
                ("detail-partner", f"/pacts/{pact.pk}"),
                ("day-partner", f"/pacts/{pact.pk}/days/2025-01-20"),
                ("invite", f"/invite/{waiting.invite_code}"),
            ],
        ),
    ]
    for who, paths in screens:
        page = mini_app.open(who)
        for name, path in paths:
            open_screen(page, mini_app.base, path)
            if name != "user-settings":  # the one screen that names no pact
                expect(page.get_by_text(LONG[:40], exact=False).first).to_be_visible()
            assert page_width(page) <= VIEWPORT["width"], f"{name} ({path}) is too wide"
            shoot(page, f"b1-long-title-{name}")

    # The create flow, typed as a person would: the counter tells the limit.
    page = mini_app.open(ALEX, "/pacts/new")
    title = page.get_by_label("What habit are you committing to?")
    title.fill(LONG)
    expect(page.locator("#title-count")).to_have_text("240/252 characters")
    assert title.get_attribute("maxlength") == "252"
    assert page_width(page) <= VIEWPORT["width"]
    shoot(page, "b1-long-title-create-step1")
    for step, question in ((2, "Which days?"), (3, "What's at stake?"), (4, "Who's holding")):
        page.get_by_role("button", name="Next →").click()
        expect(page.get_by_text(question)).to_be_visible()
        assert page_width(page) <= VIEWPORT["width"], f"create step {step} is too wide"
        shoot(page, f"b1-long-title-create-step{step}")
    page.get_by_role("button", name="Create Pact 🚀").click()
    expect(page.get_by_role("heading", name="Pact created!")).to_be_visible()
    assert page_width(page) <= VIEWPORT["width"]
    shoot(page, "b1-long-title-created")


def test_after_the_deadline_nothing_offers_a_check_in(mini_app, shoot, server_clock):
    alex, sam = people()
    pact = make_active_pact(alex, sam)
    day_for(pact, MONDAY)
    server_clock.move_to(datetime(2025, 1, 20, 21, 1, tzinfo=UTC))
    page = mini_app.open(ALEX, f"/pacts/{pact.pk}")
    expect(page.get_by_text("Deadline passed — recording the miss")).to_be_visible()
    expect(page.get_by_role("button", name="Done ✅")).to_have_count(0)
    expect(page.get_by_text("Tab Goblin")).to_have_count(0)
    shoot(page, "b2-deadline-passed-detail")
    open_screen(page, mini_app.base, "/")
    expect(page.get_by_text("Deadline passed — recording the miss")).to_be_visible()
    expect(page.get_by_role("button", name="Check In ✅")).to_have_count(0)
    shoot(page, "b2-deadline-passed-home")


def test_the_copy_fits_the_reader_and_what_happened(mini_app, shoot, server_clock):
    alex, sam = people()
    pact = make_active_pact(alex, sam)
    day_for(pact, MONDAY)

    # Alex checks in on the pact screen: one "Nice one!".
    page = mini_app.open(ALEX, f"/pacts/{pact.pk}")
    page.get_by_role("button", name="Done ✅").click()
    expect(page.get_by_text("Nice one! ✅ Checked in at")).to_be_visible()
    expect(page.get_by_text("Nice one! ✅")).to_have_count(1)
    expect(page.locator("#toast")).not_to_have_class(re.compile("show"))
    shoot(page, "b3-checked-in-once")

    # Sam reads the dispute window as "You"; disputes; Alex concedes.
    sam_page = mini_app.open(SAM, f"/pacts/{pact.pk}/days/2025-01-20")
    expect(sam_page.get_by_text(re.compile(r"^You can dispute for"))).to_be_visible()
    shoot(sam_page, "b3-you-can-dispute")
    sam_page.get_by_role("button", name="Dispute check-in ⚖️").click()
    expect(sam_page.get_by_text("Disputed Check-in")).to_be_visible()
    open_screen(page, mini_app.base, f"/pacts/{pact.pk}/days/2025-01-20")
    page.get_by_role("button", name="Concede — I missed it 😅").click()
    expect(page.get_by_text("You conceded: +£5 to the tab.")).to_be_visible()
    expect(page.get_by_text("Deadline passed")).to_have_count(0)
    shoot(page, "b3-conceded")

    # Tomorrow's page names the day; Alex owns up to missing it.
    open_screen(page, mini_app.base, f"/pacts/{pact.pk}/days/2025-01-21")
    expect(page.get_by_role("button", name="Skip Tue, Jan 21 😬")).to_be_visible()
    expect(page.get_by_role("button", name="Skip Today 😬")).to_have_count(0)
    shoot(page, "b3-future-day")
    page.get_by_role("button", name="I won't make it on Tuesday 😔").click()
    expect(page.get_by_text("You owned up: +£5 to the tab.")).to_be_visible()
    shoot(page, "b3-owned-up")

    # A skip says who and when.
    other = make_active_pact(alex, sam, title="Read")
    day_for(other, MONDAY).skip(sam)
    open_screen(page, mini_app.base, f"/pacts/{other.pk}/days/2025-01-20")
    skipped = re.compile(r"Skipped by Sam on Mon, Jan 20 at \d+:\d\d AM")
    expect(page.get_by_text(skipped)).to_be_visible()
    shoot(page, "b3-skipped-with-date")

    # Alex's own invite: the stake goes to the partner.
    invite = pact_create(initiator=alex, terms=make_terms(title="Stretch"))
    open_screen(page, mini_app.base, f"/invite/{invite.invite_code}")
    expect(page.get_by_text("£5 from you to your partner per missed day")).to_be_visible()
    shoot(page, "b3-own-invite")

    # Ending with no check-ins: kind words, and the Status row follows.
    quiet = make_active_pact(alex, sam, title="Meditate")
    open_screen(page, mini_app.base, f"/pacts/{quiet.pk}/settings")
    page.get_by_role("button", name="End pact…").click()
    page.get_by_role("button", name="Yes, end it").click()
    expect(page.get_by_text("Pact ended.")).to_be_visible()
    expect(page.locator(".terms dd").last).to_have_text("Ended")
    expect(page.get_by_text("Not every pact sticks; the next one might. 🌱")).to_be_visible()
    expect(page.get_by_text("0 times")).to_have_count(0)
    shoot(page, "b3-ended-status-and-zero")

    # Sam declines an invite: told once.
    nope = pact_create(initiator=alex, terms=make_terms(title="Cold showers"))
    open_screen(sam_page, mini_app.base, f"/invite/{nope.invite_code}")
    sam_page.get_by_role("button", name="No thanks").click()
    expect(sam_page.get_by_text("Invite declined.")).to_have_count(1)
    expect(sam_page.get_by_text("This invite was declined.")).to_have_count(0)
    shoot(sam_page, "b3-declined-once")


def test_home_keeps_past_pacts_apart_and_the_week_shows_whats_scheduled(
    mini_app, shoot, server_clock
):
    alex, sam = people()
    weekdays = make_active_pact(alex, sam, title="Gym", schedule_days=[True] * 5 + [False] * 2)
    pact_end(make_active_pact(alex, sam, title="Old habit"), alex)
    pact_decline(pact_create(initiator=alex, terms=make_terms(title="Cold showers")), sam)
    page = mini_app.open(ALEX)
    past = page.locator("#past-pacts")
    expect(past.get_by_text("Old habit")).to_be_visible()
    expect(past.get_by_text("Sam said no thanks.")).to_be_visible()
    expect(page.locator(".pact-card")).to_have_count(1)
    shoot(page, "b4-home-past-pacts")
    open_screen(page, mini_app.base, f"/pacts/{weekdays.pk}")
    expect(page.get_by_label("Fri Jan 24: scheduled")).to_be_visible()
    expect(page.get_by_label("Sat: not scheduled")).to_be_visible()
    shoot(page, "b4-week-scheduled")


def _boxes_meet(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


@pytest.mark.parametrize("height", [VIEWPORT["height"], 640])
def test_the_accept_toast_hides_no_navigation(mini_app, shoot, server_clock, height):
    alex, sam = people()
    pact = pact_create(initiator=alex, terms=make_terms())
    page = mini_app.open(SAM, f"/invite/{pact.invite_code}")
    page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
    page.get_by_role("button", name="Accept pact 🤝").click()
    toast = page.locator("#toast.show")
    expect(toast).to_have_text("You're in! Keep them honest. 🤝")
    box = toast.bounding_box()
    for link in ("🗓 History", "⚙️ Pact settings"):
        nav = page.get_by_role("link", name=link).bounding_box()
        assert not _boxes_meet(box, nav), f"the toast covers {link}"
    assert box["x"] >= 0 and box["x"] + box["width"] <= VIEWPORT["width"]
    shoot(page, f"b8-toast-after-accept-{height}")


def test_the_503_screens_try_again_button_reloads(mini_app, shoot, server_clock):
    people()
    page = mini_app.open(ALEX, "/")
    settle(page)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    body = render_to_string("shell.html#unavailable")

    def down(route):
        if route.request.headers.get("hx-request"):
            route.fulfill(
                status=503,
                body=body,
                content_type="text/html",
                headers={"HX-Retarget": "#app", "HX-Reswap": "innerHTML"},
            )
        else:
            route.continue_()

    page.route(re.compile(r".*/settings$"), down)
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("heading", name="We'll be right back")).to_be_visible()
    shoot(page, "b9-unavailable")
    page.unroute(re.compile(r".*/settings$"))
    with page.expect_navigation():
        page.get_by_role("button", name="Try again").click()
    page.wait_for_selector("#app .screen:not(#shell)")
    expect(page.get_by_label("Time zone")).to_be_visible()
    assert not [e for e in errors if "Content Security Policy" in e]


def test_no_first_load_asks_for_a_missing_favicon(mini_app, server_clock):
    people()
    failed = []
    page = mini_app.open(ALEX, "/")
    page.on("response", lambda r: failed.append(r.url) if r.status >= 400 else None)
    page.goto(mini_app.base + "/")
    page.wait_for_selector("#app .screen:not(#shell)")
    icon = page.request.get(mini_app.base + "/favicon.ico")
    assert icon.ok and icon.headers["content-type"].startswith("image/svg+xml")
    href = page.locator("link[rel=icon]").get_attribute("href")
    assert page.request.get(mini_app.base + href).ok
    assert failed == []
