"""A pact's screen: this week, today, the tab; or, for an invite, its state and Withdraw."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from habitpact.errors import DomainError
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
from pacts.breaks import BREAK_MAX_DAYS, open_break
from pacts.models import Pact, PactDay, User
from pacts.templatetags.hp import first_weekday, owes_text, weekday_names
from pacts.views.common import declined_by, journey_text, other_member, skip_context


def _week(pact: Pact, now: datetime) -> list[dict]:
    today = pact.local_today(now)
    # The week as the viewer's locale has it: Monday first in ru/es, Sunday in en/pt-BR.
    monday = today - timedelta(days=(today.weekday() - first_weekday()) % 7)
    days = {d.date: d for d in pact.days.filter(date__gte=monday, date__lt=monday + timedelta(7))}
    letters, names = weekday_names("narrow"), weekday_names()
    return [
        {
            "date": monday + timedelta(i),
            "letter": letters[(monday + timedelta(i)).weekday()],
            "name": names[(monday + timedelta(i)).weekday()],
            "day": days.get(monday + timedelta(i)),
            "is_today": monday + timedelta(i) == today,
            # Days are created a day ahead; a later check-in day is still scheduled.
            "scheduled": monday + timedelta(i) > today
            and pact.status == Pact.Status.ACTIVE
            and pact.is_scheduled_on(monday + timedelta(i)),
        }
        for i in range(7)
    ]


def _break_context(pact: Pact, user: User, now: datetime) -> dict:
    """Rule 10 on the pact screen: the break running or ahead and what the viewer may do
    about it, or the form to plan one (one query)."""
    current = open_break(pact, now)
    today = pact.local_today(now)
    return {
        "current_break": current,
        "on_break": current is not None and current.is_running(today),
        "can_approve_break": current is not None and current.can_approve(user, now),
        "can_decline_break": current is not None and current.can_decline(user, now),
        "can_end_break": current is not None and current.can_end(user, now),
        "can_plan_break": current is None and pact.status == Pact.Status.ACTIVE,
        "break_earliest": today + timedelta(days=1),
        "break_latest": today + timedelta(days=BREAK_MAX_DAYS),
    }


def _review_context(pact: Pact, user: User, days: list[PactDay], now: datetime) -> dict:
    """Rule 11 on the pact screen: the check-ins the partner may still review, with
    the note and the time left, and their two answers."""
    reviews = []
    for day in days:
        day.pact = pact
        if day.can_approve(user, now):
            reviews.append({"day": day, "can_dispute": day.can_dispute(user, now)})
    return {"reviews": reviews}


def detail_context(pact: Pact, user: User, now: datetime) -> dict:
    today = today_for(pact, now=now)
    balance = balance_of(pact)
    stats = pact_stats(pact, now=now)
    # Days still open to dispute or in dispute: an ended pact lists them (rule 13), the
    # partner reviews the check-ins among them (rule 11).
    still_open = open_days(pact, now=now) if pact.status in REVIEWABLE else []
    return {
        **_break_context(pact, user, now),
        **_review_context(pact, user, still_open, now),
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
        "open_days": still_open if pact.status == Pact.Status.ENDED else [],
    }


REVIEWABLE = (Pact.Status.ACTIVE, Pact.Status.ENDED)

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
    context = detail_context(pact, user, now)
    if request.htmx and request.GET.get("confirm") in ("end-break", "no"):
        # The "End break early…" confirm step, in place.
        context["confirm_end_break"] = request.GET["confirm"] == "end-break"
        return render_screen(request, "pacts/detail.html", context, fragment="live")
    return render_screen(request, "pacts/detail.html", context)


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
        success = _("Invite withdrawn.")
    except DomainError as refusal:
        error = refusal
    pact.refresh_from_db()
    context = {**invite_context(pact, user, now), "flash": success}
    return render_screen(
        request, "pacts/detail.html", context, fragment="invite_box", error=error, success=success
    )
