"""Who is using the Mini App, and how its pages answer.

Telegram's webviews and Telegram Web's cross-site iframe refuse third-party cookies, so
the Mini App never relies on one. Every request that needs a user carries
`Authorization: tma <initData>` (or, from the DEBUG-only dev login, `Bearer <jwt>`),
added by static/js/app.js to every htmx request, including history-cache-miss reloads.

A full navigation (first open, reload, typed URL) carries no header, so it gets the
*shell*: the page frame with no private data, whose script reads
`Telegram.WebApp.initData` and then loads the real screen with htmx. An htmx request
with a valid header gets the screen's content partial (or a fragment of it); a
history-restore request gets the whole page.

Because no ambient credential (cookie) authenticates these requests, a cross-site form
cannot act as the user, so the pages are exempt from Django's cookie-based CSRF check,
which could not work inside Telegram Web's iframe anyway.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import reswap, retarget

from habitpact.auth import user_from_authorization
from pacts.errors import DomainError

log = logging.getLogger(__name__)

# Telegram Web (K and A), and the older web client, frame the app in an iframe.
FRAME_ANCESTORS = "'self' https://web.telegram.org https://*.telegram.org https://t.me"


def frameable(response: HttpResponse) -> HttpResponse:
    """Let Telegram's web clients frame this response (and nobody else)."""
    response["Content-Security-Policy"] = f"frame-ancestors {FRAME_ANCESTORS}"
    return response


def wants_full_page(request: HttpRequest) -> bool:
    """A normal navigation or htmx's history-restore request: render the whole page."""
    return not request.htmx or request.htmx.history_restore_request


def shell(request: HttpRequest) -> TemplateResponse:
    """The page frame without a user: its script signs in and loads the screen."""
    return TemplateResponse(request, "shell.html", {"bot_link": bot_start_link()})


def bot_start_link() -> str:
    return f"https://t.me/{settings.TELEGRAM_BOT_USERNAME}"


def unavailable(request: HttpRequest) -> TemplateResponse:
    response = TemplateResponse(request, "shell.html#unavailable", {}, status=503)
    response["Retry-After"] = "5"
    return reswap(retarget(response, "#app"), "innerHTML")


def sign_in_failed(request: HttpRequest, error: DomainError) -> TemplateResponse:
    response = TemplateResponse(
        request,
        "shell.html#signin_failed",
        {"error": error, "bot_link": bot_start_link()},
        status=401,
    )
    # Replace the whole screen, whatever fragment the request aimed at.
    return reswap(retarget(response, "#app"), "innerHTML")


def miniapp_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Authenticate a Mini App view from the `Authorization` header.

    1. No header on a plain GET navigation: answer with the shell (no user data).
    2. No header otherwise, or a bad one: the "sign-in failed" screen, status 401.
    3. A good header: `request.user_tg` is the user; call the view.
    Every answer may be framed by Telegram's web clients.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        try:
            return authenticated(request, *args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            # The database is unreachable (a restart, a failover): say so, don't 500.
            log.warning("miniapp_database_unavailable", extra={"error": str(exc)[:200]})
            return frameable(unavailable(request))

    def authenticated(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        header = request.headers.get("Authorization", "")
        try:
            user = user_from_authorization(header)
        except DomainError as error:
            log.info("miniapp_auth_refused", extra={"code": error.code, "path": request.path})
            return frameable(sign_in_failed(request, error))
        if user is None:
            if request.method in ("GET", "HEAD") and wants_full_page(request):
                return frameable(shell(request))
            missing = DomainError("UNAUTHORIZED", "Open HabitPact from Telegram to continue.")
            return frameable(sign_in_failed(request, missing))
        request.user_tg = user
        return frameable(view(request, *args, **kwargs))

    # Shells and screens share a URL: caches must key on the header and htmx's.
    return vary_on_headers("Authorization", "HX-Request")(
        csrf_exempt(xframe_options_exempt(wrapper))
    )


def acting_user(request: HttpRequest) -> AbstractBaseUser:
    """The signed-in user (the project's user model, pacts.User)."""
    return request.user_tg  # type: ignore[attr-defined]
