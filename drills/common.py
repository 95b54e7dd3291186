"""What every drill shares: its own database, a real gunicorn, seeding, checks.

Import this module before Django: it points DATABASE_URL at the drills' own database
(DRILL_DATABASE_URL, default hp_drills on the local PostgreSQL) and sets the environment
a production-like server needs on loopback (debug off, no HTTPS redirect).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATABASE_URL = os.environ.get("DRILL_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hp_drills")
LOG_DIR = Path(os.environ.get("DRILL_LOG_DIR", "/tmp/hp_drills"))
LOG_DIR.mkdir(parents=True, exist_ok=True)

SERVER_ENV = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "drill-secret-key-not-for-production-0123456789abcdef",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_SSL_REDIRECT": "0",
    "TRUST_X_FORWARDED_PROTO": "0",
    "SECURE_HSTS_SECONDS": "0",
    "SECURE_COOKIES": "0",
    "RATE_LIMIT_ENABLED": "1",
    "TELEGRAM_BOT_TOKEN": "123456:TEST-TOKEN",
    "LOG_LEVEL": "WARNING",
}


def configure(database_url: str | None = None) -> None:
    """Environment for this process (and the servers it starts), then django.setup()."""
    os.environ.update(SERVER_ENV)
    os.environ["DATABASE_URL"] = database_url or DATABASE_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "habitpact.settings")
    import django

    django.setup()


def ensure_database(url: str = DATABASE_URL) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def reset_data() -> None:
    """Empty the product's tables (the drills' own database only)."""
    from django.db import connection, transaction

    from habitpact.db import truncating_the_ledger

    assert connection.settings_dict["NAME"].startswith(("hp_drills", "hp_drill")), "not ours"
    truncate = (
        "TRUNCATE users, pacts, pact_participants, pact_days, ledger_entries, outbox,"
        " settlements, rate_limit_counters CASCADE"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in truncating_the_ledger([truncate]):  # ledger/0004 refuses it
            cursor.execute(statement)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """gunicorn with 2 workers on a loopback port, serving the product (or the baseline)."""

    settings_module: str = "habitpact.settings"
    workers: int = 2
    database_url: str | None = None
    name: str = "web"
    extra_env: dict | None = None

    def __post_init__(self):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> Server:
        env = dict(os.environ, **SERVER_ENV)
        env.update(
            DJANGO_SETTINGS_MODULE=self.settings_module,
            DATABASE_URL=self.database_url or os.environ["DATABASE_URL"],
            PORT=str(self.port),
            WEB_CONCURRENCY=str(self.workers),
            PROMETHEUS_MULTIPROC_DIR=str(LOG_DIR / f"prom-{self.port}"),
            PYTHONPATH=str(ROOT),
        )
        env.update(self.extra_env or {})
        log = open(LOG_DIR / f"{self.name}-{self.port}.log", "w")  # noqa: SIM115
        self.log_path = log.name
        self.process = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "habitpact.wsgi",
                "-c",
                str(ROOT / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{self.port}",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn died at start-up; see {self.log_path}")
            with contextlib.suppress(OSError):
                urllib.request.urlopen(self.url + "/health", timeout=2).read()
                return self
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"gunicorn did not answer /health in 30 s; see {self.log_path}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def server_errors(self) -> list[str]:
        """Lines of the server log that report a 5xx or a traceback."""
        text = Path(self.log_path).read_text(errors="replace")
        return [
            line
            for line in text.splitlines()
            if "Traceback" in line or '"status": 5' in line or "Internal Server Error" in line
        ]


def zone_with_room(hours: int = 4) -> str:
    """An IANA zone whose local time now is between 01:00 and 23:59 - `hours`, so a
    21:00-or-later deadline today is still ahead and today does not roll over mid-drill."""
    now = datetime.now(ZoneInfo("UTC"))
    for zone in (
        "UTC",
        "Europe/London",
        "America/New_York",
        "America/Los_Angeles",
        "Asia/Tokyo",
        "Asia/Kolkata",
        "Pacific/Auckland",
        "America/Sao_Paulo",
    ):
        local = now.astimezone(ZoneInfo(zone))
        if 1 <= local.hour < 23 - hours:
            return zone
    raise SystemExit("no zone with room for a deadline today")


@dataclass
class SeededPact:
    pact_id: str
    today: str
    initiator_token: str
    partner_token: str
    initiator_id: str
    partner_id: str


def seed_pacts(n: int, *, label: str = "drill", deadline: str = "23:59", zone: str | None = None):
    """n active pacts between fresh pairs, built by the domain functions, starting today
    in a zone where today's deadline is hours away. Returns SeededPact rows with tokens."""
    from datetime import time as dtime

    from habitpact.auth import issue_token
    from pacts.actions import PactTerms, pact_accept, pact_create
    from pacts.models import User

    zone = zone or zone_with_room()
    today = datetime.now(ZoneInfo(zone)).date()
    base = int(time.time() * 1000) % 10**9 * 100
    hour, minute = (int(x) for x in deadline.split(":"))
    out = []
    for i in range(n):
        a = User.objects.create_user(
            telegram_user_id=base + 2 * i, display_name=f"{label} A{i}", timezone=zone
        )
        b = User.objects.create_user(
            telegram_user_id=base + 2 * i + 1, display_name=f"{label} B{i}", timezone=zone
        )
        terms = PactTerms(
            title=f"{label} pact {i}",
            stake_amount=500,
            currency="GBP",
            schedule_days=[True] * 7,
            deadline_time=dtime(hour, minute),
            start_date=today,
        )
        pact = pact_accept(pact_create(initiator=a, terms=terms), b)
        tokens = issue_token(a), issue_token(b)
        out.append(SeededPact(str(pact.pk), today.isoformat(), *tokens, str(a.pk), str(b.pk)))
    return out


