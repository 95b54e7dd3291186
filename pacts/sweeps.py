"""Set-based transitions over many rows: the rules that fire when time passes.

Like healthchecks' `sendalerts`, each sweep

1. selects due rows by an indexed instant column (partial indexes on the status the
   sweep looks for), in batches,
2. claims them with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so two workers never take
   the same row and a user's check-in holding the row lock wins cleanly,
3. changes state, writes ledger entries and outbox rows for the whole batch in a few
   statements inside one transaction, and commits before the next batch, so a worker
   killed mid-sweep loses nothing: the rerun takes what is still due.

Every statement also re-checks the status it expects, so running a sweep twice (or two
at once on SQLite, where writers are serialised) changes nothing the second time, and
the unique constraints (one FORFEIT per day, one outbox row per dedupe key) make a
doubled write impossible rather than merely unlikely.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from ledger.models import LedgerEntry

from .models import INVITE_TTL, OutboxMessage, Pact, PactDay, PactParticipant
from .schedule import due_dates, local_deadline

log = logging.getLogger(__name__)

BATCH_SIZE = 5000


def _members_by_pact(pact_ids) -> dict:
    """{pact_id: {"INITIATOR": (user_id, chat_id, active), "PARTNER": ...}} in one query."""
    members: dict = defaultdict(dict)
    rows = PactParticipant.objects.filter(
        pact_id__in=pact_ids, status=PactParticipant.Status.ACCEPTED
    ).values_list("pact_id", "role", "user_id", "user__telegram_user_id", "user__deleted_at")
    for pact_id, role, user_id, chat_id, deleted_at in rows:
        members[pact_id][role] = (user_id, chat_id, deleted_at is None)
    return members


def _outbox_rows(kind: str, key: str, recipients, payload: dict) -> list[OutboxMessage]:
    return [
        OutboxMessage(
            user_id=user_id,
            chat_id=chat_id,
            kind=kind,
            payload=payload,
            dedupe_key=f"{kind}:{key}:{user_id}",
        )
        for user_id, chat_id, active in recipients
        if active
    ]


def miss_days(days: QuerySet[PactDay], *, now: datetime, note: str = "Missed check-in") -> int:
    """PENDING → MISSED for `days` (already locked by the caller), each with one FORFEIT
    entry and a "missed" message to both participants. Returns how many were missed."""
    rows = list(
        days.filter(status=PactDay.Status.PENDING).values_list(
            "id", "pact_id", "date", "pact__stake_amount"
        )
    )
    if not rows:
        return 0
    ids = [row[0] for row in rows]
    PactDay.objects.filter(id__in=ids, status=PactDay.Status.PENDING).update(
        status=PactDay.Status.MISSED, updated_at=now
    )
    members = _members_by_pact({row[1] for row in rows})
    entries, messages = [], []
    for day_id, pact_id, day_date, stake in rows:
        initiator = members[pact_id].get(PactParticipant.Role.INITIATOR)
        partner = members[pact_id].get(PactParticipant.Role.PARTNER)
        entries.append(
            LedgerEntry(
                pact_id=pact_id,
                pact_day_id=day_id,
                type=LedgerEntry.Type.FORFEIT,
                amount=stake,
                from_user_id=initiator and initiator[0],
                to_user_id=partner and partner[0],
                note=note,
                created_at=now,
            )
        )
        payload = {
            "pact_id": str(pact_id),
            "day_id": str(day_id),
            "date": day_date.isoformat(),
            "amount": stake,
        }
        recipients = [m for m in (initiator, partner) if m]
        messages += _outbox_rows("missed", str(day_id), recipients, payload)
    LedgerEntry.objects.bulk_create(entries, batch_size=2000)
    OutboxMessage.objects.bulk_create(messages, batch_size=2000, ignore_conflicts=True)
    return len(rows)


def process_deadlines(now: datetime | None = None, *, batch_size: int = BATCH_SIZE) -> int:
    """Every PENDING day of an ACTIVE pact whose deadline has passed becomes MISSED."""
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            ids = list(
                PactDay.objects.filter(
                    status=PactDay.Status.PENDING,
                    deadline_at__lte=now,
                    pact__status=Pact.Status.ACTIVE,
                )
                .order_by("deadline_at")
                .select_for_update(skip_locked=True, of=("self",))
                .values_list("id", flat=True)[:batch_size]
            )
            if ids:
                total += miss_days(PactDay.objects.filter(id__in=ids), now=now)
        if len(ids) < batch_size:
            return total


def expire_disputes(now: datetime | None = None, *, batch_size: int = BATCH_SIZE) -> int:
    """DISPUTED days whose resolution window has closed: the check-in stands (DONE)."""
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            rows = list(
                PactDay.objects.filter(
                    status=PactDay.Status.DISPUTED, dispute_resolve_until__lte=now
                )
                .order_by("dispute_resolve_until")
                .select_for_update(skip_locked=True, of=("self",))
                .values_list("id", "pact_id", "date")[:batch_size]
            )
            if rows:
                ids = [row[0] for row in rows]
                PactDay.objects.filter(id__in=ids, status=PactDay.Status.DISPUTED).update(
                    status=PactDay.Status.DONE,
                    resolution=PactDay.Resolution.DONE_STANDS,
                    resolution_at=now,
                    updated_at=now,
                )
                members = _members_by_pact({row[1] for row in rows})
                messages = []
                for day_id, pact_id, day_date in rows:
                    payload = {
                        "pact_id": str(pact_id),
                        "day_id": str(day_id),
                        "date": day_date.isoformat(),
                    }
                    messages += _outbox_rows(
                        "dispute_expired", str(day_id), members[pact_id].values(), payload
                    )
                OutboxMessage.objects.bulk_create(messages, batch_size=2000, ignore_conflicts=True)
                total += len(rows)
        if len(rows) < batch_size:
            return total


def materialize_pact_days(pact: Pact, now: datetime) -> int:
    """Create the pact's scheduled days from where it left off through tomorrow (local).

    Starts the day after `days_materialized_through` (or at activation), so a worker that
    was down for days catches up; never creates a day whose deadline had already passed
    when the pact became active. Creating twice creates nothing new.
    """
    if pact.status != Pact.Status.ACTIVE or pact.activated_at is None:
        return 0
    tz = pact.tz
    horizon = now.astimezone(tz).date() + timedelta(days=1)
    first = (
        pact.days_materialized_through + timedelta(days=1)
        if pact.days_materialized_through
        else pact.activated_at.astimezone(tz).date()
    )
    if first > horizon:
        return 0
    days = []
    for day in due_dates(pact.schedule_days, pact.start_date, pact.end_date, first, horizon):
        deadline = local_deadline(day, pact.deadline_time, tz)
        if deadline > pact.activated_at:
            days.append(PactDay(pact=pact, date=day, deadline_at=deadline))
    created = PactDay.objects.bulk_create(days, ignore_conflicts=True)
    Pact.objects.filter(pk=pact.pk, status=Pact.Status.ACTIVE).update(
        days_materialized_through=horizon
    )
    pact.days_materialized_through = horizon
    return len(created)


def materialize_days(now: datetime | None = None, *, batch_size: int = 1000) -> int:
    """Materialise days for every active pact that is behind its horizon."""
    now = now or timezone.now()
    # No zone is more than 14 h ahead of UTC, so no pact's tomorrow is later than this.
    latest_horizon = (now + timedelta(hours=14)).date() + timedelta(days=1)
    behind = Pact.objects.filter(status=Pact.Status.ACTIVE).exclude(
        days_materialized_through__gte=latest_horizon
    )
    total = 0
    for pact in behind.order_by("pk").iterator(chunk_size=batch_size):
        with transaction.atomic():
            total += materialize_pact_days(pact, now)
    return total


def expire_invites(now: datetime | None = None) -> int:
    """Invites unanswered for 7 days: PENDING_ACCEPT → EXPIRED, initiator told."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Pact.objects.filter(status=Pact.Status.PENDING_ACCEPT, created_at__lte=now - INVITE_TTL)
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("id", "created_by_user_id", "created_by_user__telegram_user_id")
        )
        if not due:
            return 0
        Pact.objects.filter(
            id__in=[row[0] for row in due], status=Pact.Status.PENDING_ACCEPT
        ).update(status=Pact.Status.EXPIRED, updated_at=now)
        messages = []
        for pact_id, user_id, chat_id in due:
            messages += _outbox_rows(
                "invite_expired",
                str(pact_id),
                [(user_id, chat_id, True)],
                {"pact_id": str(pact_id)},
            )
        OutboxMessage.objects.bulk_create(messages, ignore_conflicts=True)
    log.info("invites expired", extra={"count": len(due)})
    return len(due)
