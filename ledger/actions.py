"""Settlements: squaring the tab off-platform and confirming it here.

Rules (DECISIONS 3): either party proposes; proposing counts as the proposer's own
confirmation; the other party's confirmation completes it and writes the SETTLEMENT
entry (negative amount). 1 ≤ amount ≤ balance; one pending settlement per pact (also a
partial unique index); either party may cancel a pending one. A pending settlement stays
confirmable after the pact ends. Lock order everywhere: the pact row, then the
settlement row.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from habitpact.errors import DomainError
from outbox.models import notify
from pacts.actions import balance_of
from pacts.models import Pact, PactParticipant, User

from .models import LedgerEntry, Settlement

log = logging.getLogger(__name__)


def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


def _refusal_propose(
    pact: Pact, amount: int | None, balance: int, has_pending: bool
) -> DomainError | None:
    """Why `amount` can't be proposed now (None: it can). Shared by settlement_propose
    and settlement_refusal, so the preview and the proposal apply one rule."""
    if pact.status not in (Pact.Status.ACTIVE, Pact.Status.ENDED):
        return DomainError("PACT_NOT_ACTIVE", _("This pact hasn't started."))
    if balance <= 0:
        return DomainError(
            "INVALID_STATE_TRANSITION", _("Nothing is owed, so there's nothing to settle.")
        )
    amount = balance if amount is None else amount
    if not isinstance(amount, int) or isinstance(amount, bool) or not 1 <= amount <= balance:
        # min/max let a form say the bound in money ("Enter at most £10").
        return DomainError(
            "VALIDATION_ERROR",
            _("The amount must be between 1 and the current balance."),
            {"amount": amount, "balance": balance, "min": 1, "max": balance},
        )
    if has_pending:
        return DomainError(
            "INVALID_STATE_TRANSITION", _("There's already a settlement waiting for confirmation.")
        )
    return None


def settlement_refusal(pact: Pact, user: User, amount: int | None) -> DomainError | None:
    """Would proposing `amount` be refused? (The Mini App's confirm step asks first;
    settlement_propose checks again under the lock.)"""
    pact.require_participant(user)
    has_pending = pact.settlements.filter(status=Settlement.Status.PENDING).exists()
    return _refusal_propose(pact, amount, balance_of(pact), has_pending)


def settlement_propose(
    pact: Pact, user: User, *, amount: int | None = None, now: datetime | None = None
) -> Settlement:
    now = _now(now)
    with transaction.atomic():
        pact.lock()
        role = pact.require_participant(user)
        balance = balance_of(pact)
        has_pending = pact.settlements.filter(status=Settlement.Status.PENDING).exists()
        refusal = _refusal_propose(pact, amount, balance, has_pending)
        if refusal is not None:
            raise refusal
        amount = balance if amount is None else amount
        is_initiator = role == PactParticipant.Role.INITIATOR
        try:
            with transaction.atomic():
                settlement = Settlement.objects.create(
                    pact=pact,
                    amount=amount,
                    proposed_by_user=user,
                    from_user_confirmed_at=now if is_initiator else None,
                    to_user_confirmed_at=None if is_initiator else now,
                    created_at=now,
                )
        except IntegrityError:
            raise DomainError(
                "INVALID_STATE_TRANSITION",
                _("There's already a settlement waiting for confirmation."),
            ) from None
        other = pact.partner if is_initiator else pact.initiator
        notify(
            other,
            "settlement_proposed",
            str(settlement.pk),
            settlement=settlement,
            pact_id=str(pact.pk),
            amount=amount,
            by=user,
        )
    log.info(
        "settlement_proposed",
        extra={
            "settlement_id": str(settlement.pk),
            "pact_id": str(pact.pk),
            "user_id": str(user.pk),
            "amount": amount,
        },
    )
    return settlement


def _locked_settlement(settlement: Settlement, user: User) -> tuple[Pact, str]:
    pact = settlement.pact
    pact.lock()
    settlement.refresh_from_db(from_queryset=Settlement.objects.select_for_update())
    return pact, pact.require_participant(user)


def settlement_confirm(
    settlement: Settlement, user: User, *, now: datetime | None = None
) -> Settlement:
    """Record `user`'s confirmation; the second party's completes it. Confirming twice is
    a harmless no-op."""
    now = _now(now)
    with transaction.atomic():
        pact, role = _locked_settlement(settlement, user)
        if settlement.status == Settlement.Status.CONFIRMED:
            return settlement
        if settlement.status != Settlement.Status.PENDING:
            raise DomainError("INVALID_STATE_TRANSITION", _("This settlement was cancelled."))
        if role == PactParticipant.Role.INITIATOR:
            settlement.from_user_confirmed_at = settlement.from_user_confirmed_at or now
        else:
            settlement.to_user_confirmed_at = settlement.to_user_confirmed_at or now
        if settlement.from_user_confirmed_at and settlement.to_user_confirmed_at:
            balance = balance_of(pact)
            if settlement.amount > balance:
                raise DomainError(
                    "INVALID_STATE_TRANSITION",
                    _("The tab is now smaller than this settlement. Cancel it and propose again."),
                    {"amount": settlement.amount, "balance": balance},
                )
            settlement.ledger_entry = LedgerEntry.objects.create(
                pact=pact,
                type=LedgerEntry.Type.SETTLEMENT,
                amount=-settlement.amount,
                from_user=pact.initiator,
                to_user=pact.partner,
                note="Settled up",
                created_at=now,
            )
            settlement.status = Settlement.Status.CONFIRMED
            settlement.resolved_at = now
            for member in pact.members:
                notify(
                    member.user,
                    "settlement_confirmed",
                    str(settlement.pk),
                    settlement=settlement,
                    pact_id=str(pact.pk),
                    amount=settlement.amount,
                    balance=balance - settlement.amount,
                )
        settlement.save()
    log.info(
        "settlement_confirmed"
        if settlement.status == Settlement.Status.CONFIRMED
        else "settlement_confirmation_recorded",
        extra={
            "settlement_id": str(settlement.pk),
            "pact_id": str(settlement.pact_id),
            "user_id": str(user.pk),
            "amount": settlement.amount,
        },
    )
    return settlement


def settlement_cancel(
    settlement: Settlement, user: User, *, now: datetime | None = None
) -> Settlement:
    now = _now(now)
    with transaction.atomic():
        _locked_settlement(settlement, user)
        if settlement.status == Settlement.Status.CANCELLED:
            return settlement
        if settlement.status != Settlement.Status.PENDING:
            raise DomainError(
                "INVALID_STATE_TRANSITION", _("This settlement is already confirmed.")
            )
        settlement.status = Settlement.Status.CANCELLED
        settlement.cancelled_by_user = user
        settlement.resolved_at = now
        settlement.save()
    log.info(
        "settlement_cancelled",
        extra={
            "settlement_id": str(settlement.pk),
            "pact_id": str(settlement.pact_id),
            "user_id": str(user.pk),
        },
    )
    return settlement


def adjustment_refusal(pact: Pact, amount: int, note: str) -> DomainError | None:
    """Why an ADJUSTMENT of `amount` with `note` can't go on `pact`'s ledger, or None."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount == 0:
        return DomainError(
            "VALIDATION_ERROR", _("An adjustment needs a non-zero amount."), {"amount": amount}
        )
    if not (note or "").strip():
        return DomainError(
            "VALIDATION_ERROR", _("Say why: an adjustment needs a note."), {"note": "required"}
        )
    balance = balance_of(pact)
    if balance + amount < 0:
        return DomainError(
            "VALIDATION_ERROR",
            _(
                "That would take the balance below zero (%(balance)s + %(amount)s); "
                "a balance only ever says what the initiator owes the partner."
            )
            % {"balance": balance, "amount": amount},
            {"amount": amount, "balance": balance},
        )
    return None


