"""Rule 15: invites answer only to their code, decline only on purpose, go quiet once
answered, and can be withdrawn by the person who sent them.

Before: `POST /pacts/{id}/accept|decline` worked for anyone holding the pact id; a bare
`POST /invite/<code>` in the Mini App declined; an answered code still showed the
pact's terms and the initiator's name to anyone; there was no way to withdraw.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from conftest import MONDAY, make_active_pact, make_terms, make_user, run_together
from habitpact.errors import DomainError
from habitpact.tests.api import API, assert_error, client_for
from outbox.models import OutboxMessage
from pacts.actions import (
    can_cancel,
    invite_for,
    pact_accept,
    pact_cancel,
    pact_create,
    pact_decline,
)
from pacts.models import Pact
from pacts.tests.test_views import MiniApp, text
from telegram_bot.messages import render

pytestmark = pytest.mark.django_db


@pytest.fixture
def invite(clock, initiator):
    """Alex's pending invite, naming Sam (sam_tg) as the partner."""
    return pact_create(initiator=initiator, terms=make_terms(partner_username="sam_tg"))


def _status(pact: Pact) -> str:
    pact.refresh_from_db()
    return pact.status


# --- accept / decline by pact id need the code ---------------------------------------


@pytest.mark.parametrize("action", ["accept", "decline"])
@pytest.mark.parametrize("body", [None, {}, {"invite_code": ""}, {"invite_code": "wrong"}])
def test_accept_or_decline_by_id_without_the_right_code_is_not_found(
    invite, stranger, action, body
):
    response = client_for(stranger).post(f"{API}/pacts/{invite.pk}/{action}", body, format="json")
    error = assert_error(response, 404, "PACT_NOT_FOUND")
    assert invite.title not in response.content.decode()
    assert error["details"] == {}
    assert _status(invite) == Pact.Status.PENDING_ACCEPT


@pytest.mark.parametrize("action", ["accept", "decline"])
def test_another_pacts_code_does_not_open_this_one(invite, initiator, stranger, action):
    other = pact_create(initiator=initiator, terms=make_terms(title="Other"))
    body = {"invite_code": other.invite_code}
    response = client_for(stranger).post(f"{API}/pacts/{invite.pk}/{action}", body, format="json")
    assert_error(response, 404, "PACT_NOT_FOUND")
    assert _status(invite) == Pact.Status.PENDING_ACCEPT
    assert _status(other) == Pact.Status.PENDING_ACCEPT


def test_accept_by_id_with_the_code_makes_the_pact_active(invite, partner):
    body = {"invite_code": invite.invite_code}
    response = client_for(partner).post(f"{API}/pacts/{invite.pk}/accept", body, format="json")
    assert response.status_code == 200
    assert response.json()["pact"]["status"] == "ACTIVE"


def test_decline_by_id_with_the_code_declines(invite, partner):
    body = {"invite_code": invite.invite_code}
    response = client_for(partner).post(f"{API}/pacts/{invite.pk}/decline", body, format="json")
    assert response.status_code == 200
    assert response.json()["pact"]["status"] == "DECLINED"


def test_the_invite_code_endpoints_still_work(invite, partner):
    response = client_for(partner).post(f"{API}/invites/{invite.invite_code}/accept")
    assert response.status_code == 200
    assert _status(invite) == Pact.Status.ACTIVE


