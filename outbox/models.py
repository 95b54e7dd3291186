"""The outbox: messages to people, written in the same transaction as the change they report.

The core (pacts, ledger) only ever writes rows here, through `notify()` or, in bulk,
`outbox_rows()`; a transport (`telegram_bot`) claims due rows, renders and sends them
and records the outcome through the QuerySet's state machine. That is healthchecks'
Flip → `sendalerts` split, and HackSoft's `emails/` app: the core never imports the bot.

Who receives a message is decided here once (`receives`, with `receives_q` and
`receives_sql` for the sweeps' set-based writes): nobody whose account is deleted, and
nobody who turned off the kind's notifications.

A row's life (every change below re-checks PENDING, so a row marked by one path is
never overwritten by another):

    PENDING --claim--> PENDING, due after the lease --mark_sent--> SENT
                                 |--retry--> PENDING, due later
                                 |--release--> PENDING, due now (claimed, never sent)
                                 |--mark_undeliverable--> UNDELIVERABLE (blocked the bot)
                                 '--mark_failed--> FAILED (admin can queue it again)
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import F, Q
from django.utils import timezone

LEASE = timedelta(minutes=5)


class Kind(models.TextChoices):
    """Every message the product sends (spec §8). A renderer exists for each (tested)."""

    REMINDER = "reminder"
    CHECKIN_CONFIRMED = "checkin_confirmed"
    CHECKIN_PARTNER = "checkin_partner"
    CHECKIN_APPROVED = "checkin_approved"
    BREAK_PROPOSED = "break_proposed"
    BREAK_STARTED = "break_started"
    BREAK_APPROVED = "break_approved"
    BREAK_DECLINED = "break_declined"
    BREAK_ENDED = "break_ended"
    DAY_SKIPPED = "day_skipped"
    SKIP_REQUESTED = "skip_requested"
    SKIP_REQUEST_ANSWERED = "skip_request_answered"
    MISSED = "missed"
    DISPUTE_OPENED_INITIATOR = "dispute_opened_initiator"
    DISPUTE_OPENED_PARTNER = "dispute_opened_partner"
    DISPUTE_RESOLVED = "dispute_resolved"
    DISPUTE_EXPIRED = "dispute_expired"
    DAY_WAIVED = "day_waived"
    PACT_ACCEPTED = "pact_accepted"
    PACT_DECLINED = "pact_declined"
    PACT_ENDED = "pact_ended"
    INVITE_EXPIRED = "invite_expired"
    PACT_CANCELLED = "pact_cancelled"
    INVITE_CANCELLED = "invite_cancelled"
    SETTLEMENT_PROPOSED = "settlement_proposed"
    SETTLEMENT_CONFIRMED = "settlement_confirmed"
    WEEKLY_SUMMARY = "weekly_summary"


# The user's switch that silences a kind (spec §4: notify_reminders, notify_disputes);
# kinds not listed here reach everyone whose account still exists.
OPT_OUT_FIELD: dict[str, str] = {
    Kind.REMINDER: "notify_reminders",
    Kind.DISPUTE_OPENED_INITIATOR: "notify_disputes",
    Kind.DISPUTE_OPENED_PARTNER: "notify_disputes",
    Kind.DISPUTE_RESOLVED: "notify_disputes",
    Kind.DISPUTE_EXPIRED: "notify_disputes",
}


# --- who receives a message: one rule, in the three forms its callers need ------------


def receives(user: Any, kind: str) -> bool:
    """Whether `user` is sent a message of `kind`: the account exists and the kind's
    notifications are on. `receives_q` and `receives_sql` say the same for many rows."""
    if user.deleted_at is not None:
        return False
    field = OPT_OUT_FIELD.get(Kind(kind))
    return field is None or bool(getattr(user, field))


def receives_q(kind: str, prefix: str = "") -> Q:
    """`receives` as a filter on users; `prefix` reaches them through a relation
    (`"user__"`)."""
    q = Q(**{f"{prefix}deleted_at__isnull": True})
    field = OPT_OUT_FIELD.get(Kind(kind))
    if field is not None:
        q &= Q(**{f"{prefix}{field}": True})
    return q


def receives_sql(kind: str, users: str) -> str:
    """`receives` as an SQL condition on the users table aliased `users`."""
    condition = f"{users}.deleted_at IS NULL"
    field = OPT_OUT_FIELD.get(Kind(kind))
    if field is not None:
        condition += f" AND {users}.{field}"
    return condition


# --- the rows ---------------------------------------------------------------------------


def dedupe_key(kind: str, key: str, user_id: object) -> str:
    """One row per (kind, key, recipient): a transition or sweep that runs twice writes one."""
    return f"{kind}:{key}:{user_id}"


def dedupe_key_sql(kind: str, key: str, user_id: str) -> str:
    """`dedupe_key` as an SQL expression over the text expressions `key` and `user_id`."""
    return f"'{Kind(kind)}:' || {key} || ':' || {user_id}"


class OutboxQuerySet(models.QuerySet):
    """The claim/lease/mark state machine, for any transport."""

    def due(self, now: datetime) -> OutboxQuerySet:
        return self.filter(status=OutboxMessage.Status.PENDING, next_attempt_at__lte=now)

    def claim(
        self,
        *,
        limit: int,
        now: datetime,
        lease: timedelta = LEASE,
        skip_chats: Iterable[int] = (),
    ) -> list[OutboxMessage]:
        """Take up to `limit` due rows, oldest first, by pushing their due time past the
        lease (a sender that dies mid-send loses nothing: the rows come due again).
        Concurrent claimers get disjoint rows (SKIP LOCKED; SQLite serialises writers).
        `skip_chats`: chats that already have enough queued with this sender."""
        with transaction.atomic():
            due = self.due(now)
            skip_chats = list(skip_chats)
            if skip_chats:
                due = due.exclude(chat_id__in=skip_chats)
            if connection.features.has_select_for_update_skip_locked:
                due = due.select_for_update(skip_locked=True, of=("self",))
            rows = list(due.order_by("next_attempt_at", "id")[:limit])
            if rows:
                self.model.objects.due(now).filter(id__in=[row.id for row in rows]).update(
                    next_attempt_at=now + lease, updated_at=now
                )
        return rows

    def _settle(self, **changes: Any) -> int:
        """Apply `changes` to the rows still PENDING (a row settled elsewhere stays)."""
        return self.filter(status=OutboxMessage.Status.PENDING).update(
            updated_at=timezone.now(), **changes
        )

    def release(self, *, at: datetime) -> int:
        """Claimed but never sent: due again at `at`, no attempt counted."""
        return self._settle(next_attempt_at=at)

    def mark_sent(self, *, at: datetime | None = None) -> int:
        return self._settle(
            status=OutboxMessage.Status.SENT,
            sent_at=at or timezone.now(),
            attempts=F("attempts") + 1,
            last_error="",
        )

    def retry(self, *, at: datetime, error: str, count: bool = True) -> int:
        """Not sent this time; due again at `at`. `count=False` for "not yet" answers
        (a rate limit), which are no attempt at all."""
        changes: dict[str, Any] = {"next_attempt_at": at, "last_error": error}
        if count:
            changes["attempts"] = F("attempts") + 1
        return self._settle(**changes)

    def mark_undeliverable(self, *, error: str) -> int:
        """The recipient cannot be reached (blocked the bot, chat gone): never retried."""
        return self._settle(
            status=OutboxMessage.Status.UNDELIVERABLE, attempts=F("attempts") + 1, last_error=error
        )

    def mark_failed(self, *, error: str) -> int:
        """Given up (a bad request, an unrenderable row, or too old to be worth sending)."""
        return self._settle(
            status=OutboxMessage.Status.FAILED, attempts=F("attempts") + 1, last_error=error
        )

    def send_again(self, *, now: datetime | None = None) -> int:
        """FAILED → PENDING, due now (staff, after an outage). Sent and UNDELIVERABLE
        rows stay as they are."""
        return self.filter(status=OutboxMessage.Status.FAILED).update(
            status=OutboxMessage.Status.PENDING,
            next_attempt_at=now or timezone.now(),
            attempts=0,
            updated_at=timezone.now(),
        )


class OutboxMessage(models.Model):
    """A notification to send, written in the same transaction as the change it reports.

    `kind` names a message of spec §8 and `payload` carries the facts at the time of the
    change (ids, dates, amounts, the balance); the transport renders and delivers it.
    `dedupe_key` is unique, so a transition or sweep that runs twice writes one row.
    """

    class Status(models.TextChoices):
        PENDING = "PENDING"
        SENT = "SENT"
        UNDELIVERABLE = "UNDELIVERABLE"
        FAILED = "FAILED"

    id = models.BigAutoField(primary_key=True)
    # No database FK: users are never deleted, only tombstoned (`pacts.privacy`), since
    # the append-only ledger points at them, and the ORM still cascades a delete. The
    # constraint guarded nothing, yet cost one FK check (a FOR KEY SHARE row lock) per
    # row at COMMIT: 10 000 per deadline-sweep batch, an eighth of the batch's time
    # (bench/deadline_sweep.py). The index stays: the export and the erase read by user.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="outbox",
        db_constraint=False,
    )
    chat_id = models.BigIntegerField()
    kind = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    dedupe_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=20, choices=Status, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OutboxQuerySet.as_manager()

    class Meta:
        db_table = "outbox"
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="idx_outbox_due", condition=Q(status="PENDING")
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["PENDING", "SENT", "UNDELIVERABLE", "FAILED"]),
                name="outbox_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.chat_id} ({self.status})"


def outbox_rows(
    kind: str, key: str, recipients: Iterable[tuple[Any, int, bool]], payload: dict[str, Any]
) -> list[OutboxMessage]:
    """Unsaved rows of one message for each `(user_id, chat_id, receives)` recipient that
    receives it, for a sweep's `bulk_create(..., ignore_conflicts=True)`; work out
    `receives` with `receives_q` in the query that lists them."""
    kind = Kind(kind)  # an unknown kind fails here, at the writer, not at delivery
    return [
        OutboxMessage(
            user_id=user_id,
            chat_id=chat_id,
            kind=kind,
            payload=payload,
            dedupe_key=dedupe_key(kind, key, user_id),
        )
        for user_id, chat_id, active in recipients
        if active
    ]


def day_payload(day: Any) -> dict[str, Any]:
    """What every message about one pact day carries (a PactDay, read by attribute)."""
    return {"pact_id": str(day.pact_id), "day_id": str(day.pk), "date": day.date.isoformat()}


def notify(user: Any, kind: str, key: str, *, day: Any = None, **facts: Any) -> None:
    """Record a message for `user` in the outbox (call inside the change's transaction).

    Idempotent per (kind, key, user): the unique dedupe key swallows a second write.
    Models become `<name>_id`, dates ISO strings; nothing is written for someone who
    does not receive the kind (`receives`).
    """
    if not receives(user, kind):
        return
    payload: dict[str, Any] = day_payload(day) if day is not None else {}
    for name, value in facts.items():
        if isinstance(value, models.Model):
            payload[f"{name}_id"] = str(value.pk)
        elif isinstance(value, (date, datetime)):
            payload[name] = value.isoformat()
        else:
            payload[name] = value
    OutboxMessage.objects.bulk_create(
        outbox_rows(kind, key, [(user.pk, user.telegram_user_id, True)], payload),
        ignore_conflicts=True,
    )
