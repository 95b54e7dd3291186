"""Pact-level actions: create, accept, decline, cancel, end; and the reads every screen shares.

The API, the Mini App views, the bot and the jobs call these and nothing else, so each
rule is written once. Validation errors carry per-field details for forms.
"""

from __future__ import annotations

import functools
import logging
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from babel.numbers import list_currencies
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from habitpact.compiled import Compiled, compile_once
from habitpact.errors import DomainError
from habitpact.i18n import is_language
from ledger.models import balance_of as balance_of  # re-exported: the reads every screen shares
from ledger.models import balances_of as balances_of
from outbox.models import notify

from .breaks import close_breaks
from .limits import (
    DISPUTE_WINDOW_MAX_HOURS,
    DISPUTE_WINDOW_MIN_HOURS,
    REMINDER_MAX_MINUTES,
    REMINDER_MIN_MINUTES,
    SKIPS_PER_MONTH_DEFAULT,
    SKIPS_PER_MONTH_MAX,
    SKIPS_PER_MONTH_MIN,
    STAKE_MAX,
    STAKE_MIN,
    TITLE_MAX_LENGTH,
)
from .models import (
    Pact,
    PactDay,
    PactParticipant,
    SkipRequest,
    User,
    allowance_skips,
    bot_link,
    month_of,
    new_invite_code,
)
from .schedule import is_valid_timezone
from .stats import Counted, current_streak

log = logging.getLogger(__name__)

USERNAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{4,31}$")
_CURRENCIES = frozenset(list_currencies())


def is_valid_currency(code: str) -> bool:
    return code in _CURRENCIES


def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


@dataclass(frozen=True)
class PactTerms:
    """What a pact commits to: validated once, whichever screen or endpoint made it."""

    title: str
    stake_amount: int
    schedule_days: list[bool]
    deadline_time: time
    start_date: date
    description: str = ""
    currency: str = "GBP"
    end_date: date | None = None
    dispute_window_hours: int = 12
    partner_username: str = ""
    skips_per_month: int = SKIPS_PER_MONTH_DEFAULT

    def errors(self, today: date | None = None) -> dict[str, str]:
        """Field → message, in the words the form shows. Empty when all is well."""
        errors: dict[str, str] = {}
        title = (self.title or "").strip()
        if not title:
            errors["title"] = _("Give your habit a name.")
        elif len(title) > TITLE_MAX_LENGTH:
            errors["title"] = _("Keep the name under %(max)d characters.") % {
                "max": TITLE_MAX_LENGTH
            }
        if (
            not isinstance(self.stake_amount, int)
            or not STAKE_MIN <= self.stake_amount <= STAKE_MAX
        ):
            errors["stake_amount"] = _(
                "The stake must be between %(min)s and %(max)s minor units."
            ) % {"min": STAKE_MIN, "max": f"{STAKE_MAX:,}".replace(",", " ")}
        if not is_valid_currency(self.currency or ""):
            errors["currency"] = _("Pick a real currency (ISO 4217, like GBP or EUR).")
        days = self.schedule_days
        if (
            not isinstance(days, list)
            or len(days) != 7
            or not all(isinstance(d, bool) for d in days)
        ):
            errors["schedule_days"] = _("The schedule needs seven yes/no values, Monday first.")
        elif not any(days):
            errors["schedule_days"] = _("Pick at least one day.")
        if self.deadline_time.second or self.deadline_time.microsecond:
            errors["deadline_time"] = _("Deadlines are in whole minutes.")
        if today is not None and self.start_date < today:
            errors["start_date"] = _("The start date can't be in the past.")
        if self.end_date is not None and self.end_date <= self.start_date:
            errors["end_date"] = _("The end date must be after the start date.")
        if not DISPUTE_WINDOW_MIN_HOURS <= self.dispute_window_hours <= DISPUTE_WINDOW_MAX_HOURS:
            errors["dispute_window_hours"] = _(
                "The dispute window is %(min)d to %(max)d hours."
            ) % {"min": DISPUTE_WINDOW_MIN_HOURS, "max": DISPUTE_WINDOW_MAX_HOURS}
        if (
            isinstance(self.skips_per_month, bool)
            or not isinstance(self.skips_per_month, int)
            or not SKIPS_PER_MONTH_MIN <= self.skips_per_month <= SKIPS_PER_MONTH_MAX
        ):
            errors["skips_per_month"] = _("Free skips are %(min)d to %(max)d a month.") % {
                "min": SKIPS_PER_MONTH_MIN,
                "max": SKIPS_PER_MONTH_MAX,
            }
        username = (self.partner_username or "").lstrip("@")
        if username and not USERNAME_RE.match(username):
            errors["partner_username"] = _("That doesn't look like a Telegram username.")
        return errors


