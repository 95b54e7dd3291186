"""A pact's screen: this week, today, the tab; or, for an invite, its state and Withdraw."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from habitpact.miniapp import acting_user
from habitpact.screens import render_screen, screen
from ledger.models import Settlement
from pacts.actions import (
    balance_of,
    can_cancel,
    invite_link,
    open_days,
    pact_cancel,
    pact_for,
    pact_stats,
    today_for,
)
from pacts.errors import DomainError
from pacts.models import Pact, User
from pacts.templatetags.hp import WEEKDAY_SHORT, owes_text
from pacts.views.common import declined_by, journey_text, other_member, skip_context


def _week(pact: Pact, now: datetime) -> list[dict]:
    today = pact.local_today(now)
    monday = today - timedelta(days=today.weekday())
    days = {d.date: d for d in pact.days.filter(date__gte=monday, date__lt=monday + timedelta(7))}
    return [
        {
            "date": monday + timedelta(i),
            "letter": "MTWTFSS"[i],
            "name": WEEKDAY_SHORT[i],
            "day": days.get(monday + timedelta(i)),
            "is_today": monday + timedelta(i) == today,
            # Days are created a day ahead; a later check-in day is still scheduled.
            "scheduled": monday + timedelta(i) > today
            and pact.status == Pact.Status.ACTIVE
            and pact.is_scheduled_on(monday + timedelta(i)),
        }
        for i in range(7)
    ]


def detail_context(pact: Pact, user: User, now: datetime) -> dict:
    today = today_for(pact, now=now)
    balance = balance_of(pact)
    stats = pact_stats(pact, now=now)
    return {
        "pact": pact,
        "role": pact.role_of(user),
        "other": other_member(pact, user),
        "today": today,
        "local_today": pact.local_today(now),
        "can_check_in": bool(today and today.can_check_in(user, now)),
        "can_skip": bool(today and today.can_skip(user, now)),
        "overdue": bool(today and today.awaiting_sweep(now)),
        "stats": stats,
        "journey": journey_text(pact, user, stats.done_days),
        "balance": balance,
        "owes": owes_text(pact, balance),
        "pending_settlement": pact.settlements.filter(status=Settlement.Status.PENDING).first(),
        "week": _week(pact, now),
        "checkin_key": uuid.uuid4().hex,
        "skip": skip_context(pact, today, user, now),
        # An ended pact's days still open to dispute or in dispute (rule 13).
        "open_days": open_days(pact, now=now) if pact.status == Pact.Status.ENDED else [],
    }


INVITE_STATES = (
    Pact.Status.PENDING_ACCEPT,
    Pact.Status.DECLINED,
    Pact.Status.EXPIRED,
    Pact.Status.CANCELLED,
)


def invite_context(pact: Pact, user: User, now: datetime, *, confirming: bool = False) -> dict:
    """A pact that never started: waiting (with Withdraw), or how its invite ended."""
    return {
        "pact": pact,
        "invite_state": True,
        "invite_link": invite_link(pact),
        "can_withdraw": can_cancel(pact, user, now),
        "confirming": confirming,
        "declined_by": declined_by(pact),
    }


@screen("GET")
def pact_detail(request: HttpRequest, pact_id: uuid.UUID) -> HttpResponse:
    user = acting_user(request)
    now = timezone.now()
    pact = pact_for(user, pact_id)
    if pact.status in INVITE_STATES:
        confirming = request.GET.get("confirm") == "withdraw"
        fragment = "invite_box" if request.htmx and "confirm" in request.GET else None
        context = invite_context(pact, user, now, confirming=confirming)
        return render_screen(request, "pacts/detail.html", context, fragment=fragment)
    return render_screen(request, "pacts/detail.html", detail_context(pact, user, now))


@screen("POST")
def pact_withdraw(request: HttpRequest, pact_id: uuid.UUID) -> HttpResponse:
    """Withdraw a pending invite (the initiator, after the confirm step): the same
    `pact_cancel` as the API's POST /pacts/{id}/cancel."""
    user = acting_user(request)
    now = timezone.now()
    pact = pact_for(user, pact_id)
    error = success = None
    try:
        pact_cancel(pact, user, now=now)
        success = "Invite withdrawn."
    except DomainError as refusal:
        error = refusal
    pact.refresh_from_db()
    context = {**invite_context(pact, user, now), "flash": success}
    return render_screen(
        request, "pacts/detail.html", context, fragment="invite_box", error=error, success=success
    )
