"""Benchmark: from an API check-in to the partner's notice arriving at the Bot API.

Black-box, with the real processes: `manage.py runserver` (the API) and
`manage.py deliver_outbox --loop` (the Procfile's sender), both pointed at the stand-in
Bot API (`telegram_bot/tests/fake_bot_api.py`, on loopback in this process) and at a
throwaway database. It seeds N pacts (a different initiator and partner each, so no
chat's 1 message/s limit is in play), then N times, at random moments (0.3-1.3 s
apart, so the check-ins fall at every phase of the sender's 1-second poll): POST
/api/v1/pacts/{id}/days/{today}/checkin signed with Telegram initData
(`habitpact.testing.sign_init_data`), and measures until the stand-in receives the
sendMessage to that pact's partner ("checkin_partner").

Variants, each with fresh processes and database, in one run:

* `postgresql`: the sender as the Procfile runs it (woken by LISTEN/NOTIFY);
* `postgresql --poll-only`: the same sender polling every second (what it did before
  migration telegram_bot/0002), the anchor measured in the same run;
* `sqlite`: SQLite has no NOTIFY, so this is the poll.

Prints p50, p95 and max per variant and the load, and ends with
`checkin_to_partner_p95_s <x.xx>`: the PostgreSQL variant's p95 (the target's figure).

    .venv/bin/python bench/checkin_latency.py              # all three, N = 50
    .venv/bin/python bench/checkin_latency.py -n 20 --variants postgresql
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/hp_delivery_bench (default):
    the database is dropped and created for each PostgreSQL variant, dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/hp_delivery_bench"
ZONES = ["Europe/London", "America/New_York", "Asia/Tokyo", "Pacific/Auckland"]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} ({os.cpu_count()} CPUs)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pick_zone() -> str:
    """A zone where it is now between 06:00 and 21:00, so today's 23:30 deadline is ahead."""
    for zone in ZONES:
        if 6 <= datetime.now(ZoneInfo(zone)).hour < 21:
            return zone
    raise SystemExit("no zone in daytime?")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_variant(engine: str, poll_only: bool, n: int, api, seed_rng: random.Random) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_DEBUG="1",
        TELEGRAM_BOT_TOKEN=api.token,
        TELEGRAM_API_URL=api.url,
        WEBAPP_URL="https://app.example.com",
        LOG_LEVEL="WARNING",
    )
    tmp = tempfile.mkdtemp(prefix="checkin-bench-")
    pg_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG)
    if engine == "postgresql":
        env["DATABASE_URL"] = pg_url
        recreate_pg(pg_url, drop_only=False)
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, cwd=ROOT, check=True)
    pacts = seed(env, n)

    port = free_port()
    sender_cmd = [*manage, "deliver_outbox", "--loop", *(["--poll-only"] if poll_only else [])]
    with open(f"{tmp}/server.log", "w") as web_log, open(f"{tmp}/sender.log", "w") as sender_log:
        web = subprocess.Popen(
            [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=web_log,
        )
        sender = subprocess.Popen(
            sender_cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=sender_log
        )
    try:
        wait_until(lambda: http_ok(f"http://127.0.0.1:{port}/health"), "the web server")
        # The seeding's own messages (pact accepted) go out first.
        wait_until(lambda: len(api.calls_to("sendMessage")) >= n, "the seeding's messages")
        before = load()
        latencies, answers = [], []
        for pact in pacts:
            time.sleep(seed_rng.uniform(0.3, 1.3))
            seen = len(api.calls)
            started = time.monotonic()
            checkin(port, pact)
            answers.append(time.monotonic() - started)
            arrived = wait_for_message(api, pact["partner_chat"], seen)
            latencies.append(arrived - started)
        return {
            "variant": engine + (" --poll-only" if poll_only else ""),
            "engine": engine,
            "poll_only": poll_only,
            "n": len(latencies),
            "p50": statistics.median(latencies),
            "p95": percentile(latencies, 0.95),
            "max": max(latencies),
            "api_p50": statistics.median(answers),
            "after_answer_p50": statistics.median(
                x - y for x, y in zip(latencies, answers, strict=True)
            ),
            "load_before": before,
            "load_after": load(),
        }
    finally:
        for process in (web, sender):
            process.terminate()
        for process in (web, sender):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if engine == "postgresql":
            recreate_pg(pg_url, drop_only=True)


def recreate_pg(url: str, *, drop_only: bool) -> None:
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


SEED = """
import json, sys
from datetime import time as dtime
from django.utils import timezone
from pacts.actions import PactTerms, pact_accept, pact_create
from pacts.models import User
n, zone = int(sys.argv[1]), sys.argv[2]
out = []
for i in range(n):
    a = User.objects.create_user(telegram_user_id=20_000 + i, display_name=f"A{i}", timezone=zone)
    b = User.objects.create_user(telegram_user_id=30_000 + i, display_name=f"S{i}", timezone=zone)
    today = timezone.now().astimezone(a.tz).date()
    terms = PactTerms(title=f"Habit {i}", stake_amount=500, schedule_days=[True] * 7,
                      deadline_time=dtime(23, 30), start_date=today)
    pact = pact_accept(pact_create(initiator=a, terms=terms), b)
    out.append({"pact": str(pact.pk), "date": today.isoformat(), "user": a.telegram_user_id,
                "name": a.display_name, "username": a.username, "partner_chat": b.telegram_user_id})
print("SEEDED " + json.dumps(out))
"""


def seed(env: dict, n: int) -> list[dict]:
    """Seed in a child process (the bench itself never imports Django's settings)."""
    code = (
        "import django, os, sys; sys.path.insert(0, os.getcwd()); "
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'habitpact.settings'); "
        "django.setup(); exec(sys.stdin.read())"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(n), pick_zone()],
        input=SEED,
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        raise SystemExit(f"seeding failed:\n{out.stderr[-3000:]}")
    line = next(x for x in out.stdout.splitlines() if x.startswith("SEEDED "))
    return json.loads(line[len("SEEDED ") :])


