"""Shared test set-up: personas, a pact between them, the clock, and engine plumbing.

Data is built through the real domain functions (`pact_create`, `pact_accept`, ...), so
tests exercise the same paths users do.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time
from threading import Barrier
from time import monotonic

import pytest
import time_machine
from django.db import connection

from habitpact.db import SQLITE_NO_DELETE, truncating_the_ledger
from pacts.actions import PactTerms, pact_accept, pact_create
from pacts.models import Pact, User

# A Monday, 09:00 UTC = 09:00 in London (GMT) in January.
MONDAY = datetime(2025, 1, 20, 9, 0, tzinfo=UTC)


def pytest_configure(config):
    """Compile the translation catalogs (locale/*/django.po → .mo, pure Python) before any
    test speaks a language, so a fresh clone's suite runs in every language (rule 18).
    Each xdist worker may do it: the files are written whole and renamed into place."""
    from habitpact.catalogs import compile_all

    compile_all()


def pytest_collection_modifyitems(config, items):
    """On SQLite, PostgreSQL-only tests are deselected (not skipped): they cannot mean
    anything there, and CI's PostgreSQL pass runs them."""
    from django.conf import settings

    if settings.IS_POSTGRES:
        return
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker("postgres_only") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(autouse=True, scope="session")
def _flush_keeps_ledger_rule(django_db_setup, django_db_blocker):
    """Transactional tests end with a flush, which the ledger's append-only triggers
    (rightly) refuse: on SQLite it is DELETE FROM every table (`ledger_no_delete`), on
    PostgreSQL one TRUNCATE of every table (`ledger_no_truncate`). Lift the trigger for
    the flush only, inside its transaction, and put it back straight after.

    Only this test process's flush is changed (the backend's `sql_flush`, patched on its
    class so every connection of the process has it: the browser tests flush through a
    connection other than the one this fixture sees); the migrations and the app never
    lift a trigger, so the guarantee in production is untouched."""
    ops_class = type(connection.ops)
    original = ops_class.sql_flush

    def sql_flush(ops, style, tables, **kwargs):
        statements = original(ops, style, tables, **kwargs)
        if "ledger_entries" not in tables:
            return statements
        if ops.connection.vendor == "postgresql":
            return truncating_the_ledger(statements)
        return ["DROP TRIGGER IF EXISTS ledger_no_delete", *statements, SQLITE_NO_DELETE]

    ops_class.sql_flush = sql_flush
    yield
    ops_class.sql_flush = original


@pytest.fixture
def clock():
    """A controllable clock starting Monday 2025-01-20 09:00 UTC: `clock.move_to(dt)`,
    `clock.shift(timedelta)`. Never sleep in tests."""
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


_next_tg_id = iter(range(1000, 10_000_000))


def make_user(name: str, *, tz: str = "Europe/London", **extra) -> User:
    return User.objects.create_user(
        telegram_user_id=next(_next_tg_id),
        display_name=name,
        username=name.lower() + "_tg",
        timezone=tz,
        **{"language_code": "en", **extra},  # what the test initData says (testing.tg_user)
    )


@pytest.fixture
def initiator(db) -> User:
    return make_user("Alex")


@pytest.fixture
def partner(db) -> User:
    return make_user("Sam")


@pytest.fixture
def stranger(db) -> User:
    return make_user("Eve")


def make_terms(**overrides) -> PactTerms:
    values = dict(
        title="Gym 🏋️",
        stake_amount=500,
        currency="GBP",
        schedule_days=[True] * 7,
        deadline_time=time(21, 0),
        start_date=date(2025, 1, 20),
    )
    values.update(overrides)
    return PactTerms(**values)


def make_active_pact(initiator: User, partner: User, **overrides) -> Pact:
    """A pact created and accepted through the domain functions (now, by the clock)."""
    pact = pact_create(initiator=initiator, terms=make_terms(**overrides))
    return pact_accept(pact, partner)


@pytest.fixture
def pact(clock, initiator, partner) -> Pact:
    """Alex's every-day gym pact with Sam, £5 a miss, 21:00 London, active from Monday."""
    return make_active_pact(initiator, partner)


def run_together(n, fn):
    """Run fn(i) in n threads released at the same moment (a barrier), each on its own
    database connection; return each result, or the exception it raised."""
    barrier = Barrier(n)

    def call(i):
        try:
            barrier.wait()
            return fn(i)
        except Exception as exc:  # noqa: BLE001 - returned for the caller's assertion
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(call, range(n)))


def wait_until_blocked_on_a_lock(waiter=None, *, count: int = 1, seconds: float = 20) -> None:
    """Return once `count` sessions of this test database wait on a row lock (PostgreSQL),
    so a race test can release the lock holder at exactly the moment that matters,
    without sleeping. Fails the test if `waiter` (the Future expected to block) finishes
    instead, or if nothing waits within `seconds` (a monotonic clock: time-machine
    leaves it alone)."""
    sql = (
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    give_up = monotonic() + seconds
    with connection.cursor() as cursor:
        while monotonic() < give_up:
            cursor.execute(sql)
            if cursor.fetchone()[0] >= count:
                return
            if waiter is not None and waiter.done():
                raise AssertionError(f"finished without waiting on a lock: {waiter.result()!r}")
    raise AssertionError(f"no session waited on a lock within {seconds} s")