def check_ledger() -> bool:
    """manage.py check_ledger, printed; True when every invariant holds."""
    from ledger.invariants import check_ledger as run

    violations = run()
    if violations:
        print(f"  check_ledger: {len(violations)} VIOLATION(S)")
        for v in violations[:20]:
            print(f"    {v.rule}: row {v.row_id} pact {v.pact_id}")
        return False
    print("  check_ledger: every invariant holds")
    return True


FINGERPRINT_TABLES = {
    "users": "id",
    "pacts": "id",
    "pact_participants": "id",
    "pact_days": "id",
    "ledger_entries": "id",
    "settlements": "id",
    "outbox": "id",
}


def fingerprint() -> dict[str, str]:
    """A digest of every row of the product's tables (not the rate-limit counters)."""
    from django.db import connection

    out = {}
    with connection.cursor() as cursor:
        for table, key in FINGERPRINT_TABLES.items():
            cursor.execute(
                f"SELECT count(*), md5(COALESCE(string_agg(t::text, '|' ORDER BY t.{key}), ''))"
                f" FROM {table} t"
            )
            count, digest = cursor.fetchone()
            out[table] = f"{count}:{digest}"
    return out


def http(method: str, url: str, *, token: str | None = None, body=None, headers=None, timeout=30):
    """(status, parsed JSON or text) of one request; never raises on an HTTP status."""
    data = None
    hdrs = dict(headers or {})
    if token:
        hdrs["Authorization"] = f"Bearer {token}"
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        raw, status = error.read(), error.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def later(seconds: float) -> datetime:
    from django.utils import timezone

    return timezone.now() + timedelta(seconds=seconds)


class Outcome:
    """Collects pass/fail lines for one scenario and prints the verdict."""

    def __init__(self, name: str):
        self.name = name
        self.failures: list[str] = []
        print(f"=== drill: {name} ===", flush=True)

    def figure(self, label: str, value) -> None:
        print(f"  {label}: {value}", flush=True)

    def expect(self, ok: bool, what: str) -> None:
        print(f"  [{'ok' if ok else 'FAIL'}] {what}", flush=True)
        if not ok:
            self.failures.append(what)

    def finish(self) -> int:
        self.expect(check_ledger(), "ledger invariants hold after the scenario")
        verdict = "PASS" if not self.failures else f"FAIL ({len(self.failures)})"
        print(f"=== {self.name}: {verdict} ===", flush=True)
        return 0 if not self.failures else 1
