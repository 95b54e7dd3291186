"""Settlements: squaring the tab off-platform and confirming it here.

Rules (DECISIONS 3): either party proposes; proposing counts as the proposer's own
confirmation; the other party's confirmation completes it and writes the SETTLEMENT
entry (negative amount). 1 ≤ amount ≤ balance; one pending settlement per pact (also a
partial unique index); either party may cancel a pending one. A pending settlement stays
confirmable after the pact ends. Lock order everywhere: the pact row, then the
settlement row.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from pacts.actions import balance_of
from pacts.errors import DomainError
from pacts.models import Pact, PactParticipant, User, notify

from .models import LedgerEntry, Settlement


def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


def settlement_propose(
    pact: Pact, user: User, *, amount: int | None = None, now: datetime | None = None
) -> Settlement:
    now = _now(now)
    with transaction.atomic():
        pact.lock()
        role = pact.require_participant(user)
        if pact.status not in (Pact.Status.ACTIVE, Pact.Status.ENDED):
            raise DomainError("PACT_NOT_ACTIVE", "This pact hasn't started.")
        balance = balance_of(pact)
        if balance <= 0:
            raise DomainError(
                "INVALID_STATE_TRANSITION", "Nothing is owed, so there's nothing to settle."
            )
        amount = balance if amount is None else amount
        if not isinstance(amount, int) or isinstance(amount, bool) or not 1 <= amount <= balance:
            raise DomainError(
                "VALIDATION_ERROR",
                "The amount must be between 1 and the current balance.",
                {"amount": amount, "balance": balance},
            )
        if pact.settlements.filter(status=Settlement.Status.PENDING).exists():
            raise DomainError(
                "INVALID_STATE_TRANSITION", "There's already a settlement waiting for confirmation."
            )
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
                "INVALID_STATE_TRANSITION", "There's already a settlement waiting for confirmation."
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
            raise DomainError("INVALID_STATE_TRANSITION", "This settlement was cancelled.")
        if role == PactParticipant.Role.INITIATOR:
            settlement.from_user_confirmed_at = settlement.from_user_confirmed_at or now
        else:
            settlement.to_user_confirmed_at = settlement.to_user_confirmed_at or now
        if settlement.from_user_confirmed_at and settlement.to_user_confirmed_at:
            balance = balance_of(pact)
            if settlement.amount > balance:
                raise DomainError(
                    "INVALID_STATE_TRANSITION",
                    "The tab is now smaller than this settlement. Cancel it and propose again.",
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
            raise DomainError("INVALID_STATE_TRANSITION", "This settlement is already confirmed.")
        settlement.status = Settlement.Status.CANCELLED
        settlement.cancelled_by_user = user
        settlement.resolved_at = now
        settlement.save()
    return settlement


def settlement_for(user: User, settlement_id) -> Settlement:
    """The settlement if `user` is in its pact (NOT_FOUND / FORBIDDEN_NOT_PARTICIPANT)."""
    try:
        settlement = Settlement.objects.select_related("pact").get(pk=settlement_id)
    except (Settlement.DoesNotExist, ValidationError, ValueError, TypeError):
        raise DomainError("NOT_FOUND", "We couldn't find that settlement.") from None
    settlement.pact.require_participant(user)
    return settlement