def pact_create(*, initiator: User, terms: PactTerms, now: datetime | None = None) -> Pact:
    """A new pact awaiting its partner, in the initiator's time zone, with an invite code."""
    now = _now(now)
    errors = terms.errors(today=now.astimezone(initiator.tz).date())
    if not is_valid_timezone(initiator.timezone):
        # A zone saved before zones were checked (like "localtime"): the pact would keep it.
        errors["timezone"] = _("Pick your time zone in Settings first (like Europe/London).")
    if errors:
        raise DomainError("VALIDATION_ERROR", next(iter(errors.values())), errors)
    with transaction.atomic():
        pact = Pact.objects.create(
            title=terms.title.strip(),
            description=(terms.description or "").strip(),
            currency=terms.currency,
            stake_amount=terms.stake_amount,
            schedule_days=terms.schedule_days,
            deadline_time=terms.deadline_time,
            timezone=initiator.timezone,
            start_date=terms.start_date,
            end_date=terms.end_date,
            dispute_window_hours=terms.dispute_window_hours,
            skips_per_month=terms.skips_per_month,
            partner_username=(terms.partner_username or "").lstrip("@"),
            invite_code=new_invite_code(),
            created_by_user=initiator,
            created_at=now,
        )
        PactParticipant.objects.create(
            pact=pact,
            user=initiator,
            role=PactParticipant.Role.INITIATOR,
            status=PactParticipant.Status.ACCEPTED,
            accepted_at=now,
        )
    log.info("pact_created", extra={"pact_id": str(pact.pk), "user_id": str(initiator.pk)})
    return pact


# Invite codes are letters and digits (new_invite_code). The one pattern every door
# checks, through invite_for: the URL confs pass any segment through, so a malformed
# code is the same PACT_NOT_FOUND as an unknown one, never a bare 404.
INVITE_CODE_RE = re.compile(r"[A-Za-z0-9]{1,64}", re.ASCII)


INVITE_NOT_FOUND = gettext_lazy("That invite link doesn't work. Ask your friend to send it again.")


def is_invite_code(code: object) -> bool:
    return isinstance(code, str) and INVITE_CODE_RE.fullmatch(code) is not None


def invite_for(code: object, *, pact_id: object = None) -> Pact:
    """The pact behind an invite code: the one lookup the API, the Mini App and the bot
    share (rule 15: accepting or declining needs the code, not just the pact id).

    A missing or malformed code, an unknown one, or (with `pact_id`) another pact's code
    are all the same PACT_NOT_FOUND, so a guess learns nothing about which part was wrong.
    """
    pact = None
    # Anything that is not a code by INVITE_CODE_RE, such as a NUL that PostgreSQL
    # would reject with a 500, cannot be one (drills/hostile.py).
    if is_invite_code(code):
        pact = (
            Pact.objects.select_related("created_by_user")
            .prefetch_related("participants__user")
            .filter(invite_code=code)
            .first()
        )
    if pact is not None and pact_id is not None and str(pact.pk) != str(pact_id).lower():
        pact = None
    if pact is None:
        raise DomainError("PACT_NOT_FOUND", INVITE_NOT_FOUND)
    return pact