def test_the_schema_documents_the_invite_code_body_and_the_cancel_endpoint(client):
    schema = client.get(f"{API}/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for action in ("accept", "decline"):
        op = schema["paths"][f"/api/v1/pacts/{{pact_id}}/{action}"]["post"]
        ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        name = ref.rsplit("/", 1)[-1]
        assert "invite_code" in schema["components"]["schemas"][name]["properties"]
        assert "404" in op["responses"]
    cancel = schema["paths"]["/api/v1/pacts/{pact_id}/cancel"]["post"]
    assert {"200", "403", "404", "409"} <= set(cancel["responses"])


# --- the Mini App declines only when asked to ------------------------------------------


@pytest.mark.parametrize("data", [{}, {"action": ""}, {"action": "maybe"}])
def test_a_bare_post_to_the_invite_changes_nothing(invite, partner, data):
    response = MiniApp(partner).post(f"/invite/{invite.invite_code}", data)
    assert response.status_code == 422
    assert "Tap Accept or No thanks" in text(response)
    assert _status(invite) == Pact.Status.PENDING_ACCEPT
    assert not OutboxMessage.objects.filter(kind="pact_declined").exists()


def test_an_explicit_decline_action_declines(invite, partner):
    response = MiniApp(partner).post(f"/invite/{invite.invite_code}", {"action": "decline"})
    assert response.status_code == 200
    assert "Invite declined." in text(response)
    assert _status(invite) == Pact.Status.DECLINED


# --- answered codes show strangers only their status -----------------------------------


def _answer(how, invite, partner, clock):
    if how == "accepted":
        pact_accept(invite, partner)
    elif how == "declined":
        pact_decline(invite, partner)
    elif how == "cancelled":
        pact_cancel(invite, invite.initiator)
    else:
        clock.shift(timedelta(days=8))


ANSWERS = {
    "accepted": ("ALREADY_ACCEPTED", "This invite was already answered"),
    "declined": ("DECLINED", "This invite was declined"),
    "cancelled": ("CANCELLED", "This invite was withdrawn"),
    "expired": ("EXPIRED", "This invite has expired"),
}


@pytest.mark.parametrize("how", list(ANSWERS))
def test_an_answered_invite_shows_a_stranger_only_its_status_in_the_api(
    clock, invite, partner, stranger, how
):
    _answer(how, invite, partner, clock)
    response = client_for(stranger).get(f"{API}/invites/{invite.invite_code}")
    assert response.status_code == 200
    assert response.json() == {"pact": None, "initiator": None, "status": ANSWERS[how][0]}


@pytest.mark.parametrize("how", list(ANSWERS))
def test_an_answered_invite_shows_a_stranger_only_its_status_in_the_mini_app(
    clock, invite, partner, stranger, how
):
    _answer(how, invite, partner, clock)
    body = text(MiniApp(stranger).get(f"/invite/{invite.invite_code}"))
    assert ANSWERS[how][1] in body
    for secret in (invite.title, "Alex", "£5", "Europe/London"):
        assert secret not in body


def test_an_open_invite_still_shows_its_terms(invite, stranger):
    body = client_for(stranger).get(f"{API}/invites/{invite.invite_code}").json()
    assert body["status"] == "PENDING_ACCEPT"
    assert body["pact"]["title"] == invite.title
    assert "Alex" in text(MiniApp(stranger).get(f"/invite/{invite.invite_code}"))


def test_the_pacts_own_members_still_see_an_accepted_invite(invite, partner):
    pact_accept(invite, partner)
    body = client_for(partner).get(f"{API}/invites/{invite.invite_code}").json()
    assert body["pact"]["title"] == invite.title
    assert "You're already in this pact." in text(
        MiniApp(partner).get(f"/invite/{invite.invite_code}")
    )


# --- withdrawing an invite ---------------------------------------------------------------


def test_the_initiator_withdraws_a_pending_invite_and_both_are_told(invite, initiator, partner):
    response = client_for(initiator).post(f"{API}/pacts/{invite.pk}/cancel")
    assert response.status_code == 200
    assert response.json()["pact"]["status"] == "CANCELLED"
    assert response.json()["invite_link"] is None
    assert _status(invite) == Pact.Status.CANCELLED
    mine = OutboxMessage.objects.get(user=initiator, kind="pact_cancelled")
    assert render(mine).text.startswith("🗑️ You withdrew your invite for <b>Gym 🏋️</b>.")
    theirs = OutboxMessage.objects.get(user=partner, kind="invite_cancelled")
    assert render(theirs).text.startswith("🗑️ <b>Alex</b> withdrew their invite to <b>Gym 🏋️</b>.")


def test_withdrawing_tells_only_the_initiator_when_the_partner_is_unknown(clock, initiator):
    pact = pact_create(initiator=initiator, terms=make_terms(partner_username="nobody_here"))
    pact_cancel(pact, initiator)
    assert list(OutboxMessage.objects.values_list("kind", flat=True)) == ["pact_cancelled"]


def test_a_withdrawn_invite_cannot_be_accepted_or_withdrawn_again(invite, initiator, partner):
    pact_cancel(invite, initiator)
    response = client_for(partner).post(f"{API}/invites/{invite.invite_code}/accept")
    assert_error(response, 409, "PACT_NOT_ACTIVE")
    again = client_for(initiator).post(f"{API}/pacts/{invite.pk}/cancel")
    assert_error(again, 409, "PACT_NOT_ACTIVE")
    assert OutboxMessage.objects.filter(kind="pact_cancelled").count() == 1


def test_only_the_initiator_may_withdraw_and_only_while_pending(
    clock, initiator, partner, stranger
):
    pending = pact_create(initiator=initiator, terms=make_terms())
    assert not can_cancel(pending, stranger)
    assert_error(
        client_for(stranger).post(f"{API}/pacts/{pending.pk}/cancel"),
        403,
        "FORBIDDEN_NOT_PARTICIPANT",
    )
    active = make_active_pact(initiator, partner, title="Run")
    assert_error(
        client_for(partner).post(f"{API}/pacts/{active.pk}/cancel"), 403, "FORBIDDEN_WRONG_ROLE"
    )
    assert_error(
        client_for(initiator).post(f"{API}/pacts/{active.pk}/cancel"), 409, "PACT_NOT_ACTIVE"
    )
    assert _status(active) == Pact.Status.ACTIVE
    clock.shift(timedelta(days=8))
    with pytest.raises(DomainError) as refusal:
        pact_cancel(pending, initiator)
    assert refusal.value.code == "PACT_NOT_ACTIVE"
    assert can_cancel(pending, initiator) is False


def test_the_pending_pact_screen_withdraws_after_a_confirm_step(invite, initiator):
    screen = text(MiniApp(initiator).get(f"/pacts/{invite.pk}"))
    assert "Withdraw invite" in screen
    confirm = text(MiniApp(initiator).get(f"/pacts/{invite.pk}", confirm="withdraw"))
    assert "Yes, withdraw it" in confirm
    assert _status(invite) == Pact.Status.PENDING_ACCEPT
    response = MiniApp(initiator).post(f"/pacts/{invite.pk}/cancel")
    assert response.status_code == 200
    assert "You withdrew this invite" in text(response)
    assert _status(invite) == Pact.Status.CANCELLED


def test_the_mini_app_cancel_refuses_a_stranger(invite, stranger):
    response = MiniApp(stranger).post(f"/pacts/{invite.pk}/cancel")
    assert response.status_code == 403
    assert _status(invite) == Pact.Status.PENDING_ACCEPT


def test_the_partners_link_says_the_invite_was_withdrawn(invite, initiator, partner):
    pact_cancel(invite, initiator)
    body = text(MiniApp(partner).get(f"/invite/{invite.invite_code}"))
    assert "This invite was withdrawn" in body
    assert "Accept pact" not in body


# --- the initiator hears of a decline in the app ---------------------------------------


def test_a_declined_invite_shows_on_the_initiators_home_and_pact_screen(invite, initiator, partner):
    pact_decline(invite, partner)
    home = text(MiniApp(initiator).get("/"))
    assert invite.title in home and "Sam said no thanks" in home
    screen = text(MiniApp(initiator).get(f"/pacts/{invite.pk}"))
    assert "Sam said no thanks" in screen


# --- a withdrawal racing an acceptance ---------------------------------------------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_withdraw_racing_accept_ends_one_way_only():
    alex, sam = make_user("Alex"), make_user("Sam")
    with time_machine.travel(MONDAY, tick=False):
        for round_ in range(5):
            pact = pact_create(initiator=alex, terms=make_terms(title=f"Race {round_}"))

            def answer(i, pact=pact):
                fresh = invite_for(pact.invite_code)
                return pact_cancel(fresh, alex) if i == 0 else pact_accept(fresh, sam)

            results = run_together(2, answer)
            won = [r for r in results if isinstance(r, Pact)]
            lost = [r for r in results if isinstance(r, DomainError)]
            assert len(won) == 1 and len(lost) == 1, results
            assert lost[0].code == "PACT_NOT_ACTIVE"
            pact.refresh_from_db()
            assert pact.status in (Pact.Status.CANCELLED, Pact.Status.ACTIVE)
            kinds = set(
                OutboxMessage.objects.filter(payload__pact_id=str(pact.pk)).values_list(
                    "kind", flat=True
                )
            )
            assert kinds == (
                {"pact_cancelled"} if pact.status == "CANCELLED" else {"pact_accepted"}
            )
