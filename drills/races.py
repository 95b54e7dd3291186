"""Races drill: double taps and deadline races through the real HTTP stack (gunicorn, 2
workers, PostgreSQL).

1. Double tap: 50 concurrent identical check-ins (same user, same idempotency key, same
   note) released together by a barrier → one DONE day, one distinct 200 body.
   Run with the rate limiter off (so all 50 reach the domain), then again with it on
   (5 reach it, the other 45 must be 429, never 5xx).
2. Deadline race: N days get deadline_at = now + 4 s; each initiator checks in at a
   moment spread from 1 s before to 0.5 s after the deadline while two sweepers run
   process_deadlines every 20 ms across it → each day DONE or MISSED, never both;
   a 200 means DONE; no forfeit on a DONE day.
3. Settlement: after a proposal, the other party confirms 2 (then 10) times at once →
   exactly one SETTLEMENT entry per pact, every answer 200 and CONFIRMED.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlsplit

from drills import common


def post(url: str, token: str, body: dict | None = None) -> tuple[int, str]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        conn.request(
            "POST",
            parts.path,
            body=json.dumps(body or {}),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        return response.status, response.read().decode()
    except OSError as error:
        return 0, f"socket error: {error}"
    finally:
        conn.close()


def together(calls) -> list[tuple[int, str]]:
    """Run the callables in threads released at once; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        barrier.wait(30)
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def double_tap(server, outcome, *, limited: bool) -> None:
    from pacts.models import PactDay

    (p,) = common.seed_pacts(1, label="tap")
    url = f"{server.url}/api/v1/pacts/{p.pact_id}/days/{p.today}/checkin"
    body = {"idempotency_key": "tap-1", "note": "ran 5k"}
    results = together([lambda: post(url, p.initiator_token, body)] * 50)
    statuses = Counter(status for status, _ in results)
    bodies = {text for status, text in results if status == 200}
    tag = "limiter on" if limited else "limiter off"
    outcome.figure(f"double tap ({tag}) statuses", dict(statuses))
    day = PactDay.objects.get(pact_id=p.pact_id, date=p.today)
    outcome.expect(day.status == "DONE", f"double tap ({tag}): the day is DONE")
    outcome.expect(len(bodies) == 1, f"double tap ({tag}): one distinct 200 body ({len(bodies)})")
    allowed = {200, 429} if limited else {200}
    outcome.expect(set(statuses) <= allowed, f"double tap ({tag}): only {sorted(allowed)}")
    if limited:
        outcome.expect(statuses[200] == 5, f"double tap ({tag}): exactly 5 passed the limiter")


