"""Who may call what: every endpoint × initiator / partner / stranger / anonymous.

The world, on Wednesday 2025-01-22 09:00 (London = UTC in January), of Alex's pact with
Sam (every day, 21:00, 72-hour dispute window, active since Monday):
Monday checked in and disputed by Sam on Wednesday 08:00 (DISPUTED); Tuesday MISSED
(£5 owed); Wednesday (today) and Thursday PENDING. Alex also has a PENDING_ACCEPT pact.
"""

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest

from conftest import make_active_pact, make_terms
from habitpact.tests.api import API, client_for
from ledger.actions import settlement_propose
from pacts.actions import day_for, pact_create
from pacts.sweeps import process_deadlines

pytestmark = pytest.mark.django_db

MON, TUE, WED, THU = (date(2025, 1, d) for d in (20, 21, 22, 23))


@pytest.fixture
def world(clock, initiator, partner):
    pact = make_active_pact(initiator, partner, dispute_window_hours=72)
    day_for(pact, MON).check_in(initiator)
    clock.move_to(datetime(2025, 1, 22, 8, 0, tzinfo=UTC))
    day_for(pact, MON).dispute(partner, reason="Really?")
    clock.move_to(datetime(2025, 1, 22, 9, 0, tzinfo=UTC))
    process_deadlines()
    day_for(pact, THU)
    pending = pact_create(initiator=initiator, terms=make_terms(title="Read", start_date=WED))
    return SimpleNamespace(pact=pact, pending=pending, initiator=initiator, partner=partner)


def _propose(w):
    return settlement_propose(w.pact, w.initiator, amount=100).pk


def _check_in_today(w):
    day_for(w.pact, WED).check_in(w.initiator)


NEW_PACT = {
    "title": "Run",
    "stake_amount": 100,
    "schedule_days": [True] * 7,
    "deadline_time": "20:00",
    "start_date": "2025-01-22",
}


def PACT_CODE(w):  # noqa: N802 - a body, named like the constant bodies beside it
    return {"invite_code": w.pact.invite_code}


def PENDING_CODE(w):  # noqa: N802
    return {"invite_code": w.pending.invite_code}