def _refusal_invite_closed(pact: Pact, now: datetime, answered: str) -> DomainError | None:
    """An invite can be answered or withdrawn only while it waits and has not expired;
    `answered` words the refusal once it no longer waits."""
    if pact.status == Pact.Status.PENDING_ACCEPT and now >= pact.invite_expires_at:
        return DomainError("PACT_NOT_ACTIVE", _("This invite has expired."), {"status": "EXPIRED"})
    if pact.status != Pact.Status.PENDING_ACCEPT:
        return DomainError("PACT_NOT_ACTIVE", answered, {"status": invite_status(pact, now)})
    return None


def _refusal_invite(pact: Pact, user: User, now: datetime) -> DomainError | None:
    refusal = _refusal_invite_closed(pact, now, _("This invite has already been answered."))
    if refusal is not None:
        return refusal
    if pact.created_by_user_id == user.pk:
        return DomainError("FORBIDDEN_WRONG_ROLE", _("You can't accept your own pact."))
    return None


def invite_status(pact: Pact, now: datetime | None = None) -> str:
    """PENDING_ACCEPT, ALREADY_ACCEPTED, DECLINED, EXPIRED or CANCELLED (withdrawn by
    the initiator), for the invite preview. An ended pact was accepted once."""
    now = _now(now)
    if pact.status == Pact.Status.PENDING_ACCEPT:
        return "EXPIRED" if now >= pact.invite_expires_at else "PENDING_ACCEPT"
    if pact.status in (Pact.Status.EXPIRED, Pact.Status.DECLINED, Pact.Status.CANCELLED):
        return pact.status
    return "ALREADY_ACCEPTED"


def invite_shows_terms(pact: Pact, user: User, now: datetime | None = None) -> bool:
    """Rule 15: an open invite shows its terms and its sender to whoever holds the code;
    once answered, expired or withdrawn, only the pact's own members see more than its
    status."""
    return invite_status(pact, now) == "PENDING_ACCEPT" or pact.role_of(user) is not None


def pact_accept(pact: Pact, user: User, *, now: datetime | None = None) -> Pact:
    """PENDING_ACCEPT → ACTIVE: `user` becomes the partner, days start materialising.
    `pact` comes from `invite_for` (the code), never from a bare pact id."""
    now = _now(now)
    with transaction.atomic():
        pact.lock()
        refusal = _refusal_invite(pact, user, now)
        if refusal is not None:
            raise refusal
        PactParticipant.objects.create(
            pact=pact,
            user=user,
            role=PactParticipant.Role.PARTNER,
            status=PactParticipant.Status.ACCEPTED,
            accepted_at=now,
        )
        pact.status = Pact.Status.ACTIVE
        pact.activated_at = now
        pact.save(update_fields=["status", "activated_at", "updated_at"])
        pact.__dict__.pop("members", None)
        pact.materialize_days(now)
        notify(pact.initiator, "pact_accepted", str(pact.pk), pact_id=str(pact.pk), by=user)
    log.info("pact_accepted", extra={"pact_id": str(pact.pk), "user_id": str(user.pk)})
    return pact


def pact_decline(pact: Pact, user: User, *, now: datetime | None = None) -> Pact:
    """PENDING_ACCEPT → DECLINED. `pact` comes from `invite_for` (the code)."""
    now = _now(now)
    with transaction.atomic():
        pact.lock()
        refusal = _refusal_invite(pact, user, now)
        if refusal is not None:
            raise refusal
        PactParticipant.objects.create(
            pact=pact,
            user=user,
            role=PactParticipant.Role.PARTNER,
            status=PactParticipant.Status.DECLINED,
        )
        pact.status = Pact.Status.DECLINED
        pact.save(update_fields=["status", "updated_at"])
        notify(pact.created_by_user, "pact_declined", str(pact.pk), pact_id=str(pact.pk), by=user)
    log.info("pact_declined", extra={"pact_id": str(pact.pk), "user_id": str(user.pk)})
    return pact


