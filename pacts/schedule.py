"""Local calendar rules: a pact's deadline on a local date, and which dates are due.

Deadlines are stored as instants (`pact_days.deadline_at`) computed here once, so the
sweeps compare instants and never re-derive wall-clock times (django-q2's own daily
schedules drift across DST changes).
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

MIDNIGHT = time(0, 0)


def is_valid_timezone(name: object) -> bool:
    """The one test of a zone name, for every way a zone gets set (user settings from the
    API and the Mini App, the phone's zone offered on Home, pact creation)."""
    return isinstance(name, str) and name in canonical_timezones()


# In the tz database's directory but not zones anyone lives in: `localtime` is this
# machine's own zone (a symlink, different on every host), `Factory` a placeholder
# whose abbreviation is "-00", `posixrules` a template for POSIX TZ strings.
NOT_ZONES = frozenset({"localtime", "Factory", "posixrules"})
_TZ_CACHE: frozenset[str] | None = None


def canonical_timezones() -> frozenset[str]:
    """IANA zone names (zoneinfo's `available_timezones()`) less the files in the tz
    directory that are not zones, and the `posix/` and `right/` copies."""
    global _TZ_CACHE
    if _TZ_CACHE is None:
        _TZ_CACHE = frozenset(
            name
            for name in available_timezones()
            if name not in NOT_ZONES and not name.startswith(("posix/", "right/"))
        )
    return _TZ_CACHE


def local_deadline(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock time `at` on local date `day` in `tz`.

    0. 00:00 means midnight at the END of `day` (24:00, i.e. the next date's 00:00):
       a deadline of 00:00 on its own date's start could never be met (rule 12).
       Rules 1-3 then apply to that next-date 00:00, so a midnight that a
       spring-forward skips (America/Santiago) becomes the first instant after it.
    1. A wall time that exists once maps to that instant.
    2. On a fall-back day a wall time that occurs twice maps to its first occurrence
       (fold=0).
    3. On a spring-forward day a wall time inside the skipped hour does not exist; it
       maps to the first valid instant after it, i.e. the transition itself (01:30 in
       London on the last Sunday of March becomes 02:00 BST).
    """
    if at == MIDNIGHT:
        day += timedelta(days=1)
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=tz, fold=0)
    instant = first.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) == naive:
        return instant
    # In the gap. fold=1 reads the wall time with the later offset (an earlier
    # instant), fold=0 with the earlier offset (a later instant): the transition lies
    # between them. Binary-search it to the second.
    lo = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    hi = instant
    after_offset = hi.astimezone(tz).utcoffset()
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if mid.astimezone(tz).utcoffset() == after_offset:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0)


def due_dates(
    schedule_days: list[bool], start: date, end: date | None, first: date, last: date
) -> list[date]:
    """Scheduled dates within [first, last], clipped to the pact's [start, end]."""
    lo = max(first, start)
    hi = last if end is None else min(last, end)
    dates = []
    d = lo
    while d <= hi:
        if schedule_days[d.weekday()]:
            dates.append(d)
        d += timedelta(days=1)
    return dates
