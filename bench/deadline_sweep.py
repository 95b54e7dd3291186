"""Benchmark: one deadline sweep over N overdue days on PostgreSQL, against raw SQL.

For each N it seeds N active pacts (two users each) with one overdue PENDING day each,
using set-based SQL, then in a fresh child process times

* `sweep`: `pacts.sweeps.process_deadlines()`, the code the scheduled job runs;
* `reference`: a hand-written raw-SQL set-based version doing the same work (UPDATE the
  days, INSERT one FORFEIT ledger entry and two outbox rows per day) in 10 000-row
  batches through a temporary table, each batch its own transaction;
* `orm` (with --orm, slow): the portable ORM path the SQLite build uses.

With --tick, instead: one scheduled tick through a real `manage.py qcluster` (the
Procfile's worker and its settings), timed from queueing the task until no day is
PENDING, with the cluster's peak memory: `tick_s <s> n <N> workers <n> peak_pss_mb <MB>`.

Each child prints seconds, the PostgreSQL backend's CPU seconds (the database's own
work, which the machine's other load does not inflate), days/s, the Python heap peak
(tracemalloc) and the process's RSS growth during the sweep, and the parent checks the
result is exact (N MISSED days, N FORFEIT entries, 2N outbox rows) before printing.

    .venv/bin/python bench/deadline_sweep.py               # N = 20 000 and 100 000
    .venv/bin/python bench/deadline_sweep.py -n 1000 5000  # quick
    .venv/bin/python bench/deadline_sweep.py --tick -n 1000000
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
# Day ids as the app makes them (pacts/0014): UUID version 7, whose first 48 bits are the
# creation time in ms, here the day before the day's date (when the app materialises it),
# spread over that day; the rest from md5(seed), so the seed stays deterministic.
DAY_ID_FUNCTION = """
CREATE OR REPLACE FUNCTION bench_day_id(made timestamptz, seed text) RETURNS uuid AS $$
    SELECT encode(
        set_bit(set_bit(set_bit(set_bit(set_bit(set_bit(
            overlay(decode(md5(seed), 'hex')
                    placing substring(int8send((extract(epoch FROM made) * 1000)::bigint)
                                      FROM 3)
                    FROM 1 FOR 6),
            52, 1), 53, 1), 54, 1), 55, 0), 70, 0), 71, 1),
        'hex')::uuid
$$ LANGUAGE sql IMMUTABLE;
"""
DUE_DAY_ID = "bench_day_id(timestamptz '2025-01-19 00:00+00' + g * interval '1 ms', 'd' || g)"
HISTORY_DAY_ID = (
    "bench_day_id(timestamptz '2025-01-19 00:00+00' - k * interval '1 day'"
    " + g * interval '1 ms', 'h' || g || ':' || k)"
)

SEED_SQL = """
ALTER TABLE ledger_entries DISABLE TRIGGER ledger_no_truncate;
TRUNCATE users, pacts, pact_participants, pact_days, ledger_entries, outbox, settlements
    CASCADE;
ALTER TABLE ledger_entries ENABLE TRIGGER ledger_no_truncate;
INSERT INTO users (id, password, is_superuser, telegram_user_id, display_name, timezone,
                   notify_reminders, notify_disputes, reminder_minutes_before, is_staff,
                   is_active, can_receive_messages, created_at, updated_at)
SELECT md5('u' || g)::uuid, '!', false, 100000000 + g, 'User ' || g, 'Europe/London',
       true, true, 60, false, true, true, now(), now()
FROM generate_series(1, 2 * %(n)s) g;
INSERT INTO pacts (id, title, description, currency, stake_amount, schedule_days,
                   deadline_time, timezone, start_date, dispute_window_hours, status,
                   partner_username, created_by_user_id, activated_at, end_reason,
                   days_materialized_through, skips_per_month, created_at, updated_at)
SELECT md5('p' || g)::uuid, 'Pact ' || g, '', 'GBP', 100 + g %% 900, 127, '21:00',
       'Europe/London', '2025-01-20', 12, 'ACTIVE', '', md5('u' || (2 * g - 1))::uuid,
       '2025-01-20 08:00+00', '', '2025-01-21', 2, now(), now()
