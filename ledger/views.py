"""The Mini App's ledger screen: every entry with the running balance, and settling up.

Settlements go through ledger.actions (propose / confirm / cancel); this module only
parses, calls and renders `ledger/ledger.html` or its `body` fragment.
"""

from __future__ import annotations

import logging
import uuid
from decimal import Decimal

from babel.numbers import get_currency_precision
from django.http import HttpRequest, HttpResponse

from habitpact.forms import invalid, minor_units
from habitpact.miniapp import acting_user
from habitpact.screens import render_screen, screen
from pacts.actions import pact_for
from pacts.errors import DomainError
from pacts.models import Pact, PactParticipant, User
from pacts.templatetags.hp import format_money, owes_text

from .actions import (
    settlement_cancel,
    settlement_confirm,
    settlement_for,
    settlement_propose,
    settlement_refusal,
)
from .models import LedgerEntry, Settlement

log = logging.getLogger(__name__)

ENTRY_LABELS = {
    "FORFEIT": "Missed day",
    "WAIVER": "Miss waived",
    "SETTLEMENT": "Settled up",
    "ADJUSTMENT": "Adjustment",
}


def _ledger_context(pact: Pact, user: User) -> dict:
    """Entries newest first, each with the balance after it (one query), the pending
    settlement if any, and whose confirmation it still needs."""
    entries = list(
        LedgerEntry.objects.filter(pact=pact)
        .select_related("pact_day")
        .order_by("created_at", "id")
    )
    running = 0
    rows = []
    for entry in entries:
        running += entry.amount
        rows.append({"entry": entry, "label": ENTRY_LABELS[entry.type], "after": running})
    rows.reverse()
    balance = running
    pending = (
        pact.settlements.select_related("proposed_by_user")
        .filter(status=Settlement.Status.PENDING)
        .first()
    )
    role = pact.role_of(user)
    waiting_for_me = False
    if pending is not None:
        mine = (
            pending.from_user_confirmed_at
            if role == PactParticipant.Role.INITIATOR
            else pending.to_user_confirmed_at
        )
        waiting_for_me = mine is None
    precision = get_currency_precision(pact.currency)
    return {
        "pact": pact,
        "rows": rows,
        "balance": balance,
        "owes": owes_text(pact, balance),
        "pending": pending,
        "waiting_for_me": waiting_for_me,
        "other": pact.partner if role == PactParticipant.Role.INITIATOR else pact.initiator,
        "proposer_is_me": pending is not None and pending.proposed_by_user_id == user.pk,
        "suggested": str(Decimal(max(balance, 0)).scaleb(-precision)),
        "step": "1" if precision == 0 else str(Decimal(1).scaleb(-precision)),
    }


@screen("GET")
def pact_ledger(request: HttpRequest, pact_id: uuid.UUID) -> HttpResponse:
    user = acting_user(request)
    pact = pact_for(user, pact_id)
    return render_screen(request, "ledger/ledger.html", _ledger_context(pact, user))


@screen("POST")
def settlement_new(request: HttpRequest, pact_id: uuid.UUID) -> HttpResponse:
    """Two steps: the amount typed → "Propose settling £5 with Sam?"; Yes → proposed.
    An empty field is an error, never a silent whole-balance proposal; after an error
    or Cancel the field keeps what was typed."""
    user = acting_user(request)
    pact = pact_for(user, pact_id)
    error = success = None
    confirm: int | None = None
    raw = request.POST.get("amount", "").strip()
    step = request.POST.get("step", "")
    try:
        if not raw:
            raise invalid("amount", "Enter how much was paid, like 5 or 5.50.")
        amount = minor_units(raw, pact.currency, "amount")
        if step == "confirm":
            settlement_propose(pact, user, amount=amount)
            success = "Proposed. Waiting for the other side to confirm."
        elif step != "edit":
            refusal = settlement_refusal(pact, user, amount)
            if refusal is not None:
                raise refusal
            confirm = amount
    except DomainError as refusal:
        error = _in_money(refusal, pact)
    return _body(request, pact, user, error, success, typed=raw, confirm=confirm)


def _in_money(refusal: DomainError, pact: Pact) -> DomainError:
    """The domain's range refusal (1 ≤ amount ≤ balance) said in money, as the form's."""
    details = refusal.details
    if refusal.code != "VALIDATION_ERROR" or "max" not in details:
        return refusal
    if details["amount"] < details["min"]:
        return invalid("amount", f"Enter more than {format_money(0, pact.currency)}.")
    return invalid("amount", f"Enter at most {format_money(details['max'], pact.currency)}.")


@screen("POST")
def settlement_answer(request: HttpRequest, settlement_id: uuid.UUID, answer: str) -> HttpResponse:
    user = acting_user(request)
    settlement = settlement_for(user, settlement_id)
    pact = pact_for(user, settlement.pact_id)
    error = success = None
    try:
        if answer == "confirm":
            settlement = settlement_confirm(settlement, user)
            if settlement.status == Settlement.Status.CONFIRMED:
                success = "All squared up! 🎉"
            else:
                success = "Confirmed on your side."
        else:
            settlement_cancel(settlement, user)
            success = "Settlement cancelled."
    except DomainError as refusal:
        error = refusal
    return _body(request, pact, user, error, success)


def _body(
    request, pact, user, error, success, *, typed: str | None = None, confirm: int | None = None
) -> HttpResponse:
    pact.__dict__.pop("members", None)
    context = {**_ledger_context(pact, user), "flash": success, "confirm": confirm}
    if typed is not None:
        context["suggested"] = typed
    return render_screen(
        request, "ledger/ledger.html", context, fragment="body", error=error, success=success
    )
