"""The time-driven entry points: what happens when time passes, like healthchecks'
`sendalerts`. The rules they apply live on the models (`PactDay.objects.due(now).miss()`,
`Pact.materialize_days`); here is only when, in what batches and under which claim.

Each sweep selects due rows by an indexed instant column, claims a batch with
`FOR UPDATE SKIP LOCKED` (two workers never take the same row; a check-in holding the
row lock wins), writes the whole batch in a few statements and commits before the next,
so a killed worker loses nothing and a rerun (or a second worker) doubles nothing.
It decides from stored instants and takes everything due up to `now`, so a worker that
was stopped catches up on its first run.
"""

from __future__ import annotations

import logging
import time as monotonic_time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import BooleanField, F, Func, OuterRef, QuerySet
from django.utils import timezone

from ledger.models import LedgerEntry, balances_of
from outbox.models import (
    Kind,
    OutboxMessage,
    dedupe_key_sql,
    outbox_rows,
    receives_q,
    receives_sql,
)

from .limits import REMINDER_MAX_MINUTES
from .models import (
    INVITE_TTL,
    MISSED_KIND,
    MISSED_NOTE,
    Pact,
    PactDay,
    PactParticipant,
    SkipRequest,
    User,
    members_by_pact,
)
from .schedule import local_deadline
from .stats import Counted, current_streak, day_count

log = logging.getLogger(__name__)

BATCH_SIZE = 5000
MAX_REMINDER_MINUTES = REMINDER_MAX_MINUTES
SUMMARY_WEEKDAY = 6  # Sunday
SUMMARY_TIME = time(18, 0)
# A summary that fell due while the worker was down is still sent this long after its
# moment; older ones would arrive out of context ("last week" on a Thursday).
SUMMARY_CATCH_UP = timedelta(hours=24)


def _out_of_time(started: float, max_seconds: float | None) -> bool:
    return max_seconds is not None and monotonic_time.monotonic() - started > max_seconds


# --- deadlines ------------------------------------------------------------------------


def _miss_due_batch_orm(now: datetime, limit: int) -> int:
    """One batch through the ORM (any engine): claim due ids, then miss them."""
    ids = list(
        PactDay.objects.due(now)
        .order_by("deadline_at")
        .select_for_update(skip_locked=True, of=("self",))
        .values_list("id", flat=True)[:limit]
    )
    if not ids:
        return 0
    PactDay.objects.filter(id__in=ids).miss(now=now)
    return len(ids)


_NAMES = {
    "days": PactDay._meta.db_table,
    "pacts": Pact._meta.db_table,
    "participants": PactParticipant._meta.db_table,
    "entries": LedgerEntry._meta.db_table,
    "outbox": OutboxMessage._meta.db_table,
    "users": User._meta.db_table,
    "pending": PactDay.Status.PENDING,
    "missed": PactDay.Status.MISSED,
    "active": Pact.Status.ACTIVE,
    "initiator": PactParticipant.Role.INITIATOR,
    "partner": PactParticipant.Role.PARTNER,
    "accepted": PactParticipant.Status.ACCEPTED,
    "forfeit": LedgerEntry.Type.FORFEIT,
    "queued": OutboxMessage.Status.PENDING,
    # The outbox's own rules, as SQL: the dedupe key and who receives a "missed" message.
    "miss_dedupe_key": dedupe_key_sql(
        MISSED_KIND, "to_char(f.date, 'YYYY-MM-DD') || ':' || f.day_id::text", "u.id::text"
    ),
    "miss_receives": receives_sql(MISSED_KIND, "u"),
    # Rule 9: the skip requests a miss lapses, and the outcome message to their initiator.
    "skip_requests": SkipRequest._meta.db_table,
    "open": SkipRequest.Status.OPEN,
    "lapsed": SkipRequest.Status.LAPSED,
    "answered_kind": Kind.SKIP_REQUEST_ANSWERED,
    "lapse_dedupe_key": dedupe_key_sql(Kind.SKIP_REQUEST_ANSWERED, "l.id::text", "u.id::text"),
    "lapse_receives": receives_sql(Kind.SKIP_REQUEST_ANSWERED, "u"),
}

