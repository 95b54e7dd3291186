"""A user's own data (spec §15, GDPR): export all of it, or erase their account.

Deleting an account keeps the pacts' history whole for the partner: the user row stays
(ledger rows point at it, and the ledger is append-only), but everything that names or
reaches the person is erased, and the row shows as "Deleted user".

`user_delete`, in one transaction:

1. ends every ACTIVE pact through `pact_end` (days past their deadline are decided
   first, as for any ending, so deleting an account never escapes a forfeit; the
   partner is told),
   and expires invites the user sent that nobody has answered yet;
2. cancels pending settlements through `settlement_cancel`;
3. erases what the user wrote alone (check-in notes, dispute reasons) and their name as
   an invitee on pacts; the pact titles and ledger notes are shared history and stay;
4. erases the profile: name → "Deleted user", username, settings, password, staff
   rights; marks the row inactive and deleted;
5. replaces `telegram_user_id` with a random negative number. Telegram ids are
   positive, so the placeholder can never match anyone, the old tokens stop working
   (they carry the old id), and the same person opening the app later gets a brand-new
   account instead of reviving this one. A random value (not a hash of the old id)
   keeps the deleted row from being linked back to the person;
6. removes their queued and past notifications (the outbox holds their chat id).

Ledger rows are never touched, so every balance stays exactly as it was.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ledger.models import LedgerEntry, Settlement
from outbox.models import OutboxMessage

from .actions import pact_end
from .models import Pact, PactDay, PactParticipant, User

log = logging.getLogger(__name__)

DELETED_NAME = "Deleted user"


def _row(obj, fields: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, name)
        if isinstance(value, datetime) or hasattr(value, "isoformat"):
            value = value.isoformat()
        elif hasattr(value, "hex") and not isinstance(value, (bytes, str)):
            value = str(value)
        out[name] = value
    return out


def _model_fields(model, exclude: set[str] = frozenset()) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields if f.attname not in exclude]


def user_export(user: User) -> dict[str, Any]:
    """Everything we hold about `user`, as JSON-ready data: the profile, every pact they
    were asked into (with its participants, days, ledger and settlements) and every
    notification queued or sent to them."""
    profile = _row(user, _model_fields(User, {"password"}))
    profile["groups"] = list(user.groups.values_list("name", flat=True))

    participations = list(
        PactParticipant.objects.filter(user=user).select_related("pact").order_by("created_at")
    )
    pact_ids = [p.pact_id for p in participations]
    pacts = {p.pk: p for p in Pact.objects.filter(pk__in=pact_ids).order_by("created_at")}
    people = {
        (m.pact_id, m.role): m.user.display_name
        for m in PactParticipant.objects.filter(pact_id__in=pact_ids).select_related("user")
    }
    days_by_pact: dict = {}
    for day in PactDay.objects.filter(pact_id__in=pact_ids).order_by("date"):
        days_by_pact.setdefault(day.pact_id, []).append(
            _row(day, _model_fields(PactDay, {"pact_id"}))
        )
    ledger_by_pact: dict = {}
    for entry in LedgerEntry.objects.filter(pact_id__in=pact_ids).order_by("created_at", "id"):
        ledger_by_pact.setdefault(entry.pact_id, []).append(
            _row(entry, _model_fields(LedgerEntry, {"pact_id"}))
        )
    settlements_by_pact: dict = {}
    for settlement in Settlement.objects.filter(pact_id__in=pact_ids).order_by("created_at"):
        settlements_by_pact.setdefault(settlement.pact_id, []).append(
            _row(settlement, _model_fields(Settlement, {"pact_id"}))
        )

    exported_pacts = []
    for participation in participations:
        pact = pacts[participation.pact_id]
        exported_pacts.append(
            {
                **_row(pact, _model_fields(Pact)),
                "my_role": participation.role,
                "my_participation": _row(
                    participation, _model_fields(PactParticipant, {"pact_id", "user_id"})
                ),
                "initiator_name": people.get((pact.pk, PactParticipant.Role.INITIATOR)),
                "partner_name": people.get((pact.pk, PactParticipant.Role.PARTNER)),
                "days": days_by_pact.get(pact.pk, []),
                "ledger": ledger_by_pact.get(pact.pk, []),
                "settlements": settlements_by_pact.get(pact.pk, []),
            }
        )

    notifications = [
        _row(message, _model_fields(OutboxMessage, {"user_id"}))
        for message in OutboxMessage.objects.filter(user=user).order_by("created_at", "id")
    ]
    return {
        "exported_at": timezone.now().isoformat(),
        "user": profile,
        "pacts": exported_pacts,
        "notifications": notifications,
    }


def _placeholder_telegram_id() -> int:
    # Negative, so never a real Telegram id; random, so not linkable to the old one.
    while True:
        candidate = -(secrets.randbelow(2**62) + 1)
        if not User.objects.filter(telegram_user_id=candidate).exists():
            return candidate


def user_delete(user: User, *, now: datetime | None = None) -> User:
    """Erase `user`'s account (see the module docstring for the steps). Idempotent."""
    from ledger.actions import settlement_cancel

    now = now or timezone.now()
    with transaction.atomic():
        # NO KEY, as `Pact.lock()`: ledger rows point at users, and their deferred FK
        # checks (FOR KEY SHARE at commit) must not wait on this lock while
        # the close below waits on a day the deadline sweep holds.
        user = User.objects.select_for_update(no_key=True).get(pk=user.pk)
        if user.deleted_at is not None:
            return user
        my_pacts = Pact.objects.for_user(user)
        ended = 0
        for pact in my_pacts.filter(status=Pact.Status.ACTIVE).order_by("created_at"):
            pact_end(pact, user, reason="Account deleted", now=now)
            ended += 1
        expired = Pact.objects.filter(
            created_by_user=user, status=Pact.Status.PENDING_ACCEPT
        ).update(status=Pact.Status.EXPIRED, updated_at=now)
        cancelled = 0
        for settlement in Settlement.objects.filter(
            pact__in=my_pacts, status=Settlement.Status.PENDING
        ).select_related("pact"):
            settlement_cancel(settlement, user, now=now)
            cancelled += 1

        PactDay.objects.filter(checked_in_by_user=user).exclude(checkin_note=None).update(
            checkin_note=None
        )
        PactDay.objects.filter(disputed_by_user=user).exclude(dispute_reason=None).update(
            dispute_reason=None
        )
        if user.username:
            Pact.objects.filter(
                Q(participants__user=user) & Q(partner_username__iexact=user.username)
            ).update(partner_username="")
        OutboxMessage.objects.filter(user=user).delete()

        user.display_name = DELETED_NAME
        user.username = None
        user.telegram_user_id = _placeholder_telegram_id()
        user.timezone = "UTC"
        user.notify_reminders = False
        user.notify_disputes = False
        user.is_active = False
        user.is_staff = False
        user.is_superuser = False
        user.deleted_at = now
        user.set_unusable_password()
        user.save()
        user.groups.clear()
        user.user_permissions.clear()
    log.info(
        "user_deleted",
        extra={
            "user_id": str(user.pk),
            "pacts_ended": ended,
            "invites_expired": expired,
            "settlements_cancelled": cancelled,
        },
    )
    return user