FROM generate_series(1, %(n)s) g;
INSERT INTO pact_participants (id, pact_id, user_id, role, status, accepted_at, created_at)
SELECT gen_random_uuid(), md5('p' || g)::uuid, md5('u' || (2 * g - r))::uuid,
       CASE r WHEN 1 THEN 'INITIATOR' ELSE 'PARTNER' END, 'ACCEPTED', now(), now()
FROM generate_series(1, %(n)s) g, (VALUES (1), (0)) AS roles(r);
INSERT INTO pact_days (id, pact_id, date, status, deadline_at, skip_used_allowance,
                       created_at, updated_at)
SELECT {due_day_id}, md5('p' || g)::uuid, '2025-01-20', 'PENDING',
       '2025-01-20 21:00+00'::timestamptz - (g %% 3600) * interval '1 second', false, now(),
       now()
FROM generate_series(1, %(n)s) g;
"""
SEED_SQL = DAY_ID_FUNCTION + SEED_SQL.replace("{due_day_id}", DUE_DAY_ID)

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
    SELECT habitpact_uuid7(), m.pact_id, m.day_id, 'FORFEIT', p.stake_amount, i.user_id,
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
           'missed:' || m.date || ':' || m.day_id || ':' || u.id, 'PENDING', 0, now(), '',
           now(), now()
    FROM bench_missed m
    JOIN pacts p ON p.id = m.pact_id
    JOIN pact_participants pp ON pp.pact_id = m.pact_id
    JOIN users u ON u.id = pp.user_id
    ON CONFLICT DO NOTHING
    """,
]


