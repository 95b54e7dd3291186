"""A pact's settings: its terms and ending it, after a confirmation step."""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django_htmx.http import reswap, retarget

from habitpact.forms import form_text
from habitpact.miniapp import acting_user
from habitpact.screens import render_screen, screen
from pacts.actions import pact_end, pact_for, pact_stats
from pacts.errors import DomainError
from pacts.models import Pact
from pacts.views.common import journey_text, other_member


@screen("GET", "POST")
def pact_settings(request: HttpRequest, pact_id: uuid.UUID) -> HttpResponse:
    """The pact's terms and ending it, with a confirmation step before it happens."""
    user = acting_user(request)
    now = timezone.now()
    pact = pact_for(user, pact_id)
    context = {"pact": pact, "role": pact.role_of(user), "other": other_member(pact, user)}
    if request.method == "GET":
        confirming = request.GET.get("confirm") == "end"
        fragment = "danger" if request.htmx and "confirm" in request.GET else None
        if pact.status == Pact.Status.ENDED:
            done = pact_stats(pact, now=now).done_days
            context["journey"] = journey_text(pact, user, done)
        return render_screen(
            request, "pacts/settings.html", {**context, "confirming": confirming}, fragment=fragment
        )
    error, success = None, None
    try:
        pact_end(pact, user, reason=form_text(request.POST, "reason", max_length=1000), now=now)
        success = "Pact ended."
    except DomainError as refusal:
        error = refusal
    pact.refresh_from_db()
    stats = pact_stats(pact, now=now)
    context = {**context, "journey": journey_text(pact, user, stats.done_days), "flash": success}
    if error is not None:
        return render_screen(
            request, "pacts/settings.html", context, fragment="danger", error=error, success=success
        )
    # Ended: the terms card's Status row changes too, so the whole screen is swapped.
    response = render_screen(request, "pacts/settings.html", context, success=success)
    return reswap(retarget(response, "#app"), "innerHTML")
