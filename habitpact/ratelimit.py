"""Rate limits (spec §13, rule 16), counted in the database: no Redis, exact under concurrency.

| scope     | requests                             | limit / window |
|-----------|--------------------------------------|----------------|
| `auth`    | POST /auth/*                         | 10 / 60 s      |
| `checkin` | POST /pacts/*/days/*/checkin         | 5 / 60 s       |
| `dispute` | POST /pacts/*/days/*/dispute         | 3 / 60 s       |
| `read`    | GET (and HEAD, OPTIONS) of the rest  | 100 / 60 s     |
| `write`   | POST, PATCH, PUT, DELETE of the rest | 30 / 60 s      |

A request counts against one scope (a view names it with `rate_scope`, else the method
decides), keyed `<scope>:user:<pk>` (by client IP before sign-in) whichever door it came
through (rule 16): the API (`SpecRateThrottle`), the Mini App (`habitpact.screens.screen`) and
the bot's buttons (`telegram_bot.handlers.on_callback`) each call `limit_user` once and
draw on one budget. Windows are fixed multiples of their length since the epoch, so
every process agrees on them. The admin sign-in counts POSTs per IP and per username
(`admin_login`, `AdminLoginForm`).

Each hit is one atomic UPSERT on `rate_limit_counters` (`habitpact.models`):
`INSERT ... ON CONFLICT (key, window_start) DO UPDATE SET hits = hits + 1 RETURNING hits`,
so two processes never both read "4" and write "5" (DRF's cache throttles can). An API
request signed in with a bearer token sends it in one statement with the user's lookup
(`count_with`, on PostgreSQL), so counting costs the request no round trip of its own.
`prune_rate_limits` (hourly) deletes old windows.

Settings: `RATE_LIMIT_ENABLED` (env, default on; off in the test suite, where the tests
of this module switch it on) and `RATE_LIMITS` ({scope: (limit, window_seconds)}).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Model, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import BaseThrottle

from habitpact.errors import DomainError
from habitpact.models import RateLimitCounter

log = logging.getLogger(__name__)

DEFAULT_RATE_LIMITS: dict[str, tuple[int, int]] = {
    "auth": (10, 60),
    "checkin": (5, 60),
    "dispute": (3, 60),
    "read": (100, 60),
    "write": (30, 60),
    "admin_login": (10, 15 * 60),
}
API_SCOPES = ("auth", "checkin", "dispute", "read", "write")
KEY_MAX_LENGTH = 200


@dataclass(frozen=True)
class RateResult:
    allowed: bool
    hits: int
    limit: int
    retry_after: int  # seconds until the current window ends (at least 1)


def rate_limits() -> dict[str, tuple[int, int]]:
    """{scope: (limit, window seconds)}: the settings' table over the defaults."""
    return {**DEFAULT_RATE_LIMITS, **(getattr(settings, "RATE_LIMITS", None) or {})}


def limits_enabled() -> bool:
    return getattr(settings, "RATE_LIMIT_ENABLED", True)


class RateLimited(DomainError):
    """Too many of one action in the current window; nothing was done."""

    def __init__(self, result: RateResult):
        super().__init__(
            "RATE_LIMITED",
            _("Whoa, slow down! 🐢 Try again in %(seconds)d seconds.")
            % {"seconds": result.retry_after},
            {"retry_after": result.retry_after},
        )
        self.retry_after = result.retry_after


def _counter_key(key: str) -> str:
    if len(key) <= KEY_MAX_LENGTH:
        return key
    return key[:100] + ":" + hashlib.sha256(key.encode()).hexdigest()


def _no_commit_wait() -> bool:
    """Whether this UPSERT may commit without waiting for its WAL flush: on PostgreSQL,
    when it is its own transaction (autocommit, as every door calls it before the
    action). A crash can then forget the last few hundred milliseconds of counts, which
    only lets a request or two more through; the request no longer waits for a disk
    flush (about 0.2 ms of each API request here). Inside a caller's transaction the
    setting would cover the caller's writes too, so there it stays synchronous."""
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def _upsert(key: str, window_start: datetime) -> tuple[str, list]:
    """The counting UPSERT (`... RETURNING hits`) and its parameters."""
    qn = connection.ops.quote_name
    table = qn(RateLimitCounter._meta.db_table)
    # set_config(..., true) is local to the statement's own transaction; SELECT-ing
    # from it makes PostgreSQL run it before the row is written and committed.
    values = (
        "SELECT %s, %s, 1 FROM (SELECT set_config('synchronous_commit', 'off', true)) AS s"
        if _no_commit_wait()
        else "VALUES (%s, %s, 1)"
    )
    sql = (
        f"INSERT INTO {table} ({qn('key')}, {qn('window_start')}, {qn('hits')}) "
        f"{values} "
        f"ON CONFLICT ({qn('key')}, {qn('window_start')}) "
        f"DO UPDATE SET {qn('hits')} = {table}.{qn('hits')} + 1 "
        f"RETURNING {qn('hits')}"
    )
    return sql, [key, connection.ops.adapt_datetimefield_value(window_start)]


