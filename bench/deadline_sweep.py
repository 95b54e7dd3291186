"""Benchmark: one deadline sweep over N overdue days on PostgreSQL, against raw SQL.

For each N it seeds N active pacts (two users each) with one overdue PENDING day each,
using set-based SQL, then in a fresh child process times

* `sweep`: `pacts.sweeps.process_deadlines()`, the code the scheduled job runs;
* `reference`: a hand-written raw-SQL set-based version doing the same work (UPDATE the
  days, INSERT one FORFEIT ledger entry and two outbox rows per day) in 10 000-row
  batches through a temporary table, each batch its own transaction;
* `orm` (with --orm, slow): the portable ORM path the SQLite build uses.

Each child prints seconds, the PostgreSQL backend's CPU seconds (the database's own
work, which the machine's other load does not inflate), days/s, the Python heap peak
(tracemalloc) and the process's RSS growth during the sweep, and the parent checks the
result is exact (N MISSED days, N FORFEIT entries, 2N outbox rows) before printing.

    .venv/bin/python bench/deadline_sweep.py               # N = 20 000 and 100 000
    .venv/bin/python bench/deadline_sweep.py -n 1000 5000  # quick
    BENCH_DATABASE_URL=postgres://... to use another database (default hp_bench)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hp_bench")
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "habitpact.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")  # a throwaway secret key is fine here

NOW = "2025-01-21 09:00:00+00"

# One string, so one implicit transaction: the append-only ledger refuses TRUNCATE
# (ledger/0004) unless its trigger is lifted around it, as `truncating_the_ledger` does.
SEED_SQL = """
ALTER TABLE ledger_entries DISABLE TRIGGER ledger_no_truncate;
TRUNCATE users, pacts, pact_participants, pact_days, ledger_entries, outbox, settlements
    CASCADE;
ALTER TABLE ledger_entries ENABLE TRIGGER ledger_no_truncate;
INSERT INTO users (id, password, is_superuser, telegram_user_id, display_name, timezone,
                   notify_reminders, notify_disputes, reminder_minutes_before, is_staff,
                   is_active, created_at, updated_at)
SELECT md5('u' || g)::uuid, '!', false, 100000000 + g, 'User ' || g, 'Europe/London',
       true, true, 60, false, true, now(), now()
FROM generate_series(1, 2 * %(n)s) g;
INSERT INTO pacts (id, title, description, currency, stake_amount, schedule_days,
                   deadline_time, timezone, start_date, dispute_window_hours, status,
                   partner_username, created_by_user_id, activated_at, end_reason,
                   days_materialized_through, created_at, updated_at)
SELECT md5('p' || g)::uuid, 'Pact ' || g, '', 'GBP', 100 + g %% 900, 127, '21:00',
       'Europe/London', '2025-01-20', 12, 'ACTIVE', '', md5('u' || (2 * g - 1))::uuid,
       '2025-01-20 08:00+00', '', '2025-01-21', now(), now()
FROM generate_series(1, %(n)s) g;
INSERT INTO pact_participants (id, pact_id, user_id, role, status, accepted_at, created_at)
SELECT gen_random_uuid(), md5('p' || g)::uuid, md5('u' || (2 * g - r))::uuid,
       CASE r WHEN 1 THEN 'INITIATOR' ELSE 'PARTNER' END, 'ACCEPTED', now(), now()
FROM generate_series(1, %(n)s) g, (VALUES (1), (0)) AS roles(r);
INSERT INTO pact_days (id, pact_id, date, status, deadline_at, created_at, updated_at)
SELECT md5('d' || g)::uuid, md5('p' || g)::uuid, '2025-01-20', 'PENDING',
       '2025-01-20 21:00+00'::timestamptz - (g %% 3600) * interval '1 second', now(), now()
