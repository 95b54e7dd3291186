"""Breaks (DECISIONS rule 10): a planned pause of 1 to 30 days, agreed by the partner.

A break is its own concept with its own row (`pact_breaks`), so it lives in its own
module; `pacts/models.py` imports the model so Django registers it.

States::

    PROPOSED ──approve (partner)──► APPROVED ──end (either, once it ran)──► ENDED
       │  └──decline (partner)──► DECLINED     │  └──its last day passes──► ENDED
       │                                        └──end before its first day──► CANCELLED
       ├──end (the proposer, withdrawing)──► CANCELLED
       └──its first day arrives unanswered──► LAPSED

A break the partner proposes is APPROVED at once (it is the partner's money); one the
initiator proposes waits for the partner's approval, which must come before its first
day. Scheduled days inside an APPROVED break are SKIPPED, marked with the break
(`PactDay.on_break`), with `skipped_by_user` empty: they get no reminder, never reach the
deadline sweep (it takes PENDING days only) and use no skip allowance (which counts the
initiator's own skips). Days that already exist are flipped when the break is approved;
days the materialize job creates later are created SKIPPED (`pact.breaks.day_dates`). Ending a
break early makes its days after today PENDING again.

"One open or future break per pact" is a partial unique index on the statuses that can
still be open (PROPOSED, APPROVED). "Future" and "finished" depend on the clock, which an
index cannot read: an APPROVED break whose last day has passed, and a PROPOSED one whose
first day arrived, are closed by `pact.breaks.settle`, which the proposing method runs under
the pact's row lock before it checks, and which the materialize job runs daily per pact.

Every transition locks the pact (`Pact.lock()`, the lock the materialize job and the
closes take), then the break, checks one `_refusal_*` rule shared with its `can_*`
predicate, and writes the change, the day flips and the outbox rows in one transaction.
A transition asked again after it happened (a retry, a double tap, two workers) answers
with the break as it is and writes nothing.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import F, Func, IntegerField, Q
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone as dj_timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from habitpact.errors import DomainError
from outbox.models import notify

from .models import Pact, PactDay, PactParticipant, User
from .templatetags.hp import date_text

log = logging.getLogger(__name__)

BREAK_MIN_DAYS = 1
BREAK_MAX_DAYS = 30
BREAK_REASON_MAX_LENGTH = 500


def _now(now: datetime | None) -> datetime:
    return now if now is not None else dj_timezone.now()


class DaysBetween(Func):
    """`end - start` in whole days, for a CHECK constraint on either engine (PostgreSQL
    subtracts dates to an integer; SQLite stores ISO text, and julianday() is
    deterministic, so a CHECK may use it)."""

    arity = 2
    output_field = IntegerField()

    def as_sql(self, compiler, connection, **extra_context):
        start, start_params = compiler.compile(self.source_expressions[0])
        end, end_params = compiler.compile(self.source_expressions[1])
        if connection.vendor == "sqlite":
            sql = f"CAST(julianday({end}) - julianday({start}) AS INTEGER)"
        else:
            sql = f"({end} - {start})"
        # julianday(end) comes first in the SQL on SQLite, `end` too on PostgreSQL.
        return sql, [*end_params, *start_params]


class BreakQuerySet(models.QuerySet["Break"]):
    """Set-based break rules, reached from a pact as `pact.breaks.settle(...)` /
    `pact.breaks.day_dates(...)` (so Pact.materialize_days needs no import of this
    module)."""

    def settle(self, *, today: date, now: datetime) -> None:
        """Close what the clock has closed (pact locked by the caller): an approved break
        whose last day has passed is ENDED, a proposal whose first day arrived unanswered
        is LAPSED. Keeps "one open or future break" true for the unique index."""
        self.filter(status=Break.Status.APPROVED, end_date__lt=today).update(
            status=Break.Status.ENDED, ended_at=now, updated_at=now
        )
        self.filter(status=Break.Status.PROPOSED, start_date__lte=today).update(
            status=Break.Status.LAPSED, updated_at=now
        )

    def day_dates(self, first: date, last: date) -> dict[date, uuid.UUID]:
        """{date: break id} for the days in [first, last] inside approved breaks: the
        materialize job creates those days SKIPPED (one query)."""
        found: dict[date, uuid.UUID] = {}
        rows = self.filter(
            status=Break.Status.APPROVED, start_date__lte=last, end_date__gte=first
        ).values_list("pk", "start_date", "end_date")
        for pk, start, end in rows:
            day = max(start, first)
            while day <= min(end, last):
                found[day] = pk
                day += timedelta(days=1)
        return found


class Break(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "PROPOSED"
        APPROVED = "APPROVED"
        DECLINED = "DECLINED"
        ENDED = "ENDED"
        CANCELLED = "CANCELLED"
        LAPSED = "LAPSED"

    # The statuses of a break that is still open or ahead (the unique index's condition).
    OPEN = (Status.PROPOSED, Status.APPROVED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    pact = models.ForeignKey(Pact, on_delete=models.CASCADE, related_name="breaks")
    start_date = models.DateField(help_text="The first day off, in the pact's zone.")
    end_date = models.DateField(help_text="The last day off (inclusive).")
    reason = models.CharField(max_length=BREAK_REASON_MAX_LENGTH, blank=True, default="")
    status = models.CharField(max_length=20, choices=Status, default=Status.PROPOSED)
    proposed_by_user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by_user = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by_user = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(default=dj_timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BreakQuerySet.as_manager()

    class Meta:
        db_table = "pact_breaks"
        ordering = ["-start_date", "-created_at"]
        indexes = [
            models.Index(fields=["proposed_by_user"], name="idx_pact_breaks_proposed_by"),
            models.Index(
                fields=["answered_by_user"],
                name="idx_pact_breaks_answered_by",
                condition=Q(answered_by_user__isnull=False),
            ),
            models.Index(
                fields=["ended_by_user"],
                name="idx_pact_breaks_ended_by",
                condition=Q(ended_by_user__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=["PROPOSED", "APPROVED", "DECLINED", "ENDED", "CANCELLED", "LAPSED"]
                ),
                name="pact_breaks_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="pact_breaks_end_not_before_start"
            ),
            models.CheckConstraint(
                condition=LessThanOrEqual(
                    DaysBetween(F("start_date"), F("end_date")), BREAK_MAX_DAYS - 1
                ),
                name="pact_breaks_at_most_30_days",
            ),
            models.UniqueConstraint(
                fields=["pact"],
                condition=Q(status__in=["PROPOSED", "APPROVED"]),
                name="pact_breaks_one_open_per_pact",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pact_id} {self.start_date}..{self.end_date} {self.status}"

    @property
    def days(self) -> int:
        return (self.end_date - self.start_date).days + 1

    def lock(self) -> None:
        self.refresh_from_db(from_queryset=Break.objects.select_for_update(no_key=True))

    def covers(self, day: date) -> bool:
        return self.start_date <= day <= self.end_date

    def is_running(self, today: date) -> bool:
        return self.status == self.Status.APPROVED and self.covers(today)

    # --- the rules ---------------------------------------------------------------------

    def _refusal_answer(self, user: User, now: datetime, verb: str) -> DomainError | None:
        """Approving and declining: the partner, of a break still PROPOSED, before its
        first day (rule 10). The initiator's break is the only kind that waits."""
        role = self.pact.role_of(user)
        if role is None:
            return DomainError("FORBIDDEN_NOT_PARTICIPANT", _("You're not part of this pact."))
        if role != PactParticipant.Role.PARTNER:
            return DomainError(
                "FORBIDDEN_WRONG_ROLE",
                _("Only your partner can approve a break you asked for.")
                if verb == "approve"
                else _("Only your partner can decline a break you asked for."),
            )
        if self.pact.status != Pact.Status.ACTIVE:
            return DomainError("PACT_NOT_ACTIVE", _("This pact isn't active."))
        if self.status != self.Status.PROPOSED:
            return DomainError(
                "INVALID_STATE_TRANSITION",
                (
                    _("This break is %(status)s; there's nothing to approve.")
                    if verb == "approve"
                    else _("This break is %(status)s; there's nothing to decline.")
                )
                % {"status": break_status_word(self.status)},
                {"status": self.status},
            )
        if self.start_date <= self.pact.local_today(now):
            return DomainError(
                "INVALID_STATE_TRANSITION",
                _("Too late: this break was meant to have started already."),
                {"start_date": self.start_date.isoformat()},
            )
        return None

    def _refusal_end(self, user: User, now: datetime) -> DomainError | None:
        """Ending: either participant, of an approved break that has not run its course;
        a proposal only by whoever proposed it (withdrawing it). The partner answers a
        proposal with approve or decline."""
        if self.pact.role_of(user) is None:
            return DomainError("FORBIDDEN_NOT_PARTICIPANT", _("You're not part of this pact."))
        if self.status == self.Status.PROPOSED and self.proposed_by_user_id != user.pk:
            return DomainError(
                "INVALID_STATE_TRANSITION",
                _("This break is waiting for your answer: approve or decline it."),
                {"status": self.status},
            )
        if self.status not in self.OPEN:
            return DomainError(
                "INVALID_STATE_TRANSITION",
                _("This break is %(status)s already.") % {"status": break_status_word(self.status)},
                {"status": self.status},
            )
        if self.end_date < self.pact.local_today(now):
            return DomainError(
                "INVALID_STATE_TRANSITION",
                _("This break is over already."),
                {"end_date": self.end_date.isoformat()},
            )
        return None

    def can_approve(self, user: User, now: datetime | None = None) -> bool:
        return self._refusal_answer(user, _now(now), "approve") is None

    def can_decline(self, user: User, now: datetime | None = None) -> bool:
        return self._refusal_answer(user, _now(now), "decline") is None

    def can_end(self, user: User, now: datetime | None = None) -> bool:
        return self._refusal_end(user, _now(now)) is None

    # --- transitions -------------------------------------------------------------------

    def approve(self, user: User, *, now: datetime | None = None) -> Break:
        """PROPOSED → APPROVED by the partner: its days become break days, the
        initiator is told. Asked again once approved, answers with the break."""
        now = _now(now)
        with transaction.atomic():
            self.pact.lock()
            self.lock()
            if self.status == self.Status.APPROVED and self.answered_by_user_id == user.pk:
                return self
            refusal = self._refusal_answer(user, now, "approve")
            if refusal is not None:
                raise refusal
            self.status = self.Status.APPROVED
            self.answered_at = now
            self.answered_by_user = user
            self.save()
            _start_break(self, now)
            notify(self.proposed_by_user, "break_approved", str(self.pk), **_facts(self, user))
        self._log("break_approved", user)
        return self

    def decline(self, user: User, *, now: datetime | None = None) -> Break:
        """PROPOSED → DECLINED by the partner; the initiator is told."""
        now = _now(now)
        with transaction.atomic():
            self.pact.lock()
            self.lock()
            if self.status == self.Status.DECLINED and self.answered_by_user_id == user.pk:
                return self
            refusal = self._refusal_answer(user, now, "decline")
            if refusal is not None:
                raise refusal
            self.status = self.Status.DECLINED
            self.answered_at = now
            self.answered_by_user = user
            self.save()
            notify(self.proposed_by_user, "break_declined", str(self.pk), **_facts(self, user))
        self._log("break_declined", user)
        return self

    def end(self, user: User, *, now: datetime | None = None) -> Break:
        """End a break early (either participant), or withdraw one's own proposal.

        1. A proposal, or an approved break whose first day is still ahead, becomes
           CANCELLED: nothing of it happened.
        2. A running break becomes ENDED with today as its last day: today stays a day
           off, the days after it are scheduled again (PENDING, to be reminded).
        3. The other participant is told (not for a withdrawn proposal nobody answered).
        Asked again once ended or cancelled by the same person, answers with the break.
        """
        now = _now(now)
        with transaction.atomic():
            self.pact.lock()
            self.lock()
            if (
                self.status in (self.Status.ENDED, self.Status.CANCELLED)
                and self.ended_by_user_id == user.pk
            ):
                return self
            refusal = self._refusal_end(user, now)
            if refusal is not None:
                raise refusal
            today = self.pact.local_today(now)
            was = self.status
            if was == self.Status.PROPOSED or self.start_date > today:
                self.status = self.Status.CANCELLED
                back_from = self.start_date
            else:
                self.status = self.Status.ENDED
                self.end_date = today
                back_from = today + timedelta(days=1)
            self.ended_at = now
            self.ended_by_user = user
            self.save()
            _resume_days(self, back_from, now)
            if was == self.Status.APPROVED:
                for member in self.pact.members:
                    if member.user_id != user.pk:
                        notify(member.user, "break_ended", str(self.pk), **_facts(self, user))
        self._log("break_ended", user, status=self.status)
        return self

    def _log(self, event: str, user: User, **facts: Any) -> None:
        log.info(
            event,
            extra={
                "pact_id": str(self.pact_id),
                "break_id": str(self.pk),
                "status": self.status,
                "user_id": str(user.pk),
                **facts,
            },
        )