def _refusal_cancel(pact: Pact, user: User, now: datetime) -> DomainError | None:
    role = pact.role_of(user)
    if role is None:
        return DomainError("FORBIDDEN_NOT_PARTICIPANT", _("You're not part of this pact."))
    if role != PactParticipant.Role.INITIATOR:
        return DomainError(
            "FORBIDDEN_WRONG_ROLE", _("Only the person who sent the invite can withdraw it.")
        )
    return _refusal_invite_closed(
        pact, now, _("Only an invite still waiting for an answer can be withdrawn.")
    )


def can_cancel(pact: Pact, user: User, now: datetime | None = None) -> bool:
    """Would `pact_cancel` succeed right now? (The button shows only then.)"""
    return _refusal_cancel(pact, user, _now(now)) is None


def _named_invitee(pact: Pact) -> User | None:
    """The person the initiator named (`partner_username`), if they use HabitPact: the
    only invitee we can know of before anyone answers. None when unknown or ambiguous."""
    if not pact.partner_username:
        return None
    matches = list(
        User.objects.filter(username__iexact=pact.partner_username, deleted_at__isnull=True)
        .exclude(pk=pact.created_by_user_id)
        .order_by("pk")[:2]
    )
    return matches[0] if len(matches) == 1 else None


def pact_cancel(pact: Pact, user: User, *, now: datetime | None = None) -> Pact:
    """PENDING_ACCEPT → CANCELLED: the initiator withdraws an unanswered invite (rule 15).

    The code stays on the pact so the link can say it was withdrawn. The initiator is
    told, and so is the invitee they named, if that person uses HabitPact."""
    now = _now(now)
    with transaction.atomic():
        pact.lock()
        refusal = _refusal_cancel(pact, user, now)
        if refusal is not None:
            raise refusal
        pact.status = Pact.Status.CANCELLED
        pact.save(update_fields=["status", "updated_at"])
        notify(user, "pact_cancelled", str(pact.pk), pact_id=str(pact.pk))
        invitee = _named_invitee(pact)
        if invitee is not None:
            notify(invitee, "invite_cancelled", str(pact.pk), pact_id=str(pact.pk), by=user)
    log.info("pact_cancelled", extra={"pact_id": str(pact.pk), "user_id": str(user.pk)})
    return pact


def pact_end(pact: Pact, user: User, *, reason: str = "", now: datetime | None = None) -> Pact:
    """ACTIVE → ENDED by either participant (rule 13): days whose deadline has passed are
    decided first, as the deadline sweep would; only days still ahead are removed."""
    now = _now(now)
    with transaction.atomic():
        pact.lock()
        pact.require_participant(user)
        if pact.status != Pact.Status.ACTIVE:
            raise DomainError("PACT_NOT_ACTIVE", _("Only an active pact can be ended."))
        _close(pact, reason=reason, now=now, by=user)
    log.info("pact_ended", extra={"pact_id": str(pact.pk), "user_id": str(user.pk)})
    return pact