# One statement per batch: claim (SKIP LOCKED), flip, and write the FORFEIT entries and
# the "missed" messages from the rows the UPDATE returned. It writes exactly what
# `PactDayQuerySet.due(...)` + `.miss(...)` write (same columns, payload and dedupe
# keys; the tables and states are the models' own, from `_NAMES`), without a Python
# object per row. `claimed` counts the rows taken, so the loop knows when the due set is
# empty.
# The ledger INSERT has no ON CONFLICT, like the ORM path: the day was PENDING under our
# lock, so a FORFEIT for it would be a broken invariant that must fail loudly (and the
# speculative insertion would cost every row a check). The outbox keeps its dedupe.
_MISS_DUE_SQL = """
WITH due AS (
    SELECT pd.id, p.stake_amount
    FROM {days} pd
    JOIN {pacts} p ON p.id = pd.pact_id
    WHERE pd.status = '{pending}' AND pd.deadline_at <= %(now)s AND p.status = '{active}'
    ORDER BY pd.deadline_at
    LIMIT %(limit)s
    FOR UPDATE OF pd SKIP LOCKED
),
missed AS (
    UPDATE {days} d
    SET status = '{missed}', updated_at = %(now)s
    WHERE d.id = ANY(ARRAY(SELECT id FROM due)) AND d.status = '{pending}'
    RETURNING d.id, d.pact_id, d.date
),
facts AS (
    SELECT m.id AS day_id, m.pact_id, m.date, due.stake_amount,
           i.user_id AS initiator_id, pt.user_id AS partner_id
    FROM missed m
    JOIN due ON due.id = m.id
    -- LIMIT 1 keeps these as index lookups per day, not a scan of every participant.
    LEFT JOIN LATERAL (
        SELECT user_id FROM {participants}
        WHERE pact_id = m.pact_id AND role = '{initiator}' AND status = '{accepted}' LIMIT 1
    ) i ON true
    LEFT JOIN LATERAL (
        SELECT user_id FROM {participants}
        WHERE pact_id = m.pact_id AND role = '{partner}' AND status = '{accepted}' LIMIT 1
    ) pt ON true
),
entries AS (
    INSERT INTO {entries}
        (id, pact_id, pact_day_id, type, amount, from_user_id, to_user_id, note,
         created_by_user_id, created_at)
    SELECT habitpact_uuid7(), pact_id, day_id, '{forfeit}', stake_amount, initiator_id,
           partner_id, %(note)s, NULL, %(now)s
    FROM facts
    RETURNING 1
),
messages AS (
    INSERT INTO {outbox}
        (user_id, chat_id, kind, payload, dedupe_key, status, attempts, next_attempt_at,
         sent_at, last_error, created_at, updated_at)
    SELECT u.id, u.telegram_user_id, %(kind)s,
           jsonb_build_object(
               'pact_id', f.pact_id::text,
               'day_id', f.day_id::text,
               'date', to_char(f.date, 'YYYY-MM-DD'),
               'amount', f.stake_amount
           ),
           {miss_dedupe_key},
           '{queued}', 0, %(wall)s, NULL, '', %(wall)s, %(wall)s
    FROM facts f
    CROSS JOIN LATERAL (VALUES (f.initiator_id), (f.partner_id)) AS r(user_id)
    JOIN {users} u ON u.id = r.user_id AND {miss_receives}
    ON CONFLICT DO NOTHING
    RETURNING 1
),
-- Rule 9: an OPEN skip request on a day just missed lapses, and its initiator is told
-- (`_lapse_skip_requests` on the ORM path). Requests change only under their day's row
-- lock, which `due` holds.
lapsed AS (
    UPDATE {skip_requests} r
    SET status = '{lapsed}', answered_at = %(now)s, updated_at = %(now)s
    WHERE r.day_id = ANY(ARRAY(SELECT id FROM missed)) AND r.status = '{open}'
    RETURNING r.id, r.day_id
),
lapse_messages AS (
    INSERT INTO {outbox}
        (user_id, chat_id, kind, payload, dedupe_key, status, attempts, next_attempt_at,
         sent_at, last_error, created_at, updated_at)
    SELECT u.id, u.telegram_user_id, '{answered_kind}',
           jsonb_build_object(
               'pact_id', f.pact_id::text,
               'day_id', f.day_id::text,
               'date', to_char(f.date, 'YYYY-MM-DD'),
               'request_id', l.id::text,
               'outcome', '{lapsed}'
           ),
           {lapse_dedupe_key},
           '{queued}', 0, %(wall)s, NULL, '', %(wall)s, %(wall)s
    FROM lapsed l
    JOIN facts f ON f.day_id = l.day_id
    JOIN {users} u ON u.id = f.initiator_id AND {lapse_receives}
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM due), (SELECT count(*) FROM missed),
       (SELECT count(*) FROM entries), (SELECT count(*) FROM messages),
       (SELECT count(*) FROM lapsed), (SELECT count(*) FROM lapse_messages)
""".format_map(_NAMES)