FROM generate_series(1, %(n)s) g;
"""

REFERENCE_SQL = [
    """
    CREATE TEMP TABLE IF NOT EXISTS bench_missed
        (day_id uuid, pact_id uuid, date date) ON COMMIT DELETE ROWS
    """,
    """
    WITH flipped AS (
        UPDATE pact_days SET status = 'MISSED', updated_at = %(now)s
        WHERE id IN (
            SELECT id FROM pact_days
            WHERE status = 'PENDING' AND deadline_at <= %(now)s
            LIMIT 10000 FOR UPDATE SKIP LOCKED
        )
        RETURNING id, pact_id, date
    )
    INSERT INTO bench_missed SELECT * FROM flipped
    """,
    """
    INSERT INTO ledger_entries (id, pact_id, pact_day_id, type, amount, from_user_id,
                                to_user_id, note, created_at)
    SELECT gen_random_uuid(), m.pact_id, m.day_id, 'FORFEIT', p.stake_amount, i.user_id,
           o.user_id, 'Missed check-in', %(now)s
    FROM bench_missed m
    JOIN pacts p ON p.id = m.pact_id
    JOIN pact_participants i ON i.pact_id = m.pact_id AND i.role = 'INITIATOR'
    JOIN pact_participants o ON o.pact_id = m.pact_id AND o.role = 'PARTNER'
    """,
    """
    INSERT INTO outbox (user_id, chat_id, kind, payload, dedupe_key, status, attempts,
                        next_attempt_at, last_error, created_at, updated_at)
    SELECT u.id, u.telegram_user_id, 'missed',
           jsonb_build_object('pact_id', m.pact_id::text, 'day_id', m.day_id::text,
                              'date', m.date::text, 'amount', p.stake_amount),
           'missed:' || m.day_id || ':' || u.id, 'PENDING', 0, now(), '', now(), now()
    FROM bench_missed m
    JOIN pacts p ON p.id = m.pact_id
    JOIN pact_participants pp ON pp.pact_id = m.pact_id
    JOIN users u ON u.id = pp.user_id
    ON CONFLICT DO NOTHING
    """,
]


def ensure_database() -> None:
    import psycopg

    name = DATABASE_URL.rsplit("/", 1)[1]
    admin = DATABASE_URL.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django() -> None:
    import django

    django.setup()


def seed(n: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(SEED_SQL, {"n": n})
    connection.close()
    import psycopg

    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE users, pacts, pact_participants, pact_days")


def rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def backend_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) the PostgreSQL backend `pid` has used so far: the
    database's own work, whatever else the machine is doing."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def reference(now) -> int:
    from django.db import connection, transaction

    total = 0
    with connection.cursor() as cursor:
        while True:
            with transaction.atomic():
                cursor.execute(REFERENCE_SQL[0])
                cursor.execute(REFERENCE_SQL[1], {"now": now})
                claimed = cursor.rowcount
                for statement in REFERENCE_SQL[2:]:
                    cursor.execute(statement, {"now": now})
            total += claimed
            if claimed < 10000:
                return total


def orm_sweep(now) -> int:
    from django.db import transaction

    from pacts import sweeps

    total = 0
    while True:
        with transaction.atomic():
            claimed = sweeps._miss_due_batch_orm(now, sweeps.BATCH_SIZE)
        total += claimed
        if claimed < sweeps.BATCH_SIZE:
            return total


def child(mode: str) -> None:
    """Run one measured sweep in this (fresh) process and print JSON."""
    setup_django()
    from datetime import datetime

    from django.db import connection

    from pacts.sweeps import process_deadlines

    now = datetime.fromisoformat(NOW)
    run = {"sweep": lambda: process_deadlines(now), "reference": lambda: reference(now)}
    run["sweep x2"] = lambda: process_deadlines(now, workers=2)
    run["orm"] = lambda: orm_sweep(now)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    db_cpu_before = backend_cpu_seconds(backend)
    rss_before = rss_kib("VmRSS")
    tracemalloc.start()
    started = time.perf_counter()
    count = run[mode]()
    seconds = time.perf_counter() - started
    heap_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    rss_growth = rss_kib("VmHWM") - rss_before
    # The threads of "sweep x2" use backends of their own, which this one does not count.
    db_cpu = None if mode == "sweep x2" else backend_cpu_seconds(backend) - db_cpu_before
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM pact_days WHERE status = 'MISSED'),"
            " (SELECT count(*) FROM ledger_entries WHERE type = 'FORFEIT'),"
            " (SELECT count(*) FROM outbox WHERE kind = 'missed')"
        )
        missed, forfeits, messages = cursor.fetchone()
    print(
        json.dumps(
            {
                "count": count,
                "seconds": seconds,
                "db_cpu": db_cpu,
                "heap_peak_kib": heap_peak // 1024,
                "rss_growth_kib": rss_growth,
                "missed": missed,
                "forfeits": forfeits,
                "messages": messages,
            }
        )
    )


def measure(n: int, mode: str) -> dict:
    seed(n)
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    exact = (result["count"], result["missed"], result["forfeits"], result["messages"])
    if exact != (n, n, n, 2 * n):
        raise SystemExit(f"{mode} at N={n} was not exact: {exact}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--orm", action="store_true", help="also time the portable ORM path")
    parser.add_argument(
        "--workers", action="store_true", help="also time the sweep with workers=2 (threads)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    ensure_database()
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    modes = ["sweep", "reference"] + (["sweep x2"] if args.workers else [])
    modes += ["orm"] if args.orm else []
    print(f"database {DATABASE_URL}; one overdue day per active pact; exact results checked")
    print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print(
        f"{'N':>8} {'path':>10} {'seconds':>8} {'db CPU s':>9} {'days/s':>9} {'heap peak':>10}"
        f" {'RSS growth':>11} {'vs reference':>13}"
    )
    for n in args.n:
        results = {mode: measure(n, mode) for mode in modes}
        ref = results["reference"]["seconds"]
        for mode, r in results.items():
            cpu = "-" if r["db_cpu"] is None else f"{r['db_cpu']:.2f}"
            print(
                f"{n:>8} {mode:>10} {r['seconds']:>8.2f} {cpu:>9}"
                f" {n / r['seconds']:>9,.0f}"
                f" {r['heap_peak_kib'] / 1024:>8.1f}MB {r['rss_growth_kib'] / 1024:>9.1f}MB"
                f" {r['seconds'] / ref:>12.2f}x"
            )
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
