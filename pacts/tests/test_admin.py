"""The pacts admin: find people and pacts, read their history, change none of it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import make_active_pact, make_user
from outbox.models import OutboxMessage
from pacts.models import Pact, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, db):
    client.force_login(make_user("Olga", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def other_pact(clock, stranger):
    return make_active_pact(make_user("Kim"), stranger, title="Read 20 pages")


def search(client, model: str, term: str, *, app: str = "pacts") -> list:
    response = client.get(reverse(f"admin:{app}_{model}_changelist"), {"q": term})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.mark.parametrize("field", ["title", "invite_code", "telegram_id", "username"])
def test_pacts_can_be_found_by_title_invite_code_and_either_person(
    admin_client, pact, other_pact, field
):
    partner = pact.partner
    term = {
        "title": "gym",
        "invite_code": pact.invite_code,
        "telegram_id": str(partner.telegram_user_id),
        "username": partner.username,
    }[field]

    assert search(admin_client, "pact", term) == [pact]


def test_a_search_for_words_does_not_break_the_telegram_id_lookup(admin_client, pact):
    assert search(admin_client, "pact", "no such pact") == []


@pytest.mark.parametrize("field", ["telegram_id", "username", "name"])
def test_users_can_be_found_by_telegram_id_username_and_name(admin_client, initiator, field):
    term = {
        "telegram_id": str(initiator.telegram_user_id),
        "username": initiator.username,
        "name": "Alex",
    }[field]

    assert search(admin_client, "user", term) == [initiator]


def test_the_pact_page_shows_participants_days_ledger_and_a_way_to_adjust(admin_client, pact):
    response = admin_client.get(reverse("admin:pacts_pact_change", args=[pact.pk]))
    page = response.content.decode()

    assert response.status_code == 200
    assert "Alex" in page and "Sam" in page
    assert "2025-01-20" in page or "20 Jan 2025" in page or "Jan. 20, 2025" in page
    assert reverse("admin:ledger_ledgerentry_add") + f"?pact={pact.pk}" in page
    # Read-only: no editable inputs for the pact's fields or its inlines.
    assert 'name="title"' not in page
    assert 'name="days-0-status"' not in page


def test_a_pact_cannot_be_changed_added_or_deleted_in_the_admin(admin_client, pact):
    change = reverse("admin:pacts_pact_change", args=[pact.pk])

    assert admin_client.post(change, {"title": "Renamed"}).status_code == 403
    assert admin_client.get(reverse("admin:pacts_pact_add")).status_code == 403
    assert (
        admin_client.post(
            reverse("admin:pacts_pact_delete", args=[pact.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    pact.refresh_from_db()
    assert pact.title == "Gym 🏋️"


def test_users_cannot_be_deleted_in_the_admin(admin_client, initiator):
    url = reverse("admin:pacts_user_delete", args=[initiator.pk])

    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=initiator.pk).exists()


def test_staff_can_switch_an_account_off(admin_client, initiator):
    url = reverse("admin:pacts_user_change", args=[initiator.pk])

    response = admin_client.post(url, {"is_staff": "", "is_superuser": "", "groups": []})

    assert response.status_code == 302
    initiator.refresh_from_db()
    assert initiator.is_active is False
    assert initiator.display_name == "Alex"


def test_the_outbox_is_listed_and_searchable_by_chat_id(admin_client, pact):
    partner = pact.partner
    message = OutboxMessage.objects.filter(user=pact.initiator).first()
    assert message is not None

    found = search(admin_client, "outboxmessage", str(message.chat_id), app="outbox")

    assert message in found
    assert all(m.chat_id == message.chat_id for m in found)
    assert partner.telegram_user_id != message.chat_id


def test_failed_messages_can_be_queued_again_but_not_sent_ones(admin_client, pact, clock):
    failed = OutboxMessage.objects.first()
    OutboxMessage.objects.filter(pk=failed.pk).update(
        status=OutboxMessage.Status.FAILED, attempts=5, last_error="Bad Gateway"
    )
    sent = OutboxMessage.objects.create(
        user=pact.partner,
        chat_id=pact.partner.telegram_user_id,
        kind="pact_accepted",
        dedupe_key="test:sent",
        status=OutboxMessage.Status.SENT,
    )

    admin_client.post(
        reverse("admin:outbox_outboxmessage_changelist"),
        {"action": "send_again", "_selected_action": [str(failed.pk), str(sent.pk)]},
    )

    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (failed.status, failed.attempts) == (OutboxMessage.Status.PENDING, 0)
    assert sent.status == OutboxMessage.Status.SENT


def test_the_admin_lists_render_for_every_model(admin_client, pact):
    for name in ["pacts_user", "pacts_pact", "outbox_outboxmessage", "ledger_settlement"]:
        assert admin_client.get(reverse(f"admin:{name}_changelist")).status_code == 200
    assert Pact.objects.count() == 1