def _facts(brk: Break, by: User) -> dict[str, Any]:
    return {
        "pact_id": str(brk.pact_id),
        "break_id": str(brk.pk),
        "start_date": brk.start_date,
        "end_date": brk.end_date,
        "by": by,
    }


def _start_break(brk: Break, now: datetime) -> int:
    """The break's days that exist and are still PENDING become SKIPPED break days.
    They are all ahead (a break starts tomorrow or later), so no deadline sweep or
    check-in can hold them; the UPDATE re-checks PENDING row by row anyway, so a day
    someone skipped meanwhile stays theirs."""
    return PactDay.objects.filter(
        pact_id=brk.pact_id,
        date__gte=brk.start_date,
        date__lte=brk.end_date,
        status=PactDay.Status.PENDING,
    ).update(status=PactDay.Status.SKIPPED, skipped_at=now, on_break=brk, updated_at=now)


def _resume_days(brk: Break, first: date, now: datetime) -> int:
    """The break's days from `first` on are scheduled again: PENDING, not yet reminded."""
    return PactDay.objects.filter(
        on_break=brk, date__gte=first, status=PactDay.Status.SKIPPED
    ).update(
        status=PactDay.Status.PENDING,
        skipped_at=None,
        on_break=None,
        reminded_at=None,
        updated_at=now,
    )


