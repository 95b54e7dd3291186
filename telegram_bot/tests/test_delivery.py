"""Draining the outbox against the fake Bot API over real HTTP: success, 429, 500,
timeouts, 403, bad rows, a crash between send and mark, and no token at all."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from outbox.models import OutboxMessage
from telegram_bot import delivery
from telegram_bot.delivery import (
    BACKOFF_CAP,
    GIVE_UP_AFTER,
    LEASE,
    Drain,
    LogTransport,
    RateLimiter,
    TelegramTransport,
    deliver_outbox,
    sender_lock,
)

from .fake_bot_api import Fault
from .test_rate_limit import FakeClock

pytestmark = pytest.mark.usefixtures("fake_api")


def drain(**options):
    clock = options.pop("clock", None) or FakeClock()
    return deliver_outbox(clock=clock, sleep=clock.sleep, **options)


def only_row(user, kind="pact_accepted") -> OutboxMessage:
    return OutboxMessage.objects.get(user=user, kind=kind)


def test_a_due_message_is_sent_once_as_html_with_its_keyboard(fake_api, pact, initiator):
    report = drain()
    assert report.sent == 1
    [call] = fake_api.calls_to("sendMessage")
    assert "x-www-form-urlencoded" in call.content_type  # what PTB sends
    assert call.chat_id == initiator.telegram_user_id
    assert call.params["parse_mode"] == "HTML"
    assert call.params["text"].startswith("🤝 <b>Sam</b> accepted your pact <b>Gym 🏋️</b>!")
    assert call.params["reply_markup"] == {
        "inline_keyboard": [
            [
                {
                    "text": "Open Pact →",
                    "web_app": {"url": f"https://app.example.com/pacts/{pact.pk}"},
                }
            ]
        ]
    }
    row = only_row(initiator)
    assert (row.status, row.attempts, row.sent_at, row.last_error) == (
        "SENT",
        1,
        timezone.now(),
        "",
    )
    assert drain().sent == 0
    assert len(fake_api.calls_to("sendMessage")) == 1


def test_429_waits_retry_after_without_counting_an_attempt(fake_api, pact, initiator):
    fake_api.fail_next("sendMessage", Fault.too_many(retry_after=7))
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    report = drain(clock=clock, limiter=limiter)
    assert report.rate_limited == 1
    row = only_row(initiator)
    assert (row.status, row.attempts) == ("PENDING", 0)
    assert row.next_attempt_at == timezone.now() + timedelta(seconds=7)
    assert "Flood control exceeded" in row.last_error
    assert limiter.capacity() == 0 and limiter.wait(1) == pytest.approx(7)


def test_429_later_succeeds_when_due_again(clock, fake_api, pact, initiator):
    fake_api.fail_next("sendMessage", Fault.too_many(retry_after=3))
    drain()
    clock.shift(timedelta(seconds=3))
    assert drain().sent == 1
    assert only_row(initiator).status == "SENT"
    assert len(fake_api.calls_to("sendMessage")) == 2


def test_a_server_error_is_retried_with_growing_backoff(clock, fake_api, pact, initiator):
    fake_api.fail_next("sendMessage", Fault.server_error(), times=2)
    assert drain().retried == 1
    row = only_row(initiator)
    assert (row.status, row.attempts) == ("PENDING", 1)
    assert row.next_attempt_at == timezone.now() + timedelta(seconds=30)
    assert "Internal Server Error" in row.last_error
    assert drain().sent == 0  # not due yet
    clock.shift(timedelta(seconds=30))
    drain()
    row.refresh_from_db()
    assert row.attempts == 2
    assert row.next_attempt_at == timezone.now() + timedelta(seconds=60)
    clock.shift(timedelta(seconds=60))
    assert drain().sent == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == ("SENT", 3, "")


def test_an_outage_of_many_attempts_loses_nothing(fake_api, clock, pact, initiator):
    OutboxMessage.objects.filter(user=initiator).update(attempts=40)
    fake_api.fail_next("sendMessage", Fault.server_error())
    assert drain().retried == 1
    row = only_row(initiator)
    assert (row.status, row.attempts) == ("PENDING", 41)
    assert row.next_attempt_at == timezone.now() + BACKOFF_CAP
    clock.shift(BACKOFF_CAP)
    assert drain().sent == 1


def test_a_message_a_day_old_is_given_up_after_one_more_failure(fake_api, clock, pact, initiator):
    clock.shift(GIVE_UP_AFTER)
    fake_api.fail_next("sendMessage", Fault.server_error())
    assert drain().failed == 1
    row = only_row(initiator)
    assert row.status == "FAILED" and "Internal Server Error" in row.last_error


def test_a_timeout_is_retried(fake_api, pact, initiator):
    fake_api.fail_next("sendMessage", Fault.hanging())
    assert drain().retried == 1
    row = only_row(initiator)
    assert (row.status, row.attempts) == ("PENDING", 1)
    assert "TimedOut" in row.last_error


def test_a_user_who_blocked_the_bot_is_undeliverable_and_never_retried(
    clock, fake_api, pact, initiator
):
    fake_api.block_chat(initiator.telegram_user_id)
    assert drain().undeliverable == 1
    row = only_row(initiator)
    assert (row.status, row.attempts) == ("UNDELIVERABLE", 1)
    assert "blocked" in row.last_error
    clock.shift(timedelta(days=1))
    drain()
    assert len(fake_api.calls_to("sendMessage")) == 1


def test_chat_not_found_is_undeliverable_and_other_bad_requests_fail(
    fake_api, pact, initiator, partner
):
    from outbox.models import notify

    notify(partner, "pact_accepted", "again", pact_id=str(pact.pk), by=partner)
    fake_api.fail_next("sendMessage", Fault.chat_not_found())
    fake_api.fail_next("sendMessage", Fault.bad_request())
    report = drain()
    assert (report.undeliverable, report.failed) == (1, 1)
    statuses = sorted(OutboxMessage.objects.values_list("status", flat=True))
    assert statuses == ["FAILED", "UNDELIVERABLE"]


def test_rows_that_cannot_be_rendered_fail_with_a_reason_and_the_rest_still_go(
    fake_api, pact, initiator
):
    OutboxMessage.objects.create(
        user=initiator, chat_id=initiator.telegram_user_id, kind="mystery", dedupe_key="x1"
    )
    OutboxMessage.objects.create(
        user=initiator,
        chat_id=initiator.telegram_user_id,
        kind="missed",
        dedupe_key="x2",
        payload={"pact_id": "00000000-0000-0000-0000-000000000000"},
    )
    report = drain()
    assert (report.sent, report.failed) == (1, 2)
    failed = dict(OutboxMessage.objects.filter(status="FAILED").values_list("kind", "last_error"))
    assert failed == {
        "mystery": "unknown kind: mystery",
        "missed": "gone: pact 00000000-0000-0000-0000-000000000000",
    }


class CrashAfterSend(TelegramTransport):
    def submit(self, *args, **kwargs):
        super().submit(*args, **kwargs).result()  # it went out...
        raise RuntimeError("power cut after sending, before marking")


def test_a_crash_between_send_and_mark_resends_rather_than_skips(clock, fake_api, pact, initiator):
    with pytest.raises(RuntimeError, match="power cut"):
        drain(transport=CrashAfterSend())
    row = only_row(initiator)
    assert row.status == "PENDING"  # still owed
    assert drain().sent == 0  # leased: no one resends it at once
    clock.shift(LEASE)
    assert drain().sent == 1
    assert only_row(initiator).status == "SENT"
    assert len(fake_api.calls_to("sendMessage")) == 2


def test_a_rejected_token_stops_the_drain_and_changes_nothing(settings, fake_api, pact, initiator):
    settings.TELEGRAM_BOT_TOKEN = "999:WRONG"
    report = drain()
    assert report.aborted and report.sent == 0
    row = only_row(initiator)
    assert (row.status, row.attempts) == ("PENDING", 0)
    assert row.next_attempt_at <= timezone.now()


def test_without_a_token_messages_go_to_the_log(settings, caplog, fake_api, pact, initiator):
    settings.TELEGRAM_BOT_TOKEN = ""
    assert isinstance(delivery.make_transport(), LogTransport)
    with caplog.at_level(logging.INFO, logger="telegram_bot.delivery"):
        assert drain().sent == 1
    logged = [r for r in caplog.records if r.msg == "bot_message_logged"]
    assert logged[0].chat_id == initiator.telegram_user_id
    assert "accepted your pact" in logged[0].text
    # As the person reads it: Telegram's HTML tags dropped, entities decoded.
    assert logged[0].text.startswith("🤝 Sam accepted your pact Gym 🏋️!")
    assert "<b>" not in logged[0].text
    assert only_row(initiator).status == "SENT"
    assert fake_api.calls_to("sendMessage") == []


def test_the_scheduled_task_drains_and_reports(fake_api, pact):
    from telegram_bot.tasks import deliver_outbox as task

    assert task()["sent"] == 1


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_never_take_the_same_row(clock, initiator, partner):
    OutboxMessage.objects.bulk_create(
        OutboxMessage(user=initiator, chat_id=1, kind="k", dedupe_key=f"c{i}") for i in range(60)
    )
    barrier = threading.Barrier(3)
    claimed: list[list[int]] = []

    def worker():
        try:
            barrier.wait()
            claimed.append(
                [row.id for row in OutboxMessage.objects.claim(limit=25, now=timezone.now())]
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [i for batch in claimed for i in batch]
    assert len(ids) == len(set(ids)) == 60


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_only_one_sender_runs_at_a_time(fake_api, initiator):
    result = {}

    def second_sender():
        try:
            result["report"] = Drain(transport=LogTransport()).run()
        finally:
            connection.close()

    with sender_lock() as got:
        assert got
        thread = threading.Thread(target=second_sender)
        thread.start()
        thread.join()
    assert result["report"].busy