def _close(pact: Pact, *, reason: str, now: datetime, by: User | None) -> None:
    """ACTIVE → ENDED (pact locked by the caller), for every way a pact closes (rule 13).

    1. Catch up on days the materialize job has not created yet (a worker that was down),
       so no day whose deadline has passed escapes.
    2. Decide every PENDING day whose deadline has passed exactly as the deadline sweep
       does: `PactDayQuerySet.miss` (MISSED, one FORFEIT, "missed" to both).
    3. Remove the PENDING days whose deadline is still ahead. The rows are chosen by that
       condition under their own row locks, never by ids read earlier: a check-in that
       committed DONE meanwhile no longer matches and stays.
    4. ENDED, both told. DONE days keep their dispute window and DISPUTED days their
       resolution window: ending cuts neither short.
    """
    pact.materialize_days(now)
    close_breaks(pact, now)  # rule 10: no break outlives its pact
    pending = PactDay.objects.filter(pact=pact, status=PactDay.Status.PENDING)
    overdue = list(
        pending.filter(deadline_at__lte=now).select_for_update().values_list("id", flat=True)
    )
    if overdue:
        PactDay.objects.filter(id__in=overdue).miss(now=now)
    ahead = list(
        pending.filter(deadline_at__gt=now).select_for_update().values_list("id", flat=True)
    )
    if ahead:
        # Locked above and re-checked here: nothing can have decided them since.
        PactDay.objects.filter(
            id__in=ahead, status=PactDay.Status.PENDING, deadline_at__gt=now
        ).delete()
    pact.status = Pact.Status.ENDED
    pact.ended_at = now
    pact.end_reason = (reason or "").strip()
    pact.save(update_fields=["status", "ended_at", "end_reason", "updated_at"])
    facts = {"pact_id": str(pact.pk)} | ({"by": by} if by is not None else {})
    for member in pact.members:
        notify(member.user, "pact_ended", str(pact.pk), **facts)


def _keeps_pact_open(now: datetime) -> Q:
    """Days that hold a finished pact open: in dispute, or still ahead of their deadline."""
    S = PactDay.Status
    return Q(status=S.DISPUTED) | Q(status=S.PENDING, deadline_at__gt=now)


def complete_finished_pacts(now: datetime | None = None) -> int:
    """Pacts whose end date has passed (in their zone) end on their own ("Journey
    complete"), as if ended by hand. Returns how many.

    Overdue PENDING days do not hold a pact open: closing decides them (rule 13). A
    DISPUTED day keeps the pact open until it is resolved or the dispute expires, so the
    completion message can give the final balance."""
    now = _now(now)
    undecided = PactDay.objects.filter(_keeps_pact_open(now), pact=OuterRef("pk"))
    # No zone is more than 14 h ahead of UTC: a pact whose end date is before this one's
    # UTC date minus a day cannot still be running anywhere.
    candidates = Pact.objects.filter(
        status=Pact.Status.ACTIVE, end_date__lt=(now + timedelta(hours=14)).date()
    ).exclude(Exists(undecided))
    completed = 0
    for pact in candidates.order_by("end_date", "pk").iterator():
        with transaction.atomic():
            pact.lock()
            if pact.status != Pact.Status.ACTIVE or pact.end_date >= pact.local_today(now):
                continue
            if pact.days.filter(_keeps_pact_open(now)).exists():
                continue
            _close(pact, reason="Completed", now=now, by=None)
            completed += 1
        log.info("pact_completed", extra={"pact_id": str(pact.pk)})
    return completed


KEEP = object()  # user_update_settings(language=...): leave it as it is


def user_update_settings(
    user: User,
    *,
    timezone: str | None = None,
    notify_reminders: bool | None = None,
    notify_disputes: bool | None = None,
    reminder_minutes_before: int | None = None,
    language: str | None | object = KEEP,
) -> User:
    """Change a user's own settings; None leaves a field as it is, except `language`,
    where None means "Automatic (follow Telegram)" and KEEP (the default) leaves it.
    Existing pacts keep the zone they were made in (their deadlines are promises
    already given)."""
    errors: dict[str, str] = {}
    if language is not KEEP and language is not None and not is_language(language):
        errors["language"] = _("Pick a language: en, ru, es or pt-br (or null for automatic).")
    if timezone is not None and not is_valid_timezone(timezone):
        errors["timezone"] = _("Pick a time zone from the list (like Europe/London).")
    if reminder_minutes_before is not None and (
        isinstance(reminder_minutes_before, bool)
        or not isinstance(reminder_minutes_before, int)
        or not REMINDER_MIN_MINUTES <= reminder_minutes_before <= REMINDER_MAX_MINUTES
    ):
        errors["reminder_minutes_before"] = _(
            "Reminders can come %(min)d to %(max)d minutes before. "
            "To get none, switch reminders off."
        ) % {"min": REMINDER_MIN_MINUTES, "max": REMINDER_MAX_MINUTES}
    if errors:
        raise DomainError("VALIDATION_ERROR", next(iter(errors.values())), errors)
    changes = {
        "timezone": timezone,
        "notify_reminders": notify_reminders,
        "notify_disputes": notify_disputes,
        "reminder_minutes_before": reminder_minutes_before,
    }
    changed = [name for name, value in changes.items() if value is not None]
    for name in changed:
        setattr(user, name, changes[name])
    if language is not KEEP and language != user.language:
        user.language = language
        changed.append("language")
    if changed:
        user.save(update_fields=[*changed, "updated_at"])
    return user