def _miss_due_batch_sql(now: datetime, limit: int) -> int:
    """One batch as one PostgreSQL statement (see `_MISS_DUE_SQL`)."""
    params = {
        "now": now,
        "limit": limit,
        "note": MISSED_NOTE,
        "kind": MISSED_KIND,
        "wall": timezone.now(),
    }
    with connection.cursor() as cursor:
        cursor.execute(_MISS_DUE_SQL, params)
        claimed, _missed, _entries, _messages, _lapsed, _told = cursor.fetchone()
    return claimed


def process_deadlines(
    now: datetime | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    max_seconds: float | None = None,
) -> int:
    """Every PENDING day of an ACTIVE pact whose deadline has passed becomes MISSED,
    with one FORFEIT entry and a "missed" message to each participant. Returns how many
    (`miss_due_days` also says whether it stopped for time).
    """
    return miss_due_days(now, batch_size=batch_size, max_seconds=max_seconds).count


@dataclass(frozen=True)
class SweepRun:
    count: int
    finished: bool  # False: stopped for time after a full batch, so more may be due


def miss_due_days(
    now: datetime | None = None,
    *,
    batch_size: int = BATCH_SIZE,
    max_seconds: float | None = None,
) -> SweepRun:
    """`process_deadlines`, batch by batch:

    1. Claim up to `batch_size` due days, oldest deadline first, skipping rows another
       transaction holds (a check-in in progress, another worker).
    2. Flip them and write their entries and messages: one statement on PostgreSQL,
       a handful of bulk statements elsewhere. Commit.
    3. Repeat until a batch comes back short (finished), or `max_seconds` have passed
       (the task stops cleanly before django-q2's timeout and queues its continuation).

    Several of these may run at once (django-q2 workers, a rerun): SKIP LOCKED gives
    them disjoint batches.
    """
    now = now or timezone.now()
    batch = _miss_due_batch_sql if connection.vendor == "postgresql" else _miss_due_batch_orm
    started = monotonic_time.monotonic()
    total = 0
    while True:
        with transaction.atomic():
            claimed = batch(now, batch_size)
        total += claimed
        if claimed < batch_size or _out_of_time(started, max_seconds):
            break
    log.info("deadlines_processed", extra={"missed": total})
    return SweepRun(total, finished=claimed < batch_size)


def due_days_exceed(count: int, now: datetime | None = None) -> bool:
    """More than `count` days are due: whether one worker's sweep needs helpers. Reads
    at most count + 1 entries of the partial index the sweep claims from."""
    due = PactDay.objects.due(now or timezone.now())
    return due.order_by()[count : count + 1].exists()


# --- disputes -------------------------------------------------------------------------


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
                members = members_by_pact({row[1] for row in rows}, Kind.DISPUTE_EXPIRED)
                messages = []
                for day_id, pact_id, day_date in rows:
                    payload = {
                        "pact_id": str(pact_id),
                        "day_id": str(day_id),
                        "date": day_date.isoformat(),
                    }
                    messages += outbox_rows(
                        Kind.DISPUTE_EXPIRED, str(day_id), members[pact_id].values(), payload
                    )
                OutboxMessage.objects.bulk_create(messages, batch_size=2000, ignore_conflicts=True)
                total += len(rows)
        if len(rows) < batch_size:
            break
    log.info("disputes_expired", extra={"count": total})
    return total


