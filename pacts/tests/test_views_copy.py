"""Every screen tells the truth (issue 15 B): the copy each state and each reader gets,
past pacts on Home, the week strip, the title's limit, no inline handlers, the icon."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings

from conftest import make_active_pact, make_terms
from outbox.models import OutboxMessage
from pacts.actions import day_for, pact_create, pact_decline, pact_end
from pacts.models import Pact, PactDay
from pacts.sweeps import expire_invites, process_deadlines
from pacts.tests.test_views import MiniApp, text
from telegram_bot import messages
from telegram_bot.messages import render

MONDAY = "2025-01-20"
TUESDAY = "2025-01-21"
# 21:00 London is 21:00 UTC in January: a minute past Monday's deadline.
PAST_DEADLINE = datetime(2025, 1, 20, 21, 1, tzinfo=UTC)


def monday(pact: Pact) -> PactDay:
    return day_for(pact, date(2025, 1, 20))


# --- B2: after the deadline, before the sweep ------------------------------------------


def test_a_pending_day_past_its_deadline_is_awaiting_the_sweep(pact, clock):
    day = monday(pact)
    assert not day.awaiting_sweep()
    clock.move_to(PAST_DEADLINE)
    assert day.awaiting_sweep()
    process_deadlines()
    day.refresh_from_db()
    assert not day.awaiting_sweep()  # MISSED now: recorded


@pytest.mark.parametrize("path", ["/", "/pacts/{pk}", "/pacts/{pk}/days/" + MONDAY])
def test_past_the_deadline_no_screen_offers_or_promises_a_check_in(pact, initiator, clock, path):
    monday(pact)
    clock.move_to(PAST_DEADLINE)
    body = text(MiniApp(initiator).get(path.format(pk=pact.pk)))
    assert "Deadline passed — recording the miss" in body
    for promise in ("Check in by", "Tab Goblin", "Due today by", "Check In ✅", "Done ✅"):
        assert promise not in body
    assert "Skip Today" not in body and "I won't make it" not in body


def test_past_the_deadline_the_partner_is_not_told_there_is_time_left(pact, partner, clock):
    monday(pact)
    clock.move_to(PAST_DEADLINE)
    body = text(MiniApp(partner).get(f"/pacts/{pact.pk}"))
    assert "Deadline passed — recording the miss" in body
    assert "has until" not in body


# --- B3: the right words for what happened and who is reading ---------------------------


def test_a_conceded_dispute_says_so_not_deadline_passed(pact, initiator, partner, clock):
    day = monday(pact)
    day.check_in(initiator)
    day.dispute(partner, reason="Didn't see you")
    day.resolve(initiator, "CONCEDE")
    mine = text(MiniApp(initiator).get(f"/pacts/{pact.pk}/days/{MONDAY}"))
    theirs = text(MiniApp(partner).get(f"/pacts/{pact.pk}/days/{MONDAY}"))
    assert "You conceded: +£5 to the tab." in mine
    assert "Alex conceded: +£5 to the tab." in theirs
    assert "Deadline passed" not in mine + theirs
    assert "You conceded: +£5" in text(MiniApp(initiator).get(f"/pacts/{pact.pk}"))
    assert "You conceded: +£5" in text(MiniApp(initiator).get("/"))


def test_owning_up_to_a_miss_is_not_announced_as_a_passed_deadline(pact, initiator, partner):
    app = MiniApp(initiator)
    response = app.post(f"/pacts/{pact.pk}/days/{MONDAY}/miss")
    assert "You owned up: +£5 to the tab." in text(response)
    assert "Deadline passed" not in text(response)
    assert "Alex owned up: +£5" in text(MiniApp(partner).get(f"/pacts/{pact.pk}/days/{MONDAY}"))
    for user, who in ((initiator, "You"), (partner, "Alex")):
        message = render(OutboxMessage.objects.get(user=user, kind="missed"))
        assert message.text.startswith(f"🙋 {who} owned up: no <b>Gym 🏋️</b> on Jan 20.")
        assert "Deadline passed" not in message.text


def test_a_swept_miss_still_says_the_deadline_passed(pact, initiator, clock):
    monday(pact)
    clock.move_to(PAST_DEADLINE)
    process_deadlines()
    body = text(MiniApp(initiator).get(f"/pacts/{pact.pk}/days/{MONDAY}"))
    assert "Deadline passed. +£5 to the tab." in body
    assert render(OutboxMessage.objects.get(user=initiator, kind="missed")).text.startswith(
        "😬 Deadline passed"
    )


def test_a_future_days_buttons_name_the_day_not_today(pact, initiator):
    body = text(MiniApp(initiator).get(f"/pacts/{pact.pk}/days/{TUESDAY}"))
    assert "Skip Tue, Jan 21 😬" in body
    assert "I won't make it on Tuesday 😔" in body
    assert "Check in on Tuesday by 9:00 PM" in body
    assert "Skip Today" not in body and "today" not in body.lower().split("</h1>", 1)[1]


def test_todays_buttons_still_say_today(pact, initiator):
    body = text(MiniApp(initiator).get(f"/pacts/{pact.pk}/days/{MONDAY}"))
    assert "Skip Today 😬" in body and "I won't make it today 😔" in body


def test_a_skip_says_who_skipped_and_on_which_date(pact, initiator, partner, clock):
    clock.move_to(datetime(2025, 1, 20, 20, 20, tzinfo=UTC))
    monday(pact).skip(partner)
    clock.move_to(datetime(2025, 1, 22, 9, 0, tzinfo=UTC))
    mine = text(MiniApp(initiator).get(f"/pacts/{pact.pk}/days/{MONDAY}"))
    theirs = text(MiniApp(partner).get(f"/pacts/{pact.pk}/days/{MONDAY}"))
    assert "Skipped by Sam on Mon, Jan 20 at 8:20 PM. No forfeit." in mine
    assert "Skipped by you on Mon, Jan 20 at 8:20 PM. No forfeit." in theirs


def test_the_dispute_window_line_speaks_to_its_reader(pact, initiator, partner):
    monday(pact).check_in(initiator)
    theirs = text(MiniApp(partner).get(f"/pacts/{pact.pk}/days/{MONDAY}"))
    mine = text(MiniApp(initiator).get(f"/pacts/{pact.pk}/days/{MONDAY}"))
    assert "You can dispute for" in theirs and "Sam can dispute" not in theirs
    assert "Sam can dispute for" in mine


def test_your_own_invite_does_not_promise_the_stake_to_you(clock, initiator, partner):
    pact = pact_create(initiator=initiator, terms=make_terms())
    mine = text(MiniApp(initiator).get(f"/invite/{pact.invite_code}"))
    theirs = text(MiniApp(partner).get(f"/invite/{pact.invite_code}"))
    assert "£5 from you to your partner per missed day" in mine
    assert "to you per missed day" not in mine
    assert "Alex wants you to hold them to it" not in mine
    assert "£5 to you per missed day" in theirs


def test_an_ended_pact_with_no_check_ins_is_kind_about_it(pact, initiator, partner):
    pact_end(pact, initiator)
    for user in (initiator, partner):
        body = text(MiniApp(user).get(f"/pacts/{pact.pk}"))
        assert "Journey complete. Not every pact sticks; the next one might. 🌱" in body
        assert "0 times" not in body
        assert "0 times" not in text(MiniApp(user).get(f"/pacts/{pact.pk}/settings"))


def test_an_ended_pact_counts_the_initiators_check_ins_for_each_reader(pact, initiator, partner):
    monday(pact).check_in(initiator)
    pact_end(pact, initiator)
    assert "You showed up 1 time!" in text(MiniApp(initiator).get(f"/pacts/{pact.pk}"))
    assert "Alex showed up 1 time!" in text(MiniApp(partner).get(f"/pacts/{pact.pk}"))


def test_ending_a_pact_updates_its_status_row_too(pact, initiator):
    response = MiniApp(initiator).post(f"/pacts/{pact.pk}/settings")
    body = text(response)
    assert "Pact ended." in body
    assert "<dt>Status</dt><dd>Ended</dd>" in body
    assert "Active" not in body
    assert response.headers["HX-Retarget"] == "#app"


def test_a_check_in_on_the_pact_screen_says_nice_one_once(pact, initiator):
    response = MiniApp(initiator).post(
        f"/pacts/{pact.pk}/days/{MONDAY}/check-in", {"fragment": "live", "key": "k1"}
    )
    assert text(response).count("Nice one! ✅") == 1


def test_declining_an_invite_says_so_once(clock, initiator, partner):
    pact = pact_create(initiator=initiator, terms=make_terms())
    response = MiniApp(partner).post(f"/invite/{pact.invite_code}/decline")
    body = text(response)
    assert body.count("Invite declined.") == 1
    assert "This invite was declined." not in body


# --- B4: past pacts, and the week strip -------------------------------------------------


def _section(body: str, marker: str) -> str:
    return body.split(marker, 1)[1] if marker in body else ""


def test_ended_declined_and_expired_pacts_move_to_past_pacts(clock, initiator, partner):
    running = make_active_pact(initiator, partner, title="Running")
    ended = make_active_pact(initiator, partner, title="Ended one")
    pact_end(ended, initiator)
    declined = pact_create(initiator=initiator, terms=make_terms(title="Declined one"))
    pact_decline(declined, partner)
    expired = pact_create(initiator=initiator, terms=make_terms(title="Expired one"))
    clock.move_to(datetime(2025, 1, 28, 9, 0, tzinfo=UTC))
    expire_invites()
    body = text(MiniApp(initiator).get("/"))
    current, past = body.split('id="past-pacts"', 1)
    assert f"card-{running.pk}" in current
    for gone in (ended, declined, expired):
        assert f"/pacts/{gone.pk}" not in current
        assert f"/pacts/{gone.pk}" in past
    assert "Sam said no thanks." in past
    assert "Nobody accepted within 7 days." in past
    assert "Ended one" in past and "Alex owes Sam" not in past  # all square: says so
    assert "all square" in past


def test_home_without_past_pacts_has_no_past_section(pact, initiator):
    assert "Past pacts" not in text(MiniApp(initiator).get("/"))


def test_the_initiator_sees_a_declined_invite_in_the_app(clock, initiator, partner):
    pact = pact_create(initiator=initiator, terms=make_terms())
    pact_decline(pact, partner)
    body = text(MiniApp(initiator).get(f"/pacts/{pact.pk}"))
    assert "Sam said no thanks" in body
    assert "Nothing scheduled today" not in body


def test_the_week_strip_marks_scheduled_future_days_as_scheduled(clock, initiator, partner):
    pact = make_active_pact(initiator, partner, schedule_days=[True] * 5 + [False] * 2)
    body = text(MiniApp(initiator).get(f"/pacts/{pact.pk}"))
    for name in ("Wed Jan 22", "Thu Jan 23", "Fri Jan 24"):
        assert f'aria-label="{name}: scheduled"' in body
    assert 'aria-label="Sat: not scheduled"' in body and 'aria-label="Sun: not scheduled"' in body
    assert 'aria-label="Wed: not scheduled"' not in body


# --- B1: the title's limit, and long titles in the bot ----------------------------------


def test_the_title_input_shows_its_limit_and_a_counter(initiator, clock):
    body = text(MiniApp(initiator).get("/pacts/new"))
    assert 'maxlength="252"' in body
    assert "<span data-count>0</span>/252 characters" in body


def test_the_longest_title_the_input_allows_fits_the_model_with_an_emoji(initiator, clock):
    app = MiniApp(initiator)
    response = app.post("/pacts/new", {"step": "1", "go": "next", "title": "x" * 252, "emoji": "🏋️"})
    assert "Which days?" in text(response)


def test_bot_messages_trim_a_long_title_at_a_word_break():
    title = "Practise the cello " * 13  # 247 characters
    trimmed = messages.short(title)
    assert len(trimmed) <= 60 and trimmed.endswith("…")
    assert trimmed == "Practise the cello Practise the cello Practise the cello…"
    assert messages.short("x" * 240) == "x" * 59 + "…"
    assert messages.short("Gym <b>") == "Gym &lt;b&gt;"


def test_a_bot_message_about_a_long_titled_pact_stays_short(clock, initiator, partner):
    pact = make_active_pact(initiator, partner, title="y" * 240)
    monday(pact)
    clock.move_to(PAST_DEADLINE)
    process_deadlines()
    message = render(OutboxMessage.objects.get(user=partner, kind="missed"))
    assert "y" * 60 not in message.text and "y" * 59 + "…" in message.text


# --- B9: no inline handlers; B10: an icon -----------------------------------------------


class _Handlers(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.found += [f"<{tag} {name}>" for name, _ in attrs if re.fullmatch(r"on\w+", name)]


def test_no_template_has_an_inline_event_handler():
    """The CSP (script-src without 'unsafe-inline') blocks onclick= and friends."""
    templates = [p for d in settings.TEMPLATES[0]["DIRS"] for p in Path(d).rglob("*.html")]
    assert len(templates) >= 10
    for path in templates:
        parser = _Handlers()
        parser.feed(path.read_text())
        assert parser.found == [], f"{path}: {parser.found}"


def test_the_503_screen_retries_through_the_page_script(client):
    from habitpact.miniapp import unavailable

    body = unavailable(client.get("/").wsgi_request).render().content.decode()
    assert "data-reload" in body and "onclick" not in body
    script = (Path(settings.BASE_DIR) / "static" / "js" / "app.js").read_text()
    assert "[data-reload]" in script and "location.reload()" in script


def test_favicon_ico_leads_to_the_icon(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("favicon.svg")
    icon = Path(settings.BASE_DIR) / "static" / "favicon.svg"
    assert icon.read_text().startswith("<svg")
    assert 'rel="icon"' in text(client.get("/"))
