"""An invite's preview and its answer (accept opens the pact; decline stays here)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django_htmx.http import push_url, reswap, retarget

from habitpact.miniapp import acting_user
from habitpact.screens import render_screen, screen
from pacts.actions import (
    invite_for,
    invite_link,
    invite_shows_terms,
    invite_status,
    pact_accept,
    pact_decline,
)
from pacts.errors import DomainError
from pacts.views.detail import detail_context


@screen("GET", "POST")
def invite(request: HttpRequest, code: str, answer: str = "") -> HttpResponse:
    """Preview an invite, then accept (→ the pact) or decline it. Only an explicit
    answer (the path's, or a form's `action`) changes anything: a bare POST is refused,
    never read as a decline (rule 15)."""
    user = acting_user(request)
    now = timezone.now()
    pact = invite_for(code)
    error = success = None
    if request.method == "POST":
        answer = answer or request.POST.get("action", "")
        try:
            if answer not in ("accept", "decline"):
                raise DomainError(
                    "VALIDATION_ERROR",
                    "Tap Accept or No thanks to answer this invite.",
                    {"action": "accept or decline"},
                )
            if answer == "accept":
                pact_accept(pact, user, now=now)
                response = render_screen(
                    request,
                    "pacts/detail.html",
                    detail_context(pact, user, now),
                    success="You're in! Keep them honest. 🤝",
                )
                retarget(response, "#app")
                reswap(response, "innerHTML show:window:top")
                return push_url(response, reverse("pact_detail", kwargs={"pact_id": pact.pk}))
            pact_decline(pact, user, now=now)
            success = "Invite declined."
        except DomainError as refusal:
            error = refusal
        pact.refresh_from_db()
    context = {
        "pact": pact,
        "code": code,
        "shows_terms": invite_shows_terms(pact, user, now),
        "initiator": pact.initiator,
        "status": invite_status(pact, now),
        "is_own": pact.created_by_user_id == user.pk,
        "is_member": pact.role_of(user) is not None,
        "invite_link": invite_link(pact),
        "flash": success,
    }
    fragment = "answer" if request.method == "POST" else None
    return render_screen(
        request, "pacts/invite.html", context, fragment=fragment, error=error, success=success
    )