def deadline_race(server, outcome, n: int) -> None:
    from django.db import connection

    from ledger.models import LedgerEntry
    from pacts.models import PactDay
    from pacts.sweeps import process_deadlines

    pacts = common.seed_pacts(n, label="race")
    deadline = common.later(4)
    PactDay.objects.filter(pact_id__in=[p.pact_id for p in pacts], date=pacts[0].today).update(
        deadline_at=deadline
    )
    connection.close()
    t0 = time.monotonic() + (deadline.timestamp() - time.time())  # deadline on our clock
    results: dict[str, tuple[int, str, float]] = {}
    sweeps = Counter()
    stop = threading.Event()

    def check_in(i, p):
        at = t0 - 1.0 + 1.5 * i / max(1, n - 1)
        time.sleep(max(0.0, at - time.monotonic()))
        url = f"{server.url}/api/v1/pacts/{p.pact_id}/days/{p.today}/checkin"
        status, text = post(url, p.initiator_token, {"idempotency_key": f"race-{i}"})
        results[p.pact_id] = (status, text, at - t0)

    def sweeper(name):
        time.sleep(max(0.0, t0 - 0.2 - time.monotonic()))
        end = t0 + 2.0
        while time.monotonic() < end and not stop.is_set():
            sweeps[name] += process_deadlines()
            time.sleep(0.02)
        connection.close()

    threads = [threading.Thread(target=check_in, args=(i, p)) for i, p in enumerate(pacts)]
    threads += [threading.Thread(target=sweeper, args=(f"sweeper{k}",)) for k in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    stop.set()
    sweeps["final"] += process_deadlines()
    days = {
        str(d.pact_id): d
        for d in PactDay.objects.filter(pact_id__in=[p.pact_id for p in pacts], date=pacts[0].today)
    }
    states = Counter(d.status for d in days.values())
    outcome.figure("deadline race: days by state", dict(states))
    outcome.figure("deadline race: missed by each sweeper", dict(sweeps))
    outcome.figure(
        "deadline race: check-in statuses", dict(Counter(s for s, _, _ in results.values()))
    )
    late_ok = [off for s, _, off in results.values() if s == 200 and off > 0.5]
    latest = max((off for s, _, off in results.values() if s == 200), default=None)
    outcome.figure("deadline race: latest send offset that got 200 (s)", latest)
    outcome.expect(not late_ok, "deadline race: nothing sent well after the deadline got 200")
    outcome.expect(set(states) <= {"DONE", "MISSED"}, "deadline race: each day ends DONE or MISSED")
    wrong = [
        pid
        for pid, (status, _, _) in results.items()
        if (status == 200) != (days[pid].status == "DONE")
    ]
    outcome.expect(not wrong, "deadline race: a 200 answer exactly when the day is DONE")
    odd = [s for s, _, _ in results.values() if s not in (200, 409)]
    outcome.expect(not odd, f"deadline race: every answer 200 or 409 ({odd[:5]})")
    forfeits_on_done = LedgerEntry.objects.filter(
        pact_day__in=[d for d in days.values() if d.status == "DONE"]
    ).count()
    outcome.expect(forfeits_on_done == 0, "deadline race: no ledger entry on a DONE day")
    missed = [d for d in days.values() if d.status == "MISSED"]
    forfeits = Counter(
        LedgerEntry.objects.filter(pact_day__in=missed, type="FORFEIT").values_list(
            "pact_day_id", flat=True
        )
    )
    outcome.expect(
        all(forfeits[d.pk] == 1 for d in missed), "deadline race: one FORFEIT per MISSED day"
    )


def settlement_race(server, outcome) -> None:
    from datetime import date

    from ledger.models import LedgerEntry
    from pacts.actions import day_for, pact_for
    from pacts.models import User

    for copies in (2, 10):
        (p,) = common.seed_pacts(1, label="settle")
        initiator = User.objects.get(pk=p.initiator_id)
        day_for(pact_for(initiator, p.pact_id), date.fromisoformat(p.today)).miss(initiator)
        status, text = post(
            f"{server.url}/api/v1/pacts/{p.pact_id}/settlements", p.initiator_token, {}
        )
        assert status == 201, (status, text)
        sid = json.loads(text)["settlement"]["id"]
        url = f"{server.url}/api/v1/settlements/{sid}/confirm"
        token = p.partner_token
        results = together([lambda url=url, token=token: post(url, token)] * copies)
        statuses = Counter(s for s, _ in results)
        entries = LedgerEntry.objects.filter(pact_id=p.pact_id, type="SETTLEMENT").count()
        outcome.figure(f"settlement x{copies}: statuses", dict(statuses))
        outcome.expect(entries == 1, f"settlement x{copies}: one SETTLEMENT entry ({entries})")
        confirmed = all(
            s == 200 and json.loads(t)["settlement"]["status"] == "CONFIRMED" for s, t in results
        )
        outcome.expect(confirmed, f"settlement x{copies}: every answer 200 CONFIRMED")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="races drill")
    parser.add_argument("--days", type=int, default=40, help="days racing the deadline")
    args = parser.parse_args(argv)
    common.ensure_database()
    common.configure()
    common.migrate()
    common.reset_data()
    outcome = common.Outcome("races")
    with common.Server(name="races", extra_env={"RATE_LIMIT_ENABLED": "0"}) as server:
        double_tap(server, outcome, limited=False)
        deadline_race(server, outcome, args.days)
        settlement_race(server, outcome)
        errors = server.server_errors()
    outcome.expect(not errors, f"no 5xx or traceback in the server log ({errors[:3]})")
    with common.Server(name="races-limited") as server:
        double_tap(server, outcome, limited=True)
        errors = server.server_errors()
    outcome.expect(not errors, f"limiter on: no 5xx or traceback in the log ({errors[:3]})")
    return outcome.finish()


if __name__ == "__main__":
    sys.exit(main())
