"""How a Mini App screen answers: the page, its `content` partial or one fragment, with
the action's outcome told to the page script; and the `screen` decorator every Mini App
view wears (sign-in, rate limit, the viewer's zone, a refusal shown as a screen).

Shared by the pacts and ledger screens, so it lives below both and imports neither.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from django_htmx.http import reswap, retarget, trigger_client_event

from habitpact.api import envelope
from habitpact.miniapp import acting_user, frameable, miniapp_page, wants_full_page
from habitpact.ratelimit import RateLimited, limit_user
from pacts.errors import DomainError


def render_screen(
    request: HttpRequest,
    template: str,
    context: dict,
    *,
    fragment: str | None = None,
    error: DomainError | None = None,
    success: str | None = None,
) -> TemplateResponse:
    """The whole page, its `content` partial, or one fragment, with the outcome of an
    action (an inline error, a success) told to the page script for haptics."""
    if fragment:
        name = f"{template}#{fragment}"
    elif wants_full_page(request):
        name = template
    else:
        name = f"{template}#content"
    context = {**context, "viewer": acting_user(request), "error": error}
    if "pact" in context and "back_href" not in context:
        context["back_href"] = reverse("pact_detail", kwargs={"pact_id": context["pact"].pk})
    status = error.http_status if error is not None else 200
    response = TemplateResponse(request, name, context, status=status)
    if error is not None:
        event = {"code": error.code, "message": error.message}
        trigger_client_event(response, "hp:error", event, after="settle")
    if success:
        trigger_client_event(response, "hp:success", {"message": success}, after="settle")
    return response


def problem(request: HttpRequest, error: DomainError) -> TemplateResponse:
    """A screen that can't be shown (unknown pact, not yours): the whole screen says why."""
    response = TemplateResponse(
        request,
        "shell.html" if wants_full_page(request) else "shell.html#problem",
        {"error": error, "problem": True},
        status=error.http_status,
    )
    retarget(response, "#app")
    reswap(response, "innerHTML")
    trigger_client_event(response, "hp:error", {"code": error.code})
    return response


def slow_down(request: HttpRequest, error: RateLimited) -> HttpResponse:
    """Too many of one action: the screen stays as it is and a toast says why (a
    whole-page load, which has no screen to keep, gets the problem screen)."""
    if wants_full_page(request):
        response = problem(request, error)
    else:
        response = reswap(HttpResponse(status=429), "none")
        event = {"code": error.code, "message": error.message, "toast": True}
        trigger_client_event(response, "hp:error", event)
    response["Retry-After"] = str(error.retry_after)
    return response


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 404 handler (habitpact/urls.py): an address no route matches, such as
    /pacts/not-a-uuid, gets the app's own "couldn't open that" screen, or the error
    envelope under /api/ (Django's bare page otherwise)."""
    if request.path.startswith("/api/"):
        body = envelope("NOT_FOUND", "There's no such endpoint.", {"path": request.path[:200]})
        return JsonResponse(body, status=404)
    missing = DomainError("NOT_FOUND", "There's nothing at that address. Try going back home.")
    return frameable(problem(request, missing))


def in_users_zone(view):
    """Dates and times on every screen are in the viewer's own zone."""

    def wrapper(request: HttpRequest, *args, **kwargs):
        with timezone.override(acting_user(request).tz):
            response = view(request, *args, **kwargs)
            if isinstance(response, TemplateResponse):
                response.render()
            return response

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def screen(*methods: str, scope: str | Callable[[dict], str] | None = None):
    """A Mini App view: authenticated, rate limited, in the viewer's zone, limited to
    `methods`, and a DomainError while loading the screen becomes the problem screen.

    Rule 16: each request counts against the viewer's spec §13 budget for the same
    action in the API (`scope`, or a function of the URL's kwargs naming it; by
    default "read" for GET, "write" otherwise), the one budget the API and the bot's
    buttons count against too.
    """

    def scope_of(request: HttpRequest, kwargs: dict) -> str:
        if callable(scope):
            return scope(kwargs)
        if scope:
            return scope
        return "read" if request.method in ("GET", "HEAD", "OPTIONS") else "write"

    def decorate(view):
        def guarded(request: HttpRequest, *args, **kwargs):
            try:
                limit_user(acting_user(request), scope_of(request, kwargs))
            except RateLimited as error:
                return slow_down(request, error)
            try:
                return view(request, *args, **kwargs)
            except DomainError as error:
                return problem(request, error)

        guarded.__name__ = view.__name__
        guarded.__doc__ = view.__doc__
        return miniapp_page(require_http_methods(list(methods))(in_users_zone(guarded)))

    return decorate
