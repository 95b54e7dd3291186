"""The ledger admin: staff can only add ADJUSTMENT entries, with a note, and sign them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from conftest import make_user
from ledger.models import LedgerEntry, Settlement
from pacts.actions import balance_of
from pacts.models import PactDay

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return make_user("Olga", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def missed_pact(pact, clock):
    """The gym pact with Monday missed: a £5 FORFEIT on the ledger."""
    clock.shift(timedelta(hours=13))  # Monday 22:00, past the 21:00 deadline
    from pacts.sweeps import process_deadlines

    process_deadlines()
    assert balance_of(pact) == 500
    return pact


def add_url() -> str:
    return reverse("admin:ledger_ledgerentry_add")


def test_staff_adjustment_is_recorded_with_its_author_and_moves_the_balance(
    admin_client, missed_pact, staff
):
    response = admin_client.post(
        add_url(), {"pact": str(missed_pact.pk), "amount": "-200", "note": "Gym was shut"}
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    entry = LedgerEntry.objects.get(type=LedgerEntry.Type.ADJUSTMENT)
    assert entry.amount == -200
    assert entry.note == "Gym was shut"
    assert entry.created_by_user == staff
    assert entry.from_user == missed_pact.initiator
    assert entry.to_user == missed_pact.partner
    assert balance_of(missed_pact) == 300


def test_an_adjustment_needs_a_note(admin_client, missed_pact):
    response = admin_client.post(
        add_url(), {"pact": str(missed_pact.pk), "amount": "100", "note": "  "}
    )

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not LedgerEntry.objects.filter(type=LedgerEntry.Type.ADJUSTMENT).exists()


def test_an_adjustment_cannot_take_the_balance_below_zero(admin_client, missed_pact):
    response = admin_client.post(
        add_url(), {"pact": str(missed_pact.pk), "amount": "-600", "note": "Too generous"}
    )

    assert response.status_code == 200
    assert "below zero" in response.content.decode()
    assert balance_of(missed_pact) == 500


def test_an_adjustment_of_zero_is_refused(admin_client, missed_pact):
    response = admin_client.post(
        add_url(), {"pact": str(missed_pact.pk), "amount": "0", "note": "Nothing"}
    )

    assert response.status_code == 200
    assert "non-zero" in response.content.decode()


def test_staff_cannot_choose_another_entry_type(admin_client, missed_pact):
    admin_client.post(
        add_url(),
        {"pact": str(missed_pact.pk), "amount": "100", "note": "Sneaky", "type": "FORFEIT"},
    )

    assert LedgerEntry.objects.filter(type=LedgerEntry.Type.FORFEIT).count() == 1
    assert LedgerEntry.objects.get(note="Sneaky").type == LedgerEntry.Type.ADJUSTMENT


def test_the_add_form_offers_only_pact_amount_and_note(admin_client, missed_pact):
    response = admin_client.get(add_url() + f"?pact={missed_pact.pk}")

    form = response.context["adminform"].form
    assert list(form.fields) == ["pact", "amount", "note"]
    assert form.initial["pact"] == str(missed_pact.pk)


def test_an_entry_cannot_be_edited_in_the_admin(admin_client, missed_pact):
    entry = LedgerEntry.objects.get(pact=missed_pact)
    url = reverse("admin:ledger_ledgerentry_change", args=[entry.pk])

    page = admin_client.get(url)
    posted = admin_client.post(url, {"pact": str(missed_pact.pk), "amount": "1", "note": "x"})

    assert page.status_code == 200  # shown, read-only
    assert 'name="amount"' not in page.content.decode()
    assert posted.status_code == 403
    entry.refresh_from_db()
    assert entry.amount == 500


def test_an_entry_cannot_be_deleted_in_the_admin(admin_client, missed_pact):
    entry = LedgerEntry.objects.get(pact=missed_pact)
    url = reverse("admin:ledger_ledgerentry_delete", args=[entry.pk])

    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()


def test_entries_cannot_be_deleted_in_bulk(admin_client, missed_pact):
    entry = LedgerEntry.objects.get(pact=missed_pact)
    changelist = reverse("admin:ledger_ledgerentry_changelist")

    page = admin_client.get(changelist)
    posted = admin_client.post(
        changelist,
        {"action": "delete_selected", "_selected_action": [str(entry.pk)], "post": "yes"},
    )

    assert "delete_selected" not in page.content.decode()
    assert posted.status_code in (200, 302)
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()
    assert balance_of(missed_pact) == 500


def test_no_admin_action_is_offered_on_ledger_entries(admin_client, missed_pact):
    response = admin_client.get(reverse("admin:ledger_ledgerentry_changelist"))

    assert response.context["action_form"] is None


def test_settlements_are_read_only_history(admin_client, missed_pact):
    from ledger.actions import settlement_propose

    settlement = settlement_propose(missed_pact, missed_pact.partner, amount=200)
    change = reverse("admin:ledger_settlement_change", args=[settlement.pk])
    delete = reverse("admin:ledger_settlement_delete", args=[settlement.pk])

    assert admin_client.get(change).status_code == 200
    assert admin_client.post(change, {"status": "CONFIRMED"}).status_code == 403
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert admin_client.get(reverse("admin:ledger_settlement_add")).status_code == 403
    settlement.refresh_from_db()
    assert settlement.status == Settlement.Status.PENDING


@pytest.mark.parametrize(
    "term",
    ["title", "invite_code", "telegram_id", "username"],
)
def test_ledger_entries_can_be_found_by_pact_or_person(admin_client, missed_pact, term):
    initiator = missed_pact.initiator
    value = {
        "title": "Gym",
        "invite_code": missed_pact.invite_code,
        "telegram_id": str(initiator.telegram_user_id),
        "username": initiator.username,
    }[term]

    response = admin_client.get(reverse("admin:ledger_ledgerentry_changelist"), {"q": value})

    assert list(response.context["cl"].result_list) == list(
        LedgerEntry.objects.filter(pact=missed_pact)
    )


def test_a_forfeited_day_is_listed_with_its_entry(admin_client, missed_pact):
    day = PactDay.objects.get(pact=missed_pact, status=PactDay.Status.MISSED)

    response = admin_client.get(reverse("admin:ledger_ledgerentry_changelist"))

    assert response.status_code == 200
    assert LedgerEntry.objects.get(pact_day=day).note in response.content.decode()