# The floor: the spec's own §5 DDL (only the keys, FKs, indexes and triggers it
# defines, FKs checked immediately as plain REFERENCES are) plus a bare outbox table
# (bigserial key, UNIQUE dedupe_key), in a schema of its own so the project's tables are
# untouched. It does the same logical writes per day as the sweep (flip the day, one
# FORFEIT row, two outbox rows with the same payload and dedupe key), one statement per
# batch of the project's batch size, each batch its own transaction.
FLOOR_SCHEMA = "bench_floor"
FLOOR_DDL = """
DROP SCHEMA IF EXISTS bench_floor CASCADE;
CREATE SCHEMA bench_floor;
SET LOCAL search_path = bench_floor, public;
CREATE TABLE users (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    telegram_user_id BIGINT UNIQUE NOT NULL,
    username VARCHAR(255),
    display_name VARCHAR(255) NOT NULL,
    timezone VARCHAR(64) DEFAULT 'UTC',
    notify_reminders BOOLEAN DEFAULT TRUE,
    notify_disputes BOOLEAN DEFAULT TRUE,
    reminder_minutes_before INT DEFAULT 60,
    created_at TIMESTAMPTZ DEFAULT NOW(),
    updated_at TIMESTAMPTZ DEFAULT NOW()
);
CREATE FUNCTION update_updated_at() RETURNS TRIGGER AS $$
BEGIN NEW.updated_at = NOW(); RETURN NEW; END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION update_updated_at();
CREATE TABLE pacts (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    title VARCHAR(255) NOT NULL,
    description TEXT,
    currency VARCHAR(3) DEFAULT 'GBP',
    stake_amount INT NOT NULL,
    schedule_days BOOLEAN[7] NOT NULL,
    deadline_time TIME NOT NULL,
    timezone VARCHAR(64) NOT NULL,
    start_date DATE NOT NULL,
    end_date DATE,
    dispute_window_hours INT DEFAULT 12,
    status VARCHAR(20) DEFAULT 'PENDING_ACCEPT',
    invite_code VARCHAR(32) UNIQUE,
    created_by_user_id UUID REFERENCES users(id),
    created_at TIMESTAMPTZ DEFAULT NOW(),
    updated_at TIMESTAMPTZ DEFAULT NOW()
);
CREATE INDEX idx_pacts_invite_code ON pacts(invite_code);
CREATE INDEX idx_pacts_status ON pacts(status);
CREATE TRIGGER pacts_updated_at BEFORE UPDATE ON pacts
    FOR EACH ROW EXECUTE FUNCTION update_updated_at();
CREATE TABLE pact_participants (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    pact_id UUID REFERENCES pacts(id) ON DELETE CASCADE,
    user_id UUID REFERENCES users(id),
    role VARCHAR(20) NOT NULL,
    status VARCHAR(20) DEFAULT 'PENDING',
    accepted_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ DEFAULT NOW(),
    UNIQUE(pact_id, user_id),
    UNIQUE(pact_id, role)
);
CREATE TABLE pact_days (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    pact_id UUID REFERENCES pacts(id) ON DELETE CASCADE,
    date DATE NOT NULL,
    status VARCHAR(20) DEFAULT 'PENDING',
    deadline_at TIMESTAMPTZ NOT NULL,
    checked_in_at TIMESTAMPTZ,
    checked_in_by_user_id UUID REFERENCES users(id),
    checkin_note TEXT,
    checkin_idempotency_key VARCHAR(64),
    dispute_open_until TIMESTAMPTZ,
    disputed_at TIMESTAMPTZ,
    disputed_by_user_id UUID REFERENCES users(id),
    dispute_reason TEXT,
    dispute_resolve_until TIMESTAMPTZ,
    resolution VARCHAR(20),
    resolution_at TIMESTAMPTZ,
    resolution_by_user_id UUID REFERENCES users(id),
    created_at TIMESTAMPTZ DEFAULT NOW(),
    updated_at TIMESTAMPTZ DEFAULT NOW(),
    UNIQUE(pact_id, date)
);
CREATE INDEX idx_pact_days_status ON pact_days(pact_id, status);
CREATE INDEX idx_pact_days_date ON pact_days(date);
CREATE INDEX idx_pact_days_deadline ON pact_days(deadline_at) WHERE status = 'PENDING';
CREATE INDEX idx_pact_days_dispute ON pact_days(dispute_resolve_until)
    WHERE status = 'DISPUTED';
CREATE TABLE ledger_entries (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    pact_id UUID REFERENCES pacts(id) ON DELETE CASCADE,
    pact_day_id UUID REFERENCES pact_days(id),
    type VARCHAR(20) NOT NULL,
    amount INT NOT NULL,
    from_user_id UUID REFERENCES users(id),
    to_user_id UUID REFERENCES users(id),
    note TEXT,
    created_at TIMESTAMPTZ DEFAULT NOW()
);
CREATE FUNCTION ledger_immutable() RETURNS TRIGGER AS $$
BEGIN
    RAISE EXCEPTION 'ledger_entries is append-only: UPDATE and DELETE are forbidden';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER ledger_no_modify BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_immutable();
CREATE INDEX idx_ledger_pact ON ledger_entries(pact_id);
-- Not in the spec: the outbox, bare (its key and the dedupe rule, nothing else).
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    user_id UUID NOT NULL,
    chat_id BIGINT NOT NULL,
    kind VARCHAR(40) NOT NULL,
    payload JSONB NOT NULL,
    dedupe_key VARCHAR(200) NOT NULL UNIQUE,
    status VARCHAR(20) NOT NULL DEFAULT 'PENDING',
    attempts INT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    sent_at TIMESTAMPTZ,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
INSERT INTO users (id, telegram_user_id, display_name, timezone)
SELECT md5('u' || g)::uuid, 100000000 + g, 'User ' || g, 'Europe/London'
FROM generate_series(1, 2 * %(n)s) g;
INSERT INTO pacts (id, title, description, stake_amount, schedule_days, deadline_time,
                   timezone, start_date, status, created_by_user_id)
SELECT md5('p' || g)::uuid, 'Pact ' || g, '', 100 + g %% 900,
       '{t,t,t,t,t,t,t}', '21:00', 'Europe/London', '2025-01-20', 'ACTIVE',
       md5('u' || (2 * g - 1))::uuid
FROM generate_series(1, %(n)s) g;
INSERT INTO pact_participants (pact_id, user_id, role, status, accepted_at)
SELECT md5('p' || g)::uuid, md5('u' || (2 * g - r))::uuid,
       CASE r WHEN 1 THEN 'INITIATOR' ELSE 'PARTNER' END, 'ACCEPTED', now()
FROM generate_series(1, %(n)s) g, (VALUES (1), (0)) AS roles(r);
INSERT INTO pact_days (id, pact_id, date, status, deadline_at)
SELECT md5('d' || g)::uuid, md5('p' || g)::uuid, '2025-01-20', 'PENDING',
       '2025-01-20 21:00+00'::timestamptz - (g %% 3600) * interval '1 second'
FROM generate_series(1, %(n)s) g;
"""
FLOOR_SQL = """
WITH due AS (
    SELECT id FROM bench_floor.pact_days
    WHERE status = 'PENDING' AND deadline_at <= %(now)s
    ORDER BY deadline_at
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
),
missed AS (
    UPDATE bench_floor.pact_days d SET status = 'MISSED', updated_at = %(now)s
    FROM due WHERE d.id = due.id
    RETURNING d.id, d.pact_id, d.date
),
facts AS (
    SELECT m.id AS day_id, m.pact_id, m.date, p.stake_amount,
           i.user_id AS initiator_id, o.user_id AS partner_id
    FROM missed m
    JOIN bench_floor.pacts p ON p.id = m.pact_id
    JOIN bench_floor.pact_participants i ON i.pact_id = m.pact_id AND i.role = 'INITIATOR'
    JOIN bench_floor.pact_participants o ON o.pact_id = m.pact_id AND o.role = 'PARTNER'
),
entries AS (
    INSERT INTO bench_floor.ledger_entries
        (pact_id, pact_day_id, type, amount, from_user_id, to_user_id, note, created_at)
    SELECT pact_id, day_id, 'FORFEIT', stake_amount, initiator_id, partner_id,
           'Missed check-in', %(now)s
    FROM facts
    RETURNING 1
),
messages AS (
    INSERT INTO bench_floor.outbox (user_id, chat_id, kind, payload, dedupe_key)
    SELECT u.id, u.telegram_user_id, 'missed',
           jsonb_build_object('pact_id', f.pact_id::text, 'day_id', f.day_id::text,
                              'date', to_char(f.date, 'YYYY-MM-DD'),
                              'amount', f.stake_amount),
           'missed:' || f.day_id::text || ':' || u.id::text
    FROM facts f
    CROSS JOIN LATERAL (VALUES (f.initiator_id), (f.partner_id)) AS r(user_id)
    JOIN bench_floor.users u ON u.id = r.user_id
    ON CONFLICT DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM due), (SELECT count(*) FROM entries),
       (SELECT count(*) FROM messages)
"""
# Only the measured sweep's writes (history is dated earlier and already sent).
FLOOR_COUNTS_SQL = (
    "SELECT (SELECT count(*) FROM bench_floor.pact_days"
    "   WHERE status = 'MISSED' AND date = '2025-01-20'),"
    " (SELECT count(*) FROM bench_floor.ledger_entries"
    "   WHERE type = 'FORFEIT' AND created_at = %s),"
    " (SELECT count(*) FROM bench_floor.outbox WHERE kind = 'missed' AND status = 'PENDING')"
)

