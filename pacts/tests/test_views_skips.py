"""The Mini App's skip controls (rules 8, 9): the allowance line, Skip behind a confirm,
"Ask Sam to skip" once the free skips are gone, the partner's Approve / Decline, the
create flow's allowance and the invite's; both clocks on the screens (issue 12)."""

from __future__ import annotations

import pytest

from conftest import make_active_pact, make_terms, make_user
from pacts.actions import pact_create
from pacts.models import Pact, PactDay, SkipRequest
from pacts.tests.test_views import MiniApp, _step, events, text

pytestmark = pytest.mark.django_db

MONDAY = "2025-01-20"
TUESDAY = "2025-01-21"


def act(user, pact, action, day=MONDAY, fragment="live", **data):
    return MiniApp(user).post(
        f"/pacts/{pact.pk}/days/{day}/{action}", {"fragment": fragment, **data}
    )


def test_both_see_this_months_allowance_on_the_pact_screen(pact, initiator, partner):
    for user in (initiator, partner):
        assert "2 of 2 skips left in January" in text(MiniApp(user).get(f"/pacts/{pact.pk}"))
    body = text(act(initiator, pact, "skip"))
    assert "1 of 2 skips left in January" in body
    assert "Skipped. No forfeit today." in body


def test_skip_sits_behind_a_confirm_that_says_what_it_costs(pact, initiator, partner):
    mine = text(MiniApp(initiator).get(f"/pacts/{pact.pk}"))
    assert '<details class="confirm">' in mine
    assert "It uses one of your free skips: 2 of 2 left in January." in mine
    assert "Yes, skip it" in mine
    theirs = text(MiniApp(partner).get(f"/pacts/{pact.pk}"))
    assert "Alex won't need to check in, and nothing goes on the tab." in theirs


def test_with_no_skips_left_the_initiator_is_offered_to_ask(clock, initiator, partner):
    pact = make_active_pact(initiator, partner, skips_per_month=1)
    act(initiator, pact, "skip", day=TUESDAY, fragment="day")
    body = text(MiniApp(initiator).get(f"/pacts/{pact.pk}"))
    assert "0 of 1 skips left in January" in body
    assert "Yes, skip it" not in body
    assert "Ask Sam to skip 🙏" in body
    assert "You've used January's free skips, so Sam decides." in body
    # Skipping anyway (an old page) is refused with the domain's words, nothing changes.
    refused = act(initiator, pact, "skip")
    assert events(refused)["hp:error"]["code"] == "SKIP_ALLOWANCE_USED"
    assert PactDay.objects.get(pact=pact, date=MONDAY).status == "PENDING"


def test_ask_then_the_partner_approves_in_the_mini_app(clock, initiator, partner):
    pact = make_active_pact(initiator, partner, skips_per_month=0)
    asked = text(act(initiator, pact, "ask-skip", reason="Flu 🤒"))
    assert "Asked! We&#x27;ll tell you what they say. 🤞" in asked
    assert "You asked Sam to skip: “Flu 🤒”" in asked
    assert "Ask Sam to skip" not in asked  # one open request a day
    seen = text(MiniApp(partner).get(f"/pacts/{pact.pk}"))
    assert "asks to skip today: “Flu 🤒”" in seen
    assert "Approve skip 👍" in seen and "Decline 🙅" in seen
    approved = text(act(partner, pact, "approve-skip"))
    assert "Skip approved. Rest day granted 😌" in approved
    assert "You approved this skip." in approved
    day = PactDay.objects.get(pact=pact, date=MONDAY)
    assert (day.status, day.skipped_by_user_id, day.skip_used_allowance) == (
        "SKIPPED",
        partner.pk,
        False,
    )


def test_decline_from_the_day_screen(pact, initiator, partner):
    act(initiator, pact, "ask-skip", fragment="day")
    body = text(act(partner, pact, "decline-skip", fragment="day"))
    assert body.lstrip().startswith('<div id="day"')
    assert "You said no to skipping this one." in body
    assert SkipRequest.objects.get().status == "DECLINED"
    mine = text(MiniApp(initiator).get(f"/pacts/{pact.pk}/days/{MONDAY}"))
    assert "Sam said no to skipping. Go get it! 💪" in mine


@pytest.mark.parametrize(
    ("who", "action", "data", "status", "code"),
    [
        ("partner", "ask-skip", {}, 403, "FORBIDDEN_WRONG_ROLE"),
        ("initiator", "ask-skip", {"reason": "x" * 501}, 422, "VALIDATION_ERROR"),
        ("initiator", "approve-skip", {}, 403, "FORBIDDEN_WRONG_ROLE"),
        ("partner", "approve-skip", {}, 409, "INVALID_STATE_TRANSITION"),
        ("stranger", "decline-skip", {}, 403, "FORBIDDEN_NOT_PARTICIPANT"),
    ],
)
def test_bad_skip_requests_in_the_mini_app_say_why_and_change_nothing(
    pact, request, who, action, data, status, code
):
    response = act(request.getfixturevalue(who), pact, action, **data)
    assert response.status_code == status
    if who == "stranger":  # refused before the pact is read: its error page, not a toast
        assert "You&#x27;re not part of this pact." in text(response)
        assert "Gym" not in text(response)
    else:
        assert events(response)["hp:error"]["code"] == code
    assert SkipRequest.objects.count() == 0
    assert PactDay.objects.get(date=MONDAY).status == "PENDING"


def test_create_step_three_sets_the_allowance(initiator, clock):
    app = MiniApp(initiator)
    base = {
        "title": "Gym",
        "emoji": "🏋️",
        "days": ["0", "1", "2", "3", "4"],
        "deadline": "21:00",
        "start": "2025-01-20",
    }
    step3 = text(_step(app, 2, **base))
    assert "Free skips a month" in step3
    assert '<option value="2" selected>2 skips</option>' in step3
    bad = text(_step(app, 3, currency="GBP", stake="5", window="12", skips="11", **base))
    assert "Free skips are 0 to 10 a month." in bad and "Step 3/4" in bad
    step4 = text(_step(app, 3, currency="GBP", stake="5", window="12", skips="3", **base))
    assert "3 free skips a month" in step4
    base.update(currency="GBP", stake="5", window="12", skips="3")
    _step(app, 4, go="create", partner="", **base)
    assert Pact.objects.get().skips_per_month == 3


def test_the_invite_shows_the_allowance(clock, initiator, partner):
    pact = pact_create(initiator=initiator, terms=make_terms(skips_per_month=1))
    body = text(MiniApp(partner).get(f"/invite/{pact.invite_code}"))
    assert "1 free skip a month" in body


def test_deadlines_show_both_clocks_when_the_zones_differ(clock, initiator):
    kai = make_user("Kai", tz="America/Los_Angeles")
    pact = make_active_pact(initiator, kai)
    mine = text(MiniApp(initiator).get(f"/pacts/{pact.pk}"))
    assert "Check in by 9:00 PM · 1:00 PM for Kai or the Tab Goblin strikes!" in mine
    day = text(MiniApp(kai).get(f"/pacts/{pact.pk}/days/{MONDAY}"))
    assert "Alex checks in by 1:00 PM · 9:00 PM for Alex" in day
    same_zone = make_active_pact(initiator, make_user("Lou"), title="Read")
    assert "for Lou" not in text(MiniApp(initiator).get(f"/pacts/{same_zone.pk}"))
