"""Rule 17 and the native controls in the Mini App's HTML (the browser tests drive them):
who is asked for messages, who is told the other can't be reached, and the attributes
app.js mirrors into Telegram's buttons and confirms."""

from __future__ import annotations

import pytest

from conftest import make_active_pact, make_terms
from pacts.actions import pact_create
from pacts.models import User
from pacts.reach import messages_allowed
from pacts.tests.test_views import MiniApp, text

BANNER = "Let HabitPact message you"


def reachable(*users: User) -> None:
    for user in users:
        messages_allowed(user, source="start")


def test_home_asks_only_someone_the_bot_cannot_reach(clock, initiator, partner):
    make_active_pact(initiator, partner)
    assert BANNER in text(MiniApp(initiator).get("/"))
    reachable(initiator)
    assert BANNER not in text(MiniApp(initiator).get("/"))


def test_the_pact_screen_says_when_the_other_person_cant_be_reached(
    clock, pact, initiator, partner
):
    reachable(initiator)
    page = text(MiniApp(initiator).get(f"/pacts/{pact.pk}"))
    assert "Sam hasn't turned on messages from HabitPact, so reminders can't reach them." in page
    assert BANNER not in page
    page = text(MiniApp(partner).get(f"/pacts/{pact.pk}"))
    assert "hasn't turned on" not in page  # Alex can be reached
    assert BANNER in page  # Sam can't be reached: Sam is asked
    reachable(partner)
    assert "hasn't turned on" not in text(MiniApp(initiator).get(f"/pacts/{pact.pk}"))


def test_check_in_and_skip_are_marked_for_telegrams_buttons(clock, pact, initiator):
    page = text(MiniApp(initiator).get(f"/pacts/{pact.pk}"))
    assert '<button class="btn btn-block" data-main-button>Done ✅</button>' in page
    assert 'data-secondary-button data-confirm="Skip today?' in page


@pytest.mark.parametrize("reach", [False, True])
def test_accepting_asks_for_messages_only_when_missing(clock, initiator, partner, reach):
    pact = pact_create(initiator=initiator, terms=make_terms())
    if reach:
        reachable(partner)
    page = text(MiniApp(partner).get(f"/invite/{pact.invite_code}"))
    assert ('data-ask-write-access="/api/v1/users/me/write-access"' in page) is not reach
    assert "data-main-button" in page and "data-secondary-button" in page


def test_the_invite_share_button_knows_where_the_card_is_prepared(clock, initiator):
    pact = pact_create(initiator=initiator, terms=make_terms())
    page = text(MiniApp(initiator).get(f"/pacts/{pact.pk}"))
    assert f'data-share-prepared="/api/v1/pacts/{pact.pk}/invite/prepared"' in page
