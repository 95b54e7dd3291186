"""The outbox app: who receives what (one rule in three forms), the writers, and the
claim/lease/mark state machine every transport drives."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from outbox.models import (
    OPT_OUT_FIELD,
    Kind,
    OutboxMessage,
    notify,
    outbox_rows,
    receives,
    receives_q,
    receives_sql,
)
from pacts.models import User

pytestmark = pytest.mark.django_db

Status = OutboxMessage.Status


def _flags(user: User, deleted: bool, reminders: bool, disputes: bool) -> User:
    User.objects.filter(pk=user.pk).update(
        deleted_at=timezone.now() if deleted else None,
        notify_reminders=reminders,
        notify_disputes=disputes,
    )
    user.refresh_from_db()
    return user


def test_the_three_forms_of_the_recipient_rule_agree_for_every_kind(initiator):
    """`receives` (one user), `receives_q` (a queryset) and `receives_sql` (the PostgreSQL
    sweep's statement) give the same answer for every kind and every switch."""
    for deleted, reminders, disputes in itertools.product([False, True], repeat=3):
        user = _flags(initiator, deleted, reminders, disputes)
        for kind in Kind:
            by_object = receives(user, kind)
            by_query = User.objects.filter(receives_q(kind), pk=user.pk).exists()
            # The raw SQL condition, as the sweep's statement puts it.
            by_sql = (
                User.objects.filter(pk=user.pk).extra(where=[receives_sql(kind, "users")]).exists()
            )
            assert by_object == by_query == by_sql, (kind, deleted, reminders, disputes)


def test_deleted_accounts_receive_nothing_and_switches_silence_only_their_kinds(initiator):
    user = _flags(initiator, deleted=True, reminders=True, disputes=True)
    assert not any(receives(user, kind) for kind in Kind)
    user = _flags(initiator, deleted=False, reminders=False, disputes=False)
    silenced = {kind for kind in Kind if not receives(user, kind)}
    assert silenced == set(OPT_OUT_FIELD)
    assert silenced == {
        Kind.REMINDER,
        Kind.DISPUTE_OPENED_INITIATOR,
        Kind.DISPUTE_OPENED_PARTNER,
        Kind.DISPUTE_RESOLVED,
        Kind.DISPUTE_EXPIRED,
    }


def test_notify_writes_one_row_per_key_and_none_for_who_does_not_receive_it(initiator, partner):
    notify(initiator, Kind.PACT_ACCEPTED, "p1", pact_id="abc", by=partner)
    notify(initiator, Kind.PACT_ACCEPTED, "p1", pact_id="abc", by=partner)  # a retry
    row = OutboxMessage.objects.get()
    assert (row.kind, row.chat_id, row.dedupe_key) == (
        "pact_accepted",
        initiator.telegram_user_id,
        f"pact_accepted:p1:{initiator.pk}",
    )
    assert row.payload == {"pact_id": "abc", "by_id": str(partner.pk)}

    quiet = _flags(partner, deleted=False, reminders=True, disputes=False)
    notify(quiet, Kind.DISPUTE_RESOLVED, "d1")
    notify(quiet, Kind.PACT_ENDED, "d1")
    assert list(OutboxMessage.objects.filter(user=quiet).values_list("kind", flat=True)) == [
        "pact_ended"
    ]


def test_an_unknown_kind_fails_at_the_writer(initiator):
    with pytest.raises(ValueError):
        notify(initiator, "pact_acepted", "typo")
    with pytest.raises(ValueError):
        outbox_rows("pact_acepted", "typo", [(initiator.pk, 1, True)], {})
    assert not OutboxMessage.objects.exists()


def test_bulk_rows_leave_out_recipients_who_do_not_receive_them(initiator, partner):
    rows = outbox_rows(
        Kind.MISSED,
        "day1",
        [(initiator.pk, 11, True), (partner.pk, 22, False)],
        {"day_id": "day1"},
    )
    assert [(r.user_id, r.chat_id, r.dedupe_key) for r in rows] == [
        (initiator.pk, 11, f"missed:day1:{initiator.pk}")
    ]


def _rows(user: User, n: int, *, due=None) -> list[OutboxMessage]:
    due = due or timezone.now()
    return OutboxMessage.objects.bulk_create(
        OutboxMessage(
            user=user,
            chat_id=user.telegram_user_id,
            kind="reminder",
            dedupe_key=f"r{i}",
            next_attempt_at=due,
        )
        for i in range(n)
    )


def test_a_claim_leases_its_rows_so_a_second_claim_gets_others(initiator, clock):
    _rows(initiator, 5)
    now = timezone.now()
    first = OutboxMessage.objects.claim(limit=3, now=now, lease=timedelta(minutes=5))
    second = OutboxMessage.objects.claim(limit=3, now=now)
    assert len(first) == 3 and len(second) == 2
    assert not {r.pk for r in first} & {r.pk for r in second}
    assert OutboxMessage.objects.claim(limit=3, now=now) == []
    # The lease runs out: a sender that died mid-send loses nothing.
    later = OutboxMessage.objects.claim(limit=10, now=now + timedelta(minutes=5))
    assert len(later) == 5


def test_a_claim_skips_chats_that_have_enough_queued(initiator, partner):
    _rows(initiator, 2)
    OutboxMessage.objects.create(
        user=partner, chat_id=partner.telegram_user_id, kind="reminder", dedupe_key="p"
    )
    rows = OutboxMessage.objects.claim(
        limit=10, now=timezone.now(), skip_chats=[initiator.telegram_user_id]
    )
    assert [r.chat_id for r in rows] == [partner.telegram_user_id]


def test_marks_change_only_rows_still_pending(initiator, clock):
    sent, retried, limited, blocked, failed = _rows(initiator, 5)
    ids = OutboxMessage.objects.filter
    now = timezone.now()
    assert ids(pk=sent.pk).mark_sent(at=now) == 1
    assert ids(pk=retried.pk).retry(at=now + timedelta(seconds=30), error="timeout") == 1
    assert ids(pk=limited.pk).retry(at=now + timedelta(seconds=3), error="429", count=False) == 1
    assert ids(pk=blocked.pk).mark_undeliverable(error="403") == 1
    assert ids(pk=failed.pk).mark_failed(error="400") == 1
    # A second outcome for a settled row changes nothing (another path marked it first).
    assert ids(pk=sent.pk).mark_failed(error="late") == 0
    assert ids(pk=blocked.pk).release(at=now) == 0

    state = {r.pk: (r.status, r.attempts, r.last_error) for r in OutboxMessage.objects.all()}
    assert state == {
        sent.pk: (Status.SENT, 1, ""),
        retried.pk: (Status.PENDING, 1, "timeout"),
        limited.pk: (Status.PENDING, 0, "429"),
        blocked.pk: (Status.UNDELIVERABLE, 1, "403"),
        failed.pk: (Status.FAILED, 1, "400"),
    }
    assert OutboxMessage.objects.get(pk=sent.pk).sent_at == now


def test_send_again_requeues_failed_rows_only(initiator, clock):
    failed, sent = _rows(initiator, 2)
    OutboxMessage.objects.filter(pk=failed.pk).mark_failed(error="Bad Gateway")
    OutboxMessage.objects.filter(pk=sent.pk).mark_sent()
    assert OutboxMessage.objects.all().send_again() == 1
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (Status.PENDING, 0)
    assert OutboxMessage.objects.get(pk=sent.pk).status == Status.SENT


def test_the_table_keeps_its_name_and_belongs_to_the_outbox_app():
    assert OutboxMessage._meta.app_label == "outbox"
    assert OutboxMessage._meta.db_table == "outbox"
    assert "outbox" in connection.introspection.table_names()


@pytest.mark.postgres_only
def test_messages_carry_no_database_fk_to_users_but_the_ledger_keeps_its_own():
    """outbox/0002: users are tombstoned, never deleted, so the outbox skips the FK check
    each message paid at COMMIT; the ledger's FKs to users stay (the spec's DDL)."""

    def user_fks(table):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_constraint WHERE contype = 'f'"
                " AND conrelid = %s::regclass AND confrelid = 'users'::regclass",
                [table],
            )
            return cursor.fetchone()[0]

    assert user_fks("outbox") == 0
    assert user_fks("ledger_entries") == 3  # from, to, created by


def test_pruning_deletes_only_messages_finished_a_month_ago_never_a_queued_one(initiator):
    from outbox.tasks import RETENTION, prune_outbox
    from pacts.reach import LONGEST_SHELF_LIFE

    now = timezone.now()
    rows = {}
    for status in Status.values:
        for age in (RETENTION + timedelta(minutes=1), RETENTION - timedelta(minutes=1)):
            notify(initiator, Kind.REMINDER, key=f"{status}:{age}")
            row = OutboxMessage.objects.latest("id")
            OutboxMessage.objects.filter(pk=row.pk).update(status=status, updated_at=now - age)
            rows[status, age > RETENTION] = row.pk
    assert prune_outbox(now, batch_size=2) == 3
    kept = set(OutboxMessage.objects.values_list("pk", flat=True))
    assert kept == {pk for (status, old), pk in rows.items() if status == Status.PENDING or not old}
    assert prune_outbox(now) == 0
    # An UNDELIVERABLE message is kept as long as it could still be sent again.
    assert RETENTION > LONGEST_SHELF_LIFE
