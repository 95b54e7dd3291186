"""Benchmark: do the pact's screens stay flat as its history grows?

Two pacts between the same kind of users, built through the domain functions: one
started today (no history), one with two years (730 days) of decided days before today
(one in four MISSED with its FORFEIT entry, the rest DONE), added with set-based SQL.
For each of

* the Mini App pact screen `/pacts/<id>`,
* the Mini App history screen `/pacts/<id>/history`,
* the API's `GET /api/v1/pacts/<id>/days`,

it counts the SQL queries of one request and times R requests per pact, alternating
the two pacts request by request (so the machine's changing load falls on both alike),
and prints the median of each and their ratio. Target (issue 17): the same query count,
and at most 1.5x the time.

It uses Django's test client in the same process, not HTTP to a runserver: the query
count is then exact (captured on the one connection the view uses), and the time is
the view's own (middleware, auth, ORM, database, template) without the socket, the
dev server's thread start and the shared machine's scheduling of a second process,
which cost the same for both pacts and would only blur the ratio.

    .venv/bin/python bench/history.py            # 730 days of history, 30 requests each
    .venv/bin/python bench/history.py --days 365 -r 10
    BENCH_DATABASE_URL=postgres://... to use another database (default hp_bench)

It needs PostgreSQL (the production engine) and creates and migrates the database as
the sweep bench does; it adds its own users and pacts and removes nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hp_bench")
os.environ["DATABASE_URL"] = DATABASE_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "habitpact.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")  # a throwaway secret key is fine here
# Rate limits are not what is measured here (and R requests a second would trip them).
os.environ["RATE_LIMIT_ENABLED"] = "0"

# The history of pact %(pact)s: %(days)s days before its start (today), decided.
HISTORY_SQL = """
UPDATE pacts SET start_date = %(today)s::date - %(days)s WHERE id = %(pact)s;
INSERT INTO pact_days (id, pact_id, date, status, deadline_at, checked_in_at,
                       checked_in_by_user_id, dispute_open_until, skip_used_allowance,
                       created_at, updated_at)
SELECT gen_random_uuid(), %(pact)s, %(today)s::date - k,
       CASE WHEN k %% 4 = 0 THEN 'MISSED' ELSE 'DONE' END,
       %(deadline)s::timestamptz - k * interval '1 day',
       CASE WHEN k %% 4 = 0 THEN NULL
            ELSE %(deadline)s::timestamptz - k * interval '1 day' - interval '1 hour' END,
       CASE WHEN k %% 4 = 0 THEN NULL ELSE %(initiator)s::uuid END,
       CASE WHEN k %% 4 = 0 THEN NULL
            ELSE %(deadline)s::timestamptz - k * interval '1 day' + interval '11 hours' END,
       false, now(), now()
FROM generate_series(1, %(days)s) k;
INSERT INTO ledger_entries (id, pact_id, pact_day_id, type, amount, from_user_id,
                            to_user_id, note, created_at)
SELECT gen_random_uuid(), d.pact_id, d.id, 'FORFEIT', %(stake)s, %(initiator)s,
       %(partner)s, 'Missed check-in', d.deadline_at
