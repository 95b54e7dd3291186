"""The ledger never loses, doubles or silently changes an entry — enforced by the database."""

from datetime import UTC, date, datetime

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from ledger.models import AppendOnlyError, LedgerEntry, PactBalance
from pacts.actions import balance_of, day_for
from pacts.sweeps import process_deadlines

pytestmark = pytest.mark.django_db


@pytest.fixture
def forfeit(clock, pact):
    clock.move_to(datetime(2025, 1, 20, 21, 1, tzinfo=UTC))
    process_deadlines()
    return LedgerEntry.objects.get()


def test_database_rejects_update_of_a_ledger_entry(forfeit):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(pk=forfeit.pk).update(amount=1)
    assert LedgerEntry.objects.get().amount == 500


def test_database_rejects_delete_of_a_ledger_entry(forfeit):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM ledger_entries")
    assert LedgerEntry.objects.count() == 1


def test_model_refuses_to_save_or_delete_an_existing_entry(forfeit):
    forfeit.note = "edited"
    with pytest.raises(AppendOnlyError):
        forfeit.save()
    with pytest.raises(AppendOnlyError):
        forfeit.delete()


def test_only_one_forfeit_per_day(forfeit):
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            pact_id=forfeit.pact_id, pact_day_id=forfeit.pact_day_id, type="FORFEIT", amount=500
        )


def test_only_one_waiver_per_day(forfeit):
    LedgerEntry.waiver(forfeit, now=forfeit.created_at).save()
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.waiver(forfeit, now=forfeit.created_at).save()


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "FORFEIT", "amount": -5},
        {"type": "WAIVER", "amount": 5},
        {"type": "SETTLEMENT", "amount": 5},
        {"type": "ADJUSTMENT", "amount": 5, "note": ""},
        {"type": "ADJUSTMENT", "amount": 0, "note": "why"},
        {"type": "BONUS", "amount": 5},
    ],
)
def test_check_constraints_refuse_impossible_entries(forfeit, fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            pact_id=forfeit.pact_id, pact_day_id=forfeit.pact_day_id, **fields
        )


def test_pact_balances_view_sums_the_ledger(forfeit, pact, partner):
    day_for(pact, date(2025, 1, 20)).waive(partner)
    LedgerEntry.objects.create(pact=pact, type="ADJUSTMENT", amount=250, note="correction")
    row = PactBalance.objects.get(pact=pact)
    assert (row.balance, row.total_forfeits, row.total_settlements) == (250, 1, 0)
    assert balance_of(pact) == 250


def test_updated_at_is_kept_by_the_database_on_bulk_updates(clock, pact):
    from pacts.models import Pact

    long_ago = datetime(2000, 1, 1, tzinfo=UTC)
    Pact.objects.filter(pk=pact.pk).update(updated_at=long_ago)  # set explicitly: kept
    assert Pact.objects.get(pk=pact.pk).updated_at == long_ago
    Pact.objects.filter(pk=pact.pk).update(title="Renamed")  # bypasses auto_now
    assert Pact.objects.get(pk=pact.pk).updated_at > long_ago


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transition_leaves_no_entry_and_no_message(clock, pact, partner):
    from outbox.models import OutboxMessage

    clock.move_to(datetime(2025, 1, 20, 21, 1, tzinfo=UTC))
    process_deadlines()
    day = day_for(pact, date(2025, 1, 20))
    with pytest.raises(RuntimeError), transaction.atomic():
        day.waive(partner)
        raise RuntimeError("something later in the request failed")
    day.refresh_from_db()
    assert day.status == "MISSED"
    assert not LedgerEntry.objects.filter(type="WAIVER").exists()
    assert not OutboxMessage.objects.filter(kind="day_waived").exists()


# Committed data (transaction=True): inside the test's own transaction PostgreSQL would
# refuse any TRUNCATE for the pending FK checks instead. The flush after each of these
# tests is itself the proof that the suite can still empty the tables.
@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "statement",
    ["TRUNCATE ledger_entries CASCADE", "TRUNCATE ledger_entries, settlements"],
)
def test_database_rejects_truncate_of_the_ledger(forfeit, statement):
    with (
        pytest.raises(DatabaseError, match="append-only: TRUNCATE is forbidden"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert LedgerEntry.objects.count() == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_cascade_from_another_table_cannot_empty_the_ledger(forfeit):
    with (
        pytest.raises(DatabaseError, match="append-only: TRUNCATE is forbidden"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE users CASCADE")
    assert LedgerEntry.objects.count() == 1


def test_an_unqualified_delete_cannot_empty_the_ledger_on_either_engine(forfeit):
    """SQLite has no TRUNCATE: its table-wipe shortcut is `DELETE FROM t` with no WHERE,
    which the delete trigger refuses (and disables); PostgreSQL's row trigger too."""
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM ledger_entries")
    assert LedgerEntry.objects.count() == 1