# History (--history H): before the measured sweep, every pact gets H decided days
# before the due one, in the proportions of a pact that is kept most days: one day in
# four MISSED (with its FORFEIT entry and its two "missed" messages, already sent), the
# rest DONE (checked in by the initiator, the dispute window long closed). The outbox
# keeps the messages of the last `outbox.tasks.RETENTION` days only, as the daily
# `prune_outbox` leaves it.
HISTORY_SQL = """
UPDATE pacts SET start_date = date '2025-01-20' - %(h)s;
INSERT INTO pact_days (id, pact_id, date, status, deadline_at, checked_in_at,
                       checked_in_by_user_id, dispute_open_until, skip_used_allowance,
                       created_at, updated_at)
SELECT {history_day_id}, md5('p' || g)::uuid, date '2025-01-20' - k,
       CASE WHEN k %% 4 = 0 THEN 'MISSED' ELSE 'DONE' END,
       timestamptz '2025-01-20 21:00+00' - k * interval '1 day',
       CASE WHEN k %% 4 = 0 THEN NULL
            ELSE timestamptz '2025-01-20 20:00+00' - k * interval '1 day' END,
       CASE WHEN k %% 4 = 0 THEN NULL ELSE md5('u' || (2 * g - 1))::uuid END,
       CASE WHEN k %% 4 = 0 THEN NULL
            ELSE timestamptz '2025-01-21 08:00+00' - k * interval '1 day' END,
       false, now(), now()
FROM generate_series(1, %(n)s) g, generate_series(1, %(h)s) k;
INSERT INTO ledger_entries (id, pact_id, pact_day_id, type, amount, from_user_id,
                            to_user_id, note, created_at)
SELECT md5('l' || g || ':' || k)::uuid, md5('p' || g)::uuid,
       {history_day_id}, 'FORFEIT', 100 + g %% 900,
       md5('u' || (2 * g - 1))::uuid, md5('u' || (2 * g))::uuid, 'Missed check-in',
       timestamptz '2025-01-20 21:00+00' - k * interval '1 day'
FROM generate_series(1, %(n)s) g, generate_series(4, %(h)s, 4) k;
INSERT INTO outbox (user_id, chat_id, kind, payload, dedupe_key, status, attempts,
                    next_attempt_at, sent_at, last_error, created_at, updated_at)
SELECT md5('u' || (2 * g - r))::uuid, 100000000 + 2 * g - r, 'missed',
       jsonb_build_object('pact_id', md5('p' || g)::uuid::text,
                          'day_id', {history_day_id}::text,
                          'date', to_char(date '2025-01-20' - k, 'YYYY-MM-DD'),
                          'amount', 100 + g %% 900),
       'missed:' || to_char(date '2025-01-20' - k, 'YYYY-MM-DD') || ':'
           || {history_day_id}::text || ':' || md5('u' || (2 * g - r))::uuid::text,
       'SENT', 1, now(), now(), '', now(), now()
FROM generate_series(1, %(n)s) g, generate_series(4, least(%(h)s, %(kept)s), 4) k,
     (VALUES (1), (0)) AS roles(r);
"""
HISTORY_SQL = HISTORY_SQL.replace("{history_day_id}", HISTORY_DAY_ID)