# --- reads ------------------------------------------------------------------------------


def pact_for(user: User, pact_id: uuid.UUID | str) -> Pact:
    """The pact, if `user` is in it: PACT_NOT_FOUND for an unknown id,
    FORBIDDEN_NOT_PARTICIPANT (and not a byte of the pact) for a stranger."""
    try:
        pact = Pact.objects.prefetch_related("participants__user").get(pk=pact_id)
    except (Pact.DoesNotExist, ValidationError, ValueError, TypeError):
        raise DomainError("PACT_NOT_FOUND", _("We couldn't find that pact.")) from None
    if not any(
        p.user_id == user.pk and p.status == PactParticipant.Status.ACCEPTED
        for p in pact.participants.all()
    ):
        raise DomainError("FORBIDDEN_NOT_PARTICIPANT", _("You're not part of this pact."))
    return pact


def day_for(pact: Pact, day: date, *, now: datetime | None = None) -> PactDay:
    """The pact's day on `day`. Materialises first only when the job is behind on that
    very day (`Pact.is_behind_on`), so today's day exists whenever someone wants to check
    in, and asking about any other date writes nothing."""
    now = _now(now)
    found = PactDay.objects.filter(pact=pact, date=day).first()
    if found is None and pact.is_behind_on(day, now):
        with transaction.atomic():
            pact.materialize_days(now)
        found = PactDay.objects.filter(pact=pact, date=day).first()
    if found is None:
        raise DomainError("DAY_NOT_FOUND", _("There's no check-in scheduled for that day."))
    found.pact = pact
    return found


def todays_days(pacts: Iterable[Pact], now: datetime) -> dict[uuid.UUID, PactDay | None]:
    """Today's day (in each pact's zone) of each pact, by pact id: the one answer the API
    list and detail, the Mini App home and detail give. Only a running pact has one.

    One query for the days that exist; a pact whose today the materialize job has not
    reached (a worker that was down) is caught up first, so every door shows the same
    "today". A pact with no day today writes nothing."""
    pacts = list(pacts)
    active = {p.pk: p for p in pacts if p.status == Pact.Status.ACTIVE}
    dates = {pk: pact.local_today(now) for pk, pact in active.items()}
    found: dict[uuid.UUID, PactDay] = {}
    if active:
        for day in PactDay.objects.filter(pact__in=list(active), date__in=set(dates.values())):
            if dates[day.pact_id] == day.date:
                found[day.pact_id] = day
    for pk, pact in active.items():
        if pk not in found and pact.is_behind_on(dates[pk], now):
            with transaction.atomic():
                pact.materialize_days(now)
            day = PactDay.objects.filter(pact=pact, date=dates[pk]).first()
            if day is not None:
                found[pk] = day
    for pk, day in found.items():
        day.pact = active[pk]
    return {pact.pk: found.get(pact.pk) for pact in pacts}


def today_for(pact: Pact, *, now: datetime | None = None) -> PactDay | None:
    """`todays_days` for one pact."""
    return todays_days([pact], _now(now))[pact.pk]


