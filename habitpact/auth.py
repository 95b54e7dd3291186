"""Who is asking: Telegram Mini App initData and the API's bearer tokens.

Shared by the DRF authentication (API), the Mini App pages and anything else that needs
to know the user, so there is one implementation of each check. Part of the bottom
layer: it reaches the user model through `get_user_model()` and imports no app.

Accepted `Authorization` headers:
- `Bearer <jwt>`: issued by POST /api/v1/auth/telegram (HS256, `JWT_SECRET`, 7 days).
- `tma <initData>`: the raw initData string, validated on every request (what the Mini
  App sends, since Telegram's webviews and iframes refuse third-party cookies).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import jwt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.dispatch import Signal
from django.utils.translation import gettext as _

from habitpact.compiled import Compiled, compile_once
from habitpact.errors import DomainError
from habitpact.i18n import activate_for
from habitpact.ratelimit import RateResult, count, count_with, pk_who, user_who

# Sent (user=, at=) when signed initData says the user lets the bot write to them
# (rule 17) while we think otherwise; pacts.reach records it. A signal, because the
# plumbing imports no app.
write_access_in_init_data = Signal()

TOKEN_TTL = timedelta(days=7)
CLOCK_SKEW_SECONDS = 60


def _invalid(why: str) -> DomainError:
    return DomainError(
        "AUTH_INVALID_INIT_DATA", _("Telegram sign-in failed. Reopen the app."), {"reason": why}
    )


def validate_init_data(
    init_data: str,
    *,
    bot_token: str | None = None,
    max_age_seconds: int | None = None,
    now: float | None = None,
) -> dict[str, str]:
    """Check Telegram's signature on `init_data` and return its fields (values decoded).

    1. Parse the query string; every field appears once.
    2. Build the data-check string from every received field except `hash` (the newer
       `signature` included), as `key=value`, sorted by key, joined by newlines, with
       values exactly as received (the `user` JSON is never re-serialised).
    3. HMAC-SHA256 it with the key HMAC-SHA256("WebAppData", bot_token) and compare to
       `hash` in constant time.
    4. Refuse an `auth_date` older than `max_age_seconds` (replay protection).
    Raises DomainError(AUTH_INVALID_INIT_DATA) on any failure.
    """
    bot_token = settings.TELEGRAM_BOT_TOKEN if bot_token is None else bot_token
    max_age = settings.INIT_DATA_MAX_AGE_SECONDS if max_age_seconds is None else max_age_seconds
    if not init_data or not bot_token:
        raise _invalid("missing")
    try:
        pairs = parse_qsl(init_data, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise _invalid("malformed") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise _invalid("duplicate field")
    received_hash = fields.pop("hash", "")
    if not received_hash:
        raise _invalid("no hash")
    check_string = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    expected = hmac.new(secret, check_string.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, received_hash):
        raise _invalid("bad signature")
    try:
        auth_date = int(fields["auth_date"])
    except (KeyError, ValueError):
        raise _invalid("no auth_date") from None
    current = time.time() if now is None else now
    if current - auth_date > max_age or auth_date - current > CLOCK_SKEW_SECONDS:
        raise _invalid("expired")
    return fields


def user_from_init_data(fields: dict[str, str]) -> tuple[AbstractBaseUser, bool]:
    """Create or update the user described by initData's `user` JSON: (user, is_new)."""
    try:
        tg_user = json.loads(fields["user"])
    except (KeyError, ValueError, TypeError, RecursionError):
        raise _invalid("no user") from None
    if not isinstance(tg_user, dict):
        raise _invalid("no user")
    user, created = upsert_telegram_user(tg_user)
    # Rule 17: signed initData says the user allowed the bot to write. Acted on only
    # while we think otherwise (a read, no write, on every other request), and only if
    # it was signed after the last refusal we saw (record_reach keeps the newest).
    if tg_user.get("allows_write_to_pm") is True and not user.can_receive_messages:  # type: ignore[attr-defined]
        try:
            signed_at = end_of_second(datetime.fromtimestamp(int(fields["auth_date"]), tz=UTC))
        except (KeyError, ValueError, OverflowError, OSError):
            signed_at = None  # not from validate_init_data: now
        write_access_in_init_data.send(sender=type(user), user=user, at=signed_at)
    return user, created


