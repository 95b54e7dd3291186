"""The pact screen's fair-play parts: the partner's review (rule 11), breaks (rule 10),
the fair-play counts, and break days on the history calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from pacts.actions import day_for
from pacts.breaks import Break, break_propose
from pacts.models import PactDay
from pacts.sweeps import materialize_days
from pacts.tests.test_views import MiniApp, text

pytestmark = pytest.mark.django_db

MONDAY = date(2025, 1, 20)


def screen(user, pact, **params):
    return text(MiniApp(user).get(f"/pacts/{pact.pk}", **params))


def post(user, url, data=None):
    return MiniApp(user).post(url, data)


@pytest.fixture
def checked_in(clock, pact, initiator):
    clock.move_to(datetime(2025, 1, 20, 19, 42, tzinfo=UTC))
    day = day_for(pact, MONDAY).check_in(initiator, note="30 mins cardio")
    clock.move_to(datetime(2025, 1, 20, 20, 24, tzinfo=UTC))
    return day


# --- the partner's review ---------------------------------------------------------------


def test_the_partner_sees_the_check_in_its_note_and_the_time_left(pact, partner, checked_in):
    page = screen(partner, pact)
    assert "<b>Alex</b> checked in at 7:42 PM: “30 mins cardio”" in page
    assert "You can dispute for <span" in page and ">11h 18m</span>" in page
    assert "👍 Looks good" in page and "🤨 Dispute" in page


def test_the_initiator_sees_no_review_of_their_own_check_in(pact, initiator, checked_in):
    page = screen(initiator, pact)
    assert "👍 Looks good" not in page and "data-review" not in page


def test_looks_good_closes_the_review_in_place(pact, partner, checked_in):
    response = post(partner, f"/pacts/{pact.pk}/days/2025-01-20/approve", {"fragment": "live"})
    page = text(response)
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="live">')
    assert "Looks good! 👍 The check-in stands." in page
    assert "data-review" not in page
    assert PactDay.objects.get(pk=checked_in.pk).approved_at is not None


def test_disputing_from_the_review_takes_the_reason_inline(pact, partner, checked_in):
    post(
        partner,
        f"/pacts/{pact.pk}/days/2025-01-20/dispute",
        {"fragment": "live", "reason": "No gym selfie"},
    )
    day = PactDay.objects.get(pk=checked_in.pk)
    assert (day.status, day.dispute_reason) == ("DISPUTED", "No gym selfie")


def test_looks_good_by_the_initiator_is_refused_inline(pact, initiator, checked_in):
    response = post(initiator, f"/pacts/{pact.pk}/days/2025-01-20/approve", {"fragment": "live"})
    assert response.status_code == 403
    assert "Only your partner can say your check-in looks good." in text(response)


# --- breaks -----------------------------------------------------------------------------


def ask(user, pact, start="2025-01-22", end="2025-01-23", reason="Ski trip"):
    data = {"start_date": start, "end_date": end, "reason": reason}
    return post(user, f"/pacts/{pact.pk}/breaks", data)


def test_a_break_asked_for_and_approved_on_the_screen(clock, pact, initiator, partner):
    page = text(ask(initiator, pact))
    assert "Break requested. Fingers crossed! 🤞" in page
    assert "Waiting for Sam to approve your break: Jan 22 – Jan 23" in page
    brk = Break.objects.get()
    partner_page = screen(partner, pact)
    assert "Alex asks for a break: Jan 22 – Jan 23 (2 days)" in partner_page
    assert "“Ski trip”" in partner_page
    page = text(post(partner, f"/pacts/{pact.pk}/breaks/{brk.pk}/approve"))
    assert "Break approved. Rest well! 🏖️" in page
    assert "Break planned: Jan 22 – Jan 23" in page
    clock.move_to(datetime(2025, 1, 22, 9, 0, tzinfo=UTC))
    page = screen(initiator, pact)
    assert "🏖️ On a break until Jan 23" in page
    assert "On a break today. Rest up! 🏖️" in page
    assert "Plan a break" not in page  # one break at a time


def test_a_bad_break_is_refused_inline_and_the_form_keeps_what_was_typed(pact, initiator):
    response = ask(initiator, pact, start="2025-01-20")
    page = text(response)
    assert response.status_code == 422
    assert "A break starts tomorrow at the earliest." in page
    assert '<details class="card plan-break" open>' in page
    assert 'value="Ski trip"' in page
    assert not Break.objects.exists()
    assert ask(initiator, pact, start="soon").status_code == 422


def test_ending_a_break_asks_first(pact, initiator, partner):
    brk, _ = break_propose(pact, partner, start_date=date(2025, 1, 22), end_date=date(2025, 1, 23))
    page = text(MiniApp(initiator).get(f"/pacts/{pact.pk}", confirm="end-break"))
    assert page.lstrip().startswith('<div id="live">')
    assert "Call off this break?" in page and "Those days go back on the schedule." in page
    assert Break.objects.get(pk=brk.pk).status == Break.Status.APPROVED
    page = text(post(initiator, f"/pacts/{pact.pk}/breaks/{brk.pk}/end"))
    assert "Break over. Back on schedule! 💪" in page
    assert Break.objects.get(pk=brk.pk).status == Break.Status.CANCELLED


def test_break_buttons_of_another_pact_or_a_stranger_get_nowhere(pact, partner, stranger):
    brk, _ = break_propose(pact, partner, start_date=date(2025, 1, 22), end_date=date(2025, 1, 23))
    assert post(stranger, f"/pacts/{pact.pk}/breaks/{brk.pk}/end").status_code == 403
    bogus = "ffffffff-ffff-ffff-ffff-ffffffffffff"
    response = post(partner, f"/pacts/{pact.pk}/breaks/{bogus}/end")
    assert response.status_code == 404
    assert Break.objects.get(pk=brk.pk).status == Break.Status.APPROVED


def test_the_history_calendar_shows_break_days_made_and_planned(clock, pact, partner):
    break_propose(pact, partner, start_date=date(2025, 1, 21), end_date=date(2025, 1, 24))
    clock.move_to(datetime(2025, 1, 22, 9, 0, tzinfo=UTC))
    materialize_days()  # Tue, Wed, Thu exist; Fri is planned
    page = text(MiniApp(partner).get(f"/pacts/{pact.pk}/history"))
    assert 'aria-label="Jan 21: Break 🏖️"' in page
    assert 'aria-label="Jan 23: Break 🏖️"' in page
    assert 'aria-label="Jan 24: Break 🏖️ (planned)"' in page
    assert 'aria-label="Jan 20: Pending"' in page


# --- honesty in the open and what it costs ----------------------------------------------


def test_both_see_the_fair_play_counts(pact, initiator, partner, checked_in):
    checked_in.approve(partner)
    for user in (initiator, partner):
        page = screen(user, pact)
        assert "<span>Check-ins approved 👍</span><b>1</b>" in page
        assert "<span>Breaks taken</span><b>0</b>" in page


def test_the_pact_screen_costs_a_constant_number_of_queries(pact, partner, checked_in):
    """Measured: 9 before issue 12; the open break, the reviewable days, this month's skip
    allowance and the day's skip request added one query each, whatever the history (13).
    The allowance now reuses the stats' count of this month's skips (12)."""
    break_propose(pact, partner, start_date=date(2025, 1, 22), end_date=date(2025, 1, 23))
    with CaptureQueriesContext(connection) as captured:
        page = screen(partner, pact)
    assert "👍 Looks good" in page and "Break planned" in page
    assert len(captured) == 12, [q["sql"][:80] for q in captured]


def test_the_day_screen_has_looks_good_too_and_says_so_after(pact, initiator, partner, checked_in):
    url = f"/pacts/{pact.pk}/days/2025-01-20"
    assert "👍 Looks good" in text(MiniApp(partner).get(url))
    page = text(post(partner, f"{url}/approve"))
    assert "👍 You approved this check-in." in page and "👍 Looks good</button>" not in page
    assert "👍 Sam approved this check-in." in text(MiniApp(initiator).get(url))