# Strict ISO dates only: date.fromisoformat alone would also take "2025-W04-1" and
# "20250120", which the API refused and the Mini App took (issue 13).
_DAY_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def parse_day(value: object) -> date:
    """A day in a path or a button: `YYYY-MM-DD` and a real date, else DAY_NOT_FOUND.
    The API, the Mini App and the bot all parse dates with this."""
    if isinstance(value, str) and _DAY_RE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise DomainError("DAY_NOT_FOUND", _("There's no check-in scheduled for that day."))


def open_days(pact: Pact, *, now: datetime | None = None) -> list[PactDay]:
    """The pact's days whose outcome can still move the tab: a DONE day inside its
    dispute window, or a DISPUTED day awaiting its resolution. Ending a pact leaves them
    open (rule 13), so "final" balances are final only once this is empty."""
    S = PactDay.Status
    return list(
        PactDay.objects.filter(
            Q(status=S.DISPUTED) | Q(status=S.DONE, dispute_open_until__gt=_now(now)),
            pact=pact,
        ).order_by("date")
    )


@dataclass(frozen=True)
class PactStats:
    total_days: int
    done_days: int
    missed_days: int
    disputed_days: int
    skipped_days: int
    waived_days: int
    current_streak: int
    # --- honesty in the open (issue 12 item 5): the same numbers for both people ---
    # The initiator's own skips of days in this calendar month (pact zone): what the
    # allowance (rule 8) counts; a partner's skip and a break day are not among them.
    skips_used_this_month: int = 0
    # Rule 9's requests, by how the partner answered them.
    skip_requests_approved: int = 0
    skip_requests_declined: int = 0
    # Breaks that were agreed and started (APPROVED and under way or over, ENDED).
    breaks_taken: int = 0
    # Days whose check-in was disputed, and how the latest round ended; a dispute still
    # open counts in disputes_opened only (and in disputed_days).
    disputes_opened: int = 0
    disputes_conceded: int = 0
    disputes_rejected: int = 0
    disputes_withdrawn: int = 0
    disputes_expired: int = 0
    waivers: int = 0
    approvals: int = 0  # check-ins the partner marked "Looks good" (rule 11)


def _stats_query(pk, today: date, month_first: date, month_last: date):
    """`pact_stats`'s query, as the ORM builds it."""
    from .breaks import Break  # the model lives beside its rules

    S = PactDay.Status
    R = PactDay.Resolution

    def days(**conditions) -> Count:
        return Count("days", filter=Q(days__date__lte=today, **conditions))

    breaks_taken = Counted(
        Break.objects.filter(
            pact=OuterRef("pk"),
            start_date__lte=today,
            status__in=[Break.Status.APPROVED, Break.Status.ENDED],
        )
    )

    def skip_requests(status: str) -> Counted:
        return Counted(SkipRequest.objects.filter(day__pact=OuterRef("pk"), status=status))

    return (
        Pact.objects.filter(pk=pk)
        .annotate(
            n_total=days(),
            n_done=days(days__status=S.DONE),
            n_missed=days(days__status=S.MISSED),
            n_disputed=days(days__status=S.DISPUTED),
            n_skipped=days(days__status=S.SKIPPED),
            n_waived=days(days__status=S.WAIVED),
            n_streak=current_streak(OuterRef("pk")),
            n_skips_month=Count(
                "days", filter=allowance_skips(month_first, month_last, via="days__")
            ),
            n_disputes=days(days__disputed_at__isnull=False),
            n_conceded=days(days__resolution=R.CONCEDED),
            n_rejected=days(days__resolution=R.REJECTED, days__status=S.DONE),
            n_withdrawn=days(days__resolution=R.WITHDRAWN, days__status=S.DONE),
            n_expired=days(days__resolution=R.DONE_STANDS),
            n_approvals=days(days__approved_at__isnull=False),
            n_breaks=breaks_taken,
            n_requests_approved=skip_requests(SkipRequest.Status.APPROVED),
            n_requests_declined=skip_requests(SkipRequest.Status.DECLINED),
        )
        .values(
            "n_total",
            "n_done",
            "n_missed",
            "n_disputed",
            "n_skipped",
            "n_waived",
            "n_streak",
            "n_skips_month",
            "n_disputes",
            "n_conceded",
            "n_rejected",
            "n_withdrawn",
            "n_expired",
            "n_approvals",
            "n_breaks",
            "n_requests_approved",
            "n_requests_declined",
        )
    )