def end_of_second(moment: datetime) -> datetime:
    """Telegram dates (message.date, initData's auth_date) are whole seconds, rounded
    down: the event happened before that second was over. Read as its end, a grant in
    the same second as a refusal wins the tie; if that was wrong, the next message is
    refused and turns it off again, which is the cheaper mistake."""
    return moment.replace(microsecond=0) + timedelta(seconds=1, microseconds=-1)


# Telegram user ids fit in 52 bits; our column is a signed bigint.
MAX_TELEGRAM_ID = 2**63 - 1


def _telegram_profile(tg_user: dict) -> tuple[int, dict]:
    """(id, profile fields) from a Telegram `User` object, checked for shape: the id a
    positive integer that fits our column, the names strings without NUL bytes.
    Anything else is AUTH_INVALID_INIT_DATA (it was a 500 from the database)."""
    telegram_id = tg_user.get("id")
    if type(telegram_id) is not int or not 0 < telegram_id <= MAX_TELEGRAM_ID:
        raise _invalid("no user")
    parts = {key: tg_user.get(key) for key in ("first_name", "last_name", "username")}
    for value in parts.values():
        if value is not None and (not isinstance(value, str) or "\x00" in value):
            raise _invalid("bad user")
    name = " ".join(p for p in (parts["first_name"], parts["last_name"]) if p).strip()
    profile = {
        "display_name": (name or parts["username"] or "Friend")[:255],
        "username": (parts["username"] or "")[:255] or None,
    }
    # What Telegram says about the user's language (rule 18); absent or odd, we keep
    # what it said last time.
    code = tg_user.get("language_code")
    if isinstance(code, str) and code.strip() and "\x00" not in code:
        profile["language_code"] = code.strip()[:35]
    return telegram_id, profile


def upsert_telegram_user(tg_user: dict) -> tuple[AbstractBaseUser, bool]:
    """Create or refresh our user from a Telegram `User` object (initData's `user`, or an
    update's `from`): (user, is_new). A deleted account is refused, not revived."""
    telegram_id, profile = _telegram_profile(tg_user)
    # The common case (a known user whose name hasn't changed) is one plain read: the
    # Mini App authenticates every request this way, so it must not lock or write.
    user = get_user_model().objects.filter(telegram_user_id=telegram_id).first()
    created = False
    if user is None or (
        user.deleted_at is None and any(getattr(user, k) != v for k, v in profile.items())
    ):
        with transaction.atomic():
            user, created = (
                get_user_model()
                .objects.select_for_update()
                .get_or_create(telegram_user_id=telegram_id, defaults=profile)
            )
            if not created and user.deleted_at is None:
                for key, value in profile.items():
                    setattr(user, key, value)
                user.save(update_fields=[*profile, "updated_at"])
    if not user.is_active or user.deleted_at is not None:
        raise DomainError("UNAUTHORIZED", _("This account has been deleted."))
    return user, created


def issue_token(user: AbstractBaseUser) -> str:
    now = int(time.time())
    claims = {
        "user_id": str(user.pk),
        "telegram_user_id": user.telegram_user_id,
        "iat": now,
        "exp": now + int(TOKEN_TTL.total_seconds()),
    }
    return jwt.encode(claims, settings.JWT_SECRET, algorithm="HS256")


