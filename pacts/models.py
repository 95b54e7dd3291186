"""The pact domain: users, pacts, their participants and days.

A transition of one object is a method on its model. Each one

1. locks the row it changes (`SELECT ... FOR UPDATE`),
2. checks role, state and time through one `_refusal_*` function, which the matching
   `can_*` predicate shares, so the screen and the rule never disagree,
3. writes the state change, any ledger entry and the outbox rows in one transaction,
4. raises a DomainError carrying the spec's error code and changes nothing on refusal.

Rules over many days at once live here too, on `PactDayQuerySet` (`.due(now)`,
`.miss(now=...)`) and `Pact.materialize_days`: the single-row methods, the closing of a
pact and the time-driven sweeps in `pacts/sweeps.py` all call the same set-based code.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import IntegrityError, models, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.utils import timezone as dj_timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from uuid6 import uuid7

from habitpact.errors import DomainError
from habitpact.i18n import babel_locale
from ledger.models import LedgerEntry, balance_of
from outbox.models import Kind, OutboxMessage, notify, outbox_rows, receives_q

from .limits import (
    DISPUTE_WINDOW_MAX_HOURS,
    DISPUTE_WINDOW_MIN_HOURS,
    REMINDER_MAX_MINUTES,
    REMINDER_MIN_MINUTES,
    SKIP_REASON_MAX_LENGTH,
    SKIPS_PER_MONTH_DEFAULT,
    SKIPS_PER_MONTH_MAX,
    SKIPS_PER_MONTH_MIN,
    STAKE_MAX,
    STAKE_MIN,
    TITLE_MAX_LENGTH,
)
from .schedule import due_dates, local_deadline

log = logging.getLogger(__name__)

DISPUTE_RESOLUTION_HOURS = 12
INVITE_TTL = timedelta(days=7)
# The forfeit notes of a miss, and the message it sends; the deadline sweep's
# PostgreSQL statement reads the same names (pacts/sweeps.py).
MISSED_NOTE = "Missed check-in"
OWNED_UP_NOTE = "Marked missed"
MISSED_KIND = Kind.MISSED


def missed_key(day_date: str, day_id: str) -> str:
    """The "missed" message's dedupe key leads with the day's date (`missed:<date>:<day>:
    <user>`), so a sweep's new keys land on a few neighbouring leaves of the outbox's
    unique index instead of random ones, however long the history (bench/README.md).
    `_MISS_DUE_SQL` builds the same key from the same parts."""
    return f"{day_date}:{day_id}"


def _now(now: datetime | None) -> datetime:
    return now if now is not None else dj_timezone.now()


class WeekdaysField(models.PositiveSmallIntegerField):
    """Seven booleans, Monday first (ISO order), stored as a bitmask (bit 0 = Monday).

    The spec's `BOOLEAN[7]` has no SQLite equivalent; a bitmask keeps one column that a
    CHECK constraint can bound (1..127: a 7-day schedule with at least one day) on both
    engines, while Python code only ever sees the list.
    """

    def from_db_value(
        self, value: int | None, expression: Any, connection: Any
    ) -> list[bool] | None:
        return None if value is None else self.to_python(value)

    def to_python(self, value: int | list[bool] | None) -> list[bool] | None:
        if value is None or isinstance(value, list):
            return value
        return [bool(int(value) >> i & 1) for i in range(7)]

    def get_prep_value(self, value: int | list[bool] | None) -> int | None:
        if value is None or isinstance(value, int):
            return value
        return sum(1 << i for i, on in enumerate(value) if on)


class UserManager(BaseUserManager["User"]):
    def create_user(
        self, telegram_user_id: int, display_name: str, password: str | None = None, **extra: Any
    ) -> User:
        user = self.model(telegram_user_id=telegram_user_id, display_name=display_name, **extra)
        user.set_password(password) if password else user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(
        self, telegram_user_id: int, display_name: str, password: str | None = None, **extra: Any
    ) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(telegram_user_id, display_name, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A Telegram user. Staff sign in to the admin with their Telegram id and a password."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    telegram_user_id = models.BigIntegerField(unique=True)
    username = models.CharField(max_length=255, null=True, blank=True)
    display_name = models.CharField(max_length=255)
    timezone = models.CharField(max_length=64, default="UTC")
    notify_reminders = models.BooleanField(default=True)
    notify_disputes = models.BooleanField(default=True)
    reminder_minutes_before = models.PositiveIntegerField(default=60)
    # Rule 17: whether the bot may message this user (they started it, or allowed it to
    # write), and when the newest signal about it arrived (pacts/reach.py keeps both).
    can_receive_messages = models.BooleanField(default=False)
    can_receive_messages_changed_at = models.DateTimeField(null=True, blank=True)
    # Rule 18: what Telegram last said (initData / bot updates: an IETF tag like "pt-br"),
    # and the user's own choice in settings (null = follow Telegram). habitpact/i18n.py's
    # language_of() turns the two into the language we speak.
    language_code = models.CharField(max_length=35, null=True, blank=True)
    language = models.CharField(max_length=8, null=True, blank=True, choices=settings.LANGUAGES)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = UserManager()

    USERNAME_FIELD = "telegram_user_id"
    REQUIRED_FIELDS = ["display_name"]

    class Meta:
        db_table = "users"
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    reminder_minutes_before__gte=REMINDER_MIN_MINUTES,
                    reminder_minutes_before__lte=REMINDER_MAX_MINUTES,
                ),
                name="users_reminder_minutes_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.telegram_user_id})"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class PactQuerySet(models.QuerySet["Pact"]):
    def for_user(self, user: User, *, role: str | None = None) -> PactQuerySet:
        """The pacts `user` is in (accepted, so not an invite they declined), optionally
        in one role: the one membership query the API, Mini App, export and drills use.
        One filter() call, so the role and status apply to the same participant row."""
        membership: dict[str, Any] = {
            "participants__user": user,
            "participants__status": PactParticipant.Status.ACCEPTED,
        }
        if role is not None:
            membership["participants__role"] = role
        return self.filter(**membership)


class Pact(models.Model):
    class Status(models.TextChoices):
        PENDING_ACCEPT = "PENDING_ACCEPT"
        ACTIVE = "ACTIVE"
        ENDED = "ENDED"
        DECLINED = "DECLINED"
        EXPIRED = "EXPIRED"
        # Withdrawn by the initiator while still pending (rule 15).
        CANCELLED = "CANCELLED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    description = models.TextField(blank=True, default="")
    currency = models.CharField(max_length=3, default="GBP")
    stake_amount = models.PositiveIntegerField(help_text="Minor units (pence).")
    schedule_days = WeekdaysField(help_text="[Mon..Sun] booleans.")
    deadline_time = models.TimeField()
    timezone = models.CharField(max_length=64)
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    dispute_window_hours = models.PositiveSmallIntegerField(default=12)
    # Rule 8: the initiator's own skips per calendar month (pact zone), agreed up front.
    skips_per_month = models.PositiveSmallIntegerField(default=SKIPS_PER_MONTH_DEFAULT)
    status = models.CharField(max_length=20, choices=Status, default=Status.PENDING_ACCEPT)
    invite_code = models.CharField(max_length=32, unique=True, null=True, blank=True)
    partner_username = models.CharField(max_length=32, blank=True, default="")
    created_by_user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="created_pacts"
    )
    activated_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.TextField(blank=True, default="")
    days_materialized_through = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PactQuerySet.as_manager()

    class Meta:
        db_table = "pacts"
        indexes = [
            models.Index(fields=["status"], name="idx_pacts_status"),
            models.Index(
                fields=["created_at"],
                name="idx_pacts_pending_invites",
                condition=Q(status="PENDING_ACCEPT"),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "PENDING_ACCEPT",
                        "ACTIVE",
                        "ENDED",
                        "DECLINED",
                        "EXPIRED",
                        "CANCELLED",
                    ]
                ),
                name="pacts_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(stake_amount__gte=STAKE_MIN, stake_amount__lte=STAKE_MAX),
                name="pacts_stake_amount_range",
            ),
            models.CheckConstraint(
                condition=Q(schedule_days__gte=1, schedule_days__lte=127),
                name="pacts_schedule_has_a_day",
            ),
            models.CheckConstraint(
                condition=Q(
                    dispute_window_hours__gte=DISPUTE_WINDOW_MIN_HOURS,
                    dispute_window_hours__lte=DISPUTE_WINDOW_MAX_HOURS,
                ),
                name="pacts_dispute_window_range",
            ),
            models.CheckConstraint(
                condition=Q(
                    skips_per_month__gte=SKIPS_PER_MONTH_MIN,
                    skips_per_month__lte=SKIPS_PER_MONTH_MAX,
                ),
                name="pacts_skips_per_month_range",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gt=models.F("start_date")),
                name="pacts_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def invite_expires_at(self) -> datetime:
        return self.created_at + INVITE_TTL

    @property
    def initiator(self) -> User:
        return self._participant_user(PactParticipant.Role.INITIATOR)

    @property
    def partner(self) -> User | None:
        return self._participant_user(PactParticipant.Role.PARTNER)

    @cached_property
    def members(self) -> list[PactParticipant]:
        """Accepted participants with their users: one query, or none after
        `prefetch_related("participants__user")`."""
        participants = self.participants.all()
        if "participants" not in getattr(self, "_prefetched_objects_cache", {}):
            participants = participants.select_related("user")
        return [p for p in participants if p.status == PactParticipant.Status.ACCEPTED]

    def _participant_user(self, role: str) -> User | None:
        for participant in self.members:
            if participant.role == role:
                return participant.user
        return None

    def other_member(self, user: User) -> User | None:
        """The pact's other participant, seen from `user` (None before an answer)."""
        return next((m.user for m in self.members if m.user_id != user.pk), None)

    def role_of(self, user: User) -> str | None:
        for participant in self.members:
            if participant.user_id == user.pk:
                return participant.role
        return None

    def require_participant(self, user: User) -> str:
        role = self.role_of(user)
        if role is None:
            raise DomainError("FORBIDDEN_NOT_PARTICIPANT", _("You're not part of this pact."))
        return role

    def local_today(self, now: datetime | None = None) -> date:
        return _now(now).astimezone(self.tz).date()

    def deadline_on(self, day: date) -> datetime:
        return local_deadline(day, self.deadline_time, self.tz)

    @property
    def is_past(self) -> bool:
        """Over for good (ended, declined, expired, withdrawn): Home lists it under
        "Past pacts" rather than with the pacts still running or waiting."""
        return self.status not in (Pact.Status.ACTIVE, Pact.Status.PENDING_ACCEPT)

    def is_scheduled_on(self, day: date) -> bool:
        """Whether `day` is one of the pact's check-in days (its weekdays, within its
        start and end), whether or not its PactDay row exists yet."""
        return bool(due_dates(self.schedule_days, self.start_date, self.end_date, day, day))

    # --- the skip allowance (rule 8) ------------------------------------------------------

    def skip_allowance(self, on: date) -> SkipAllowance:
        """The initiator's skips in the calendar month holding `on` (a date in the pact's
        zone): how many the pact allows, how many are used. One query per month, kept
        on this instance until `lock()` re-reads the pact (as every skip does first)."""
        first, last = month_of(on)
        cache = self.__dict__.setdefault("_skip_allowances", {})
        if first not in cache:
            used = PactDay.objects.filter(allowance_skips(first, last), pact=self).count()
            self.remember_skips_used(first, used)
        return cache[first]

    def remember_skips_used(self, first: date, used: int) -> None:
        """Keep `used` (the count of `allowance_skips` in the month starting `first`, made
        by a caller that counted it anyway: `pacts.actions.pact_stats`) as that month's
        allowance, so `skip_allowance` needs no query of its own."""
        self.__dict__.setdefault("_skip_allowances", {})[first] = SkipAllowance(
            month=first, allowed=self.skips_per_month, used=used
        )

    def lock(self) -> None:
        """Re-read this row under `SELECT ... FOR NO KEY UPDATE` (inside a transaction).

        NO KEY: a pact's id never changes, and the plain FOR UPDATE would also block the
        foreign-key checks of rows that point at the pact (FOR KEY SHARE, taken at commit
        since Django's FKs are deferred). A deadline sweep holding a day's row lock and
        committing its FORFEIT would then wait for a close that waits for that day:
        a deadlock. Two lockers still exclude each other."""
        self.refresh_from_db(from_queryset=Pact.objects.select_for_update(no_key=True))
        self.__dict__.pop("members", None)
        self.__dict__.pop("_skip_allowances", None)

    def days_horizon(self, now: datetime) -> date:
        """The last date whose day exists once materialised: tomorrow, in the pact's zone."""
        return now.astimezone(self.tz).date() + timedelta(days=1)

    def is_behind_on(self, day: date, now: datetime) -> bool:
        """Whether `materialize_days(now)` would create the day on `day` and has not yet
        (a worker that was down): the one case where reading a day has to write it."""
        return (
            self.status == Pact.Status.ACTIVE
            and self.activated_at is not None
            and (self.days_materialized_through is None or day > self.days_materialized_through)
            and day <= self.days_horizon(now)
            and self.is_scheduled_on(day)
            and self.deadline_on(day) > self.activated_at
        )

    def materialize_days(self, now: datetime) -> int:
        """Create the scheduled days from where the pact left off through tomorrow (local).

        Starts the day after `days_materialized_through` (or at activation), so a worker
        that was down catches up (overdue days are created too; the deadline sweep decides
        them); never creates a day whose deadline had passed when the pact became active.
        Creating twice creates nothing new. Call inside a transaction.
        """
        if self.status != Pact.Status.ACTIVE or self.activated_at is None:
            return 0
        # `self` may be stale (a job read it before someone ended it): re-read its state
        # under the pact's row lock, which every close holds, so days are never inserted
        # into a pact that has just ended.
        current = (
            Pact.objects.select_for_update(no_key=True)  # the lock `lock()` takes
            .filter(pk=self.pk)
            .values_list("status", "days_materialized_through")
            .first()
        )
        if current is None or current[0] != Pact.Status.ACTIVE:
            return 0
        self.days_materialized_through = current[1]
        horizon = self.days_horizon(now)
        first = (
            self.days_materialized_through + timedelta(days=1)
            if self.days_materialized_through
            else self.activated_at.astimezone(self.tz).date()
        )
        # Once a day per pact (the job comes when the horizon moves): close the breaks the
        # clock has closed, so "one open break" stays true (pacts/breaks.py).
        self.breaks.settle(today=self.local_today(now), now=now)
        if first > horizon:
            return 0
        on_break = self.breaks.day_dates(first, horizon)
        days = []
        for day in due_dates(self.schedule_days, self.start_date, self.end_date, first, horizon):
            deadline = self.deadline_on(day)
            if deadline <= self.activated_at:
                continue
            if day in on_break:  # inside an approved break: a day off from the start (rule 10)
                days.append(
                    PactDay(
                        pact=self,
                        date=day,
                        deadline_at=deadline,
                        status=PactDay.Status.SKIPPED,
                        skipped_at=now,
                        on_break_id=on_break[day],
                    )
                )
            else:
                days.append(PactDay(pact=self, date=day, deadline_at=deadline))
        created = PactDay.objects.bulk_create(days, ignore_conflicts=True)
        Pact.objects.filter(pk=self.pk, status=Pact.Status.ACTIVE).update(
            days_materialized_through=horizon
        )
        self.days_materialized_through = horizon
        return len(created)