def _stats_params(pk, today: date, month_first: date, month_last: date) -> dict[str, object]:
    """The query's varying values, as the database driver is given them."""
    day = PactDay._meta.get_field("date")
    return {
        "pk": Pact._meta.pk.get_db_prep_value(pk, connection),
        "today": day.get_db_prep_value(today, connection),
        "month_first": day.get_db_prep_value(month_first, connection),
        "month_last": day.get_db_prep_value(month_last, connection),
    }


# Two sets of values no pact has, to compile `_stats_query` once (habitpact.compiled).
_STATS_STAND_INS = [
    (uuid.UUID(int=0xDEAD), date(1901, 2, 13), *month_of(date(1901, 2, 13))),
    (uuid.UUID(int=0xBEEF), date(1902, 6, 17), *month_of(date(1902, 6, 17))),
]


@functools.cache
def _stats_statement(vendor: str) -> Compiled:
    """`_stats_query` compiled once per process and database engine: building and
    compiling its 17 annotations cost about 12 ms of Python on every pact screen,
    against 2.4 ms for the database to answer it. Only the pact and three dates vary."""
    return compile_once(_stats_query, _stats_params, _STATS_STAND_INS)


def pact_stats(pact: Pact, *, now: datetime | None = None) -> PactStats:
    """Counts over days up to today, the current streak, and the fair-play counts, in
    one query: a grouped count over the pact's days, and the streak, breaks and skip
    requests as `Counted` subqueries (evaluated once, not once per day: see there).

    The streak rule is in `pacts/stats.py`. The query is compiled once per process
    (`_stats_statement`) and run with this pact and its dates.
    """
    today = pact.local_today(now)
    month_first, month_last = month_of(today)
    statement = _stats_statement(connection.vendor)
    params = statement.bind(_stats_params(pact.pk, today, month_first, month_last))
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        names = [column[0] for column in cursor.description]
        row = dict(zip(names, cursor.fetchone(), strict=True))
    pact.remember_skips_used(month_first, row["n_skips_month"])  # the pact screen's too
    return PactStats(
        total_days=row["n_total"],
        done_days=row["n_done"],
        missed_days=row["n_missed"],
        disputed_days=row["n_disputed"],
        skipped_days=row["n_skipped"],
        waived_days=row["n_waived"],
        current_streak=row["n_streak"],
        skips_used_this_month=row["n_skips_month"],
        breaks_taken=row["n_breaks"],
        skip_requests_approved=row["n_requests_approved"],
        skip_requests_declined=row["n_requests_declined"],
        disputes_opened=row["n_disputes"],
        disputes_conceded=row["n_conceded"],
        disputes_rejected=row["n_rejected"],
        disputes_withdrawn=row["n_withdrawn"],
        disputes_expired=row["n_expired"],
        waivers=row["n_waived"],
        approvals=row["n_approvals"],
    )


def invite_link(pact: Pact) -> str:
    return bot_link(f"invite_{pact.invite_code}")


def invite_to_share(user: User, pact_id, *, now: datetime | None = None) -> Pact:
    """The pact whose invite `user` may send on: its initiator, while it still waits
    for an answer and has not expired (the rule answering and withdrawing share)."""
    pact = pact_for(user, pact_id)
    refusal = _refusal_invite_closed(pact, _now(now), _("This invite has already been answered."))
    if refusal is not None:
        raise refusal
    if pact.created_by_user_id != user.pk:
        raise DomainError("FORBIDDEN_WRONG_ROLE", _("Only the person who made the pact invites."))
    return pact
