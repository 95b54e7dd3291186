"""A day's screen and the day actions (check in, skip, miss, dispute, resolve, waive),
which re-render the fragment that asked: a home card, the pact's live area, or the day."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from habitpact.errors import DomainError
from habitpact.forms import form_key, form_text
from habitpact.miniapp import acting_user
from habitpact.screens import render_screen, screen
from pacts.actions import balance_of, day_for, pact_for, parse_day
from pacts.models import Pact, PactDay, User
from pacts.views.common import other_member, skip_context
from pacts.views.detail import detail_context
from pacts.views.home import card_for

log = logging.getLogger(__name__)


def _day_context(pact: Pact, day: PactDay, user: User, now: datetime) -> dict:
    return {
        "pact": pact,
        "day": day,
        "is_today": day.date == pact.local_today(now),
        "overdue": day.awaiting_sweep(now),
        "role": pact.role_of(user),
        "initiator": pact.initiator,
        "partner": pact.partner,
        "can_check_in": day.can_check_in(user, now),
        "can_skip": day.can_skip(user, now),
        "can_miss": day.can_miss(user, now),
        "can_dispute": day.can_dispute(user, now),
        "can_concede": day.can_resolve(user, "CONCEDE", now),
        "can_reject": day.can_resolve(user, "REJECT", now),
        "can_withdraw": day.can_resolve(user, "WITHDRAW", now),
        "can_waive": day.can_waive(user, now),
        "can_approve": day.can_approve(user, now),
        "dispute_open": day.status == PactDay.Status.DONE and day.dispute_window_open(now),
        "checkin_key": uuid.uuid4().hex,
        "other": other_member(pact, user),
        "skip": skip_context(pact, day, user, now),
    }


@screen("GET")
def day_detail(request: HttpRequest, pact_id: uuid.UUID, day: str) -> HttpResponse:
    user = acting_user(request)
    pact = pact_for(user, pact_id)
    found = day_for(pact, parse_day(day))
    return render_screen(request, "pacts/day.html", _day_context(pact, found, user, timezone.now()))


SUCCESS = {
    "check-in": gettext_noop("Nice one! ✅"),
    "skip": gettext_noop("Day skipped. No harm done."),
    "miss": gettext_noop("Owned up. The tab grows."),
    "dispute": gettext_noop("Dispute opened."),
    "CONCEDE": gettext_noop("Conceded. Honesty counts."),
    "REJECT": gettext_noop("You stood by it. 💪"),
    "WITHDRAW": gettext_noop("Dispute withdrawn. The check-in stands."),
    "waive": gettext_noop("Miss waived. Generous! 🤝"),
    "approve": gettext_noop("Looks good! 👍 The check-in stands."),
    "ask-skip": gettext_noop("Asked! We'll tell you what they say. 🤞"),
    "approve-skip": gettext_noop("Skip approved. Rest day granted 😌"),
    "decline-skip": gettext_noop("Declined. The day stands. 💪"),
}


def _perform(action: str, day: PactDay, user: User, request: HttpRequest, now: datetime) -> str:
    """Call the domain for `action`; returns the success message key."""
    if action == "check-in":
        day.check_in(
            user,
            note=form_text(request.POST, "note", max_length=500) or None,
            idempotency_key=form_key(request.POST, "key"),
            now=now,
        )
    elif action == "skip":
        day.skip(user, now=now)
    elif action == "miss":
        day.miss(user, now=now)
    elif action == "dispute":
        day.dispute(user, reason=form_text(request.POST, "reason", max_length=500), now=now)
    elif action == "resolve":
        resolution = request.POST.get("resolution", "")
        day.resolve(user, resolution, now=now)
        return resolution
    elif action == "waive":
        day.waive(user, now=now)
    elif action == "approve":  # rule 11: "Looks good"
        day.approve(user, now=now)
    elif action == "ask-skip":
        # The domain bounds the reason (SKIP_REASON_MAX_LENGTH) with the API's message;
        # form_text only guards the form's shape.
        day.request_skip(user, reason=form_text(request.POST, "reason", max_length=10_000), now=now)
    elif action == "approve-skip":
        day.approve_skip(user, now=now)
    elif action == "decline-skip":
        day.decline_skip(user, now=now)
    else:  # pragma: no cover - the URL pattern lists the actions
        raise DomainError("NOT_FOUND", _("Unknown action."))
    return action


# The day actions with a §13 scope of their own (as in the API); the rest are "write".
DAY_ACTION_SCOPES = {"check-in": "checkin", "dispute": "dispute"}


@screen("POST", scope=lambda kwargs: DAY_ACTION_SCOPES.get(kwargs["action"], "write"))
def day_action(request: HttpRequest, pact_id: uuid.UUID, day: str, action: str) -> HttpResponse:
    """POST /pacts/<id>/days/<date>/<action>, then re-render the fragment that asked:
    the home card, the pact detail's live area, or the day detail card."""
    user = acting_user(request)
    now = timezone.now()
    pact = pact_for(user, pact_id)
    found = day_for(pact, parse_day(day), now=now)
    error, success = None, None
    try:
        success = SUCCESS.get(_perform(action, found, user, request, now))
        success = _(success) if success else success
        log.info("miniapp_day_action", extra={"action": action, "day_id": str(found.pk)})
    except DomainError as refusal:
        error = refusal
    found.refresh_from_db()
    found.pact = pact
    where = request.POST.get("fragment", "day")
    if where == "card":
        card = card_for(pact, user, found, balance_of(pact), now)
        return render_screen(
            request,
            "pacts/home.html",
            {"card": card, "flash": success},
            fragment="card",
            error=error,
            success=success,
        )
    if where == "live":
        context = detail_context(pact, user, now)
        # The checked-in card says "Nice one! ✅" itself; a flash would say it twice.
        flash = None if action == "check-in" else success
        return render_screen(
            request,
            "pacts/detail.html",
            {**context, "flash": flash},
            fragment="live",
            error=error,
            success=success,
        )
    context = _day_context(pact, found, user, now)
    return render_screen(
        request,
        "pacts/day.html",
        {**context, "flash": success},
        fragment="day",
        error=error,
        success=success,
    )