# The same history on the floor's bare schema (spec ids: random UUIDs), so the floor's
# own growth with history is measured too: what the spec's indexes alone cost.
FLOOR_HISTORY_SQL = """
INSERT INTO bench_floor.pact_days (id, pact_id, date, status, deadline_at, checked_in_at,
                                   checked_in_by_user_id, dispute_open_until)
SELECT md5('h' || g || ':' || k)::uuid, md5('p' || g)::uuid, date '2025-01-20' - k,
       CASE WHEN k %% 4 = 0 THEN 'MISSED' ELSE 'DONE' END,
       timestamptz '2025-01-20 21:00+00' - k * interval '1 day',
       CASE WHEN k %% 4 = 0 THEN NULL
            ELSE timestamptz '2025-01-20 20:00+00' - k * interval '1 day' END,
       CASE WHEN k %% 4 = 0 THEN NULL ELSE md5('u' || (2 * g - 1))::uuid END,
       CASE WHEN k %% 4 = 0 THEN NULL
            ELSE timestamptz '2025-01-21 08:00+00' - k * interval '1 day' END
FROM generate_series(1, %(n)s) g, generate_series(1, %(h)s) k;
INSERT INTO bench_floor.ledger_entries (pact_id, pact_day_id, type, amount, from_user_id,
                                        to_user_id, note, created_at)
SELECT md5('p' || g)::uuid, md5('h' || g || ':' || k)::uuid, 'FORFEIT', 100 + g %% 900,
       md5('u' || (2 * g - 1))::uuid, md5('u' || (2 * g))::uuid, 'Missed check-in',
       timestamptz '2025-01-20 21:00+00' - k * interval '1 day'
FROM generate_series(1, %(n)s) g, generate_series(4, %(h)s, 4) k;
INSERT INTO bench_floor.outbox (user_id, chat_id, kind, payload, dedupe_key, status,
                                attempts, sent_at)
SELECT md5('u' || (2 * g - r))::uuid, 100000000 + 2 * g - r, 'missed',
       jsonb_build_object('pact_id', md5('p' || g)::uuid::text,
                          'day_id', md5('h' || g || ':' || k)::uuid::text,
                          'date', to_char(date '2025-01-20' - k, 'YYYY-MM-DD'),
                          'amount', 100 + g %% 900),
       'missed:' || md5('h' || g || ':' || k)::uuid::text || ':'
           || md5('u' || (2 * g - r))::uuid::text,
       'SENT', 1, now()
FROM generate_series(1, %(n)s) g, generate_series(4, least(%(h)s, %(kept)s), 4) k,
     (VALUES (1), (0)) AS roles(r);
"""


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


