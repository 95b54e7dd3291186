"""Sweep-kill drill: kill -9 the job worker in the middle of a deadline sweep of 10 000
overdue days, restart it, and check nothing was lost or doubled.

Seeds N active pacts with one overdue PENDING day each (the set-based seed of
bench/deadline_sweep.py), starts the real django-q2 cluster (`manage.py qcluster`, ORM
broker on PostgreSQL), enqueues the deadline sweep, and as soon as part of it has
committed (0 < MISSED < N) sends SIGKILL to the whole cluster. Then it starts a fresh
cluster, enqueues the sweep again (the next scheduled tick) and waits for it to finish.

Checks: every day MISSED exactly once with one FORFEIT of its pact's stake; the ledger
total equals the sum of the stakes exactly; two "missed" messages per day, none twice;
the stale task the broker re-leases after `retry` would change nothing (a third sweep
now finds 0 due).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time

from drills import common


def seed(n: int) -> None:
    from django.db import connection

    os.environ.setdefault("BENCH_DATABASE_URL", common.DATABASE_URL)
    saved = {k: os.environ.get(k) for k in ("DATABASE_URL", "DJANGO_DEBUG")}
    from bench.deadline_sweep import SEED_SQL  # the benchmark's set-based seed

    os.environ.update({k: v for k, v in saved.items() if v is not None})
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE django_q_ormq, django_q_task")
        cursor.execute(SEED_SQL, {"n": n})
        cursor.execute("ANALYZE pact_days")


def counts() -> tuple[int, int, int, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM pact_days WHERE status = 'MISSED'),"
            " (SELECT count(*) FROM ledger_entries WHERE type = 'FORFEIT'),"
            " (SELECT COALESCE(sum(amount), 0) FROM ledger_entries),"
            " (SELECT count(*) FROM outbox WHERE kind = 'missed')"
        )
        return cursor.fetchone()


def start_cluster(label: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(common.ROOT), Q_WORKERS="2")
    log = open(common.LOG_DIR / f"qcluster-{label}.log", "w")  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=common.ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def enqueue() -> None:
    from django_q.tasks import async_task

    async_task("pacts.tasks.process_deadlines")


def stop(cluster: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if cluster.poll() is None:
        os.killpg(cluster.pid, sig)
        try:
            cluster.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait(5)


def attempt(n: int, outcome: common.Outcome) -> bool:
    """One seed + kill; True if the kill landed mid-sweep."""
    seed(n)
    cluster = start_cluster("first")
    enqueue()
    started = time.monotonic()
    landed = None
    while time.monotonic() - started < 120:
        missed = counts()[0]
        if 0 < missed < n:
            os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait(10)
            landed = missed
            break
        if missed == n:
            break
        time.sleep(0.02)
    stop(cluster, signal.SIGKILL)
    if landed is None:
        print(f"  (the sweep finished or never started before the kill; MISSED={missed})")
        return False
    outcome.figure("killed with MISSED", f"{landed} of {n} ({time.monotonic() - started:.1f} s)")
    time.sleep(1)
    outcome.figure("after the kill: MISSED, FORFEITs, ledger sum, messages", counts())
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="sweep-kill drill")
    parser.add_argument("-n", type=int, default=10_000, help="overdue days")
    args = parser.parse_args(argv)
    common.ensure_database()
    common.configure()
    common.migrate()
    outcome = common.Outcome("sweep_kill")
    n = args.n
    for _ in range(3):
        if attempt(n, outcome):
            break
    else:
        outcome.expect(False, "the kill landed mid-sweep (3 tries)")
        return outcome.finish()
    cluster = start_cluster("second")
    restarted = time.monotonic()
    enqueue()
    while time.monotonic() - restarted < 180 and counts()[0] < n:
        time.sleep(0.2)
    time.sleep(1)  # let the task record its result
    stop(cluster)
    outcome.figure("restart to all MISSED (s)", f"{time.monotonic() - restarted - 1:.1f}")
    from django.db import connection

    from pacts.sweeps import process_deadlines

    again = process_deadlines()
    missed, forfeits, total, messages = counts()
    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(stake_amount) FROM pacts")
        stakes = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM (SELECT pact_day_id FROM ledger_entries WHERE type = 'FORFEIT'"
            " GROUP BY pact_day_id HAVING count(*) <> 1) t"
        )
        doubled = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM (SELECT dedupe_key FROM outbox GROUP BY dedupe_key"
            " HAVING count(*) > 1) t"
        )
        dup_messages = cursor.fetchone()[0]
    outcome.figure("final: MISSED, FORFEITs, ledger sum, messages", (missed, forfeits, total,
                                                                      messages))  # fmt: skip
    outcome.expect(missed == n, f"every one of {n} days MISSED ({missed})")
    outcome.expect(forfeits == n and doubled == 0, "exactly one FORFEIT per day")
    outcome.expect(total == stakes, f"ledger sum {total} equals the sum of the stakes {stakes}")
    outcome.expect(messages == 2 * n and dup_messages == 0, "two 'missed' messages a day, no dup")
    outcome.expect(again == 0, "a further sweep (the stale task's retry) finds nothing due")
    return outcome.finish()


if __name__ == "__main__":
    sys.exit(main())
