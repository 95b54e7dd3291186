"""Breaks on the pact screen (rule 10): propose one, answer it, end it early. Each
action calls the same `pacts.breaks` functions as the API and the bot, then re-renders
the pact's live area with the outcome inline."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import date

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from habitpact.errors import DomainError
from habitpact.forms import form_text, invalid
from habitpact.miniapp import acting_user
from habitpact.screens import render_screen, screen
from pacts.actions import pact_for
from pacts.breaks import BREAK_REASON_MAX_LENGTH, Break, break_propose
from pacts.views.detail import detail_context

log = logging.getLogger(__name__)

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def _form_date(data, field: str) -> date:
    """A `<input type="date">` value, strictly YYYY-MM-DD, else a form error."""
    value = str(data.get(field, ""))
    if _DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    if field == "start_date":
        message = gettext("Pick the first day off.")
    else:
        message = gettext("Pick the last day off.")
    raise invalid(field, message)


SUCCESS = {
    "PROPOSED": gettext_noop("Break requested. Fingers crossed! 🤞"),
    "APPROVED": gettext_noop("Break on. Enjoy the rest! 🏖️"),
    "approve": gettext_noop("Break approved. Rest well! 🏖️"),
    "decline": gettext_noop("Break declined. The schedule stays."),
    "end": gettext_noop("Break over. Back on schedule! 💪"),
}


def _live(request, pact, user, now, *, error=None, success=None, extra=None) -> HttpResponse:
    context = {**detail_context(pact, user, now), "flash": success, **(extra or {})}
    return render_screen(
        request, "pacts/detail.html", context, fragment="live", error=error, success=success
    )


@screen("POST")
def break_new(request: HttpRequest, pact_id: uuid.UUID) -> HttpResponse:
    """POST /pacts/<id>/breaks: propose a break (the partner's starts at once)."""
    user = acting_user(request)
    now = timezone.now()
    pact = pact_for(user, pact_id)
    error = success = None
    try:
        brk, _ = break_propose(
            pact,
            user,
            start_date=_form_date(request.POST, "start_date"),
            end_date=_form_date(request.POST, "end_date"),
            reason=form_text(request.POST, "reason", max_length=BREAK_REASON_MAX_LENGTH),
            now=now,
        )
        success = gettext(SUCCESS[brk.status])
        log.info("miniapp_break_proposed", extra={"break_id": str(brk.pk)})
    except DomainError as refusal:
        error = refusal
    pact.refresh_from_db()
    # A refused form stays open with what was typed.
    extra = {"break_form": request.POST} if error is not None else None
    return _live(request, pact, user, now, error=error, success=success, extra=extra)


@screen("POST")
def break_action(
    request: HttpRequest, pact_id: uuid.UUID, break_id: uuid.UUID, action: str
) -> HttpResponse:
    """POST /pacts/<id>/breaks/<break_id>/<approve|decline|end>."""
    user = acting_user(request)
    now = timezone.now()
    pact = pact_for(user, pact_id)
    error = success = None
    try:
        brk = Break.objects.filter(pk=uuid.UUID(str(break_id)), pact=pact).first()
    except ValueError:
        brk = None
    try:
        if brk is None:
            raise DomainError("NOT_FOUND", gettext("We couldn't find that break."))
        brk.pact = pact
        {"approve": brk.approve, "decline": brk.decline, "end": brk.end}[action](user, now=now)
        success = gettext(SUCCESS[action])
        log.info("miniapp_break_action", extra={"action": action, "break_id": str(brk.pk)})
    except DomainError as refusal:
        error = refusal
    pact.refresh_from_db()
    return _live(request, pact, user, now, error=error, success=success)