def seed(n: int, history: int = 0) -> None:
    from django.db import connection

    from outbox.tasks import RETENTION

    with connection.cursor() as cursor:
        # This throwaway database's seed is consistent by construction: as a replica
        # applying it, skip the triggers (the FK checks, which at COMMIT of a 365-day
        # history take most of the seed's time, and the ledger's refusal of TRUNCATE,
        # ledger/0004). Only this connection, and only for the seed: the measured sweep
        # runs in a fresh process with every trigger and constraint in force.
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(SEED_SQL, {"n": n})
        if history:
            kept = RETENTION.days
            cursor.execute(HISTORY_SQL, {"n": n, "h": history, "kept": kept})
    connection.close()
    import psycopg

    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        tables = "users, pacts, pact_participants, pact_days, ledger_entries, outbox"
        conn.execute(f"VACUUM ANALYZE {tables}")
        # Every measured run starts just after a checkpoint, as a sweep in production
        # runs within `checkpoint_timeout` of one: each page it is first to change logs a
        # full-page image. Without this, whether the seed's own WAL had just triggered a
        # checkpoint decided how much of that a run paid.
        conn.execute("CHECKPOINT")


def seed_floor(n: int, history: int = 0) -> None:
    """A fresh floor schema per run (dropped and rebuilt, so no TRUNCATE is needed)."""
    import psycopg

    from outbox.tasks import RETENTION

    # Client-side binding: the DDL is many statements in one string (one transaction).
    with psycopg.connect(DATABASE_URL, cursor_factory=psycopg.ClientCursor) as conn:
        conn.execute(FLOOR_DDL, {"n": n})
        if history:
            conn.execute("SET session_replication_role = replica")  # as `seed` does
            conn.execute(FLOOR_HISTORY_SQL, {"n": n, "h": history, "kept": RETENTION.days})
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        tables = ("users", "pacts", "pact_participants", "pact_days", "ledger_entries", "outbox")
        conn.execute("VACUUM ANALYZE " + ", ".join(f"{FLOOR_SCHEMA}.{t}" for t in tables))
        conn.execute("CHECKPOINT")  # see `seed`


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


def wal_written() -> tuple[int, int]:
    """WAL bytes and full-page images the whole server has written so far (pg_stat_wal):
    the sweep's write volume, as the bench is the only writer. A page's first change
    after a checkpoint logs the whole 8 kB page, so scattered writes cost far more WAL
    than the rows they change."""
    from django.db import connection

    with connection.cursor() as cursor:
        # This backend's counts reach pg_stat_wal when its transaction ends: force it.
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute(
            "SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn, wal_fpi FROM pg_stat_wal"
        )
        lsn, fpi = cursor.fetchone()
        return int(lsn), int(fpi)


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


def floor(now) -> int:
    from django.db import connection, transaction

    from pacts.sweeps import BATCH_SIZE

    total = 0
    with connection.cursor() as cursor:
        while True:
            with transaction.atomic():
                cursor.execute(FLOOR_SQL, {"now": now, "limit": BATCH_SIZE})
                claimed = cursor.fetchone()[0]
            total += claimed
            if claimed < BATCH_SIZE:
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