# --- reminders ------------------------------------------------------------------------


class _ReminderDue(Func):
    """`deadline - minutes <= now`, in whole seconds, on either engine (SQLite cannot
    multiply an integer column by an interval)."""

    output_field = BooleanField()

    def __init__(self, deadline, minutes, now: datetime):
        super().__init__(deadline, minutes)
        self.now = now

    def as_sql(self, compiler, connection, **extra):
        deadline_sql, deadline_params = compiler.compile(self.source_expressions[0])
        minutes_sql, minutes_params = compiler.compile(self.source_expressions[1])
        params = [*deadline_params, *minutes_params]
        if connection.vendor == "postgresql":
            sql = f"({deadline_sql} - make_interval(mins => {minutes_sql})) <= %s"
            return sql, [*params, self.now]
        sql = f"(CAST(strftime('%%s', {deadline_sql}) AS INTEGER) - {minutes_sql} * 60) <= %s"
        return sql, [*params, int(self.now.timestamp())]


def send_reminders(now: datetime | None = None, *, batch_size: int = BATCH_SIZE) -> int:
    """Remind the initiator `reminder_minutes_before` their deadline, once per day.

    A day is due when it is PENDING, its pact ACTIVE, its deadline still ahead and at
    most the initiator's `reminder_minutes_before` away, it has not been reminded, and
    the initiator wants reminders. A reminder whose moment passed while the worker was
    down is still sent if the deadline has not; after the deadline the sweep is silent.

    1. Claim due days (SKIP LOCKED on PostgreSQL), batch by batch.
    2. Set `reminded_at` and write one "reminder" message per day. Commit.
    """
    now = now or timezone.now()
    initiator = "pact__participants__user"
    total = 0
    while True:
        with transaction.atomic():
            rows = list(
                PactDay.objects.filter(
                    _ReminderDue(F("deadline_at"), F(f"{initiator}__reminder_minutes_before"), now),
                    # In this same filter(): the initiator's row of the join, not any member's.
                    receives_q(Kind.REMINDER, f"{initiator}__"),
                    status=PactDay.Status.PENDING,
                    reminded_at__isnull=True,
                    deadline_at__gt=now,
                    deadline_at__lte=now + timedelta(minutes=MAX_REMINDER_MINUTES),
                    pact__status=Pact.Status.ACTIVE,
                    pact__participants__role=PactParticipant.Role.INITIATOR,
                    pact__participants__status=PactParticipant.Status.ACCEPTED,
                )
                .order_by("deadline_at")
                .select_for_update(skip_locked=True, of=("self",))
                .values_list(
                    "id", "pact_id", "date", f"{initiator}_id", f"{initiator}__telegram_user_id"
                )[:batch_size]
            )
            if rows:
                PactDay.objects.filter(
                    id__in=[row[0] for row in rows],
                    status=PactDay.Status.PENDING,
                    reminded_at__isnull=True,
                ).update(reminded_at=now, updated_at=now)
                messages = []
                for day_id, pact_id, day_date, user_id, chat_id in rows:
                    payload = {
                        "pact_id": str(pact_id),
                        "day_id": str(day_id),
                        "date": day_date.isoformat(),
                    }
                    messages += outbox_rows(
                        Kind.REMINDER, str(day_id), [(user_id, chat_id, True)], payload
                    )
                OutboxMessage.objects.bulk_create(messages, batch_size=2000, ignore_conflicts=True)
                total += len(rows)
        if len(rows) < batch_size:
            break
    log.info("reminders_sent", extra={"count": total})
    return total


# --- weekly summaries -----------------------------------------------------------------


@dataclass(frozen=True)
class SummaryWeek:
    """The Mon..Sun week a summary reports on, in one zone, and when it falls due."""

    start: date
    end: date
    due_at: datetime


