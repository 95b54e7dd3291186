"""Export and erasure of a user's data (spec §15)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from conftest import make_active_pact, make_terms, make_user
from habitpact.auth import issue_token, upsert_telegram_user, user_from_token
from habitpact.errors import DomainError
from ledger.actions import settlement_propose
from ledger.models import LedgerEntry, Settlement
from outbox.models import OutboxMessage
from pacts.actions import balance_of, pact_create, today_for
from pacts.models import Pact, PactDay, User
from pacts.privacy import DELETED_NAME, user_delete, user_export
from pacts.sweeps import process_deadlines

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(pact, clock):
    """Monday checked in with a note, Tuesday missed, a pending settlement, an invite."""
    initiator, partner = pact.initiator, pact.partner
    today_for(pact).check_in(initiator, note="Leg day")
    clock.shift(timedelta(days=1, hours=13))  # Tuesday 22:00, Tuesday's deadline gone
    process_deadlines()
    settlement_propose(pact, partner, amount=200)
    invite = pact_create(
        initiator=initiator, terms=make_terms(title="Read", start_date=date(2025, 1, 22))
    )
    return pact, invite


def test_an_export_holds_every_record_of_the_user(history, initiator):
    pact, invite = history

    export = user_export(initiator)
    json.dumps(export)  # JSON-ready as it is

    assert export["user"]["telegram_user_id"] == initiator.telegram_user_id
    assert export["user"]["display_name"] == "Alex"
    assert "password" not in export["user"]
    by_id = {p["id"]: p for p in export["pacts"]}
    assert set(by_id) == {str(pact.pk), str(invite.pk)}
    gym = by_id[str(pact.pk)]
    assert gym["my_role"] == "INITIATOR"
    assert gym["partner_name"] == "Sam"
    assert [d["date"] for d in gym["days"]] == [
        d.date.isoformat() for d in PactDay.objects.filter(pact=pact).order_by("date")
    ]
    assert gym["days"][0]["checkin_note"] == "Leg day"
    assert {e["id"] for e in gym["ledger"]} == {
        str(e.pk) for e in LedgerEntry.objects.filter(pact=pact)
    }
    assert [s["amount"] for s in gym["settlements"]] == [200]
    assert {m["id"] for m in export["notifications"]} == set(
        OutboxMessage.objects.filter(user=initiator).values_list("id", flat=True)
    )


def test_an_export_leaves_out_pacts_the_user_is_not_in(history, clock, stranger):
    other = make_active_pact(
        make_user("Kim"), stranger, title="Secret", start_date=date(2025, 1, 22)
    )

    export = user_export(history[0].initiator)

    assert str(other.pk) not in {p["id"] for p in export["pacts"]}


def test_deleting_the_partner_keeps_the_initiators_ledger_and_balance(history, partner):
    pact, _ = history
    entries = list(LedgerEntry.objects.filter(pact=pact).values_list("id", "amount", "to_user"))
    balance = balance_of(pact)

    user_delete(partner)

    assert balance == 500
    assert balance_of(pact) == balance
    assert list(LedgerEntry.objects.filter(pact=pact).values_list("id", "amount", "to_user")) == (
        entries
    )
    assert Pact.objects.get(pk=pact.pk).partner.display_name == DELETED_NAME


def test_deleting_an_account_erases_personal_fields(history, initiator):
    old_telegram_id = initiator.telegram_user_id

    user_delete(initiator)

    initiator.refresh_from_db()
    assert initiator.display_name == DELETED_NAME
    assert initiator.username is None
    assert initiator.telegram_user_id < 0 and initiator.telegram_user_id != -old_telegram_id
    assert initiator.is_active is False
    assert initiator.deleted_at is not None
    assert not initiator.has_usable_password()
    assert PactDay.objects.filter(checkin_note__isnull=False).count() == 0
    assert not OutboxMessage.objects.filter(user=initiator).exists()


def test_deleting_an_account_ends_active_pacts_and_tells_the_partner(history, initiator):
    pact, invite = history
    partner = pact.partner

    user_delete(initiator)

    pact.refresh_from_db()
    invite.refresh_from_db()
    assert pact.status == Pact.Status.ENDED
    assert invite.status == Pact.Status.EXPIRED
    assert OutboxMessage.objects.filter(user=partner, kind="pact_ended").count() == 1


def test_deleting_an_account_cancels_pending_settlements(history, initiator):
    pact, _ = history

    user_delete(initiator)

    settlement = Settlement.objects.get(pact=pact)
    assert settlement.status == Settlement.Status.CANCELLED
    assert settlement.cancelled_by_user == initiator


def test_the_same_person_can_start_fresh_after_deleting(history, initiator):
    telegram_id = initiator.telegram_user_id
    token = issue_token(initiator)

    user_delete(initiator)
    fresh, created = upsert_telegram_user({"id": telegram_id, "first_name": "Alex"})

    assert created is True
    assert fresh.pk != initiator.pk
    assert fresh.participations.count() == 0
    with pytest.raises(DomainError):
        user_from_token(token)


def test_deleting_twice_changes_nothing_more(history, initiator):
    first = user_delete(initiator)
    again = user_delete(User.objects.get(pk=initiator.pk))

    assert again.telegram_user_id == first.telegram_user_id
    assert again.deleted_at == first.deleted_at


def test_a_deleted_partner_is_shown_as_deleted_user_in_the_partners_export(history, partner):
    pact, _ = history

    user_delete(partner)
    export = user_export(pact.initiator)

    gym = next(p for p in export["pacts"] if p["id"] == str(pact.pk))
    assert gym["partner_name"] == DELETED_NAME
    assert "sam_tg" not in json.dumps(export)


# --- the endpoints --------------------------------------------------------------------


def test_get_export_returns_the_users_data_as_a_json_file(history, initiator):
    from habitpact.tests.api import API, client_for

    response = client_for(initiator).get(f"{API}/users/me/export")

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="habitpact-export.json"'
    body = response.json()
    assert body["user"]["id"] == str(initiator.pk)
    assert {p["id"] for p in body["pacts"]} == {str(p.pk) for p in history}


def test_export_needs_a_signed_in_user(db):
    from habitpact.tests.api import API, assert_error, client_for

    assert_error(client_for(None).get(f"{API}/users/me/export"), 401, "UNAUTHORIZED")


def test_delete_me_erases_the_account_and_signs_it_out(history, initiator):
    from habitpact.tests.api import API, assert_error, client_for

    client = client_for(initiator)
    pact = history[0]

    response = client.delete(f"{API}/users/me")

    assert response.status_code == 204
    assert User.objects.get(pk=initiator.pk).display_name == DELETED_NAME
    assert Pact.objects.get(pk=pact.pk).status == Pact.Status.ENDED
    assert balance_of(pact) == 500
    assert_error(client.get(f"{API}/users/me"), 401, "UNAUTHORIZED")


def test_delete_me_is_in_the_api_schema(db):
    from habitpact.tests.api import API, client_for

    schema = client_for(None).get(f"{API}/schema/", HTTP_ACCEPT="application/json").json()

    assert "delete" in schema["paths"]["/api/v1/users/me"]
    assert "get" in schema["paths"]["/api/v1/users/me/export"]