def _token_claims(token: str) -> tuple[Any, int]:
    """The user id and Telegram id a bearer token claims. Only HS256 with our key;
    expiry enforced."""
    try:
        claims = jwt.decode(
            token,
            settings.JWT_SECRET,
            algorithms=["HS256"],
            options={"require": ["exp", "user_id", "telegram_user_id"]},
        )
    except jwt.ExpiredSignatureError:
        raise DomainError(
            "AUTH_EXPIRED_TOKEN", _("Your session has expired. Reopen the app.")
        ) from None
    except jwt.PyJWTError:
        raise DomainError("UNAUTHORIZED", _("Sign in again.")) from None
    try:
        pk = get_user_model()._meta.pk.to_python(claims["user_id"])
    except ValidationError:
        raise DomainError("UNAUTHORIZED", _("Sign in again.")) from None
    return pk, claims["telegram_user_id"]


def _token_users(pk, telegram_user_id) -> QuerySet:
    """The users a bearer token's claims can name: one or none."""
    return get_user_model().objects.filter(
        pk=pk,
        telegram_user_id=telegram_user_id,
        is_active=True,
        deleted_at__isnull=True,
    )


def _token_lookup(pk, telegram_user_id) -> QuerySet:
    return _token_users(pk, telegram_user_id).order_by("pk")[:1]


def _token_params(pk, telegram_user_id) -> dict[str, Any]:
    """The claims as the database driver is given them."""
    meta = get_user_model()._meta
    return {
        "pk": meta.pk.get_db_prep_value(pk, connection),
        "telegram_user_id": meta.get_field("telegram_user_id").get_db_prep_value(
            telegram_user_id, connection
        ),
    }


@functools.cache
def _compiled_token_lookup(vendor: str) -> Compiled:
    # Stand-ins no token claims: Telegram's ids are positive.
    stand_ins = [(uuid.UUID(int=0x7E57), -0x7E57), (uuid.UUID(int=0x7E58), -0x7E58)]
    return compile_once(_token_lookup, _token_params, stand_ins)


def _token_select(pk, telegram_user_id) -> tuple[str, list]:
    """`_token_users(pk, telegram_user_id)[:1]` as SQL and parameters, for the API's
    counted sign-in (`ratelimit.count_with`). Every API request runs this lookup, and
    compiling the same queryset afresh cost each one about 0.2 ms here
    (bench/api_overhead.py), so it is compiled once per process (habitpact.compiled)."""
    lookup = _compiled_token_lookup(connection.vendor)
    return lookup.sql, lookup.bind(_token_params(pk, telegram_user_id))


def _known(user: AbstractBaseUser | None) -> AbstractBaseUser:
    if user is None:
        raise DomainError("UNAUTHORIZED", _("Sign in again."))
    return user


def user_from_token(token: str) -> AbstractBaseUser:
    """The user a bearer token names."""
    return _known(_token_users(*_token_claims(token)).first())


def user_from_authorization(header: str) -> AbstractBaseUser | None:
    """The user an `Authorization` header names; None when there is no such header.
    Raises DomainError for a header that is present but wrong. The rest of the request
    speaks the user's language (habitpact.i18n; the middleware restores the thread's)."""
    return signed_in(header)[0]


def signed_in(
    header: str, *, counting: str | None = None
) -> tuple[AbstractBaseUser | None, RateResult | None]:
    """`user_from_authorization(header)`, and with `counting` (a rate-limit scope) one
    count of it by that user, the RateResult beside the user (None when nobody signed
    in: the caller counts by address then). A bearer token's lookup and count share a
    round trip (`ratelimit.count_with`). A refused count raises nothing here: the
    caller decides what to answer."""
    if not header:
        return None, None
    scheme, _sep, credentials = header.partition(" ")
    scheme = scheme.lower()
    counted = None
    if scheme == "bearer" and credentials:
        claims = _token_claims(credentials.strip())
        if counting is None:
            user = _known(_token_users(*claims).first())
        else:
            who = pk_who(claims[0])
            found, counted = count_with(counting, who, get_user_model(), _token_select(*claims))
            user = _known(found)
    elif scheme == "tma" and credentials:
        user, _new = user_from_init_data(validate_init_data(credentials.strip()))
        if counting is not None:
            counted = count(counting, user_who(user))
    else:
        raise DomainError("UNAUTHORIZED", _("Unsupported Authorization header."))
    activate_for(user)
    return user, counted