def summary_week(tz: ZoneInfo, now: datetime) -> SummaryWeek:
    """The latest week whose Sunday 18:00 (local, DST-correct) is not after `now`:
    the current week from Sunday 18:00 on, the previous one before that."""
    local = now.astimezone(tz).date()
    start = local - timedelta(days=local.weekday())
    due_at = local_deadline(start + timedelta(days=SUMMARY_WEEKDAY), SUMMARY_TIME, tz)
    if now < due_at:
        start -= timedelta(days=7)
        due_at = local_deadline(start + timedelta(days=SUMMARY_WEEKDAY), SUMMARY_TIME, tz)
    return SummaryWeek(start=start, end=start + timedelta(days=6), due_at=due_at)


def week_stats(pact_ids, start: date, end: date) -> dict:
    """{pact_id: {"done", "missed", "skipped", "streak", "balance"}} in two queries.

    Counts are of the pact's days dated within [start, end]; the streak rule is the one
    in `pacts/stats.py`, shared with `actions.pact_stats`.
    """
    S = PactDay.Status
    pact = OuterRef("pk")

    def in_week(status: str) -> Counted:
        return day_count(pact, date__gte=start, date__lte=end, status=status)

    rows = (
        Pact.objects.filter(pk__in=pact_ids)
        .annotate(
            done=in_week(S.DONE),
            missed=in_week(S.MISSED),
            skipped=in_week(S.SKIPPED),
            streak=current_streak(pact),
        )
        .values_list("pk", "done", "missed", "skipped", "streak")
    )
    balances = balances_of(pact_ids)
    return {
        pk: {
            "done": done,
            "missed": missed,
            "skipped": skipped,
            "streak": streak,
            "balance": balances.get(pk, 0),
        }
        for pk, done, missed, skipped, streak in rows
    }


def _active_members() -> QuerySet[PactParticipant]:
    return PactParticipant.objects.filter(
        receives_q(Kind.WEEKLY_SUMMARY, "user__"),
        status=PactParticipant.Status.ACCEPTED,
        pact__status=Pact.Status.ACTIVE,
    )


def send_weekly_summaries(now: datetime | None = None, *, batch_size: int = 1000) -> int:
    """One "weekly_summary" per participant of an active pact, from Sunday 18:00 in the
    participant's own zone, reporting that Mon..Sun week.

    1. For each zone that participants live in, find the week due (`summary_week`);
       skip zones whose moment is still ahead or more than SUMMARY_CATCH_UP ago.
    2. Take that zone's participants in batches, leave out those who already have this
       week's summary (dedupe key `weekly_summary:<week_start>:<user_id>`), gather the
       week's stats of their pacts active by then in two queries, write the rows.
    Rerunning writes nothing new; two workers at once collide on the dedupe key.
    """
    now = now or timezone.now()
    zones = _active_members().values_list("user__timezone", flat=True).distinct()
    total = 0
    for zone in sorted(set(zones)):
        week = summary_week(ZoneInfo(zone), now)
        if now - week.due_at > SUMMARY_CATCH_UP:
            continue
        total += _summaries_for_zone(zone, week, batch_size)
    log.info("weekly_summaries_sent", extra={"count": total})
    return total


def _summaries_for_zone(zone: str, week: SummaryWeek, batch_size: int) -> int:
    """The zone's participants in keyset-paged batches, each claimed under a row lock
    (SKIP LOCKED) so two workers never build the same user's summary."""
    members = _active_members().filter(user__timezone=zone, pact__activated_at__lte=week.due_at)
    total, last = 0, None
    while True:
        page = members.order_by("user_id")
        if last is not None:
            page = page.filter(user_id__gt=last)
        chunk = list(page.values_list("user_id", flat=True).distinct()[:batch_size])
        if not chunk:
            return total
        last = chunk[-1]
        with transaction.atomic():
            total += _summaries_for_users(members, chunk, week)


