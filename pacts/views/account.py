"""The user's own settings: zone, notifications, and the account (export, delete)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone

from habitpact.miniapp import acting_user
from habitpact.screens import render_screen, screen
from pacts.actions import user_update_settings
from pacts.errors import DomainError
from pacts.limits import REMINDER_MAX_MINUTES, REMINDER_MIN_MINUTES
from pacts.privacy import user_delete, user_export
from pacts.views.common import offered_zone, zone_choices


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return -1  # out of range: the domain says why, in its words


@screen("GET", "POST")
def user_settings(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    error = success = None
    if request.method == "POST":
        only_zone = request.POST.get("only") == "timezone"
        try:
            if only_zone:
                user_update_settings(user, timezone=request.POST.get("timezone", ""))
            else:
                user_update_settings(
                    user,
                    timezone=request.POST.get("timezone", "") or None,
                    notify_reminders=request.POST.get("notify_reminders") == "on",
                    notify_disputes=request.POST.get("notify_disputes") == "on",
                    reminder_minutes_before=_int_or_none(
                        request.POST.get("reminder_minutes_before")
                    ),
                )
            success = "Saved ✓"
        except DomainError as refusal:
            error = refusal
            user.refresh_from_db()
        if only_zone:
            return render_screen(
                request,
                "pacts/home.html",
                {"zone_saved": not error, "offer_zone": request.POST.get("timezone", "")},
                fragment="zone_offer",
                error=error,
            )
    context = {
        "user": user,
        "zones": zone_choices(request.headers.get("X-Timezone"), user.timezone),
        "phone_zone": offered_zone(request, user),
        "reminder_min": REMINDER_MIN_MINUTES,
        "reminder_max": REMINDER_MAX_MINUTES,
        "flash": success,
        "form": request.POST if error else None,
    }
    fragment = "form" if request.method == "POST" else None
    if request.method == "GET" and request.htmx and "confirm" in request.GET:
        context["confirming_delete"] = request.GET["confirm"] == "delete"
        fragment = "account"
    return render_screen(
        request,
        "pacts/user_settings.html",
        context,
        fragment=fragment,
        error=error,
        success=success,
    )


@screen("POST")
def account_delete(request: HttpRequest) -> HttpResponse:
    """Erase the account (after the confirmation step on the settings screen)."""
    user_delete(acting_user(request), now=timezone.now())
    return render_screen(
        request,
        "pacts/user_settings.html",
        {"deleted": True},
        fragment="account",
        success="Account deleted",
    )


@screen("GET")
def account_export(request: HttpRequest) -> HttpResponse:
    """The data export as a file download: the same JSON as GET /api/v1/users/me/export.

    The Mini App signs in by header, which a plain link can't carry, so app.js fetches
    this with the header and saves the answer as a file (data-download); no token ever
    goes into a URL, where logs and history would keep it.
    """
    response = JsonResponse(user_export(acting_user(request)), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = 'attachment; filename="habitpact-export.json"'
    response["Cache-Control"] = "no-store"
    return response
