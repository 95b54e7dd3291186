"""PostgreSQL-restart drill: restart the database under load; the app must recover by
itself and no request answered 2xx may have lost its write.

Runs its own throwaway cluster (never the shared one on 5432): initdb into
/tmp/hp_drill_pg as the postgres OS user, port 55432, torn down at the end. gunicorn (2
workers, rate limiter on, the product's CONN_MAX_AGE=60 with health checks) serves it.
Client threads run for --seconds: each walks its own pacts, checking in (idempotency
key), changing the user's reminder minutes (PATCH /users/me) and reading the pact.
PostgreSQL is restarted twice: `pg_ctl restart -m fast` at 10 s and `-m immediate` (a
crash: no checkpoint, clients cut) at 25 s.

Figures: requests by status, the window of failed requests around each restart, the
time from "database back" to the first 2xx. Checks: after the last restart every
request is answered 2xx again; every check-in and PATCH answered 2xx is in the database;
failures during the outage are 503 with the error envelope, not 500s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter

from drills import common

PGBIN = "/usr/lib/postgresql/15/bin"
PGDATA = "/tmp/hp_drill_pg"
PORT = 55432
URL = f"postgres://postgres@127.0.0.1:{PORT}/hp_drill_pg"


def as_postgres(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    command = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)


def pg_ctl(action: str, *extra: str) -> None:
    as_postgres(
        f"{PGBIN}/pg_ctl", "-D", PGDATA, "-w", "-t", "60", "-l", f"{PGDATA}.log",
        "-o", f"-p {PORT} -k /tmp -c listen_addresses=127.0.0.1", action, *extra,
    )  # fmt: skip


def create_cluster() -> None:
    destroy_cluster()
    as_postgres(f"{PGBIN}/initdb", "-D", PGDATA, "-A", "trust", "-U", "postgres")
    pg_ctl("start")


def destroy_cluster() -> None:
    if shutil.os.path.exists(PGDATA):
        as_postgres(f"{PGBIN}/pg_ctl", "-D", PGDATA, "-m", "immediate", "stop", check=False)
        shutil.rmtree(PGDATA, ignore_errors=True)


class Client:
    def __init__(self, server, pacts, seconds):
        self.server, self.pacts, self.seconds = server, pacts, seconds
        self.log: list[tuple[float, str, int, str]] = []  # (t, kind, status, body)
        self.written_checkins: set[str] = set()
        self.written_minutes: dict[str, int] = {}  # user id -> last value answered 2xx
        self.lock = threading.Lock()

    def record(self, kind, status, body):
        with self.lock:
            self.log.append((time.monotonic() - self.t0, kind, status, body[:300]))

    def worker(self, mine):
        end = self.t0 + self.seconds
        step = 0
        while time.monotonic() < end:
            p = mine[step % len(mine)]
            step += 1
            base = f"{self.server.url}/api/v1"
            if step <= len(mine):
                status, body = common.http(
                    "POST",
                    f"{base}/pacts/{p.pact_id}/days/{p.today}/checkin",
                    token=p.initiator_token,
                    body={"idempotency_key": f"pg-{p.pact_id}"},
                    timeout=20,
                )
                self.record("checkin", status, json.dumps(body))
                if 200 <= status < 300:
                    self.written_checkins.add(p.pact_id)
            minutes = 10 + step % 1000
            status, body = common.http(
                "PATCH", f"{base}/users/me", token=p.partner_token,
                body={"reminder_minutes_before": minutes}, timeout=20,
            )  # fmt: skip
            self.record("patch", status, json.dumps(body))
            if 200 <= status < 300:
                self.written_minutes[p.partner_id] = minutes
            status, body = common.http(
                "GET", f"{base}/pacts/{p.pact_id}", token=p.initiator_token, timeout=20
            )
            self.record("read", status, json.dumps(body))
            time.sleep(0.05)

    def run(self, restarts):
        self.t0 = time.monotonic()
        threads = [threading.Thread(target=self.worker, args=(self.pacts[i::8],)) for i in range(8)]
        for t in threads:
            t.start()
        marks = []
        for at, mode in restarts:
            time.sleep(max(0.0, self.t0 + at - time.monotonic()))
            began = time.monotonic() - self.t0
            pg_ctl("restart", "-m", mode)
            marks.append((mode, began, time.monotonic() - self.t0))
        for t in threads:
            t.join(self.seconds + 60)
        return marks


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="PostgreSQL restart drill")
    parser.add_argument("--seconds", type=int, default=40)
    parser.add_argument("--pacts", type=int, default=400)
    parser.add_argument(
        "--conn-max-age", default="60", help="DB_CONN_MAX_AGE for the server (product: 60)"
    )
    args = parser.parse_args(argv)
    create_cluster()
    try:
        common.ensure_database(URL)
        common.configure(URL)
        common.migrate()
        outcome = common.Outcome("pg_restart")
        pacts = common.seed_pacts(args.pacts, label="pg")
        from django.db import connection

        connection.close()
        outcome.figure("server DB_CONN_MAX_AGE", args.conn_max_age)
        env = {"DB_CONN_MAX_AGE": args.conn_max_age}
        with common.Server(name="pg-restart", database_url=URL, extra_env=env) as server:
            client = Client(server, pacts, args.seconds)
            marks = client.run([(10, "fast"), (25, "immediate")])
            server_log = server.log_path
        statuses = Counter(status for _, _, status, _ in client.log)
        outcome.figure("requests by status", dict(statuses))
        for mode, began, back in marks:
            first_ok = min(
                (t for t, _, s, _ in client.log if t > back and 200 <= s < 300), default=None
            )
            until = first_ok if first_ok is not None else back + 30
            failed = [
                t for t, _, s, _ in client.log if (s >= 500 or s == 0) and began - 0.5 <= t <= until
            ]
            outcome.figure(
                f"restart -m {mode}",
                f"database down {began:.1f}-{back:.1f} s; {len(failed)} requests failed"
                + (f"; first 2xx {first_ok - back:.2f} s after it was back"
                   if first_ok else "; NO 2xx after"),
            )  # fmt: skip
        last_back = marks[-1][2]
        late = [(t, k, s) for t, k, s, _ in client.log if t > last_back + 5 and not s < 300]
        outcome.expect(not late, f"recovered: every request 5 s after the last restart is 2xx "
                       f"({late[:3]})")  # fmt: skip
        na = '"SERVICE_UNAVAILABLE"'
        bad = Counter((s, b[:120]) for _, _, s, b in client.log if s >= 500 and na not in b)
        outcome.expect(not bad, f"outage answers are 503 SERVICE_UNAVAILABLE ({list(bad)[:2]})")
        from pacts.models import PactDay, User

        done = {
            str(pid)
            for pid in PactDay.objects.filter(
                pact_id__in=list(client.written_checkins), date=pacts[0].today, status="DONE"
            ).values_list("pact_id", flat=True)
        }
        lost = client.written_checkins - done
        outcome.figure("check-ins answered 2xx", len(client.written_checkins))
        outcome.expect(not lost, f"every check-in answered 2xx is DONE ({len(lost)} lost)")
        minutes = dict(
            User.objects.filter(pk__in=list(client.written_minutes)).values_list(
                "pk", "reminder_minutes_before"
            )
        )
        wrong = [u for u, m in client.written_minutes.items() if minutes.get(_uuid(u)) != m]
        outcome.figure("users whose PATCH was answered 2xx", len(client.written_minutes))
        outcome.expect(not wrong, f"every PATCH answered 2xx is in the database ({len(wrong)})")
        outcome.figure("server log", server_log)
        return outcome.finish()
    finally:
        from django.db import connection

        connection.close()
        destroy_cluster()


def _uuid(value: str):
    import uuid

    return uuid.UUID(value)


if __name__ == "__main__":
    sys.exit(main())