def _summaries_for_users(members: QuerySet[PactParticipant], user_ids, week: SummaryWeek) -> int:
    claimed = list(
        User.objects.filter(pk__in=user_ids)
        .select_for_update(skip_locked=True, no_key=True)
        .values_list("pk", flat=True)
    )
    keys = [f"weekly_summary:{week.start.isoformat()}:{uid}" for uid in claimed]
    sent = set(OutboxMessage.objects.filter(dedupe_key__in=keys).values_list("user_id", flat=True))
    todo = [uid for uid in claimed if uid not in sent]
    if not todo:
        return 0
    rows = list(
        members.filter(user_id__in=todo).values_list(
            "user_id",
            "user__telegram_user_id",
            "role",
            "pact_id",
            "pact__title",
            "pact__currency",
        )
    )
    stats = week_stats({row[3] for row in rows}, week.start, week.end)
    pacts_of: dict = defaultdict(list)
    chats = {}
    for user_id, chat_id, role, pact_id, title, currency in rows:
        chats[user_id] = chat_id
        pacts_of[user_id].append(
            {
                "pact_id": str(pact_id),
                "title": title,
                "role": role,
                **stats[pact_id],
                "currency": currency,
            }
        )
    messages = []
    for user_id, pacts in pacts_of.items():
        payload = {
            "week_start": week.start.isoformat(),
            "week_end": week.end.isoformat(),
            "pacts": sorted(pacts, key=lambda p: (p["title"], p["pact_id"])),
        }
        messages += outbox_rows(
            Kind.WEEKLY_SUMMARY, week.start.isoformat(), [(user_id, chats[user_id], True)], payload
        )
    OutboxMessage.objects.bulk_create(messages, ignore_conflicts=True)
    return len(messages)


# --- days and invites -----------------------------------------------------------------


def materialize_days(now: datetime | None = None, *, batch_size: int = 1000) -> int:
    """Materialise days for every active pact that is behind its horizon.

    1. List the zones of active pacts that might be behind (cheap: one DISTINCT query).
    2. Per zone, the horizon is tomorrow there; take only the pacts short of it, so a
       run when nothing is due touches no pact at all.
    3. Each pact in its own short transaction (a crash loses at most one pact's work).
    """
    now = now or timezone.now()
    # No zone is more than 14 h ahead of UTC, so no pact's tomorrow is later than this.
    latest_horizon = (now + timedelta(hours=14)).date() + timedelta(days=1)
    maybe_behind = Pact.objects.filter(status=Pact.Status.ACTIVE).exclude(
        days_materialized_through__gte=latest_horizon
    )
    total = 0
    for zone in sorted(set(maybe_behind.values_list("timezone", flat=True).distinct())):
        horizon = now.astimezone(ZoneInfo(zone)).date() + timedelta(days=1)
        behind = maybe_behind.filter(timezone=zone).exclude(days_materialized_through__gte=horizon)
        for pact in behind.order_by("pk").iterator(chunk_size=batch_size):
            with transaction.atomic():
                total += pact.materialize_days(now)
    log.info("days_materialized", extra={"count": total})
    return total


def expire_invites(now: datetime | None = None, *, batch_size: int = BATCH_SIZE) -> int:
    """Invites unanswered for 7 days: PENDING_ACCEPT → EXPIRED, initiator told."""
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            due = list(
                Pact.objects.filter(
                    status=Pact.Status.PENDING_ACCEPT, created_at__lte=now - INVITE_TTL
                )
                .order_by("created_at")
                .select_for_update(skip_locked=True, of=("self",))
                .values_list("id", "created_by_user_id", "created_by_user__telegram_user_id")[
                    :batch_size
                ]
            )
            if due:
                Pact.objects.filter(
                    id__in=[row[0] for row in due], status=Pact.Status.PENDING_ACCEPT
                ).update(status=Pact.Status.EXPIRED, updated_at=now)
                active = set(
                    User.objects.filter(
                        receives_q(Kind.INVITE_EXPIRED), pk__in={row[1] for row in due}
                    ).values_list("pk", flat=True)
                )
                messages = []
                for pact_id, user_id, chat_id in due:
                    messages += outbox_rows(
                        Kind.INVITE_EXPIRED,
                        str(pact_id),
                        [(user_id, chat_id, user_id in active)],
                        {"pact_id": str(pact_id)},
                    )
                OutboxMessage.objects.bulk_create(messages, ignore_conflicts=True)
                total += len(due)
        if len(due) < batch_size:
            break
    log.info("invites_expired", extra={"count": total})
    return total