def close_breaks(pact: Pact, now: datetime) -> None:
    """The pact is closing (pact locked by the caller, rule 13): proposals lapse, a
    running break ends today, a future one is cancelled, and break days still ahead of
    their deadline go, as pending days do."""
    today = pact.local_today(now)
    Break.objects.filter(pact=pact, status=Break.Status.PROPOSED).update(
        status=Break.Status.LAPSED, updated_at=now
    )
    Break.objects.filter(pact=pact, status=Break.Status.APPROVED, start_date__gt=today).update(
        status=Break.Status.CANCELLED, ended_at=now, updated_at=now
    )
    Break.objects.filter(pact=pact, status=Break.Status.APPROVED).update(
        status=Break.Status.ENDED, ended_at=now, updated_at=now
    )
    PactDay.objects.filter(
        pact=pact, on_break__isnull=False, status=PactDay.Status.SKIPPED, deadline_at__gt=now
    ).delete()


# --- proposing ----------------------------------------------------------------------------


def break_status_word(status: str) -> str:
    """A break's status as a word inside a sentence: "This break is ended already."."""
    return {
        "PROPOSED": pgettext("break", "proposed"),
        "APPROVED": pgettext("break", "approved"),
        "DECLINED": pgettext("break", "declined"),
        "ENDED": pgettext("break", "ended"),
        "CANCELLED": pgettext("break", "cancelled"),
        "LAPSED": pgettext("break", "lapsed"),
    }.get(status, status.lower())


