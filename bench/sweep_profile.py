"""Where one deadline-sweep batch spends its database time, beyond the floor.

Seeds N overdue days (as `deadline_sweep.py` does, project schema and floor schema),
then times one batch (the project's batch size) of the project's statement
(`pacts.sweeps._MISS_DUE_SQL`) under variants of the schema, each inside a transaction
that is rolled back, so nothing is changed for good (PostgreSQL's DDL is
transactional: an index dropped inside the transaction is back after the ROLLBACK):

* the statement's own time, then `SET CONSTRAINTS ALL IMMEDIATE`, which runs the
  deferred foreign-key checks the statement queued (what COMMIT would run), timed apart;
* the backend's CPU time for both (/proc, 10 ms ticks: hence several repetitions, the
  median printed, and VACUUM between runs so rolled-back rows don't pile up).

It also prints `EXPLAIN (ANALYZE, BUFFERS, WAL)` of the baseline batch with the checks
made immediate, so each FK trigger's time shows, and the cost of `gen_random_uuid()` and
of building the JSON payload per row.

    .venv/bin/python bench/sweep_profile.py            # N = 20 000, 5 repetitions
    .venv/bin/python bench/sweep_profile.py -n 10000 -r 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import deadline_sweep as bench  # noqa: E402  (sets DATABASE_URL and the settings)

# Each variant: what it changes, run inside the measured transaction before the batch.
VARIANTS = {
    "project schema, as migrated": [],
    "FK checks immediate (not deferred)": ["SET CONSTRAINTS ALL IMMEDIATE"],
    "no FKs on ledger_entries and outbox": [
        "ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_pact_id_3402eb3e_fk_pacts_id",
        "ALTER TABLE ledger_entries"
        " DROP CONSTRAINT ledger_entries_pact_day_id_9f977468_fk_pact_days_id",
        "ALTER TABLE ledger_entries"
        " DROP CONSTRAINT ledger_entries_from_user_id_3350f19b_fk_users_id",
        "ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_to_user_id_45e791eb_fk_users_id",
        "ALTER TABLE ledger_entries"
        " DROP CONSTRAINT ledger_entries_created_by_user_id_91c847c9_fk_users_id",
        "ALTER TABLE outbox DROP CONSTRAINT outbox_user_id_a86e7424_fk_users_id",
    ],
    # (ledger/0005 dropped the from/to user indexes for good.)
    "ledger: no pact_day/created_by indexes": [
        "DROP INDEX ledger_entries_pact_day_id_9f977468",
        "DROP INDEX idx_ledger_created_by",
    ],
    "ledger: no one-FORFEIT-per-day unique index": ["DROP INDEX ledger_one_forfeit_per_day"],
    "outbox: no idx_outbox_due, no user_id index": [
        "DROP INDEX idx_outbox_due",
        "DROP INDEX outbox_user_id_a86e7424",
    ],
    "outbox: no dedupe unique index": [
        "ALTER TABLE outbox DROP CONSTRAINT outbox_dedupe_key_key",
    ],
    "pact_days: only the spec's indexes": [
        "DROP INDEX idx_pact_days_remind",
        "DROP INDEX idx_pact_days_checked_in_by",
        "DROP INDEX idx_pact_days_disputed_by",
        "DROP INDEX idx_pact_days_resolution_by",
        "DROP INDEX idx_pact_days_skipped_by",
        "DROP INDEX pact_days_checkin_key_per_user",
    ],
    "pact_days: no updated_at trigger": ["DROP TRIGGER pact_days_updated_at ON pact_days"],
    "no CHECK constraints on the three tables": [
        "ALTER TABLE pact_days DROP CONSTRAINT pact_days_status_valid",
        "ALTER TABLE pact_days DROP CONSTRAINT pact_days_resolution_valid",
        "ALTER TABLE pact_days DROP CONSTRAINT pact_days_done_has_checkin",
        "ALTER TABLE ledger_entries DROP CONSTRAINT ledger_type_valid",
        "ALTER TABLE ledger_entries DROP CONSTRAINT ledger_forfeit_positive_with_day",
        "ALTER TABLE ledger_entries DROP CONSTRAINT ledger_waiver_negative_with_day",
        "ALTER TABLE ledger_entries DROP CONSTRAINT ledger_settlement_negative",
        "ALTER TABLE ledger_entries DROP CONSTRAINT ledger_adjustment_nonzero_with_note",
        "ALTER TABLE outbox DROP CONSTRAINT outbox_status_valid",
        "ALTER TABLE outbox DROP CONSTRAINT outbox_attempts_check",
    ],
    # The indexes, checks and trigger the spec does not have, gone; FKs immediate; the
    # invariants (FKs, one FORFEIT per day, outbox dedupe) kept.
    "all the lean ones together (FKs immediate, kept)": "ALL",
}
LEAN = [
    "FK checks immediate (not deferred)",
    "ledger: no pact_day/created_by indexes",
    "outbox: no idx_outbox_due, no user_id index",
    "pact_days: only the spec's indexes",
    "pact_days: no updated_at trigger",
    "no CHECK constraints on the three tables",
]

PER_ROW = {
    "gen_random_uuid()": "SELECT count(gen_random_uuid()) FROM generate_series(1, 1000000)",
    "jsonb_build_object(payload)": (
        "SELECT count(jsonb_build_object('pact_id', md5(g::text)::uuid::text,"
        " 'day_id', md5(g::text)::uuid::text, 'date', to_char(date '2025-01-20', 'YYYY-MM-DD'),"
        " 'amount', g)) FROM generate_series(1, 1000000) g"
    ),
    "(baseline: the same without the calls)": (
        "SELECT count(md5(g::text)::uuid::text || md5(g::text)::uuid::text)"
        " FROM generate_series(1, 1000000) g"
    ),
}


def cpu(conn) -> float:
    return bench.backend_cpu_seconds(conn.info.backend_pid)


def one_batch(conn, ddl: list[str], statement: str, params: dict) -> tuple[float, float, float]:
    """(statement seconds, deferred-check seconds, backend CPU seconds), rolled back."""
    with conn.transaction(force_rollback=True):
        for sql in ddl:
            conn.execute(sql)
        cpu0, t0 = cpu(conn), time.perf_counter()
        claimed = conn.execute(statement, params).fetchone()[0]
        t1 = time.perf_counter()
        conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
        t2 = time.perf_counter()
        spent = cpu(conn) - cpu0
    if claimed != params["limit"]:
        raise SystemExit(f"the batch claimed {claimed}, not {params['limit']}")
    return t1 - t0, t2 - t1, spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("-r", type=int, default=5, help="repetitions per variant")
    parser.add_argument(
        "--no-seed",
        action="store_true",
        help="profile the database as it is (e.g. after `deadline_sweep.py --history`, its"
        " due days put back to PENDING); needs a batch of due days; no floor row",
    )
    args = parser.parse_args()
    bench.ensure_database()
    bench.setup_django()
    from datetime import datetime

    import psycopg
    from django.core.management import call_command
    from django.utils import timezone

    from pacts.sweeps import _MISS_DUE_SQL, BATCH_SIZE

    call_command("migrate", verbosity=0)
    if not args.no_seed:
        bench.seed(args.n)
        bench.seed_floor(args.n)
    now = datetime.fromisoformat(bench.NOW)
    params = {"now": now, "limit": BATCH_SIZE, "note": "Missed check-in", "wall": timezone.now()}
    everything = [sql for name in LEAN for sql in VARIANTS[name]]
    variants = {k: (everything if v == "ALL" else v) for k, v in VARIANTS.items()}
    seeded = "as found" if args.no_seed else f"N = {args.n}"
    print(f"database {bench.DATABASE_URL}; {seeded}; one batch of {BATCH_SIZE} days;")
    print(f"median of {args.r} rolled-back runs each; {bench.load()}")
    print(
        f"{'variant':>56} {'stmt ms':>8} {'FK@commit ms':>13} {'CPU ms':>7}"
        f" {'CPU µs/day':>11} {'vs project':>11}"
    )
    with (
        psycopg.connect(bench.DATABASE_URL, cursor_factory=psycopg.ClientCursor) as conn,
        psycopg.connect(bench.DATABASE_URL, autocommit=True) as vacuum,
    ):
        base_cpu = None
        rows = [(name, ddl, _MISS_DUE_SQL) for name, ddl in variants.items()]
        if not args.no_seed:
            rows.append(("floor: spec §5 DDL + bare outbox (its statement)", [], bench.FLOOR_SQL))
        for name, ddl, statement in rows:
            runs = []
            for _ in range(args.r):
                runs.append(one_batch(conn, ddl, statement, params))
                vacuum.execute("VACUUM pact_days, ledger_entries, outbox")
                vacuum.execute(
                    "VACUUM bench_floor.pact_days, bench_floor.ledger_entries, bench_floor.outbox"
                )
            stmt, deferred, spent = (statistics.median(r[i] for r in runs) for i in range(3))
            base_cpu = base_cpu or spent
            print(
                f"{name:>56} {stmt * 1000:>8.0f} {deferred * 1000:>13.0f} {spent * 1000:>7.0f}"
                f" {spent * 1e6 / BATCH_SIZE:>11.1f} {spent / base_cpu:>10.2f}x",
                flush=True,
            )
        print(f"{bench.load()}")
        print("\nper-row costs (backend CPU over 1 000 000 calls, median of 3):")
        for name, sql in PER_ROW.items():
            times = []
            for _ in range(3):
                started = cpu(conn)
                conn.execute(sql)
                times.append(cpu(conn) - started)
            conn.rollback()
            print(f"  {name:>40} {statistics.median(times) * 1e6 / 1_000_000:.2f} µs/row")
        print("\nEXPLAIN (ANALYZE, BUFFERS, WAL) of the baseline batch, FK checks immediate:")
        with conn.transaction(force_rollback=True):
            conn.execute("SET CONSTRAINTS ALL IMMEDIATE")
            plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS, WAL) " + _MISS_DUE_SQL, params)
            for (line,) in plan.fetchall():
                print("  " + line)
        if args.no_seed:
            return
        print("\nEXPLAIN (ANALYZE, BUFFERS, WAL) of the floor batch:")
        with conn.transaction(force_rollback=True):
            plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS, WAL) " + bench.FLOOR_SQL, params)
            for (line,) in plan.fetchall():
                print("  " + line)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