def _increment(key: str, window_start: datetime) -> int:
    """One atomic UPSERT; the hits in this window including this one."""
    with connection.cursor() as cursor:
        cursor.execute(*_upsert(key, window_start))
        return int(cursor.fetchone()[0])


@dataclass(frozen=True)
class _Window:
    key: str
    limit: int
    start: int  # epoch seconds
    end: int
    epoch: int

    @classmethod
    def of(cls, key: str, *, limit: int, window: int, now: datetime | None) -> _Window:
        epoch = int((now or timezone.now()).timestamp())
        start = epoch - epoch % window
        return cls(_counter_key(key), limit, start, start + window, epoch)

    @property
    def start_at(self) -> datetime:
        return datetime.fromtimestamp(self.start, UTC)

    def count(self) -> RateResult:
        return self.result(_increment(self.key, self.start_at))

    def result(self, hits: int) -> RateResult:
        return RateResult(
            allowed=hits <= self.limit,
            hits=hits,
            limit=self.limit,
            retry_after=max(1, self.end - self.epoch),
        )


def hit(key: str, *, limit: int, window: int, now: datetime | None = None) -> RateResult:
    """Count one request against `key` in the current `window`-second window."""
    return _Window.of(key, limit=limit, window=window, now=now).count()


def _scoped(scope: str, who: str, now: datetime | None) -> _Window:
    limit, window = rate_limits()[scope]
    return _Window.of(f"{scope}:{who}", limit=limit, window=window, now=now)


def _logged(result: RateResult, scope: str, who: str) -> RateResult:
    if not result.allowed:
        log.info("rate_limited", extra={"scope": scope, "who": who, "hits": result.hits})
    return result


def count(scope: str, who: str, *, now: datetime | None = None) -> RateResult:
    """Count one `scope` action by `who` ("user:<pk>", "ip:<address>") against the
    scope's limit. The one place a key is made, so every door counts alike."""
    return _logged(_scoped(scope, who, now).count(), scope, who)


def count_with(
    scope: str, who: str, model: type[Model], select: tuple[str, list]
) -> tuple[Model | None, RateResult]:
    """`count(scope, who)` and the first `model` row of `select` (SQL and parameters,
    a lookup of at most one row) in one round trip to the database.

    The API's throttle counts every request right after the user's lookup; on
    PostgreSQL the two now share a statement, `WITH hit AS (<the UPSERT>) SELECT ...`,
    which saves each request a round trip (a data-modifying WITH runs to completion
    whether or not the lookup finds a row). Elsewhere (SQLite has no such WITH) it is
    the two statements. Either way the count is the same UPSERT as `count`'s. The
    bearer token's lookup comes compiled once per process (`habitpact.auth._token_select`)."""
    counted = _scoped(scope, who, None)
    sql, params = select
    if connection.vendor != "postgresql":
        found = next(iter(model.objects.raw(sql, params)), None)
        return found, _logged(counted.count(), scope, who)
    upsert, upsert_params = _upsert(counted.key, counted.start_at)
    hits = connection.ops.quote_name("hits")
    rows = list(
        model.objects.raw(
            f"WITH hit AS ({upsert}) SELECT q.*, hit.{hits} AS rate_limit_hits "
            f"FROM hit LEFT JOIN ({sql}) AS q ON true",
            [*upsert_params, *params],
        )
    )
    row = rows[0]
    result = _logged(counted.result(int(row.rate_limit_hits)), scope, who)
    return (None if row.pk is None else row), result