def break_errors(pact: Pact, start: date, end: date, reason: str, now: datetime) -> dict:
    """Field → message for a proposed break, in the words the form shows (422)."""
    errors: dict[str, str] = {}
    today = pact.local_today(now)
    if start <= today:
        errors["start_date"] = _("A break starts tomorrow at the earliest.")
    if end < start:
        errors["end_date"] = _("The break can't end before it starts.")
    elif (end - start).days + 1 > BREAK_MAX_DAYS:
        errors["end_date"] = _("A break lasts %(min)d to %(max)d days.") % {
            "min": BREAK_MIN_DAYS,
            "max": BREAK_MAX_DAYS,
        }
    elif pact.end_date is not None and start > pact.end_date:
        errors["start_date"] = _("The pact is over by then.")
    if len(reason) > BREAK_REASON_MAX_LENGTH:
        errors["reason"] = _("Keep the reason under %(count)d characters.") % {
            "count": BREAK_REASON_MAX_LENGTH
        }
    return errors


def open_break(pact: Pact, now: datetime | None = None) -> Break | None:
    """The pact's break that is running or ahead (approved or proposed), if any."""
    today = pact.local_today(_now(now))
    found = (
        Break.objects.filter(pact=pact, status__in=Break.OPEN)
        .filter(Q(status=Break.Status.PROPOSED, start_date__gt=today) | Q(end_date__gte=today))
        .select_related("proposed_by_user")
        .first()
    )
    if found is not None:
        found.pact = pact
    return found