def adjustment_record(
    pact: Pact, *, amount: int, note: str, staff_user: User, now: datetime | None = None
) -> LedgerEntry:
    """Append a signed ADJUSTMENT entry (staff only: the admin), recording who made it.

    The ledger is append-only, so this is the one way to correct a balance. The pact is
    locked first (same order as settlements), so the balance check holds at commit."""
    now = _now(now)
    with transaction.atomic():
        pact.lock()
        refusal = adjustment_refusal(pact, amount, note)
        if refusal is not None:
            raise refusal
        entry = LedgerEntry.objects.create(
            pact=pact,
            type=LedgerEntry.Type.ADJUSTMENT,
            amount=amount,
            from_user=pact.initiator,
            to_user=pact.partner,
            note=note.strip(),
            created_by_user=staff_user,
            created_at=now,
        )
    log.info(
        "ledger_adjusted",
        extra={
            "pact_id": str(pact.pk),
            "ledger_entry_id": str(entry.pk),
            "amount": amount,
            "staff_user_id": str(staff_user.pk),
        },
    )
    return entry


def settlement_for(user: User, settlement_id: object) -> Settlement:
    """The settlement if `user` is in its pact (NOT_FOUND / FORBIDDEN_NOT_PARTICIPANT)."""
    try:
        settlement = Settlement.objects.select_related("pact").get(pk=settlement_id)
    except (Settlement.DoesNotExist, ValidationError, ValueError, TypeError):
        raise DomainError("NOT_FOUND", _("We couldn't find that settlement.")) from None
    settlement.pact.require_participant(user)
    return settlement