def limit_user(user, scope: str, *, now: datetime | None = None) -> None:
    """Count one `scope` action by a signed-in `user`; raise RateLimited past the limit.

    Called by the Mini App's `screen` wrapper and the bot's button handler (the API's
    throttle counts through `count` with the same key), so one budget covers all three.
    """
    if not limits_enabled():
        return
    result = count(scope, user_who(user), now=now)
    if not result.allowed:
        raise RateLimited(result)


def user_who(user) -> str:
    return pk_who(user.pk)


def pk_who(pk) -> str:
    """`user_who` from the user's primary key alone (a bearer token's claim)."""
    return f"user:{pk}"


def prune_rate_limits(now: datetime | None = None) -> int:
    """Delete counters of windows that have ended (run hourly). Returns rows deleted.

    Each scope's counters live as long as its own window (the admin sign-in's 15
    minutes must not be cut to the API's minute); a key of no known scope as long as
    the longest window of the spec's API scopes."""
    now = now or timezone.now()
    limits = rate_limits()
    ended = Q()
    scoped = Q()
    for scope, (_limit, window) in limits.items():
        prefix = Q(key__startswith=f"{scope}:")
        ended |= prefix & Q(window_start__lt=now - timedelta(seconds=window))
        scoped |= prefix
    api_longest = max(window for scope, (_limit, window) in limits.items() if scope in API_SCOPES)
    ended |= ~scoped & Q(window_start__lt=now - timedelta(seconds=api_longest))
    deleted, _by_model = RateLimitCounter.objects.filter(ended).delete()
    log.info("rate_limits_pruned", extra={"deleted": deleted})
    return deleted


class SpecRateThrottle(BaseThrottle):
    """The DRF throttle for every API view (settings.REST_FRAMEWORK).

    A signed-in request is counted by the authentication, in the same round trip as
    the user's lookup (`habitpact.api.TelegramAuthentication`, `count_with`); this
    throttle then reads that count, and counts itself only what sign-in did not (no
    Authorization header: by address)."""

    wait_seconds: int | None = None

    @staticmethod
    def scope_for(request, view) -> str:
        scope = getattr(view, "rate_scope", None)
        if scope:
            return scope
        return "read" if request.method in SAFE_METHODS else "write"

    @classmethod
    def scope_counted_by(cls, request, view) -> str | None:
        """The scope `view` counts this request against, if this throttle guards it."""
        if view is None or not limits_enabled() or cls not in view.throttle_classes:
            return None
        return cls.scope_for(request, view)

    @staticmethod
    def counted_at_sign_in(request, scope: str, result: RateResult) -> None:
        request._rate_counted = (scope, result)

    def allow_request(self, request, view) -> bool:
        if not limits_enabled():
            return True
        scope = self.scope_for(request, view)
        counted_scope, result = getattr(request, "_rate_counted", (None, None))
        if counted_scope != scope or result is None:
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                who = user_who(user)
            else:
                who = f"ip:{self.get_ident(request)}"
            result = count(scope, who)
        if not result.allowed:
            self.wait_seconds = result.retry_after
        return result.allowed

    def wait(self) -> int | None:
        return self.wait_seconds


class AdminLoginForm(AdminAuthenticationForm):
    """The admin's sign-in form, throttled per client IP and per username.

    Every POST counts against both (`admin_login` scope) before the password is
    checked, so a guesser gets at most the limit per window whether they vary the
    username or the address; past either limit the page says so and checks nothing.
    Counting every attempt, not only failures, keeps the count exact under concurrent
    guesses (one UPSERT each); a real admin signs in once.
    """

    def clean(self):
        if limits_enabled():
            refused = self._count_attempt()
            if refused is not None:
                minutes = -(-refused.retry_after // 60)
                raise ValidationError(
                    f"Too many sign-in attempts. Try again in {minutes} "
                    f"minute{'s' if minutes != 1 else ''}.",
                    code="rate_limited",
                )
        return super().clean()

    def _count_attempt(self) -> RateResult | None:
        """Count this attempt per IP and per username; the refusal that waits longest."""
        ip = SpecRateThrottle().get_ident(self.request) if self.request else "unknown"
        results = [count("admin_login", f"ip:{ip}")]
        username = (self.cleaned_data.get("username") or "").strip().lower()
        if username:
            results.append(count("admin_login", f"username:{username}"))
        refused = [result for result in results if not result.allowed]
        return max(refused, key=lambda result: result.retry_after) if refused else None