def break_propose(
    pact: Pact,
    user: User,
    *,
    start_date: date,
    end_date: date,
    reason: str = "",
    now: datetime | None = None,
) -> tuple[Break, bool]:
    """Propose a break (either participant). Returns (break, created).

    1. Lock the pact; the person must be in it and the pact ACTIVE.
    2. Settle what the clock closed (`pact.breaks.settle`), then refuse a second open or
       future break (409 BREAK_ALREADY_PLANNED) and bad dates (422 VALIDATION_ERROR).
       The same proposal again (same person, dates and reason) is a retry: the open
       break it made comes back, created=False, nothing written.
    3. From the partner: APPROVED at once, its days flipped, the initiator told.
       From the initiator: PROPOSED, the partner asked (with buttons).
    """
    now = _now(now)
    reason = (reason or "").strip()
    with transaction.atomic():
        pact.lock()
        role = pact.require_participant(user)
        if pact.status != Pact.Status.ACTIVE:
            raise DomainError("PACT_NOT_ACTIVE", _("This pact isn't active."))
        pact.breaks.settle(today=pact.local_today(now), now=now)
        existing = Break.objects.filter(pact=pact, status__in=Break.OPEN).first()
        if existing is not None:
            if existing.proposed_by_user_id == user.pk and (
                existing.start_date,
                existing.end_date,
                existing.reason,
            ) == (start_date, end_date, reason):
                existing.pact = pact
                return existing, False
            raise DomainError(
                "BREAK_ALREADY_PLANNED",
                _("There's already a break planned (%(start)s – %(end)s). End it first.")
                % {
                    "start": date_text(existing.start_date),
                    "end": date_text(existing.end_date),
                },
                {
                    "break_id": str(existing.pk),
                    "start_date": existing.start_date.isoformat(),
                    "end_date": existing.end_date.isoformat(),
                    "status": existing.status,
                },
            )
        errors = break_errors(pact, start_date, end_date, reason, now)
        if errors:
            raise DomainError("VALIDATION_ERROR", next(iter(errors.values())), errors)
        by_partner = role == PactParticipant.Role.PARTNER
        brk = Break(
            pact=pact,
            start_date=start_date,
            end_date=end_date,
            reason=reason,
            proposed_by_user=user,
            status=Break.Status.APPROVED if by_partner else Break.Status.PROPOSED,
            answered_at=now if by_partner else None,
            answered_by_user=user if by_partner else None,
            created_at=now,
        )
        try:
            with transaction.atomic():
                brk.save(force_insert=True)
        except IntegrityError:
            # Only reachable without the pact lock (a direct write): the index holds.
            raise DomainError(
                "BREAK_ALREADY_PLANNED", _("There's already a break planned. End it first.")
            ) from None
        if by_partner:
            _start_break(brk, now)
            notify(pact.initiator, "break_started", str(brk.pk), **_facts(brk, user))
        elif pact.partner is not None:
            notify(pact.partner, "break_proposed", str(brk.pk), **_facts(brk, user))
    brk._log("break_proposed", user, approved=by_partner)
    return brk, True


def break_for(user: User, break_id: object) -> Break:
    """The break if `user` is in its pact (NOT_FOUND / FORBIDDEN_NOT_PARTICIPANT)."""
    try:
        brk = (
            Break.objects.select_related("pact", "proposed_by_user")
            .prefetch_related("pact__participants__user")
            .get(pk=break_id)
        )
    except (Break.DoesNotExist, ValidationError, ValueError, TypeError):
        raise DomainError("NOT_FOUND", _("We couldn't find that break.")) from None
    brk.pact.require_participant(user)
    return brk


def breaks_of(pact: Pact) -> list[Break]:
    """The pact's breaks, latest first (one query)."""
    rows = list(Break.objects.filter(pact=pact).select_related("proposed_by_user"))
    for brk in rows:
        brk.pact = pact
    return rows