def two_sweeps(now) -> int:
    """Two deadline sweeps at once, each in its own thread and connection: what two
    django-q2 workers taking the same backlog do (SKIP LOCKED splits it)."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    from pacts.sweeps import process_deadlines

    def one(_) -> int:
        try:
            return process_deadlines(now)
        finally:
            connection.close()  # this thread's own connection

    with ThreadPoolExecutor(2) as pool:
        return sum(pool.map(one, range(2)))


def child(mode: str) -> None:
    """Run one measured sweep in this (fresh) process and print JSON."""
    setup_django()
    from datetime import datetime

    from django.db import connection

    from pacts.sweeps import process_deadlines

    now = datetime.fromisoformat(NOW)
    run = {"sweep": lambda: process_deadlines(now), "reference": lambda: reference(now)}
    run["sweep x2"] = lambda: two_sweeps(now)
    run["orm"] = lambda: orm_sweep(now)
    run["floor"] = lambda: floor(now)
    run["sweep+hist"] = run["sweep"]
    run["floor+hist"] = run["floor"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    db_cpu_before = backend_cpu_seconds(backend)
    wal_before = wal_written()
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
    (wal_after, fpi_after), (wal_start, fpi_start) = wal_written(), wal_before
    wal_bytes, wal_fpi = wal_after - wal_start, fpi_after - fpi_start
    with connection.cursor() as cursor:
        # Only this sweep's writes: history rows are dated earlier and already sent.
        cursor.execute(
            FLOOR_COUNTS_SQL
            if mode in ("floor", "floor+hist")
            else "SELECT (SELECT count(*) FROM pact_days"
            "   WHERE status = 'MISSED' AND date = '2025-01-20'),"
            " (SELECT count(*) FROM ledger_entries WHERE type = 'FORFEIT'"
            "   AND created_at = %s),"
            " (SELECT count(*) FROM outbox WHERE kind = 'missed' AND status = 'PENDING')",
            [now],
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
                "wal_bytes": wal_bytes,
                "wal_fpi": wal_fpi,
            }
        )
    )


def measure(n: int, mode: str, history: int = 0) -> dict:
    if mode in ("floor", "floor+hist"):
        seed_floor(n, history if mode == "floor+hist" else 0)
    else:
        seed(n, history if mode == "sweep+hist" else 0)
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


def tree_pss_kib(root: int) -> int:
    """Memory of `root` and every process under it (the cluster's sentinel, workers,
    monitor, pusher and scheduler are separate processes), as proportional set size:
    pages the forked processes share are counted once between them, not once each."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        total += next(
            (int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")), 0
        )
    return total


def tick(n: int) -> dict:
    """N days due at once, one tick of the real scheduler: `manage.py qcluster` (the
    Procfile's worker, with its settings) is started and, once it reports running, the
    task its schedule fires is queued exactly as the scheduler queues it. Timed until
    the last due day is MISSED; the cluster's memory is sampled all along."""
    import psycopg
    from django.conf import settings
    from django.db import connection
    from django_q.models import OrmQ, Schedule, Task
    from django_q.tasks import async_task

    seed(n)
    # Only this tick's task in the queue: no schedules (the other jobs would compete
    # for the workers at times of their own), no leftovers of a previous run.
    for model in (Schedule, OrmQ, Task):
        model.objects.all().delete()
    connection.close()
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"],
        cwd=ROOT,
        env=os.environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in cluster.stderr:
            if "running." in line:
                break
        else:
            raise SystemExit("qcluster stopped before it was running")
        # Keep reading its log so the pipe never fills and stalls it.
        import threading

        threading.Thread(target=cluster.stderr.read, daemon=True).start()
        peak = 0
        started = time.perf_counter()
        async_task("pacts.tasks.process_deadlines")
        connection.close()
        with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
            while conn.execute(
                "SELECT EXISTS (SELECT 1 FROM pact_days WHERE status = 'PENDING')"
            ).fetchone()[0]:
                peak = max(peak, tree_pss_kib(cluster.pid))
                if cluster.poll() is not None:
                    raise SystemExit("qcluster died during the tick")
                time.sleep(0.2)
            seconds = time.perf_counter() - started
            missed, forfeits, messages = conn.execute(
                "SELECT (SELECT count(*) FROM pact_days WHERE status = 'MISSED'),"
                " (SELECT count(*) FROM ledger_entries WHERE type = 'FORFEIT'),"
                " (SELECT count(*) FROM outbox WHERE kind = 'missed')"
            ).fetchone()
    finally:
        cluster.terminate()
        cluster.wait(timeout=60)
    runs = Task.objects.filter(func="pacts.tasks.process_deadlines").count()
    if (missed, forfeits, messages) != (n, n, 2 * n):
        raise SystemExit(f"tick at N={n} was not exact: {(missed, forfeits, messages)}")
    return {
        "seconds": seconds,
        "workers": settings.Q_CLUSTER["workers"],
        "peak_pss_mb": peak / 1024,
        "runs": runs,
    }