def month_of(day: date) -> tuple[date, date]:
    """The first and last dates of the calendar month holding `day`."""
    first = day.replace(day=1)
    return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def allowance_skips(first: date, last: date, *, via: str = "") -> Q:
    """The days that used the initiator's free skips (rule 8) from `first` to `last`
    (inclusive): skipped by the initiator, not granted by the partner. `via` reaches the
    days from another model ("days__" from a pact)."""
    return Q(
        **{
            f"{via}status": PactDay.Status.SKIPPED,
            f"{via}skip_used_allowance": True,
            f"{via}date__gte": first,
            f"{via}date__lte": last,
        }
    )


@dataclass(frozen=True)
class SkipAllowance:
    """The initiator's free skips in one calendar month (rule 8)."""

    month: date  # the first of the month
    allowed: int
    used: int

    @property
    def left(self) -> int:
        return max(0, self.allowed - self.used)


def new_invite_code() -> str:
    # 128 bits from the OS's CSPRNG, URL-safe, fits Telegram's startapp alphabet.
    return secrets.token_urlsafe(16).replace("-", "x").replace("_", "y")[:22]


class PactParticipant(models.Model):
    class Role(models.TextChoices):
        INITIATOR = "INITIATOR"
        PARTNER = "PARTNER"

    class Status(models.TextChoices):
        PENDING = "PENDING"
        ACCEPTED = "ACCEPTED"
        DECLINED = "DECLINED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    pact = models.ForeignKey(Pact, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="participations")
    role = models.CharField(max_length=20, choices=Role)
    status = models.CharField(max_length=20, choices=Status, default=Status.PENDING)
    accepted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now, editable=False)

    class Meta:
        db_table = "pact_participants"
        constraints = [
            models.UniqueConstraint(fields=["pact", "user"], name="pact_participants_pact_user"),
            models.UniqueConstraint(fields=["pact", "role"], name="pact_participants_pact_role"),
            models.CheckConstraint(
                condition=Q(role__in=["INITIATOR", "PARTNER"]), name="pact_participants_role_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["PENDING", "ACCEPTED", "DECLINED"]),
                name="pact_participants_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} {self.user_id} ({self.status})"


class PactDayQuerySet(models.QuerySet["PactDay"]):
    """The day rules over many rows: which days a sweep takes, and the transition it
    applies to all of them in a few statements."""

    def due(self, now: datetime) -> PactDayQuerySet:
        """PENDING days of ACTIVE pacts whose deadline has passed: what the deadline
        sweep misses (the partial index `idx_pact_days_deadline` serves it)."""
        return self.filter(
            status=PactDay.Status.PENDING, deadline_at__lte=now, pact__status=Pact.Status.ACTIVE
        )

    def miss(self, *, now: datetime, note: str = MISSED_NOTE, tell_lapsed: bool = True) -> int:
        """PENDING → MISSED for these days (locked by the caller), each with one FORFEIT
        entry and a "missed" message to both participants. Returns how many.

        An OPEN skip request on such a day LAPSES (rule 9: unanswered by the deadline), and
        with `tell_lapsed` its initiator is told so (not when they owned up themselves)."""
        rows = list(
            self.filter(status=PactDay.Status.PENDING).values_list(
                "id", "pact_id", "date", "pact__stake_amount"
            )
        )
        if not rows:
            return 0
        ids = [row[0] for row in rows]
        PactDay.objects.filter(id__in=ids, status=PactDay.Status.PENDING).update(
            status=PactDay.Status.MISSED, updated_at=now
        )
        members = members_by_pact({row[1] for row in rows}, MISSED_KIND)
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
            key = missed_key(day_date.isoformat(), str(day_id))
            messages += outbox_rows(MISSED_KIND, key, recipients, payload)
        messages += _lapse_skip_requests(ids, rows, members, now=now, tell=tell_lapsed)
        LedgerEntry.objects.bulk_create(entries, batch_size=2000)
        OutboxMessage.objects.bulk_create(messages, batch_size=2000, ignore_conflicts=True)
        return len(rows)


def _lapse_skip_requests(ids, rows, members, *, now: datetime, tell: bool) -> list[OutboxMessage]:
    """OPEN skip requests of the days just missed → LAPSED; the outcome messages to
    their initiators (the same rows `_MISS_DUE_SQL`'s `lapse_messages` writes)."""
    lapsed = list(
        SkipRequest.objects.filter(day_id__in=ids, status=SkipRequest.Status.OPEN).values_list(
            "id", "day_id"
        )
    )
    if not lapsed:
        return []
    SkipRequest.objects.filter(
        id__in=[row[0] for row in lapsed], status=SkipRequest.Status.OPEN
    ).update(status=SkipRequest.Status.LAPSED, answered_at=now, updated_at=now)
    if not tell:
        return []
    day_facts = {row[0]: row for row in rows}
    messages = []
    for request_id, day_id in lapsed:
        _, pact_id, day_date, _stake = day_facts[day_id]
        initiator = members[pact_id].get(PactParticipant.Role.INITIATOR)
        payload = {
            "pact_id": str(pact_id),
            "day_id": str(day_id),
            "date": day_date.isoformat(),
            "request_id": str(request_id),
            "outcome": SkipRequest.Status.LAPSED,
        }
        recipients = [initiator] if initiator else []
        messages += outbox_rows(Kind.SKIP_REQUEST_ANSWERED, str(request_id), recipients, payload)
    return messages


class PactDay(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING"
        DONE = "DONE"
        MISSED = "MISSED"
        DISPUTED = "DISPUTED"
        SKIPPED = "SKIPPED"
        WAIVED = "WAIVED"

    class Resolution(models.TextChoices):
        DONE_STANDS = "DONE_STANDS"
        CONCEDED = "CONCEDED"
        WITHDRAWN = "WITHDRAWN"
        REJECTED = "REJECTED"

    # Version 7 (time-ordered), like the ledger's: the days made together sit together in
    # the primary key and in every index keyed by a day (the ledger's pact_day_id, its
    # one-FORFEIT-per-day), so a sweep's writes stay on a few hot pages however long the
    # history.
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # Indexed by the unique (pact, date) constraint; the user FKs below by partial
    # indexes (mostly NULL): a status change rewrites every index entry of the row, and
    # the deadline sweep changes thousands of rows a batch.
    pact = models.ForeignKey(Pact, on_delete=models.CASCADE, related_name="days", db_index=False)
    date = models.DateField(help_text="In the pact's time zone.")
    status = models.CharField(max_length=20, choices=Status, default=Status.PENDING)
    deadline_at = models.DateTimeField()

    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_in_by_user = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    checkin_note = models.TextField(null=True, blank=True)
    checkin_idempotency_key = models.CharField(max_length=64, null=True, blank=True)

    dispute_open_until = models.DateTimeField(null=True, blank=True)
    disputed_at = models.DateTimeField(null=True, blank=True)
    disputed_by_user = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    dispute_reason = models.TextField(null=True, blank=True)
    dispute_resolve_until = models.DateTimeField(null=True, blank=True)

    resolution = models.CharField(max_length=20, choices=Resolution, null=True, blank=True)
    resolution_at = models.DateTimeField(null=True, blank=True)
    resolution_by_user = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )

    skipped_at = models.DateTimeField(null=True, blank=True)
    skipped_by_user = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    # Rule 8: the initiator's own skip uses one of the month's; a partner's skip (or an
    # approved skip request) never does. Counted by `Pact.skip_allowance`.
    skip_used_allowance = models.BooleanField(default=False)
    reminded_at = models.DateTimeField(null=True, blank=True)

    # --- breaks and the partner's review (rules 10, 11) ---
    # The break that made this day SKIPPED (`pacts/breaks.py`); empty for a person's skip.
    on_break = models.ForeignKey(
        "Break",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="break_days",
        db_index=False,
    )
    # When the partner said "Looks good": the dispute window closed then (rule 11).
    approved_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=dj_timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PactDayQuerySet.as_manager()

    class Meta:
        db_table = "pact_days"
        ordering = ["date"]
        # No index on (pact, status) or on date alone, though the spec's DDL has them:
        # every query names its pact, which the unique (pact, date) leads with, and each
        # index cost every status change an entry (pacts/0015).
        indexes = [
            models.Index(
                fields=["deadline_at"], name="idx_pact_days_deadline", condition=Q(status="PENDING")
            ),
            models.Index(
                fields=["dispute_resolve_until"],
                name="idx_pact_days_dispute",
                condition=Q(status="DISPUTED"),
            ),
            # The reminder sweep: pending days not yet reminded, by deadline.
            models.Index(
                fields=["deadline_at"],
                name="idx_pact_days_remind",
                condition=Q(status="PENDING", reminded_at__isnull=True),
            ),
            models.Index(
                fields=["checked_in_by_user"],
                name="idx_pact_days_checked_in_by",
                condition=Q(checked_in_by_user__isnull=False),
            ),
            models.Index(
                fields=["disputed_by_user"],
                name="idx_pact_days_disputed_by",
                condition=Q(disputed_by_user__isnull=False),
            ),
            models.Index(
                fields=["resolution_by_user"],
                name="idx_pact_days_resolution_by",
                condition=Q(resolution_by_user__isnull=False),
            ),
            models.Index(
                fields=["skipped_by_user"],
                name="idx_pact_days_skipped_by",
                condition=Q(skipped_by_user__isnull=False),
            ),
            models.Index(
                fields=["on_break"],
                name="idx_pact_days_on_break",
                condition=Q(on_break__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["pact", "date"], name="pact_days_pact_date"),
            models.UniqueConstraint(
                fields=["checked_in_by_user", "checkin_idempotency_key"],
                condition=Q(checkin_idempotency_key__isnull=False),
                name="pact_days_checkin_key_per_user",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=["PENDING", "DONE", "MISSED", "DISPUTED", "SKIPPED", "WAIVED"]
                ),
                name="pact_days_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(resolution__isnull=True)
                | Q(resolution__in=["DONE_STANDS", "CONCEDED", "WITHDRAWN", "REJECTED"]),
                name="pact_days_resolution_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["DONE", "DISPUTED"]) | Q(checked_in_at__isnull=False),
                name="pact_days_done_has_checkin",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pact_id} {self.date} {self.status}"

    def lock(self) -> None:
        """Re-read this row under `SELECT ... FOR UPDATE` (inside a transaction)."""
        try:
            self.refresh_from_db(from_queryset=PactDay.objects.select_for_update())
            self.__dict__.pop("skip_request", None)
        except PactDay.DoesNotExist:
            # An ended pact's pending days are removed.
            raise DomainError("DAY_NOT_FOUND", _("That day is no longer scheduled.")) from None

    # --- the rules, one function each: the transitions raise them, the predicates ask --

    def _refusal_check_in(self, user: User, now: datetime) -> DomainError | None:
        role = self.pact.role_of(user)
        if role is None:
            return DomainError("FORBIDDEN_NOT_PARTICIPANT", _("You're not part of this pact."))
        if self.pact.status != Pact.Status.ACTIVE:
            return DomainError("PACT_NOT_ACTIVE", _("This pact isn't active."))
        if role != PactParticipant.Role.INITIATOR:
            return DomainError(
                "FORBIDDEN_WRONG_ROLE", _("Only the person who made the pact checks in.")
            )
        if self.status in (self.Status.DONE, self.Status.DISPUTED):
            return DomainError("ALREADY_CHECKED_IN", _("You've already checked in for this day."))
        if self.status != self.Status.PENDING:
            return DomainError(
                "INVALID_STATE_TRANSITION",
                _("This day is %(status)s; there's nothing to check in.")
                % {"status": pgettext("status", self.Status(self.status).label).lower()},
                {"status": self.status},
            )
        if now >= self.deadline_at:
            return DomainError(
                "INVALID_STATE_TRANSITION",
                _("The deadline for this day has passed."),
                {"deadline": self.deadline_at.isoformat()},
            )
        if self.pact.local_today(now) != self.date:
            return DomainError(
                "INVALID_STATE_TRANSITION",
                _("You can only check in on the day itself."),
                {"date": self.date.isoformat()},
            )
        return None

    def _refusal_skip(self, user: User, now: datetime) -> DomainError | None:
        role = self.pact.role_of(user)
        if role is None:
            return DomainError("FORBIDDEN_NOT_PARTICIPANT", _("You're not part of this pact."))
        if self.pact.status != Pact.Status.ACTIVE:
            return DomainError("PACT_NOT_ACTIVE", _("This pact isn't active."))
        if self.status != self.Status.PENDING:
            return DomainError(
                "INVALID_STATE_TRANSITION",
                _("Only a day that's still pending can be skipped."),
                {"status": self.status},
            )
        if now >= self.deadline_at:
            return DomainError(
                "INVALID_STATE_TRANSITION",
                _("Too late to skip: the deadline has passed."),
                {"deadline": self.deadline_at.isoformat()},
            )
        if role == PactParticipant.Role.INITIATOR:
            return self._refusal_allowance()
        return None

    def _refusal_allowance(self) -> DomainError | None:
        """Rule 8: the initiator's own skip needs one left in the day's month. (`skip`
        holds the pact's row lock while asking, so two skips cannot both take the last.)"""
        allowance = self.pact.skip_allowance(self.date)
        if allowance.left > 0:
            return None
        partner = self.pact.partner
        name = partner.display_name if partner else _("your partner")
        if allowance.allowed == 0:
            text = _("This pact has no free skips. Ask %(name)s to skip instead.") % {"name": name}
        else:
            text = ngettext(
                "You've used all %(allowed)d of %(month)s's free skips. "
                "Ask %(name)s to skip instead.",
                "You've used all %(allowed)d of %(month)s's free skips. "
                "Ask %(name)s to skip instead.",
                allowance.allowed,
            ) % {
                "allowed": allowance.allowed,
                "month": format_date(self.date, "LLLL", locale=babel_locale()),
                "name": name,
            }
        return DomainError(
            "SKIP_ALLOWANCE_USED",
            text,
            {
                "month": f"{allowance.month:%Y-%m}",
                "allowed": allowance.allowed,
                "used": allowance.used,
            },
        )

    # --- skip requests (rule 9) -----------------------------------------------------------

    @cached_property
    def skip_request(self) -> SkipRequest | None:
        """The day's latest skip request (the one the screens and the API show), or None.
        Reads `prefetch_related("skip_requests")` when the caller did that; kept until
        `lock()` re-reads the day (as every transition does first)."""
        return max(self.skip_requests.all(), key=lambda r: r.requested_at, default=None)

    def _refusal_request_skip(self, user: User, reason: str, now: datetime) -> DomainError | None:
        role = self.pact.role_of(user)
        if role is None:
            return DomainError("FORBIDDEN_NOT_PARTICIPANT", _("You're not part of this pact."))
        if self.pact.status != Pact.Status.ACTIVE:
            return DomainError("PACT_NOT_ACTIVE", _("This pact isn't active."))
        if role != PactParticipant.Role.INITIATOR:
            return DomainError(
                "FORBIDDEN_WRONG_ROLE",
                _("Only the person who made the pact asks to skip. You can just skip the day."),
            )
        if len(reason) > SKIP_REASON_MAX_LENGTH:
            return DomainError(
                "VALIDATION_ERROR",
                _("Keep the reason under %(count)d characters.")
                % {"count": SKIP_REASON_MAX_LENGTH},
                {"reason": _("At most %(count)d characters.") % {"count": SKIP_REASON_MAX_LENGTH}},
            )
        if self.status != self.Status.PENDING:
            return DomainError(
                "INVALID_STATE_TRANSITION",
                _("Only a day that's still pending can be skipped."),
                {"status": self.status},
            )
        if now >= self.deadline_at:
            return DomainError(
                "INVALID_STATE_TRANSITION",
                _("Too late to ask: the deadline has passed."),
                {"deadline": self.deadline_at.isoformat()},
            )
        current = self.skip_request
        if current is not None and current.status == SkipRequest.Status.OPEN:
            return DomainError(
                "SKIP_REQUEST_OPEN",
                _("You've already asked to skip this day. Hang tight for the answer."),
                {"requested_at": current.requested_at.isoformat()},
            )
        if current is not None and current.status == SkipRequest.Status.DECLINED:
            return DomainError(
                "INVALID_STATE_TRANSITION",
                _("Your partner already said no to skipping this day."),
                {"skip_request": current.status},
            )
        return None

    def _refusal_answer_skip(self, user: User, now: datetime) -> DomainError | None:
        role = self.pact.role_of(user)
        if role is None:
            return DomainError("FORBIDDEN_NOT_PARTICIPANT", _("You're not part of this pact."))
        if role != PactParticipant.Role.PARTNER:
            return DomainError(
                "FORBIDDEN_WRONG_ROLE", _("Only the partner can answer a skip request.")
            )
        current = self.skip_request
        if current is None:
            return DomainError(
                "INVALID_STATE_TRANSITION", _("There's no skip request on this day.")
            )
        if current.status != SkipRequest.Status.OPEN:
            return DomainError(
                "INVALID_STATE_TRANSITION",
                _("That skip request was already %(status)s.")
                % {"status": SKIP_REQUEST_WORDS[current.status]()},
                {"skip_request": current.status},
            )
        if self.pact.status != Pact.Status.ACTIVE:
            return DomainError("PACT_NOT_ACTIVE", _("This pact isn't active."))
        if self.status != self.Status.PENDING or now >= self.deadline_at:
            return DomainError(
                "INVALID_STATE_TRANSITION",
                _("Too late: the request lapsed at the deadline."),
                {"deadline": self.deadline_at.isoformat(), "status": self.status},
            )
        return None

    def can_request_skip(self, user: User, now: datetime | None = None) -> bool:
        return self._refusal_request_skip(user, "", _now(now)) is None

    def can_answer_skip(self, user: User, now: datetime | None = None) -> bool:
        return self._refusal_answer_skip(user, _now(now)) is None

    def _refusal_miss(self, user: User, now: datetime) -> DomainError | None:
        role = self.pact.role_of(user)
        if role is None:
            return DomainError("FORBIDDEN_NOT_PARTICIPANT", _("You're not part of this pact."))
        if self.pact.status != Pact.Status.ACTIVE:
            return DomainError("PACT_NOT_ACTIVE", _("This pact isn't active."))
        if role != PactParticipant.Role.INITIATOR:
            return DomainError(
                "FORBIDDEN_WRONG_ROLE", _("Only the initiator can own up to a miss.")
            )
        if self.status != self.Status.PENDING:
            return DomainError(
                "INVALID_STATE_TRANSITION",
                _("Only a pending day can be marked as missed."),
                {"status": self.status},
            )
        if now >= self.deadline_at:
            return DomainError(
                "INVALID_STATE_TRANSITION",
                _("The deadline has passed; the day is being marked missed anyway."),
                {"deadline": self.deadline_at.isoformat()},
            )
        return None

    def _refusal_dispute(self, user: User, now: datetime) -> DomainError | None:
        role = self.pact.role_of(user)
        if role is None:
            return DomainError("FORBIDDEN_NOT_PARTICIPANT", _("You're not part of this pact."))
        # Ending a pact does not cut a running dispute window short (rule 13).
        if self.pact.status not in (Pact.Status.ACTIVE, Pact.Status.ENDED):
            return DomainError("PACT_NOT_ACTIVE", _("This pact isn't active."))
        if role != PactParticipant.Role.PARTNER:
            return DomainError(
                "FORBIDDEN_WRONG_ROLE", _("Only the partner can dispute a check-in.")
            )
        if self.status != self.Status.DONE:
            return DomainError(
                "INVALID_STATE_TRANSITION",
                _("Only a checked-in day can be disputed."),
                {"status": self.status},
            )
        if not self.dispute_window_open(now):
            return DomainError(
                "DISPUTE_WINDOW_CLOSED",
                _("The dispute window for this day has closed."),
                {"window_end": self.dispute_open_until and self.dispute_open_until.isoformat()},
            )
        return None

    def _refusal_resolve(self, user: User, resolution: str, now: datetime) -> DomainError | None:
        role = self.pact.role_of(user)
        if role is None:
            return DomainError("FORBIDDEN_NOT_PARTICIPANT", _("You're not part of this pact."))
        if resolution not in RESOLUTION_ROLE:
            return DomainError(
                "VALIDATION_ERROR",
                _("Resolution must be CONCEDE, WITHDRAW or REJECT."),
                {"resolution": resolution},
            )
        if role != RESOLUTION_ROLE[resolution]:
            return DomainError("FORBIDDEN_WRONG_ROLE", RESOLUTION_REFUSAL[resolution]())
        if self.status != self.Status.DISPUTED:
            return DomainError(
                "INVALID_STATE_TRANSITION",
                _("There's no open dispute on this day."),
                {"status": self.status},
            )
        if now >= self.dispute_resolve_until:
            return DomainError(
                "RESOLUTION_WINDOW_CLOSED",
                _("Too late: the time to resolve this dispute has run out."),
                {"window_end": self.dispute_resolve_until.isoformat()},
            )
        return None

    def _refusal_waive(self, user: User, now: datetime) -> DomainError | None:
        role = self.pact.role_of(user)
        if role is None:
            return DomainError("FORBIDDEN_NOT_PARTICIPANT", _("You're not part of this pact."))
        if role != PactParticipant.Role.PARTNER:
            return DomainError("FORBIDDEN_WRONG_ROLE", _("Only the partner can waive a miss."))
        if self.status != self.Status.MISSED:
            return DomainError(
                "INVALID_STATE_TRANSITION",
                _("Only a missed day can be waived."),
                {"status": self.status},
            )
        # Rule 14: the tab never goes below zero. A miss already settled is paid for;
        # its waiver would leave the partner owing the initiator. (`waive` holds the
        # pact's lock while asking, the one settlements take, so the balance holds.)
        balance = balance_of(self.pact)
        if balance - self.pact.stake_amount < 0:
            return DomainError(
                "WAIVE_EXCEEDS_BALANCE",
                _("That miss is already paid for: waiving it now would tip the tab below zero."),
                {"balance": balance, "amount": self.pact.stake_amount},
            )
        return None

    # --- the partner's review (rule 11) -------------------------------------------------

    def _refusal_approve(self, user: User, now: datetime) -> DomainError | None:
        """ "Looks good": the partner, on a DONE day whose dispute window is open."""
        role = self.pact.role_of(user)
        if role is None:
            return DomainError("FORBIDDEN_NOT_PARTICIPANT", _("You're not part of this pact."))
        # Like a dispute, a review outlives the pact's end (rule 13).
        if self.pact.status not in (Pact.Status.ACTIVE, Pact.Status.ENDED):
            return DomainError("PACT_NOT_ACTIVE", _("This pact isn't active."))
        if role != PactParticipant.Role.PARTNER:
            return DomainError(
                "FORBIDDEN_WRONG_ROLE", _("Only your partner can say your check-in looks good.")
            )
        if self.status == self.Status.DISPUTED:
            return DomainError(
                "INVALID_STATE_TRANSITION",
                _("This check-in is in dispute: withdraw the dispute to let it stand."),
                {"status": self.status},
            )
        if self.status != self.Status.DONE:
            return DomainError(
                "INVALID_STATE_TRANSITION",
                _("Only a checked-in day can be approved."),
                {"status": self.status},
            )
        if not self.dispute_window_open(now):
            return DomainError(
                "DISPUTE_WINDOW_CLOSED",
                _("The review window for this day has closed: the check-in stands."),
                {"window_end": self.dispute_open_until and self.dispute_open_until.isoformat()},
            )
        return None

    def can_approve(self, user: User, now: datetime | None = None) -> bool:
        return self._refusal_approve(user, _now(now)) is None

    def approve(self, user: User, *, now: datetime | None = None) -> PactDay:
        """DONE stays DONE, reviewed: the partner's "Looks good" closes the dispute
        window at once (`dispute_open_until` = now) and the initiator is told. Asked
        again once approved, answers with the day and writes nothing."""
        now = _now(now)
        with transaction.atomic():
            self.lock()
            if self.approved_at is not None and self.pact.role_of(user) == (
                PactParticipant.Role.PARTNER
            ):
                return self
            self._raise(self._refusal_approve(user, now))
            self.approved_at = now
            self.dispute_open_until = now
            self.save(update_fields=["approved_at", "dispute_open_until", "updated_at"])
            notify(self.pact.initiator, "checkin_approved", f"approve:{self.pk}", day=self, by=user)
        self._log("day_approved", user)
        return self

    def awaiting_sweep(self, now: datetime | None = None) -> bool:
        """Still PENDING although its deadline has passed: nothing can be done about it
        any more, and the deadline sweep is about to record the miss. Screens and the
        bot say so instead of offering (or promising) a check-in."""
        return self.status == self.Status.PENDING and _now(now) >= self.deadline_at

    @cached_property
    def miss_cause(self) -> str | None:
        """How a MISSED day came to be missed: "CONCEDED" (a dispute, conceded),
        "OWNED_UP" (the initiator marked it missed before its deadline: its forfeit is
        older than the deadline) or "DEADLINE" (the sweep). None for any other state."""
        if self.status != self.Status.MISSED:
            return None
        if self.resolution == self.Resolution.CONCEDED:
            return "CONCEDED"
        early = LedgerEntry.objects.filter(
            pact_day=self, type=LedgerEntry.Type.FORFEIT, created_at__lt=self.deadline_at
        )
        return "OWNED_UP" if early.exists() else "DEADLINE"

    def dispute_window_open(self, now: datetime | None = None) -> bool:
        """Whether a checked-in day may still be disputed (by its partner), by the clock."""
        return self.dispute_open_until is not None and _now(now) < self.dispute_open_until

    def can_check_in(self, user: User, now: datetime | None = None) -> bool:
        return self._refusal_check_in(user, _now(now)) is None

    def can_skip(self, user: User, now: datetime | None = None) -> bool:
        return self._refusal_skip(user, _now(now)) is None

    def can_miss(self, user: User, now: datetime | None = None) -> bool:
        return self._refusal_miss(user, _now(now)) is None

    def can_dispute(self, user: User, now: datetime | None = None) -> bool:
        return self._refusal_dispute(user, _now(now)) is None

    def can_resolve(self, user: User, resolution: str, now: datetime | None = None) -> bool:
        return self._refusal_resolve(user, resolution, _now(now)) is None

    def can_waive(self, user: User, now: datetime | None = None) -> bool:
        return self._refusal_waive(user, _now(now)) is None

    @staticmethod
    def _raise(refusal: DomainError | None) -> None:
        if refusal is not None:
            raise refusal

    # --- transitions ------------------------------------------------------------------

    def check_in(
        self,
        user: User,
        *,
        note: str | None = None,
        idempotency_key: str | None = None,
        now: datetime | None = None,
    ) -> PactDay:
        """PENDING → DONE. Retrying with the same key and note returns the first result."""
        now = _now(now)
        note = note or None
        with transaction.atomic():
            self.lock()
            if idempotency_key:
                earlier = (
                    PactDay.objects.filter(
                        checked_in_by_user=user, checkin_idempotency_key=idempotency_key
                    )
                    .only("id", "checkin_note")
                    .first()
                )
                if earlier is not None:
                    if earlier.pk == self.pk and earlier.checkin_note == note:
                        return self
                    raise DomainError(
                        "IDEMPOTENCY_MISMATCH",
                        _("This idempotency key was already used with a different request."),
                        {"idempotency_key": idempotency_key},
                    )
            self._raise(self._refusal_check_in(user, now))
            self.status = self.Status.DONE
            self.checked_in_at = now
            self.checked_in_by_user = user
            self.checkin_note = note
            self.checkin_idempotency_key = idempotency_key or None
            self.dispute_open_until = now + timedelta(hours=self.pact.dispute_window_hours)
            try:
                with transaction.atomic():
                    self.save()
            except IntegrityError:
                # The same key was taken by a concurrent check-in of another day.
                raise DomainError(
                    "IDEMPOTENCY_MISMATCH",
                    _("This idempotency key was already used with a different request."),
                    {"idempotency_key": idempotency_key},
                ) from None
            self._lapse_skip_request(now)
            partner = self.pact.partner
            notify(self.pact.initiator, "checkin_confirmed", f"checkin:{self.pk}", day=self)
            if partner is not None:
                notify(partner, "checkin_partner", f"checkin:{self.pk}", day=self)
        self._log("day_checked_in", user)
        return self

    def skip(self, user: User, *, now: datetime | None = None) -> PactDay:
        """PENDING → SKIPPED, by either participant, before the deadline. No forfeit.

        The initiator's skip uses one of the month's allowance (rule 8); the partner's
        never does, and answers an open skip request yes (rule 9)."""
        now = _now(now)
        with transaction.atomic():
            # The pact's row first (waive's order): two of the initiator's skips on
            # different days of one month serialise here, so the allowance the refusal
            # counts cannot change before this commits.
            self.pact.lock()
            self.lock()
            self._raise(self._refusal_skip(user, now))
            by_initiator = self.pact.role_of(user) == PactParticipant.Role.INITIATOR
            self._mark_skipped(user, now, uses_allowance=by_initiator)
            answered = None
            if by_initiator:
                self._lapse_skip_request(now)
            else:
                answered = self._settle_skip_request(user, SkipRequest.Status.APPROVED, now)
            if answered is None:  # else the request's outcome message tells the initiator
                for other in self.pact.members:
                    if other.user_id != user.pk:
                        notify(other.user, "day_skipped", f"skip:{self.pk}", day=self, by=user)
        self._log("day_skipped", user, used_allowance=by_initiator)
        return self

    def _mark_skipped(self, user: User, now: datetime, *, uses_allowance: bool) -> None:
        self.status = self.Status.SKIPPED
        self.skipped_at = now
        self.skipped_by_user = user
        self.skip_used_allowance = uses_allowance
        self.save()
        self.pact.__dict__.pop("_skip_allowances", None)  # the count just changed

    def _lapse_skip_request(self, now: datetime) -> None:
        """The day was decided some other way by the initiator (a check-in, their own
        skip): an open request no longer asks anything. No message: they did it."""
        SkipRequest.objects.filter(day=self, status=SkipRequest.Status.OPEN).update(
            status=SkipRequest.Status.LAPSED, answered_at=now, updated_at=now
        )
        self.__dict__.pop("skip_request", None)

    def _settle_skip_request(self, user: User, outcome: str, now: datetime) -> SkipRequest | None:
        """Answer the day's open request (the day locked by the caller) and tell the
        initiator, once per request whatever the outcome (one dedupe key)."""
        current = SkipRequest.objects.filter(day=self, status=SkipRequest.Status.OPEN).first()
        if current is None:
            return None
        current.status = outcome
        current.answered_at = now
        current.answered_by_user = user
        current.save()
        self.__dict__.pop("skip_request", None)
        notify(
            self.pact.initiator,
            "skip_request_answered",
            str(current.pk),
            day=self,
            request_id=str(current.pk),
            outcome=outcome,
            by=user,
        )
        return current

    def request_skip(
        self, user: User, *, reason: str = "", now: datetime | None = None
    ) -> SkipRequest:
        """The initiator asks the partner to skip this pending day (rule 9): an OPEN
        request, and a message to the partner with [Approve skip] [Decline].

        Retrying with the same reason while it is open returns the same request and
        sends nothing new; a different one is SKIP_REQUEST_OPEN."""
        now = _now(now)
        reason = (reason or "").strip()
        with transaction.atomic():
            self.lock()
            current = self.skip_request
            if (
                current is not None
                and current.status == SkipRequest.Status.OPEN
                and current.requested_by_user_id == user.pk
                and current.reason == reason
            ):
                return current
            self._raise(self._refusal_request_skip(user, reason, now))
            try:
                with transaction.atomic():
                    request = SkipRequest.objects.create(
                        day=self, requested_by_user=user, reason=reason, requested_at=now
                    )
                self.__dict__.pop("skip_request", None)
            except IntegrityError:
                # Another request for this day won the partial unique index.
                raise DomainError(
                    "SKIP_REQUEST_OPEN",
                    _("You've already asked to skip this day. Hang tight for the answer."),
                ) from None
            partner = self.pact.partner
            if partner is not None:
                notify(
                    partner,
                    "skip_requested",
                    str(request.pk),
                    day=self,
                    request_id=str(request.pk),
                    by=user,
                )
        self._log("skip_requested", user)
        return request

    def approve_skip(self, user: User, *, now: datetime | None = None) -> PactDay:
        """The partner says yes: PENDING → SKIPPED as a partner skip (no allowance used).
        Approving again answers the same and sends nothing new."""
        return self._answer_skip(user, SkipRequest.Status.APPROVED, _now(now))

    def decline_skip(self, user: User, *, now: datetime | None = None) -> PactDay:
        """The partner says no: the day stays PENDING and is decided as usual."""
        return self._answer_skip(user, SkipRequest.Status.DECLINED, _now(now))

    def _answer_skip(self, user: User, outcome: str, now: datetime) -> PactDay:
        with transaction.atomic():
            # The day's row lock is the one the deadline sweep claims (SKIP LOCKED), so
            # an answer and the sweep's lapse can never both happen.
            self.lock()
            current = self.skip_request
            if (
                current is not None
                and current.status == outcome
                and self.pact.role_of(user) == PactParticipant.Role.PARTNER
            ):
                return self  # a retry or a double tap: the same answer
            self._raise(self._refusal_answer_skip(user, now))
            if outcome == SkipRequest.Status.APPROVED:
                self._mark_skipped(user, now, uses_allowance=False)
            self._settle_skip_request(user, outcome, now)
        self._log("skip_request_answered", user, outcome=outcome)
        return self

    def miss(self, user: User, *, now: datetime | None = None) -> PactDay:
        """PENDING → MISSED by the initiator's own hand, before the deadline."""
        now = _now(now)
        with transaction.atomic():
            self.lock()
            self._raise(self._refusal_miss(user, now))
            PactDay.objects.filter(pk=self.pk).miss(now=now, note=OWNED_UP_NOTE, tell_lapsed=False)
            self.refresh_from_db()
            self.__dict__.pop("skip_request", None)
        self._log("day_missed", user)
        return self

    def dispute(self, user: User, *, reason: str = "", now: datetime | None = None) -> PactDay:
        """DONE → DISPUTED by the partner while the dispute window is open.

        A dispute *round* opens with the first dispute of a check-in, or the first after
        the initiator's verdict on the last round (REJECT, or DONE_STANDS when they let
        it run out). Disputing again after one's own WITHDRAW is the same round: it keeps
        `disputed_at` (the round's opening) and, since the messages are keyed by it, the
        initiator hears about the round once however often the partner loops dispute →
        withdraw → dispute (rule 16).
        """
        now = _now(now)
        with transaction.atomic():
            self.lock()
            self._raise(self._refusal_dispute(user, now))
            same_round = (
                self.resolution == self.Resolution.WITHDRAWN and self.disputed_at is not None
            )
            self.status = self.Status.DISPUTED
            if not same_round:
                self.disputed_at = now
            self.disputed_by_user = user
            self.dispute_reason = reason or None
            self.dispute_resolve_until = now + timedelta(hours=DISPUTE_RESOLUTION_HOURS)
            self.resolution = self.resolution_at = self.resolution_by_user = None
            self.save()
            key = f"dispute:{self.dispute_round}"
            notify(self.pact.initiator, "dispute_opened_initiator", key, day=self)
            notify(user, "dispute_opened_partner", key, day=self)
        self._log("day_disputed", user, same_round=same_round)
        return self

    @property
    def dispute_round(self) -> str:
        """This day's current dispute round, as a message key: the day and the moment
        the round opened (see `dispute`)."""
        return f"{self.pk}:{self.disputed_at.timestamp():.6f}"

    def resolve(self, user: User, resolution: str, *, now: datetime | None = None) -> PactDay:
        """DISPUTED → MISSED (+ forfeit) on CONCEDE, → DONE on WITHDRAW or REJECT."""
        now = _now(now)
        with transaction.atomic():
            self.lock()
            self._raise(self._refusal_resolve(user, resolution, now))
            self.resolution = RESOLUTION_RESULT[resolution]
            self.resolution_at = now
            self.resolution_by_user = user
            if resolution == "CONCEDE":
                self.status = self.Status.MISSED
                self.save()
                pact = self.pact
                LedgerEntry.forfeit(
                    self, pact, pact.initiator, pact.partner, "Conceded dispute", now=now
                ).save()
            else:
                self.status = self.Status.DONE
                self.save()
            # One message per round and outcome: a partner looping withdraw → dispute
            # tells each person "withdrawn" once per round, not once per loop.
            key = f"resolve:{self.dispute_round}:{self.resolution}"
            for participant in self.pact.members:
                notify(
                    participant.user,
                    "dispute_resolved",
                    key,
                    day=self,
                    by=user,
                    resolution=self.resolution,
                )
        self._log("dispute_resolved", user, resolution=self.resolution)
        return self

    def waive(self, user: User, *, now: datetime | None = None) -> PactDay:
        """MISSED → WAIVED by the partner: a WAIVER entry reverses the day's forfeit."""
        now = _now(now)
        with transaction.atomic():
            # The pact first (the order settlements and adjustments use), so the balance
            # the refusal reads cannot shrink before this commits.
            self.pact.lock()
            self.lock()
            self._raise(self._refusal_waive(user, now))
            forfeit = LedgerEntry.objects.get(pact_day=self, type=LedgerEntry.Type.FORFEIT)
            self.status = self.Status.WAIVED
            self.save()
            LedgerEntry.waiver(forfeit, now=now).save()
            notify(self.pact.initiator, "day_waived", f"waive:{self.pk}", day=self, by=user)
        self._log("day_waived", user)
        return self

    def _log(self, event: str, user: User, **facts: Any) -> None:
        """One structured line per transition, after it committed."""
        log.info(
            event,
            extra={
                "pact_id": str(self.pact_id),
                "day_id": str(self.pk),
                "date": self.date.isoformat(),
                "status": self.status,
                "user_id": str(user.pk),
                **facts,
            },
        )


RESOLUTION_REFUSAL = {  # who may not resolve a dispute this way, in the reader's words
    "CONCEDE": lambda: _("Only the initiator can concede a dispute."),
    "REJECT": lambda: _("Only the initiator can reject a dispute."),
    "WITHDRAW": lambda: _("Only the partner can withdraw a dispute."),
}
RESOLUTION_ROLE = {
    "CONCEDE": PactParticipant.Role.INITIATOR,
    "REJECT": PactParticipant.Role.INITIATOR,
    "WITHDRAW": PactParticipant.Role.PARTNER,
}
RESOLUTION_RESULT = {
    "CONCEDE": PactDay.Resolution.CONCEDED,
    "REJECT": PactDay.Resolution.REJECTED,
    "WITHDRAW": PactDay.Resolution.WITHDRAWN,
}


class SkipRequest(models.Model):
    """The initiator asks the partner to skip one pending day (rule 9).

    OPEN until the partner answers (APPROVED: the day is SKIPPED as a partner skip;
    DECLINED: it stays PENDING) or until the day is decided without an answer (LAPSED:
    the deadline sweep, or the initiator's own check-in, skip or miss). At most one OPEN
    request per day, by a partial unique index. Every change holds the day's row lock.
    """

    class Status(models.TextChoices):
        OPEN = "OPEN"
        APPROVED = "APPROVED"
        DECLINED = "DECLINED"
        LAPSED = "LAPSED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    day = models.ForeignKey(PactDay, on_delete=models.CASCADE, related_name="skip_requests")
    requested_by_user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    reason = models.TextField(blank=True, default="")
    status = models.CharField(max_length=10, choices=Status, default=Status.OPEN)
    requested_at = models.DateTimeField(default=dj_timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by_user = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=dj_timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "skip_requests"
        indexes = [
            models.Index(fields=["requested_by_user"], name="idx_skip_requests_by"),
            models.Index(
                fields=["answered_by_user"],
                name="idx_skip_requests_answered_by",
                condition=Q(answered_by_user__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["day"],
                condition=Q(status="OPEN"),
                name="skip_requests_one_open_per_day",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["OPEN", "APPROVED", "DECLINED", "LAPSED"]),
                name="skip_requests_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="OPEN") | Q(answered_at__isnull=False),
                name="skip_requests_answered_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"skip request {self.day_id} ({self.status})"


SKIP_REQUEST_WORDS = {
    SkipRequest.Status.OPEN: lambda: pgettext("skip request", "asked"),
    SkipRequest.Status.APPROVED: lambda: pgettext("skip request", "approved"),
    SkipRequest.Status.DECLINED: lambda: pgettext("skip request", "declined"),
    SkipRequest.Status.LAPSED: lambda: pgettext(
        "skip request", "lapsed (nobody answered before the deadline)"
    ),
}


def members_by_pact(pact_ids: Iterable[uuid.UUID], kind: str) -> dict:
    """{pact_id: {"INITIATOR": (user_id, chat_id, receives), "PARTNER": ...}} in one query.

    `receives`: whether the member gets `kind` (the outbox's one rule, `receives_q`).
    """
    members: dict = defaultdict(dict)
    rows = (
        PactParticipant.objects.filter(pact_id__in=pact_ids, status=PactParticipant.Status.ACCEPTED)
        .annotate(active=ExpressionWrapper(receives_q(kind, "user__"), BooleanField()))
        .values_list("pact_id", "role", "user_id", "user__telegram_user_id", "active")
    )
    for pact_id, role, user_id, chat_id, active in rows:
        members[pact_id][role] = (user_id, chat_id, active)
    return members


def bot_link(start_param: str) -> str:
    """A t.me link that opens the Mini App at `start_param` (works in groups too)."""
    return f"https://t.me/{settings.TELEGRAM_BOT_USERNAME}?startapp={start_param}"
