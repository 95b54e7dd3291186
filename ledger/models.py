"""The ledger: append-only money entries, settlements, and the balance view.

Amounts are integers in the pact's minor units, signed so that a positive balance means
the initiator owes the partner. Entries are never changed or removed: the database
rejects UPDATE and DELETE on `ledger_entries` (triggers on PostgreSQL and SQLite), and
the model refuses them too, so a mistake shows up as an error instead of a silent edit.
A correction is a new ADJUSTMENT entry.

This module refers to pacts by string only, so the pact domain can write entries.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NoReturn

from django.conf import settings
from django.db import models
from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from uuid6 import uuid7

if TYPE_CHECKING:
    from datetime import datetime

    from pacts.models import Pact, PactDay, User


class AppendOnlyError(Exception):
    pass


class LedgerEntry(models.Model):
    class Type(models.TextChoices):
        FORFEIT = "FORFEIT"
        SETTLEMENT = "SETTLEMENT"
        ADJUSTMENT = "ADJUSTMENT"
        WAIVER = "WAIVER"

    # Version 7: time-ordered, so the primary key grows at its right edge however long the
    # history (the deadline sweep's SQL makes the same with habitpact_uuid7()).
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # db_index=False: idx_ledger_pact (pact_id, created_at) serves lookups by pact.
    pact = models.ForeignKey(
        "pacts.Pact", on_delete=models.PROTECT, related_name="ledger_entries", db_index=False
    )
    pact_day = models.ForeignKey(
        "pacts.PactDay", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    type = models.CharField(max_length=20, choices=Type)
    amount = models.IntegerField(help_text="Signed minor units; positive = initiator owes more.")
    # db_index=False, as in the spec's DDL: nothing reads entries by user (balances go by
    # pact), and each index cost every FORFEIT a random leaf write (bench/README.md).
    from_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    to_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    note = models.TextField(blank=True, default="")
    created_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        db_index=False,  # set only on admin adjustments: a partial index below
        null=True,
        blank=True,
        related_name="+",
        help_text="The staff member who recorded an adjustment.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        db_table = "ledger_entries"
        ordering = ["created_at", "id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["pact", "created_at"], name="idx_ledger_pact"),
            models.Index(
                fields=["created_by_user"],
                name="idx_ledger_created_by",
                condition=Q(created_by_user__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(type__in=["FORFEIT", "SETTLEMENT", "ADJUSTMENT", "WAIVER"]),
                name="ledger_type_valid",
            ),
            models.CheckConstraint(
                condition=~Q(type="FORFEIT") | Q(amount__gt=0, pact_day__isnull=False),
                name="ledger_forfeit_positive_with_day",
            ),
            models.CheckConstraint(
                condition=~Q(type="WAIVER") | Q(amount__lt=0, pact_day__isnull=False),
                name="ledger_waiver_negative_with_day",
            ),
            models.CheckConstraint(
                condition=~Q(type="SETTLEMENT") | Q(amount__lt=0),
                name="ledger_settlement_negative",
            ),
            models.CheckConstraint(
                condition=~Q(type="ADJUSTMENT") | (~Q(amount=0) & ~Q(note="")),
                name="ledger_adjustment_nonzero_with_note",
            ),
            models.UniqueConstraint(
                fields=["pact_day"], condition=Q(type="FORFEIT"), name="ledger_one_forfeit_per_day"
            ),
            models.UniqueConstraint(
                fields=["pact_day"], condition=Q(type="WAIVER"), name="ledger_one_waiver_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.amount:+d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnlyError("Ledger entries are append-only; add an ADJUSTMENT instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AppendOnlyError("Ledger entries are append-only; add an ADJUSTMENT instead.")

    @classmethod
    def forfeit(
        cls,
        day: PactDay,
        pact: Pact,
        initiator: User,
        partner: User | None,
        note: str,
        *,
        now: datetime,
    ) -> LedgerEntry:
        """The day's FORFEIT, stamped with the transition's clock (`now`), not the wall's."""
        return cls(
            pact_id=day.pact_id,
            pact_day_id=day.pk,
            type=cls.Type.FORFEIT,
            amount=pact.stake_amount,
            from_user=initiator,
            to_user=partner,
            note=note,
            created_at=now,
        )

    @classmethod
    def waiver(cls, forfeit: LedgerEntry, *, now: datetime) -> LedgerEntry:
        """The WAIVER reversing `forfeit`, stamped with the transition's clock (`now`)."""
        return cls(
            pact_id=forfeit.pact_id,
            pact_day_id=forfeit.pact_day_id,
            type=cls.Type.WAIVER,
            amount=-forfeit.amount,
            from_user_id=forfeit.from_user_id,
            to_user_id=forfeit.to_user_id,
            note="Miss waived",
            created_at=now,
        )


class Settlement(models.Model):
    class Status(models.TextChoices):
        PENDING = "PENDING"
        CONFIRMED = "CONFIRMED"
        CANCELLED = "CANCELLED"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    pact = models.ForeignKey("pacts.Pact", on_delete=models.PROTECT, related_name="settlements")
    amount = models.PositiveIntegerField()
    proposed_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    from_user_confirmed_at = models.DateTimeField(null=True, blank=True)
    to_user_confirmed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status, default=Status.PENDING)
    ledger_entry = models.OneToOneField(
        LedgerEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="settlement"
    )
    cancelled_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "settlements"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="settlements_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["PENDING", "CONFIRMED", "CANCELLED"]),
                name="settlements_status_valid",
            ),
            models.UniqueConstraint(
                fields=["pact"], condition=Q(status="PENDING"), name="settlements_one_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"Settlement {self.amount} ({self.status})"


class PactBalance(models.Model):
    """The `pact_balances` view of spec §5 (read-only)."""

    pact = models.OneToOneField(
        "pacts.Pact", on_delete=models.DO_NOTHING, primary_key=True, related_name="balance_row"
    )
    balance = models.IntegerField()
    total_forfeits = models.IntegerField()
    total_settlements = models.IntegerField()

    class Meta:
        managed = False
        db_table = "pact_balances"

    def __str__(self) -> str:
        return f"{self.pact_id}: {self.balance}"


# A pact's balance is the sum of its ledger, read from the `pact_balances` view (spec §5);
# positive means the initiator owes the partner. Every balance read goes through these.


def balances_of(pact_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """{pact_id: balance} for many pacts in one query; 0 for a pact with no entries."""
    ids = list(pact_ids)
    found = dict(PactBalance.objects.filter(pact_id__in=ids).values_list("pact_id", "balance"))
    return {pk: found.get(pk, 0) for pk in ids}


def balance_column() -> Coalesce:
    """The balance as an annotation on a Pact queryset (no extra query)."""
    row = PactBalance.objects.filter(pact=OuterRef("pk")).values("balance")
    return Coalesce(Subquery(row), 0)


def balance_of(pact: Pact | uuid.UUID) -> int:
    """One pact's balance (a Pact or its id)."""
    pact_id = getattr(pact, "pk", pact)
    return balances_of([pact_id])[pact_id]