def load() -> str:
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, nargs="+", default=[20_000, 100_000])
    parser.add_argument("--orm", action="store_true", help="also time the portable ORM path")
    parser.add_argument(
        "--workers", action="store_true", help="also time two sweeps at once (two threads)"
    )
    parser.add_argument(
        "--no-reference", action="store_true", help="skip the raw-SQL reference path"
    )
    parser.add_argument(
        "--history",
        type=int,
        default=0,
        metavar="H",
        help="also time the sweep when every pact already has H decided days",
    )
    parser.add_argument(
        "--tick",
        action="store_true",
        help="instead: time one scheduled tick through a real `manage.py qcluster`",
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
    if args.tick:
        print(f"database {DATABASE_URL}; one tick of `manage.py qcluster`; exact results checked")
        print(f"{load()} (before)")
        for n in args.n:
            r = tick(n)
            print(
                f"tick_s {r['seconds']:.1f} n {n} workers {r['workers']}"
                f" peak_pss_mb {r['peak_pss_mb']:.0f}  ({r['runs']} task runs; {load()})",
                flush=True,
            )
        return
    # The floor first, so every row after it prints its ratio to it.
    modes = ["floor", "sweep"] + ([] if args.no_reference else ["reference"])
    modes += ["sweep x2"] if args.workers else []
    modes += ["orm"] if args.orm else []
    modes += ["floor+hist", "sweep+hist"] if args.history else []
    print(f"database {DATABASE_URL}; one overdue day per active pact; exact results checked")
    if args.history:
        print(f"sweep+hist: the same sweep, each pact with {args.history} decided days before")
    print(f"{load()} (before)")
    print(
        f"{'N':>8} {'path':>10} {'seconds':>8} {'db CPU s':>9} {'days/s':>9} {'heap peak':>10}"
        f" {'RSS growth':>11} {'WAL kB/day':>11} {'FPI/day':>8} {'vs floor':>9}"
        f" {'CPU vs floor':>13}  load (1/5/15 min)"
    )
    ratios = []
    for n in args.n:
        results = {}
        for mode in modes:
            r = results[mode] = measure(n, mode, args.history)
            r["load"] = load()
            floor_r = results.get("floor")
            vs_floor = cpu_vs_floor = "-"
            if floor_r:
                vs_floor = f"{r['seconds'] / floor_r['seconds']:.2f}x"
                if r["db_cpu"] is not None and floor_r["db_cpu"]:
                    cpu_vs_floor = f"{r['db_cpu'] / floor_r['db_cpu']:.2f}x"
            cpu = "-" if r["db_cpu"] is None else f"{r['db_cpu']:.2f}"
            print(
                f"{n:>8} {mode:>10} {r['seconds']:>8.2f} {cpu:>9}"
                f" {n / r['seconds']:>9,.0f}"
                f" {r['heap_peak_kib'] / 1024:>8.1f}MB {r['rss_growth_kib'] / 1024:>9.1f}MB"
                f" {r['wal_bytes'] / 1024 / n:>11.2f} {r['wal_fpi'] / n:>8.2f}"
                f" {vs_floor:>9} {cpu_vs_floor:>13}  {r['load']}",
                flush=True,
            )
        sweep, floor_r = results["sweep"], results["floor"]
        if args.history:
            hist, floor_hist = results["sweep+hist"], results["floor+hist"]
            print(
                f"{n:>8} floor_history_ratio {floor_hist['seconds'] / floor_r['seconds']:.2f}"
                f" (seconds; database CPU {floor_hist['db_cpu'] / floor_r['db_cpu']:.2f}x):"
                " the spec's own schema with the same history"
            )
            print(
                f"{n:>8} history_ratio {hist['seconds'] / sweep['seconds']:.2f}"
                f" (seconds; database CPU {hist['db_cpu'] / sweep['db_cpu']:.2f}x)"
                f" with {args.history} decided days per pact"
            )
        ratios.append(sweep["seconds"] / floor_r["seconds"])
    print(f"{load()} (after)")
    print(f"ratio_to_floor {ratios[-1]:.2f}")


if __name__ == "__main__":
    main()
