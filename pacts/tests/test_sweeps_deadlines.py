"""The deadline sweep: exactly one MISSED state, FORFEIT entry and message pair per day."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.db import connection, transaction

from conftest import make_active_pact, make_user
from ledger.models import LedgerEntry
from outbox.models import OutboxMessage
from pacts import sweeps
from pacts.actions import balance_of, day_for, pact_end
from pacts.models import PactDay, SkipRequest
from pacts.sweeps import materialize_days, process_deadlines

pytestmark = pytest.mark.django_db

MONDAY = date(2025, 1, 20)


def at(hour, minute=0, second=0, day=20, month=1):
    return datetime(2025, month, day, hour, minute, second, tzinfo=UTC)


def status_of(pact, day=MONDAY):
    return PactDay.objects.get(pact=pact, date=day).status


def test_a_day_stays_pending_one_second_before_its_deadline(clock, pact):
    clock.move_to(at(20, 59, 59))
    assert process_deadlines() == 0
    assert status_of(pact) == PactDay.Status.PENDING
    assert LedgerEntry.objects.count() == 0


def test_a_day_is_missed_at_its_deadline_with_one_forfeit(clock, pact, initiator, partner):
    clock.move_to(at(21))
    assert process_deadlines() == 1
    day = PactDay.objects.get(pact=pact, date=MONDAY)
    assert day.status == PactDay.Status.MISSED
    assert day.updated_at == at(21)
    entry = LedgerEntry.objects.get()
    assert (entry.type, entry.amount, entry.pact_day_id) == ("FORFEIT", 500, day.pk)
    assert (entry.from_user_id, entry.to_user_id) == (initiator.pk, partner.pk)
    assert entry.note == "Missed check-in"
    assert entry.created_at == at(21)
    assert balance_of(pact) == 500


def test_the_missed_message_goes_to_both_participants(clock, pact, initiator, partner):
    clock.move_to(at(21, 1))
    process_deadlines()
    day = PactDay.objects.get(pact=pact, date=MONDAY)
    rows = OutboxMessage.objects.filter(kind="missed").order_by("chat_id")
    assert {(m.user_id, m.chat_id) for m in rows} == {
        (initiator.pk, initiator.telegram_user_id),
        (partner.pk, partner.telegram_user_id),
    }
    for message in rows:
        assert message.payload == {
            "pact_id": str(pact.pk),
            "day_id": str(day.pk),
            "date": "2025-01-20",
            "amount": 500,
        }
        assert message.dedupe_key == f"missed:{day.date}:{day.pk}:{message.user_id}"
        assert message.status == OutboxMessage.Status.PENDING
        assert message.next_attempt_at <= at(21, 1)


def test_a_check_in_at_the_last_second_is_never_missed(clock, pact, initiator):
    today = day_for(pact, MONDAY)
    clock.move_to(at(20, 59, 59))
    today.check_in(initiator)
    clock.move_to(at(21))
    assert process_deadlines() == 0
    assert status_of(pact) == PactDay.Status.DONE
    assert LedgerEntry.objects.count() == 0
    assert not OutboxMessage.objects.filter(kind="missed").exists()


def test_an_ended_pact_is_never_charged(clock, pact, initiator):
    pact_end(pact, initiator)
    clock.move_to(at(23))
    assert process_deadlines() == 0
    assert balance_of(pact) == 0


def test_running_the_sweep_twice_changes_nothing_the_second_time(clock, pact):
    clock.move_to(at(21, 5))
    assert process_deadlines() == 1
    assert process_deadlines() == 0
    assert LedgerEntry.objects.count() == 1
    assert OutboxMessage.objects.filter(kind="missed").count() == 2


def test_a_stopped_worker_catches_up_on_every_day_it_slept_through(clock, pact):
    clock.move_to(at(12, day=24))  # down since Monday morning
    materialize_days()
    assert process_deadlines() == 4  # Mon..Thu; Friday's deadline is still ahead
    assert LedgerEntry.objects.filter(type="FORFEIT").count() == 4
    assert balance_of(pact) == 2000
    assert status_of(pact, date(2025, 1, 24)) == PactDay.Status.PENDING


def test_batches_cover_everything_due(clock, initiator, partner):
    for i in range(7):
        make_active_pact(initiator, partner, title=f"P{i}")
    clock.move_to(at(21))
    assert process_deadlines(batch_size=3) == 7
    assert LedgerEntry.objects.filter(type="FORFEIT").count() == 7


def test_a_worker_killed_mid_sweep_loses_nothing_and_the_rerun_doubles_nothing(
    clock, initiator, partner, monkeypatch
):
    for i in range(5):
        make_active_pact(initiator, partner, title=f"P{i}")
    clock.move_to(at(21))
    name = "_miss_due_batch_sql" if connection.vendor == "postgresql" else "_miss_due_batch_orm"
    real = getattr(sweeps, name)
    calls = []

    def dies_in_second_batch(now, limit):
        calls.append(limit)
        done = real(now, limit)
        if len(calls) == 2:
            raise SystemExit("worker killed")  # after the writes, before the commit
        return done

    monkeypatch.setattr(sweeps, name, dies_in_second_batch)
    with pytest.raises(SystemExit):
        process_deadlines(batch_size=2)
    assert PactDay.objects.filter(status="MISSED").count() == 2  # the first batch stuck
    assert LedgerEntry.objects.count() == 2
    assert OutboxMessage.objects.filter(kind="missed").count() == 4  # none for the rollback
    monkeypatch.undo()
    assert process_deadlines(batch_size=2) == 3
    assert PactDay.objects.filter(status="MISSED").count() == 5
    assert LedgerEntry.objects.filter(type="FORFEIT").count() == 5
    assert OutboxMessage.objects.filter(kind="missed").count() == 10


def test_dst_spring_forward_day_is_missed_at_its_summer_time_deadline(initiator, partner):
    with time_machine.travel(at(12, day=29, month=3), tick=False) as clock:
        pact = make_active_pact(initiator, partner, start_date=date(2025, 3, 29))
        clock.move_to(at(0, day=30, month=3))
        materialize_days()
        # Sunday 30 March: 21:00 BST is 20:00 UTC.
        clock.move_to(at(19, 59, 59, day=30, month=3))
        assert process_deadlines() == 1  # only Saturday's (21:00 GMT)
        clock.move_to(at(20, day=30, month=3))
        assert process_deadlines() == 1
    assert status_of(pact, date(2025, 3, 30)) == PactDay.Status.MISSED


def test_dst_deadline_inside_the_skipped_hour_falls_due_when_the_clocks_jump(initiator, partner):
    with time_machine.travel(at(12, day=29, month=3), tick=False) as clock:
        make_active_pact(
            initiator, partner, start_date=date(2025, 3, 29), deadline_time=time(1, 30)
        )
        # 01:30 on 30 March does not exist in London; the deadline is 02:00 BST = 01:00 UTC.
        clock.move_to(at(0, 59, 59, day=30, month=3))
        assert process_deadlines() == 0
        clock.move_to(at(1, day=30, month=3))
        assert process_deadlines() == 1


def test_a_deleted_account_gets_no_message_but_the_forfeit_stands(clock, pact, partner):
    partner.deleted_at = at(10)
    partner.save(update_fields=["deleted_at"])
    clock.move_to(at(21))
    process_deadlines()
    assert LedgerEntry.objects.get().to_user_id == partner.pk
    assert list(OutboxMessage.objects.filter(kind="missed").values_list("user_id", flat=True)) == [
        pact.initiator.pk
    ]


def snapshot():
    entries = sorted(
        LedgerEntry.objects.values_list(
            "pact_id",
            "pact_day_id",
            "type",
            "amount",
            "from_user_id",
            "to_user_id",
            "note",
            "created_at",
        )
    )
    messages = sorted(
        (m.user_id, m.chat_id, m.kind, sorted(m.payload.items()), m.dedupe_key, m.status)
        for m in OutboxMessage.objects.filter(kind="missed")
    )
    days = sorted(PactDay.objects.values_list("id", "status", "updated_at"))
    # Rule 9: the open skip requests of the missed days lapse, and their initiators hear.
    lapsed = sorted(
        SkipRequest.objects.values_list("id", "day_id", "status", "answered_at", "updated_at")
    )
    told = sorted(
        (m.user_id, m.chat_id, m.kind, sorted(m.payload.items()), m.dedupe_key, m.status)
        for m in OutboxMessage.objects.filter(kind="skip_request_answered")
    )
    return entries, messages, days, lapsed, told


@pytest.mark.postgres_only
def test_the_set_based_sql_writes_exactly_what_the_orm_path_writes(clock, initiator, partner):
    gone = make_user("Gone")
    for i in range(4):
        make_active_pact(initiator, partner, title=f"P{i}", stake_amount=100 + i)
    make_active_pact(initiator, gone, title="with a deleted partner")
    gone.deleted_at = at(10)
    gone.save(update_fields=["deleted_at"])
    for day in PactDay.objects.filter(date=MONDAY, pact__title__in=["P0", "P1"]):
        day.request_skip(initiator, reason="Sick")
    clock.move_to(at(21, 30))
    with transaction.atomic():
        assert sweeps._miss_due_batch_orm(at(21, 30), 100) == 5
        by_orm = snapshot()
        transaction.set_rollback(True)
    assert LedgerEntry.objects.count() == 0
    with transaction.atomic():
        assert sweeps._miss_due_batch_sql(at(21, 30), 100) == 5
    assert snapshot() == by_orm
    assert len(by_orm[1]) == 9
    assert [row[2] for row in by_orm[3]] == ["LAPSED", "LAPSED"]
    assert len(by_orm[4]) == 2


def test_day_and_forfeit_ids_are_time_ordered_on_every_path(clock, initiator, partner):
    """Version 7 ids (ledger/0006): a later sweep's entries sort after an earlier one's,
    so the ledger's primary key grows at its right edge. On PostgreSQL the batch writes
    them in SQL (habitpact_uuid7()), elsewhere through the ORM (uuid6.uuid7)."""
    for i in range(3):
        make_active_pact(initiator, partner, title=f"P{i}")
    clock.move_to(at(21, 30))
    assert sweeps.process_deadlines() == 3
    monday = list(LedgerEntry.objects.values_list("id", flat=True))
    clock.move_to(at(21, 30) + timedelta(days=1))
    sweeps.materialize_days()
    assert sweeps.process_deadlines() == 3
    tuesday = set(LedgerEntry.objects.values_list("id", flat=True)) - set(monday)
    assert len(tuesday) == 3
    assert {entry.version for entry in [*monday, *tuesday]} == {7}
    assert max(monday) < min(tuesday)
    # The days too (pacts/0014): Wednesday's, made by Tuesday's materialisation, after
    # Monday's and Tuesday's, made when the pacts began.
    days = dict(PactDay.objects.values_list("id", "date"))
    assert {day.version for day in days} == {7}
    wednesday = {day for day, when in days.items() if when == date(2025, 1, 22)}
    assert len(wednesday) == 3 and min(wednesday) > max(set(days) - wednesday)
