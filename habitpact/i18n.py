"""Which language a person reads, and the locale their numbers and dates follow (rule 18).

The Mini App and the bot speak English, Russian, Spanish and Brazilian Portuguese. A
user's language is their own choice (`users.language`, set in User Settings or with
PATCH /users/me) or, while that is null ("Automatic"), what Telegram last said about them
(`users.language_code`, from initData and every bot update), mapped once here:
`ru*` → Russian, `es*` → Spanish, `pt*` → Brazilian Portuguese, anything else → English.

Words come from Django's gettext catalogs (locale/<lang>/LC_MESSAGES/django.po); money,
dates and clock times from babel's CLDR data in `babel_locale()`. Each request runs in
its requester's language (`LanguageMiddleware`, then `activate_for(user)` when the
sign-in names them); each bot message is rendered in its recipient's
(`translation.override(language_of(user))` at delivery).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from babel import Locale
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers

ENGLISH = "en"

# Django's language code → babel's locale. English reads money as en_US does ("£5.00",
# "$5.00": each currency its plain symbol) and dates as en_US ("Dec 1", 12-hour clock).
BABEL_LOCALES = {"en": "en_US", "ru": "ru", "es": "es", "pt-br": "pt_BR"}


def from_telegram(code: str | None) -> str:
    """The language we speak to someone whose Telegram `language_code` is `code` (an
    IETF tag such as "ru", "es-419", "pt-br"): one of settings.LANGUAGES."""
    tag = (code or "").strip().lower().replace("_", "-")
    primary = tag.split("-", 1)[0]
    if primary == "pt":
        return "pt-br"
    if primary in ("ru", "es"):
        return primary
    return ENGLISH


def is_language(value: object) -> bool:
    return isinstance(value, str) and value in dict(settings.LANGUAGES)


def language_of(user) -> str:
    """The language `user` reads: their choice, else what Telegram says, else English."""
    if user is None:
        return ENGLISH
    chosen = getattr(user, "language", None)
    if is_language(chosen):
        return chosen
    return from_telegram(getattr(user, "language_code", None))


def activate_for(user) -> str:
    """Switch this request (thread) to `user`'s language; the middleware undoes it."""
    language = language_of(user)
    translation.activate(language)
    return language


@cache
def _locale(name: str) -> Locale:
    return Locale.parse(name)


def babel_locale(language: str | None = None) -> Locale:
    """babel's locale for `language` (default: the active one)."""
    language = language or translation.get_language() or ENGLISH
    return _locale(BABEL_LOCALES.get(language, BABEL_LOCALES[ENGLISH]))


class LanguageMiddleware:
    """Each request starts in the language its browser asks for (Accept-Language, which
    Telegram's webviews set from the app's language; this is what the sign-in-free shell
    speaks), limited to ours, and ends with the thread back where it was. Signing in
    (`habitpact.auth.user_from_authorization`) then switches to the user's own language,
    so API error messages and Mini App screens follow them, not their browser."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        requested = translation.get_language_from_request(request)
        with translation.override(requested):
            response = self.get_response(request)
            response.headers.setdefault("Content-Language", translation.get_language())
        patch_vary_headers(response, ("Accept-Language",))
        return response