def checkin(port: int, pact: dict) -> None:
    from habitpact.testing import sign_init_data

    user = {"id": pact["user"], "first_name": pact["name"], "language_code": "en"}
    init_data = sign_init_data(user, bot_token=os.environ["BENCH_BOT_TOKEN"])
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/pacts/{pact['pact']}/days/{pact['date']}/checkin",
        data=b"{}",
        method="POST",
        headers={"Authorization": f"tma {init_data}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200, response.status


def wait_for_message(api, chat_id: int, seen: int, timeout: float = 30.0) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in api.calls[seen:]:
            if call.method == "sendMessage" and call.chat_id == chat_id:
                return call.at
        time.sleep(0.002)
    raise SystemExit(f"no message to {chat_id} within {timeout} s")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, OSError):
        return False


def wait_until(predicate, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=50, help="check-ins per variant")
    parser.add_argument(
        "--variants",
        nargs="+",
        default=["postgresql", "postgresql-poll", "sqlite"],
        choices=["postgresql", "postgresql-poll", "sqlite"],
    )
    args = parser.parse_args()

    # habitpact.testing reads settings.TELEGRAM_BOT_TOKEN only when no token is given;
    # configure minimal settings so importing it needs no database.
    from django.conf import settings

    settings.configure()
    from telegram_bot.tests.fake_bot_api import FakeBotApi

    rng = random.Random(17)
    results = []
    with FakeBotApi() as api:
        os.environ["BENCH_BOT_TOKEN"] = api.token
        for variant in args.variants:
            api.calls.clear()
            engine = "sqlite" if variant == "sqlite" else "postgresql"
            r = run_variant(engine, variant == "postgresql-poll", args.n, api, rng)
            results.append(r)
            print(
                f"{r['variant']}: {r['n']} check-ins, check-in → partner's notice "
                f"p50 {r['p50']:.3f} s, p95 {r['p95']:.3f} s, max {r['max']:.3f} s "
                f"(the API answered in p50 {r['api_p50']:.3f} s; from its answer to the "
                f"notice p50 {r['after_answer_p50']:.3f} s); "
                f"before: {r['load_before']}; after: {r['load_after']}",
                flush=True,
            )
    notify = [r for r in results if r["engine"] == "postgresql" and not r["poll_only"]]
    poll = [r for r in results if r["engine"] == "postgresql" and r["poll_only"]]
    if notify and poll:
        print(f"p95 with NOTIFY / p95 polling: {notify[0]['p95'] / poll[0]['p95']:.2f}")
    if notify:
        print(f"checkin_to_partner_p50_s {notify[0]['p50']:.2f}")
        print(f"checkin_to_partner_p95_s {notify[0]['p95']:.2f}")


if __name__ == "__main__":
    main()
