"""Bot-outage drill: the Bot API stand-in is down for 2 minutes; every notification
queued meanwhile is delivered after it returns, none twice.

The stand-in is telegram_bot/tests/fake_bot_api.py on a fixed loopback port; "down"
means nothing listens there (connection refused, as when Telegram is unreachable). The
real sender runs as its own process, `manage.py deliver_outbox --loop`, with
TELEGRAM_API_URL pointing at the stand-in.

1. Up: seed pacts (their invite/accept messages) and let the sender deliver them.
2. Down for --down-seconds (120): every 3 s an initiator checks in through the domain,
   queueing two messages (to them and their partner).
3. Up again on the same port: wait (at most 6 min) until no message is PENDING.

Checks: every outbox row SENT; the stand-in received each (chat, text) exactly once
(each pact has its own title, so a row's dedupe key and its (chat, text) correspond
one to one) and exactly as many messages as there are rows.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from http.server import ThreadingHTTPServer

from drills import common


def stand_in(port: int):
    from telegram_bot.tests import fake_bot_api

    class FixedPortServer(ThreadingHTTPServer):
        """Same port after every restart; closing it also cuts the kept-alive client
        connections (else the sender keeps talking to a "stopped" server)."""

        def __init__(self, address, handler):
            self.open_sockets = set()
            super().__init__(("127.0.0.1", port), handler)

        def process_request(self, request, client_address):
            self.open_sockets.add(request)
            super().process_request(request, client_address)

        def server_close(self):
            super().server_close()
            for sock in list(self.open_sockets):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    fake_bot_api.ThreadingHTTPServer = FixedPortServer
    return fake_bot_api.FakeBotApi()


def outbox_counts() -> dict:
    from outbox.models import OutboxMessage

    return dict(Counter(OutboxMessage.objects.values_list("status", flat=True)))


def wait_until_sent(limit: float) -> float | None:
    from outbox.models import OutboxMessage

    started = time.monotonic()
    while time.monotonic() - started < limit:
        if not OutboxMessage.objects.filter(status="PENDING").exists():
            return time.monotonic() - started
        time.sleep(0.5)
    return None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="bot outage drill")
    parser.add_argument("--down-seconds", type=int, default=120)
    parser.add_argument("--pacts", type=int, default=40)
    args = parser.parse_args(argv)
    common.ensure_database()
    common.configure()
    common.migrate()
    common.reset_data()
    outcome = common.Outcome("bot_outage")
    port = common.free_port()
    api = stand_in(port).start()
    env = dict(
        os.environ,
        TELEGRAM_API_URL=api.url,
        TELEGRAM_BOT_TOKEN=api.token,
        PYTHONPATH=str(common.ROOT),
    )
    log = open(common.LOG_DIR / "deliver_outbox.log", "w")  # noqa: SIM115
    sender = subprocess.Popen(
        [sys.executable, "manage.py", "deliver_outbox", "--loop", "--interval", "0.5"],
        cwd=common.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        pacts = common.seed_pacts(args.pacts, label="bot")
        took = wait_until_sent(120)
        outcome.figure("phase 1 (up): delivered", f"{len(api.calls_to('sendMessage'))} "
                       f"messages in {took and round(took, 1)} s")  # fmt: skip
        api.stop()
        down_at = time.monotonic()
        outcome.figure("stand-in down for", f"{args.down_seconds} s")
        from datetime import date

        from pacts.actions import day_for, pact_for
        from pacts.models import User

        queued = 0
        for p in pacts:
            if time.monotonic() - down_at > args.down_seconds - 3:
                break
            user = User.objects.get(pk=p.initiator_id)
            day_for(pact_for(user, p.pact_id), date.fromisoformat(p.today)).check_in(user)
            queued += 2
            time.sleep(3)
        time.sleep(max(0.0, down_at + args.down_seconds - time.monotonic()))
        during = outbox_counts()
        outcome.figure("queued while down (messages)", queued)
        outcome.figure("outbox when the stand-in returns", during)
        api.start()
        took = wait_until_sent(360)
        outcome.figure("after it returned, all delivered in", f"{took and round(took, 1)} s")
    finally:
        if sender.poll() is None:
            os.killpg(sender.pid, signal.SIGINT)
            try:
                sender.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(sender.pid, signal.SIGKILL)
                sender.wait(5)
        api.stop()
    from outbox.models import OutboxMessage

    final = outbox_counts()
    rows = OutboxMessage.objects.count()
    sends = Counter((c.chat_id, c.params.get("text")) for c in api.calls_to("sendMessage"))
    twice = {k: v for k, v in sends.items() if v > 1}
    attempts = Counter(OutboxMessage.objects.values_list("attempts", flat=True))
    outcome.figure("outbox at the end", final)
    outcome.figure("attempts per row (attempts: rows)", dict(sorted(attempts.items())))
    outcome.figure("sendMessage calls answered", sum(sends.values()))
    outcome.expect(took is not None, "every message delivered after the stand-in returned")
    outcome.expect(final == {"SENT": rows}, f"all {rows} outbox rows SENT")
    outcome.expect(not twice, f"no message delivered twice ({len(twice)})")
    outcome.expect(len(sends) == rows, f"one delivery per row ({len(sends)} for {rows})")
    return outcome.finish()


if __name__ == "__main__":
    sys.exit(main())
