"""API rate limits (spec §13), counted in the database: no Redis, exact under concurrency.

| scope     | requests                             | limit / window |
|-----------|--------------------------------------|----------------|
| `auth`    | POST /auth/*                         | 10 / 60 s      |
| `checkin` | POST /pacts/*/days/*/checkin         | 5 / 60 s       |
| `dispute` | POST /pacts/*/days/*/dispute         | 3 / 60 s       |
| `read`    | GET (and HEAD, OPTIONS) of the rest  | 100 / 60 s     |
| `write`   | POST, PATCH, PUT, DELETE of the rest | 30 / 60 s      |

A request counts against exactly one scope (a view names it with `rate_scope`, else the
method decides), keyed by the signed-in user, or by the client's IP address before
sign-in (POST /auth/telegram). Windows are fixed: they start on multiples of the window
length since the epoch, so every web process agrees on them without talking.

Each hit is one atomic statement on the `rate_limit_counters` table
(`pacts.models.RateLimitCounter`, unique on (key, window_start)):

    INSERT ... VALUES (key, window_start, 1)
    ON CONFLICT (key, window_start) DO UPDATE SET hits = hits + 1 RETURNING hits

so two processes can never both read "4" and both write "5" (DRF's cache throttles
can). Works on PostgreSQL and SQLite 3.35+. Old windows are deleted by
`prune_rate_limits`, which the job scheduler runs hourly.

Settings: `RATE_LIMIT_ENABLED` (env, default on; off in the test suite, where the tests
of this module switch it on) and `RATE_LIMITS` ({scope: (limit, window_seconds)}).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import BaseThrottle

from pacts.models import RateLimitCounter

log = logging.getLogger(__name__)

DEFAULT_RATE_LIMITS: dict[str, tuple[int, int]] = {
    "auth": (10, 60),
    "checkin": (5, 60),
    "dispute": (3, 60),
    "read": (100, 60),
    "write": (30, 60),
}
KEY_MAX_LENGTH = 200


@dataclass(frozen=True)
class RateResult:
    allowed: bool
    hits: int
    limit: int
    retry_after: int  # seconds until the current window ends (at least 1)


def rate_limits() -> dict[str, tuple[int, int]]:
    return getattr(settings, "RATE_LIMITS", None) or DEFAULT_RATE_LIMITS


def _counter_key(key: str) -> str:
    if len(key) <= KEY_MAX_LENGTH:
        return key
    return key[:100] + ":" + hashlib.sha256(key.encode()).hexdigest()


def _increment(key: str, window_start: datetime) -> int:
    """One atomic UPSERT; the hits in this window including this one."""
    qn = connection.ops.quote_name
    table = qn(RateLimitCounter._meta.db_table)
    sql = (
        f"INSERT INTO {table} ({qn('key')}, {qn('window_start')}, {qn('hits')}) "
        f"VALUES (%s, %s, 1) "
        f"ON CONFLICT ({qn('key')}, {qn('window_start')}) "
        f"DO UPDATE SET {qn('hits')} = {table}.{qn('hits')} + 1 "
        f"RETURNING {qn('hits')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [key, connection.ops.adapt_datetimefield_value(window_start)])
        return int(cursor.fetchone()[0])


def hit(key: str, *, limit: int, window: int, now: datetime | None = None) -> RateResult:
    """Count one request against `key` in the current `window`-second window."""
    now = now or timezone.now()
    epoch = int(now.timestamp())
    start = epoch - epoch % window
    hits = _increment(_counter_key(key), datetime.fromtimestamp(start, UTC))
    return RateResult(
        allowed=hits <= limit, hits=hits, limit=limit, retry_after=max(1, start + window - epoch)
    )


def prune_rate_limits(now: datetime | None = None) -> int:
    """Delete counters of windows that have ended (run hourly). Returns rows deleted."""
    now = now or timezone.now()
    longest = max(window for _, window in rate_limits().values())
    cutoff = now - timedelta(seconds=longest)
    deleted, _ = RateLimitCounter.objects.filter(window_start__lt=cutoff).delete()
    log.info("rate_limits_pruned", extra={"deleted": deleted})
    return deleted


class SpecRateThrottle(BaseThrottle):
    """The DRF throttle for every API view (settings.REST_FRAMEWORK)."""

    wait_seconds: int | None = None

    @staticmethod
    def scope_for(request, view) -> str:
        scope = getattr(view, "rate_scope", None)
        if scope:
            return scope
        return "read" if request.method in SAFE_METHODS else "write"

    def allow_request(self, request, view) -> bool:
        if not getattr(settings, "RATE_LIMIT_ENABLED", True):
            return True
        scope = self.scope_for(request, view)
        limit, window = rate_limits()[scope]
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            who = f"user:{user.pk}"
        else:
            who = f"ip:{self.get_ident(request)}"
        result = hit(f"{scope}:{who}", limit=limit, window=window)
        if not result.allowed:
            self.wait_seconds = result.retry_after
            log.info("rate_limited", extra={"scope": scope, "who": who, "hits": result.hits})
        return result.allowed

    def wait(self) -> int | None:
        return self.wait_seconds
