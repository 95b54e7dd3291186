"""Benchmark: drain a burst of outbox messages to the fake Bot API in real time.

Seeds N chats (users with an active pact each) with M messages per chat (default
100 × 3 = 300), then runs `telegram_bot.delivery.deliver_outbox()`, the code the job
and the `--loop` process run, against the local fake Bot API over real HTTP (no
sleeping or clock tricks: the real rate limiter and real time). The fake API records
when each sendMessage arrived; from those arrival times it prints

* the overall rate (messages / second from first to last arrival),
* the most messages that arrived in any rolling 1-second window (limit: 30),
* per chat: the smallest gap between two messages to the same chat (limit: ≥ 1 s) and
  the most messages one chat got in any rolling second (limit: 1),

and checks every row ended SENT exactly once. Takes ~10+ s of wall time.

    .venv/bin/python bench/bot_delivery.py                  # 100 chats × 3 = 300
    .venv/bin/python bench/bot_delivery.py --chats 10 --per-chat 30
    BENCH_DATABASE_URL=postgres://... to run on PostgreSQL (a throwaway test_ database
    is created and dropped); default: the SQLite engine, in memory.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections import Counter, defaultdict
from datetime import date
from datetime import time as dtime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if os.environ.get("BENCH_DATABASE_URL"):
    os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
else:
    os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "habitpact.settings")
os.environ.setdefault("DJANGO_DEBUG", "1")


def max_in_window(moments: list[float], window: float = 1.0) -> int:
    """The most arrivals inside any half-open window [t, t + window)."""
    moments = sorted(moments)
    best, start = 0, 0
    for end, moment in enumerate(moments):
        while moment - moments[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def seed(chats: int, per_chat: int) -> None:
    from django.utils import timezone

    from pacts.actions import PactTerms, pact_accept, pact_create
    from pacts.models import OutboxMessage, User, notify

    partner = User.objects.create_user(telegram_user_id=9_000_000, display_name="Sam")
    today = timezone.now().date()
    for i in range(chats):
        user = User.objects.create_user(telegram_user_id=10_000 + i, display_name=f"User {i}")
        terms = PactTerms(
            title=f"Habit {i}",
            stake_amount=500,
            schedule_days=[True] * 7,
            deadline_time=dtime(21, 0),
            start_date=max(today, date.today()),
        )
        pact = pact_accept(pact_create(initiator=user, terms=terms), partner)
        for extra in range(per_chat - 1):  # the accept already wrote one
            notify(user, "pact_accepted", f"bench:{extra}", pact_id=str(pact.pk), by=partner)
    assert OutboxMessage.objects.filter(status="PENDING").count() == chats * per_chat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--per-chat", type=int, default=3)
    args = parser.parse_args()

    import django

    django.setup()
    logging.disable(logging.WARNING)
    from django.conf import settings
    from django.db import connection

    from pacts.models import OutboxMessage
    from telegram_bot.delivery import deliver_outbox
    from telegram_bot.tests.fake_bot_api import FakeBotApi

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True)
    api = FakeBotApi().start()
    try:
        settings.TELEGRAM_BOT_TOKEN = api.token
        settings.TELEGRAM_API_URL = api.url
        settings.WEBAPP_URL = "https://app.example.com"
        seed(args.chats, args.per_chat)
        total = args.chats * args.per_chat

        started = time.monotonic()
        report = deliver_outbox(max_seconds=None)
        wall = time.monotonic() - started

        calls = api.calls_to("sendMessage")
        moments = [call.at for call in calls]
        by_chat: dict[int, list[float]] = defaultdict(list)
        for call in calls:
            by_chat[call.chat_id].append(call.at)
        gaps = [
            later - earlier
            for times in by_chat.values()
            for earlier, later in zip(sorted(times), sorted(times)[1:], strict=False)
        ]
        statuses = Counter(OutboxMessage.objects.values_list("status", flat=True))
        span = max(moments) - min(moments)

        print(f"engine: {connection.vendor}, messages: {total} to {args.chats} chats")
        print(f"drain report: {report.as_dict()}")
        print(f"wall time of the drain: {wall:.2f} s")
        print(f"overall rate: {(len(moments) - 1) / span:.1f} msg/s over {span:.2f} s")
        print(f"most in any rolling second: {max_in_window(moments)} (limit 30)")
        if gaps:
            print(
                f"per chat: smallest gap {min(gaps):.3f} s (limit ≥ 1 s), "
                f"most in any rolling second {max(max_in_window(t) for t in by_chat.values())} "
                f"(limit 1), rate {1 / (sum(gaps) / len(gaps)):.2f} msg/s per chat"
            )
        print(f"rows: {dict(statuses)}; sendMessage calls: {len(calls)}")
        for error in OutboxMessage.objects.exclude(last_error="").values_list("last_error"):
            print("error:", error[0])
        assert statuses == {"SENT": total} and len(calls) == total, "lost or duplicated"
        assert max_in_window(moments) <= 30 and (not gaps or min(gaps) >= 1.0)
    finally:
        api.stop()
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
