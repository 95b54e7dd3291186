"""The Mini App's pact screens and fragments: auth, roles, domain errors, query counts."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from django.test import Client

from conftest import make_active_pact, make_terms, make_user
from habitpact.testing import sign_init_data, tg_user
from ledger.models import LedgerEntry
from pacts.actions import pact_create
from pacts.models import Pact, PactDay

MONDAY = "2025-01-20"


class MiniApp:
    """A client that talks like the page script: initData in the header, htmx headers."""

    def __init__(self, user, *, htmx: bool = True, zone: str = ""):
        self.client = Client()
        self.headers = {"Authorization": "tma " + sign_init_data(tg_user(user))}
        if htmx:
            self.headers["HX-Request"] = "true"
        if zone:
            self.headers["X-Timezone"] = zone

    def get(self, url, **params):
        return self.client.get(url, params, headers=self.headers)

    def post(self, url, data=None):
        return self.client.post(url, data or {}, headers=self.headers)


def text(response) -> str:
    return response.content.decode()


def events(response) -> dict:
    return json.loads(response.headers.get("HX-Trigger-After-Settle", "{}"))


# --- authentication and the shell ------------------------------------------------------


def test_first_load_without_a_header_is_the_shell_with_no_user_data(client, pact):
    response = client.get(f"/pacts/{pact.pk}")
    assert response.status_code == 200
    body = text(response)
    assert 'id="shell"' in body
    assert "Open HabitPact from Telegram" in body
    assert "Gym" not in body
    assert "telegram-web-app.js" in body


def test_mini_app_pages_may_be_framed_by_telegram_web_only(client, db):
    response = client.get("/")
    assert "X-Frame-Options" not in response.headers
    assert "frame-ancestors" in response.headers["Content-Security-Policy"]
    assert "https://web.telegram.org" in response.headers["Content-Security-Policy"]


def test_a_forged_init_data_gets_the_sign_in_failed_screen(client, initiator):
    forged = sign_init_data(tg_user(initiator), bot_token="999:WRONG")
    response = client.get("/", headers={"Authorization": f"tma {forged}", "HX-Request": "true"})
    assert response.status_code == 401
    assert "Telegram sign-in failed" in text(response)
    assert response.headers["HX-Retarget"] == "#app"


def test_an_action_without_a_header_is_refused(client, pact):
    response = client.post(f"/pacts/{pact.pk}/days/{MONDAY}/check-in", {"fragment": "live"})
    assert response.status_code == 401
    assert not PactDay.objects.filter(status=PactDay.Status.DONE).exists()


def test_a_new_telegram_user_is_created_on_first_open(client, db):
    app = MiniApp.__new__(MiniApp)
    app.client = client
    app.headers = {
        "Authorization": "tma "
        + sign_init_data({"id": 4242, "first_name": "Nia", "username": "nia_tg"}),
        "HX-Request": "true",
    }
    response = app.get("/")
    assert response.status_code == 200
    assert "Good" in text(response) and "Nia" in text(response)


def test_history_restore_request_gets_the_whole_page(pact, initiator):
    app = MiniApp(initiator)
    app.headers["HX-History-Restore-Request"] = "true"
    body = text(app.get(f"/pacts/{pact.pk}"))
    assert "<html" in body and 'id="live"' in body


# --- home ------------------------------------------------------------------------------


def test_home_shows_empty_state_and_create_cta(initiator, clock):
    body = text(MiniApp(initiator).get("/"))
    assert "No pacts yet. Ready to commit to a habit?" in body
    assert 'href="/pacts/new"' in body
    assert "<html" not in body  # an htmx load gets the content partial only


def test_home_card_shows_today_deadline_tab_and_check_in(pact, initiator):
    body = text(MiniApp(initiator).get("/"))
    assert "Gym" in body
    assert "with Sam" in body
    assert "Due today by 9:00 PM" in body
    assert "Tab: all square" in body
    assert "Check In ✅" in body


def test_partner_sees_the_card_without_a_check_in_button(pact, partner):
    body = text(MiniApp(partner).get("/"))
    assert "keeping Alex honest" in body
    assert "Check In" not in body


def test_home_offers_the_phones_time_zone(initiator, clock):
    body = text(MiniApp(initiator, zone="Europe/Berlin").get("/"))
    assert "Your phone says you're in <b>Europe/Berlin</b>" in body


def test_home_does_not_offer_the_zone_already_set(initiator, clock):
    assert "Your phone says" not in text(MiniApp(initiator, zone="Europe/London").get("/"))


def test_accepting_the_offered_zone_saves_it(initiator, clock):
    response = MiniApp(initiator).post(
        "/settings", {"only": "timezone", "timezone": "Europe/Berlin"}
    )
    assert "Deadlines now follow <b>Europe/Berlin</b>" in text(response)
    initiator.refresh_from_db()
    assert initiator.timezone == "Europe/Berlin"


def test_home_runs_in_a_bounded_number_of_queries(
    clock, initiator, partner, django_assert_max_num_queries
):
    for n in range(4):
        make_active_pact(initiator, partner, title=f"Habit {n}")
    pact_create(initiator=initiator, terms=make_terms(title="Pending one"))
    with django_assert_max_num_queries(8):
        response = MiniApp(initiator).get("/")
    assert text(response).count("pact-card") == 5


def test_checking_in_from_home_swaps_the_card(pact, initiator):
    response = MiniApp(initiator).post(
        f"/pacts/{pact.pk}/days/{MONDAY}/check-in", {"fragment": "card", "key": "k1"}
    )
    assert response.status_code == 200
    body = text(response)
    assert body.lstrip().startswith('<article class="card pact-card"')
    assert "Completed today at 9:00 AM" in body
    assert events(response)["hp:success"]["message"] == "Nice one! ✅"


def test_a_double_tap_with_one_key_checks_in_once(pact, initiator):
    app = MiniApp(initiator)
    url = f"/pacts/{pact.pk}/days/{MONDAY}/check-in"
    first = app.post(url, {"fragment": "card", "key": "same"})
    second = app.post(url, {"fragment": "card", "key": "same"})
    assert first.status_code == second.status_code == 200
    assert PactDay.objects.filter(pact=pact, status=PactDay.Status.DONE).count() == 1


# --- pact detail -----------------------------------------------------------------------


def test_detail_shows_today_countdown_stats_balance_and_week(pact, initiator):
    body = text(MiniApp(initiator).get(f"/pacts/{pact.pk}"))
    assert "Today: Mon, Jan 20" in body
    assert "Check in by 9:00 PM or the Tab Goblin strikes! 👺" in body
    assert "12h 0m" in body
    assert "Done ✅" in body and "Skip Today 😬" in body
    assert "Alex owes Sam" not in body and "all square" in body
    assert body.count('class="dot') == 7


def test_detail_balance_reads_who_owes_whom(clock, initiator, partner):
    from datetime import UTC, datetime

    pact = make_active_pact(initiator, partner, stake_amount=1500)
    clock.move_to(datetime(2025, 1, 20, 22, 0, tzinfo=UTC))
    from pacts.sweeps import process_deadlines

    process_deadlines()
    body = text(MiniApp(partner).get(f"/pacts/{pact.pk}"))
    assert "Alex owes Sam £15" in body
    assert "Settle Up 💸" in body


def test_detail_for_a_stranger_is_refused_without_a_byte_of_the_pact(pact, stranger):
    response = MiniApp(stranger).get(f"/pacts/{pact.pk}")
    assert response.status_code == 403
    assert "You&#x27;re not part of this pact." in text(response)
    assert "Gym" not in text(response)


def test_detail_of_an_unknown_pact_is_not_found(initiator, clock):
    response = MiniApp(initiator).get("/pacts/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert "We couldn&#x27;t find that pact." in text(response)


def test_detail_runs_in_a_bounded_number_of_queries(pact, initiator, django_assert_max_num_queries):
    # 9 before issue 12; + the open break, the reviewable days, the skip allowance, the
    # day's skip request (one query each; pacts/tests/test_views_breaks.py pins it).
    with django_assert_max_num_queries(13):
        MiniApp(initiator).get(f"/pacts/{pact.pk}")


def test_skip_from_detail_swaps_the_live_area(pact, partner):
    response = MiniApp(partner).post(f"/pacts/{pact.pk}/days/{MONDAY}/skip", {"fragment": "live"})
    assert response.status_code == 200
    assert text(response).lstrip().startswith('<div id="live">')
    assert "Skipped. No forfeit today." in text(response)


def test_partner_check_in_shows_the_domain_error_inline(pact, partner):
    response = MiniApp(partner).post(
        f"/pacts/{pact.pk}/days/{MONDAY}/check-in", {"fragment": "live", "key": "x"}
    )
    assert response.status_code == 403
    assert "Only the person who made the pact checks in." in text(response)
    assert events(response)["hp:error"]["code"] == "FORBIDDEN_WRONG_ROLE"


def test_pending_pact_detail_offers_the_invite_link(clock, initiator):
    pact = pact_create(initiator=initiator, terms=make_terms())
    body = text(MiniApp(initiator).get(f"/pacts/{pact.pk}"))
    assert "Waiting for your partner" in body
    assert f"startapp=invite_{pact.invite_code}" in body


# --- day detail and the dispute flow ---------------------------------------------------


def _checked_in(pact, initiator):
    day = PactDay.objects.get(pact=pact, date=date(2025, 1, 20))
    day.check_in(initiator, note="Did 30 mins cardio")
    return day


def test_partner_sees_the_dispute_form_while_the_window_is_open(pact, initiator, partner):
    _checked_in(pact, initiator)
    body = text(MiniApp(partner).get(f"/pacts/{pact.pk}/days/{MONDAY}"))
    assert "Alex</b> checked in at 9:00 AM" in body
    assert "Did 30 mins cardio" in body
    assert "Dispute check-in" in body


def test_dispute_then_concede_adds_the_forfeit(pact, initiator, partner):
    _checked_in(pact, initiator)
    url = f"/pacts/{pact.pk}/days/{MONDAY}"
    disputed = MiniApp(partner).post(f"{url}/dispute", {"reason": "Didn't see you 🤔"})
    assert "Disputed Check-in" in text(disputed)
    page = text(MiniApp(initiator).get(url))
    assert "Concede — I missed it 😅" in page and "Stand By It — I did it 💪" in page
    assert "12h 0m" in page
    conceded = MiniApp(initiator).post(f"{url}/resolve", {"resolution": "CONCEDE"})
    assert conceded.status_code == 200
    assert "Missed" in text(conceded)
    assert LedgerEntry.objects.filter(pact=pact, type="FORFEIT").count() == 1


def test_partner_cannot_concede_for_the_initiator(pact, initiator, partner):
    day = _checked_in(pact, initiator)
    day.dispute(partner, reason="hmm")
    response = MiniApp(partner).post(
        f"/pacts/{pact.pk}/days/{MONDAY}/resolve", {"resolution": "CONCEDE"}
    )
    assert response.status_code == 403
    assert "Only the initiator can concede a dispute." in text(response)


def test_partner_can_waive_a_missed_day(clock, pact, initiator, partner):
    from datetime import UTC, datetime

    from pacts.sweeps import process_deadlines

    clock.move_to(datetime(2025, 1, 20, 22, 0, tzinfo=UTC))
    process_deadlines()
    url = f"/pacts/{pact.pk}/days/{MONDAY}"
    assert "Waive this miss" not in text(MiniApp(initiator).get(url))
    assert "Waive this miss 🤝" in text(MiniApp(partner).get(url))
    response = MiniApp(partner).post(f"{url}/waive")
    assert response.status_code == 200
    assert "waived this miss" in text(response)


def test_no_waive_button_for_a_miss_already_settled(clock, pact, initiator, partner):
    from datetime import UTC, datetime

    from ledger.actions import settlement_confirm, settlement_propose
    from pacts.sweeps import process_deadlines

    clock.move_to(datetime(2025, 1, 20, 22, 0, tzinfo=UTC))
    process_deadlines()
    settlement_confirm(settlement_propose(pact, initiator), partner)
    url = f"/pacts/{pact.pk}/days/{MONDAY}"
    assert "Waive this miss" not in text(MiniApp(partner).get(url))
    response = MiniApp(partner).post(f"{url}/waive")
    assert response.status_code == 409
    assert "already paid for" in text(response)


def test_an_ended_pact_names_the_day_still_open_and_the_partner_can_still_dispute(
    clock, pact, initiator, partner
):
    """Rule 13: ending does not cut the dispute window short; the screen says so."""
    from datetime import timedelta

    from pacts.actions import pact_end

    pact.days.get(date=MONDAY).check_in(initiator)  # 09:00, disputable until 21:00
    pact_end(pact, initiator)
    clock.shift(timedelta(hours=1))
    day_url = f"/pacts/{pact.pk}/days/{MONDAY}"
    body = text(MiniApp(partner).get(f"/pacts/{pact.pk}"))
    assert f'Not quite final: <a href="{day_url}">Jan 20</a> can be disputed until' in body
    assert "until Jan 20, 9:00 PM. The balance can still change." in body
    assert "Dispute check-in" in text(MiniApp(partner).get(day_url))
    response = MiniApp(partner).post(f"{day_url}/dispute", {"reason": "no photo"})
    assert response.status_code == 200
    assert pact.days.get(date=MONDAY).status == "DISPUTED"
    body = text(MiniApp(initiator).get(f"/pacts/{pact.pk}"))
    assert "Jan 20</a> is in dispute until Jan 20, 10:00 PM." in body


def test_initiator_can_own_up_to_a_miss(pact, initiator):
    url = f"/pacts/{pact.pk}/days/{MONDAY}"
    assert "I won't make it today" in text(MiniApp(initiator).get(url))
    response = MiniApp(initiator).post(f"{url}/miss")
    assert response.status_code == 200
    assert PactDay.objects.get(pact=pact, date=date(2025, 1, 20)).status == "MISSED"


def test_day_detail_of_a_day_without_a_check_in_is_not_found(pact, initiator):
    response = MiniApp(initiator).get(f"/pacts/{pact.pk}/days/2024-01-01")
    assert response.status_code == 404
    assert "no check-in scheduled" in text(response)


def test_day_detail_runs_in_a_bounded_number_of_queries(
    pact, initiator, django_assert_max_num_queries
):
    _checked_in(pact, initiator)
    with django_assert_max_num_queries(8):
        MiniApp(initiator).get(f"/pacts/{pact.pk}/days/{MONDAY}")


# --- history ---------------------------------------------------------------------------


def test_history_draws_the_month_as_a_calendar_of_day_states(clock, pact, initiator):
    _checked_in(pact, initiator)
    body = text(MiniApp(initiator).get(f"/pacts/{pact.pk}/history"))
    assert "January 2025" in body
    assert 'class="cal s-done"' in body
    assert 'class="cal s-pending"' in body
    assert "Mon 20 Jan" in body


def test_history_month_navigation_swaps_only_the_month(clock, pact, initiator):
    response = MiniApp(initiator).get(f"/pacts/{pact.pk}/history", month="2025-01")
    assert text(response).lstrip().startswith('<div id="history">')


def test_history_runs_in_a_bounded_number_of_queries(
    pact, initiator, django_assert_max_num_queries
):
    with django_assert_max_num_queries(7):
        MiniApp(initiator).get(f"/pacts/{pact.pk}/history")


# --- pact settings ---------------------------------------------------------------------


def test_ending_a_pact_asks_for_confirmation_first(pact, partner):
    app = MiniApp(partner)
    assert "End pact…" in text(app.get(f"/pacts/{pact.pk}/settings"))
    confirm = app.get(f"/pacts/{pact.pk}/settings", confirm="end")
    assert "End this pact for both of you?" in text(confirm)
    pact.refresh_from_db()
    assert pact.status == Pact.Status.ACTIVE
    ended = app.post(f"/pacts/{pact.pk}/settings", {"reason": "done"})
    assert "Journey complete." in text(ended)
    pact.refresh_from_db()
    assert pact.status == Pact.Status.ENDED


def test_ending_an_ended_pact_says_why_not(pact, partner, initiator):
    from pacts.actions import pact_end

    pact_end(pact, initiator)
    response = MiniApp(partner).post(f"/pacts/{pact.pk}/settings")
    assert response.status_code == 409
    assert "Only an active pact can be ended." in text(response)


def test_settings_of_someone_elses_pact_are_refused(pact, stranger):
    assert MiniApp(stranger).post(f"/pacts/{pact.pk}/settings").status_code == 403
    pact.refresh_from_db()
    assert pact.status == Pact.Status.ACTIVE


# --- invites ---------------------------------------------------------------------------


@pytest.fixture
def invite(clock, initiator):
    return pact_create(initiator=initiator, terms=make_terms(stake_amount=550, currency="USD"))


def test_invite_preview_shows_the_terms_and_both_answers(invite, partner):
    body = text(MiniApp(partner).get(f"/invite/{invite.invite_code}"))
    assert "Alex wants you to hold them to it" in body
    assert "$5.50 to you per missed day" in body
    assert "Accept pact 🤝" in body and "No thanks" in body


def test_accepting_an_invite_opens_the_pact(invite, partner):
    response = MiniApp(partner).post(f"/invite/{invite.invite_code}/accept")
    assert response.status_code == 200
    assert response.headers["HX-Push-Url"] == f"/pacts/{invite.pk}"
    assert 'id="live"' in text(response)
    invite.refresh_from_db()
    assert invite.status == Pact.Status.ACTIVE


def test_declining_an_invite(invite, partner):
    response = MiniApp(partner).post(f"/invite/{invite.invite_code}/decline")
    assert "Invite declined." in text(response)
    invite.refresh_from_db()
    assert invite.status == Pact.Status.DECLINED


def test_the_initiator_cannot_accept_their_own_invite(invite, initiator):
    body = text(MiniApp(initiator).get(f"/invite/{invite.invite_code}"))
    assert "This is your own invite." in body and "Accept pact" not in body
    response = MiniApp(initiator).post(f"/invite/{invite.invite_code}/accept")
    assert response.status_code == 403
    assert "You can&#x27;t accept your own pact." in text(response)


def test_an_expired_invite_says_so(clock, invite, partner):
    clock.shift(timedelta(days=8))
    body = text(MiniApp(partner).get(f"/invite/{invite.invite_code}"))
    assert "This invite has expired." in body


def test_an_unknown_invite_code_is_not_found(partner, clock):
    response = MiniApp(partner).get("/invite/nope")
    assert response.status_code == 404


# --- user settings ---------------------------------------------------------------------


def test_user_settings_save_zone_and_reminders(initiator, clock):
    app = MiniApp(initiator)
    # The picker is an <input list> now (issue 15 B7), showing the user's zone as its value.
    assert 'name="timezone" list="timezones" value="Europe/London"' in text(app.get("/settings"))
    response = app.post(
        "/settings",
        {"timezone": "America/New_York", "notify_reminders": "on", "reminder_minutes_before": "30"},
    )
    assert "Saved ✓" in text(response)
    initiator.refresh_from_db()
    assert initiator.timezone == "America/New_York"
    assert initiator.reminder_minutes_before == 30
    assert initiator.notify_disputes is False


def test_user_settings_show_the_domain_error_inline(initiator, clock):
    response = MiniApp(initiator).post(
        "/settings", {"timezone": "Europe/London", "reminder_minutes_before": "5000"}
    )
    assert response.status_code == 422
    assert "Reminders can come 1 to 1440 minutes before." in text(response)


def test_user_settings_take_any_whole_minute_and_refuse_zero(initiator, clock):
    """Issue 15 B7: step=5 blocked 7, and 0 silently meant "no reminder"."""
    page = text(MiniApp(initiator).get("/settings"))
    assert 'min="1" max="1440" step="1"' in page
    saved = MiniApp(initiator).post(
        "/settings", {"notify_reminders": "on", "reminder_minutes_before": "7"}
    )
    assert "Saved ✓" in text(saved)
    initiator.refresh_from_db()
    assert initiator.reminder_minutes_before == 7
    refused = MiniApp(initiator).post(
        "/settings", {"notify_reminders": "on", "reminder_minutes_before": "0"}
    )
    assert refused.status_code == 422
    assert "To get none, switch reminders off." in text(refused)
    initiator.refresh_from_db()
    assert initiator.reminder_minutes_before == 7


def test_the_data_export_is_a_download_of_the_apis_json(initiator, pact, clock):
    page = text(MiniApp(initiator).get("/settings"))
    assert "GET /api/v1/users/me/export" not in page
    assert 'data-download="/settings/export"' in page
    response = MiniApp(initiator, htmx=False).get("/settings/export")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="habitpact-export.json"'
    assert response["Cache-Control"] == "no-store"
    body = json.loads(response.content)
    assert body["user"]["display_name"] == "Alex"
    assert [p["title"] for p in body["pacts"]] == [pact.title]


def test_the_data_export_needs_the_sign_in_header(client, initiator):
    response = client.get("/settings/export", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert "habitpact-export" not in response.get("Content-Disposition", "")


def test_the_zone_picker_is_searchable_with_the_phones_and_common_zones_first(initiator, clock):
    page = text(MiniApp(initiator, zone="Asia/Kathmandu").get("/settings"))
    # The zone is a searchable text field, not a long select (Language is the one select).
    assert 'list="timezones"' in page and '<select id="timezone"' not in page
    zones = re.findall(r'<option value="([^"]+)">', page)
    assert zones[:4] == ["Asia/Kathmandu", "Europe/London", "America/Los_Angeles", "America/Denver"]
    assert len(zones) == len(set(zones)) > 300


def test_switching_reminders_off_keeps_the_minutes(initiator, clock):
    # The minutes field is disabled while the switch is off, so the browser sends none.
    MiniApp(initiator).post("/settings", {"timezone": "Europe/London"})
    initiator.refresh_from_db()
    assert (initiator.notify_reminders, initiator.reminder_minutes_before) == (False, 60)
    page = text(MiniApp(initiator).get("/settings"))
    assert re.search(r'id="reminder_minutes_before"[^>]*\sdisabled', page)


# --- create ----------------------------------------------------------------------------


def _step(app, step, go="next", **data):
    return app.post("/pacts/new", {"step": step, "go": go, "days_sent": "1", **data})


def test_create_step_one_needs_a_title(initiator, clock):
    response = _step(MiniApp(initiator), 1, title="  ")
    assert "Give your habit a name." in text(response)
    assert "Step 1/4" in text(response)


def test_create_flow_keeps_state_between_steps_and_creates_the_pact(initiator, clock):
    app = MiniApp(initiator)
    assert "What habit are you committing to?" in text(app.get("/pacts/new"))
    step2 = text(_step(app, 1, title="Go to the gym", emoji="🏋️"))
    assert "Which days?" in step2
    assert 'name="title" value="Go to the gym"' in step2  # carried in a hidden input
    base = {"title": "Go to the gym", "emoji": "🏋️", "days": ["0", "1", "2", "3", "4"]}
    step3 = text(_step(app, 2, deadline="21:00", start="2025-01-20", **base))
    assert "What's at stake?" in step3
    assert "£5" in step3 and "£20" in step3
    base.update(deadline="21:00", start="2025-01-20")
    step4 = text(_step(app, 3, currency="GBP", stake="5", window="12", **base))
    # Times in the |clock style on every screen (issue 15 B6), no longer "by 21:00".
    assert "Go to the gym 🏋️ • Mon–Fri by 9:00 PM • £5/miss" in step4
    assert "Starts Mon 20 Jan 2025" in step4
    assert "No end date" in step4
    assert "Deadlines in Europe/London" in step4
    assert "Your partner has 12 hours to dispute a check-in" in step4
    base.update(currency="GBP", stake="5", window="12")
    created = _step(app, 4, go="create", partner="sam_tg", **base)
    assert "Pact created!" in text(created)
    pact = Pact.objects.get()
    assert pact.title == "Go to the gym 🏋️"
    assert pact.schedule_days == [True] * 5 + [False] * 2
    assert pact.stake_amount == 500
    assert pact.partner_username == "sam_tg"
    assert f"invite_{pact.invite_code}" in text(created)


def test_changing_the_time_zone_mid_create_keeps_the_draft(initiator, clock):
    """Issue 15 B6: "Change" used to leave for /settings and lose every step so far."""
    app = MiniApp(initiator, zone="Asia/Tokyo")
    draft = {
        "title": "Read",
        "emoji": "📚",
        "currency": "EUR",
        "stake": "3",
        "window": "24",
        "days": ["0", "2"],
        "deadline": "07:30",
        "start": "2025-01-22",
    }
    page = text(_step(app, 2, go="zone", **draft))
    assert 'href="/settings"' not in page
    assert 'id="new_zone" name="new_zone" list="timezones"' in page
    assert re.findall(r'<option value="([^"]+)">', page)[:2] == ["Asia/Tokyo", "Europe/London"]
    bad = text(_step(app, 2, go="set_zone", new_zone="Mars/Base", **draft))
    assert "Pick a time zone from the list" in bad
    back = text(_step(app, 2, go="set_zone", new_zone="Asia/Tokyo", **draft))
    initiator.refresh_from_db()
    assert initiator.timezone == "Asia/Tokyo"
    assert "In your time zone, Asia/Tokyo." in back and "Step 2/4" in back
    assert 'name="title" value="Read"' in back and 'name="stake" value="3"' in back
    assert 'name="currency" value="EUR"' in back and 'name="window" value="24"' in back
    assert 'name="deadline" value="07:30"' in back and 'name="start" value="2025-01-22"' in back
    assert 'value="2" checked' in back and 'value="1" checked' not in back
    summary = text(_step(app, 4, go="stay", partner="", **draft))
    assert "Read 📚 • Mon, Wed by 7:30 AM • €3/miss" in summary
    assert "Deadlines in Asia/Tokyo" in summary


def test_create_refuses_a_start_date_in_the_past_inline(initiator, clock):
    response = _step(MiniApp(initiator), 2, deadline="21:00", start="2025-01-01", days=["0"])
    assert "The start date can&#x27;t be in the past." in text(response)


def test_create_needs_at_least_one_day(initiator, clock):
    response = _step(MiniApp(initiator), 2, deadline="21:00", start="2025-01-20")
    assert "Pick at least one day." in text(response)


def test_create_stake_errors_are_in_the_users_currency(initiator, clock):
    app = MiniApp(initiator)
    assert "Pick an amount from $0.01 to $100." in text(
        _step(app, 3, currency="USD", stake="500", window="12")
    )
    assert "Enter an amount, like 5 or 5.50." in text(_step(app, 3, currency="GBP", stake="x"))


def test_create_back_keeps_the_values(initiator, clock):
    body = text(_step(MiniApp(initiator), 2, go="back", title="Read", deadline="07:00"))
    assert "Step 1/4" in body and 'value="Read"' in body
    assert 'name="deadline" value="07:00"' in body


def test_yen_quick_picks_are_whole_yen(initiator, clock):
    body = text(_step(MiniApp(initiator), 3, go="stay", currency="JPY", stake="500"))
    assert "¥500" in body and "¥2,000" in body


def test_create_is_refused_for_an_invalid_partner_username(initiator, clock):
    response = _step(MiniApp(initiator), 4, partner="a!")
    assert "That doesn&#x27;t look like a Telegram username." in text(response)
    assert not Pact.objects.exists()


def test_another_user_in_another_zone_sees_times_in_their_zone(clock, initiator):
    partner = make_user("Kai", tz="America/New_York")
    pact = make_active_pact(initiator, partner)
    body = text(MiniApp(partner).get(f"/pacts/{pact.pk}"))
    # Their own clock first, then Alex's where it differs (issue 12: both clocks).
    assert "Alex has until 4:00 PM · 9:00 PM for Alex to check in." in body


@pytest.mark.parametrize(
    ("path", "most"),
    [
        ("/pacts/new", 3),
        ("/pacts/{id}/settings", 6),
        ("/invite/{code}", 6),
        ("/settings", 3),
    ],
)
def test_every_other_screen_renders_in_a_bounded_number_of_queries(
    path, most, clock, initiator, partner, django_assert_max_num_queries
):
    pact = make_active_pact(initiator, partner)
    invite = pact_create(initiator=initiator, terms=make_terms(title="Pending"))
    url = path.format(id=pact.pk, code=invite.invite_code)
    with django_assert_max_num_queries(most):
        response = MiniApp(initiator).get(url)
    assert response.status_code == 200


def test_user_settings_asks_before_deleting_the_account_and_then_erases_it(
    clock, pact, initiator, partner
):
    from outbox.models import OutboxMessage

    app = MiniApp(initiator)
    page = app.get("/settings", confirm="delete")
    assert "Delete your account?" in text(page) and "Yes, delete my account" in text(page)
    assert Pact.objects.get().status == "ACTIVE"  # asking changes nothing
    done = app.post("/settings/delete")
    assert done.status_code == 200 and "Your account is deleted" in text(done)
    initiator.refresh_from_db()
    assert initiator.deleted_at is not None and initiator.display_name == "Deleted user"
    assert Pact.objects.get().status == "ENDED"
    assert OutboxMessage.objects.filter(kind="pact_ended", user=partner).exists()


def test_deleting_an_account_needs_a_signed_in_user(clock, pact, initiator):
    response = Client().post("/settings/delete", headers={"HX-Request": "true"})
    assert response.status_code == 401
    initiator.refresh_from_db()
    assert initiator.deleted_at is None


def test_a_database_outage_gets_a_friendly_503_not_a_crash(pact, initiator, monkeypatch):
    from django.db import OperationalError

    from pacts.views import detail as views

    def unreachable(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(views, "pact_stats", unreachable)
    response = MiniApp(initiator).get(f"/pacts/{pact.pk}")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "We'll be right back" in text(response)