FROM pact_days d WHERE d.pact_id = %(pact)s AND d.status = 'MISSED';
"""


def setup() -> None:
    import logging

    import django

    sys.path.insert(0, str(ROOT / "bench"))
    from deadline_sweep import ensure_database

    ensure_database()
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    logging.disable(logging.INFO)  # one request log line per request would bury the table


def build(days: int):
    """(pact without history, pact with `days` of history, the initiator)."""
    from datetime import time as clock_time

    from django.db import connection
    from django.utils import timezone

    from pacts.actions import PactTerms, pact_accept, pact_create
    from pacts.models import User

    now = timezone.now()
    stamp = int(time.time() * 1000) % 10**9
    pacts = []
    for i, history in enumerate((0, days)):
        initiator, partner = (
            User.objects.create_user(
                telegram_user_id=7 * 10**9 + stamp * 10 + 4 * i + j,
                display_name=name,
                username=f"{name.lower()}_{stamp}_{i}",
                timezone="Europe/London",
            )
            for j, name in enumerate(("Alex", "Sam"))
        )
        today = now.astimezone(initiator.tz).date()
        terms = PactTerms(
            title="Gym 🏋️",
            stake_amount=500,
            currency="GBP",
            schedule_days=[True] * 7,
            deadline_time=clock_time(23, 59),
            start_date=today,
        )
        pact = pact_accept(pact_create(initiator=initiator, terms=terms), partner)
        if history:
            with connection.cursor() as cursor:
                cursor.execute(
                    HISTORY_SQL,
                    {
                        "pact": pact.pk,
                        "today": today,
                        "days": history,
                        "deadline": f"{today} 21:00+00",
                        "initiator": initiator.pk,
                        "partner": partner.pk,
                        "stake": 500,
                    },
                )
                cursor.execute("ANALYZE pact_days; ANALYZE ledger_entries")
        pacts.append((pact, initiator))
    return pacts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=730, help="days of history (730)")
    parser.add_argument("-r", type=int, default=30, help="timed requests per pact and screen")
    args = parser.parse_args()
    setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from habitpact.auth import issue_token
    from pacts.models import PactDay

    (bare, alex0), (old, alex1) = build(args.days)
    print(f"database {DATABASE_URL}; {args.days} days of history vs none; {args.r} requests")
    counts = [PactDay.objects.filter(pact=p).count() for p in (bare, old)]
    print(f"days: {counts[0]} vs {counts[1]}")
    print("load {:.2f} {:.2f} {:.2f} (before)".format(*os.getloadavg()))
    client = Client()
    screens = [
        ("pact screen", "/pacts/{}", {"HX-Request": "true"}),
        ("history screen", "/pacts/{}/history", {"HX-Request": "true"}),
        ("GET /api/v1/pacts/{id}/days", "/api/v1/pacts/{}/days", {}),
        # The default page is 30 days with history and 1 without: limit=1 compares the
        # same page, so only the history's size differs.
        ("GET /api/v1/pacts/{id}/days?limit=1", "/api/v1/pacts/{}/days?limit=1", {}),
    ]
    headers = {
        pact.pk: {"Authorization": f"Bearer {issue_token(user)}"}
        for pact, user in ((bare, alex0), (old, alex1))
    }

    def hit(pact, url: str, extra: dict) -> float:
        started = time.perf_counter()
        response = client.get(url.format(pact.pk), headers=headers[pact.pk] | extra)
        seconds = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(f"{url.format(pact.pk)} answered {response.status_code}")
        return seconds

    print(
        f"{'screen':>36} {'queries':>9} {'queries+hist':>13} {'ms':>7} {'ms+hist':>8}"
        f" {'time ratio':>11}  load"
    )
    worst = 0.0
    same_queries = True
    for name, url, extra in screens:
        counts = []
        for pact in (bare, old):
            hit(pact, url, extra)  # warm: templates, first-time imports, plans
            with CaptureQueriesContext(connection) as queries:
                hit(pact, url, extra)
            counts.append(len(queries))
        times: dict = {bare.pk: [], old.pk: []}
        for _ in range(args.r):
            for pact in (bare, old):
                times[pact.pk].append(hit(pact, url, extra))
        base, grown = (statistics.median(times[p.pk]) for p in (bare, old))
        ratio = grown / base
        worst = max(worst, ratio)
        same_queries = same_queries and counts[0] == counts[1]
        print(
            f"{name:>36} {counts[0]:>9} {counts[1]:>13} {base * 1000:>7.1f}"
            f" {grown * 1000:>8.1f} {ratio:>10.2f}x  "
            + "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
        )
    print(f"same_query_counts {'yes' if same_queries else 'NO'}")
    print(f"screens_history_ratio_max {worst:.2f}")


if __name__ == "__main__":
    main()