# name: (method, path, body (or a function of the world), prepare, {persona: status})
I, P, S, A = "initiator", "partner", "stranger", "anonymous"  # noqa: E741
ENDPOINTS = {
    "me": ("get", "/users/me", None, None, {I: 200, P: 200, S: 200, A: 401}),
    "me_patch": ("patch", "/users/me", {}, None, {I: 200, P: 200, S: 200, A: 401}),
    "pacts": ("get", "/pacts", None, None, {I: 200, P: 200, S: 200, A: 401}),
    "pact_create": ("post", "/pacts", NEW_PACT, None, {I: 201, P: 201, S: 201, A: 401}),
    "pact": ("get", "/pacts/{pact}", None, None, {I: 200, P: 200, S: 403, A: 401}),
    # Rule 15: accept/decline by id need the invite code; without it, 404 for everyone.
    "accept_active": (
        "post",
        "/pacts/{pact}/accept",
        PACT_CODE,
        None,
        {I: 409, P: 409, S: 409, A: 401},
    ),
    "accept_pending": (
        "post",
        "/pacts/{pending}/accept",
        PENDING_CODE,
        None,
        {I: 403, P: 200, S: 200, A: 401},
    ),
    "accept_without_code": (
        "post",
        "/pacts/{pending}/accept",
        {},
        None,
        {I: 404, P: 404, S: 404, A: 401},
    ),
    "accept_with_another_code": (
        "post",
        "/pacts/{pending}/accept",
        PACT_CODE,
        None,
        {I: 404, P: 404, S: 404, A: 401},
    ),
    "decline_active": (
        "post",
        "/pacts/{pact}/decline",
        PACT_CODE,
        None,
        {I: 409, P: 409, S: 409, A: 401},
    ),
    "decline_pending": (
        "post",
        "/pacts/{pending}/decline",
        PENDING_CODE,
        None,
        {I: 403, P: 200, S: 200, A: 401},
    ),
    "decline_without_code": (
        "post",
        "/pacts/{pending}/decline",
        None,
        None,
        {I: 404, P: 404, S: 404, A: 401},
    ),
    # Withdrawing: the initiator's own pending invite only. Sam is no participant of the
    # pending pact, so his 403 there is FORBIDDEN_NOT_PARTICIPANT, not the wrong role.
    "pact_cancel_pending": (
        "post",
        "/pacts/{pending}/cancel",
        None,
        None,
        {I: 200, P: (403, "FORBIDDEN_NOT_PARTICIPANT"), S: 403, A: 401},
    ),
    "pact_cancel_active": (
        "post",
        "/pacts/{pact}/cancel",
        None,
        None,
        {I: 409, P: 403, S: 403, A: 401},
    ),
    "end": ("post", "/pacts/{pact}/end", {}, None, {I: 200, P: 200, S: 403, A: 401}),
    "days": ("get", "/pacts/{pact}/days", None, None, {I: 200, P: 200, S: 403, A: 401}),
    "day": ("get", f"/pacts/{{pact}}/days/{WED}", None, None, {I: 200, P: 200, S: 403, A: 401}),
    "checkin": (
        "post",
        f"/pacts/{{pact}}/days/{WED}/checkin",
        {},
        None,
        {I: 200, P: 403, S: 403, A: 401},
    ),
    "miss": (
        "post",
        f"/pacts/{{pact}}/days/{THU}/miss",
        None,
        None,
        {I: 200, P: 403, S: 403, A: 401},
    ),
    "dispute": (
        "post",
        f"/pacts/{{pact}}/days/{WED}/dispute",
        {},
        _check_in_today,
        {I: 403, P: 200, S: 403, A: 401},
    ),
    "concede": (
        "post",
        f"/pacts/{{pact}}/days/{MON}/resolve",
        {"resolution": "CONCEDE"},
        None,
        {I: 200, P: 403, S: 403, A: 401},
    ),
    "reject": (
        "post",
        f"/pacts/{{pact}}/days/{MON}/resolve",
        {"resolution": "REJECT"},
        None,
        {I: 200, P: 403, S: 403, A: 401},
    ),
    "withdraw": (
        "post",
        f"/pacts/{{pact}}/days/{MON}/resolve",
        {"resolution": "WITHDRAW"},
        None,
        {I: 403, P: 200, S: 403, A: 401},
    ),
    "waive": (
        "post",
        f"/pacts/{{pact}}/days/{TUE}/waive",
        None,
        None,
        {I: 403, P: 200, S: 403, A: 401},
    ),
    "skip": (
        "post",
        f"/pacts/{{pact}}/days/{THU}/skip",
        None,
        None,
        {I: 200, P: 200, S: 403, A: 401},
    ),
    "ledger": ("get", "/pacts/{pact}/ledger", None, None, {I: 200, P: 200, S: 403, A: 401}),
    "settlements": (
        "get",
        "/pacts/{pact}/settlements",
        None,
        None,
        {I: 200, P: 200, S: 403, A: 401},
    ),
    "propose": ("post", "/pacts/{pact}/settlements", {}, None, {I: 201, P: 201, S: 403, A: 401}),
    "confirm": (
        "post",
        "/settlements/{settlement}/confirm",
        None,
        _propose,
        {I: 200, P: 200, S: 403, A: 401},
    ),
    "cancel": (
        "post",
        "/settlements/{settlement}/cancel",
        None,
        _propose,
        {I: 200, P: 200, S: 403, A: 401},
    ),
    "invite": ("get", "/invites/{pending_code}", None, None, {I: 200, P: 200, S: 200, A: 401}),
    "invite_accept_pending": (
        "post",
        "/invites/{pending_code}/accept",
        None,
        None,
        {I: 403, P: 200, S: 200, A: 401},
    ),
    "invite_accept_active": (
        "post",
        "/invites/{pact_code}/accept",
        None,
        None,
        {I: 409, P: 409, S: 409, A: 401},
    ),
}

CODES = {
    (403, "stranger"): "FORBIDDEN_NOT_PARTICIPANT",
    (403, "initiator"): "FORBIDDEN_WRONG_ROLE",
    (404, "initiator"): "PACT_NOT_FOUND",
    (404, "partner"): "PACT_NOT_FOUND",
    (404, "stranger"): "PACT_NOT_FOUND",
    (403, "partner"): "FORBIDDEN_WRONG_ROLE",
    (401, "anonymous"): "UNAUTHORIZED",
    (409, "initiator"): "PACT_NOT_ACTIVE",
    (409, "partner"): "PACT_NOT_ACTIVE",
    (409, "stranger"): "PACT_NOT_ACTIVE",
}


@pytest.mark.parametrize("persona", [I, P, S, A])
@pytest.mark.parametrize("name", list(ENDPOINTS))
def test_authorization_matrix(world, stranger, name, persona):
    method, path, body, prepare, expected = ENDPOINTS[name]
    settlement = prepare(world) if prepare else None
    user = {I: world.initiator, P: world.partner, S: stranger, A: None}[persona]
    url = API + path.format(
        pact=world.pact.pk,
        pending=world.pending.pk,
        settlement=settlement,
        pending_code=world.pending.invite_code,
        pact_code=world.pact.invite_code,
    )
    if callable(body):
        body = body(world)
    response = getattr(client_for(user), method)(url, body, format="json")
    status, code = expected[persona], None
    if isinstance(status, tuple):  # a code other than the persona's usual one
        status, code = status
    assert response.status_code == status, (name, persona, response.content[:300])
    if status >= 400:
        assert response.json()["error"]["code"] == (code or CODES[(status, persona)])
        if persona == S:
            assert world.pact.title not in response.content.decode()
