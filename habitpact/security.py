"""Site-wide Content-Security-Policy, friendly to the Mini App inside Telegram.

Django 5.2 has no CSP of its own, so this small middleware adds one to every response.
It *merges*: a view that already set a Content-Security-Policy (the Mini App pages set
`frame-ancestors` so Telegram Web may frame them, see `habitpact/miniapp.py`) keeps its
directives, and gets the site-wide ones it did not set. So the Mini App stays frameable
by Telegram while every other page may be framed only by ourselves.

The default policy allows our own files plus Telegram's `telegram-web-app.js` from
https://telegram.org; set `CONTENT_SECURITY_POLICY` to replace it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

HEADER = "Content-Security-Policy"

DEFAULT_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' https://telegram.org",
        # htmx injects its indicator <style>; Telegram's script sets inline theme styles.
        "style-src 'self' 'unsafe-inline'",
        # Telegram profile photos come from its CDN (https); the recap preview is a blob:
        # URL of the picture app.js fetched with the sign-in header.
        "img-src 'self' data: blob: https:",
        "connect-src 'self'",
        "font-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)


def _directives(policy: str) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for part in policy.split(";"):
        part = part.strip()
        if part:
            name = part.split(None, 1)[0].lower()
            parsed.setdefault(name, part)
    return parsed


def merge_policy(existing: str, site_wide: str) -> str:
    """`existing`'s directives, plus those of `site_wide` that it does not name."""
    ours = _directives(existing)
    for name, directive in _directives(site_wide).items():
        ours.setdefault(name, directive)
    return "; ".join(ours.values())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable):
        self.get_response = get_response
        self.policy = getattr(settings, "CONTENT_SECURITY_POLICY", DEFAULT_POLICY)

    def __call__(self, request):
        response = self.get_response(request)
        if self.policy:
            response[HEADER] = merge_policy(response.get(HEADER, ""), self.policy)
        return response


def refuse_public_jwt_secret() -> None:
    """Stop a server from starting when it would sign bearer tokens with the public dev
    key (settings.JWT_SECRET_IS_PUBLIC): anyone could then forge a token for any user.

    Called by wsgi.py and asgi.py, the entry points of every process that serves
    requests (gunicorn, runserver, an ASGI server), and not from settings, so that
    offline commands (`makemigrations --check` in CI) still run without secrets.
    """
    if settings.JWT_SECRET_IS_PUBLIC:
        raise ImproperlyConfigured(
            "Refusing to serve with the public dev key for JWTs: set JWT_SECRET (or "
            "DJANGO_SECRET_KEY) to a long random string, or DJANGO_DEBUG=1 for local use."
        )
