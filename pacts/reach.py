"""Rule 17: whether the bot can reach a user, and what happens when that changes.

Telegram lets a bot write only to someone who started it or allowed it to write. We
learn that from several signals, each with the moment it was true:

    allowed   /start (or any private message) · a `write_access_allowed` service
              message · `allows_write_to_pm` in signed initData · the Mini App saying
              `requestWriteAccess()` was granted · unblocking the bot (`my_chat_member`)
    refused   a 403 ("bot can't initiate conversation", "bot was blocked") or
              "chat not found" on delivery · blocking the bot (`my_chat_member`)

`record_reach` keeps the newest: a signal older than the last one recorded changes
nothing (an initData signed before a 403 does not undo it; a fresh launch does). When a
user becomes reachable, the messages that could not be delivered to them and are still
current (`is_current`, one rule per kind) are queued again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.apps import apps
from django.db import connection
from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone

from habitpact.auth import write_access_in_init_data
from outbox.models import OutboxMessage

from .models import PactDay, User

log = logging.getLogger(__name__)

# News ("X checked in", "deadline passed") is worth sending late for this long; after
# that it would only confuse. The weekly summary lasts until the next one.
NEWS_SHELF_LIFE = timedelta(days=3)
SHELF_LIFE = {"weekly_summary": timedelta(days=7)}
LONGEST_SHELF_LIFE = max([NEWS_SHELF_LIFE, *SHELF_LIFE.values()])


def _day(message: OutboxMessage) -> PactDay | None:
    day_id = message.payload.get("day_id")
    return PactDay.objects.filter(pk=day_id).first() if day_id else None


def _reminder_current(message: OutboxMessage, now: datetime) -> bool:
    """A reminder only while the day can still be checked in (its deadline ahead)."""
    day = _day(message)
    return day is not None and day.status == PactDay.Status.PENDING and now < day.deadline_at


def _checkin_current(message: OutboxMessage, now: datetime) -> bool:
    """ "X checked in, dispute until …" only while it can still be disputed."""
    day = _day(message)
    return day is not None and day.status == PactDay.Status.DONE and day.dispute_window_open(now)


def _dispute_current(message: OutboxMessage, now: datetime) -> bool:
    """A dispute notice only while the dispute is open."""
    day = _day(message)
    return (
        day is not None
        and day.status == PactDay.Status.DISPUTED
        and day.dispute_resolve_until is not None
        and now < day.dispute_resolve_until
    )


def _settlement_current(message: OutboxMessage, now: datetime) -> bool:
    """A settlement proposal only while it waits for confirmation. (The ledger sits above
    pacts, so its model is looked up by name.)"""
    settlement = apps.get_model("ledger", "Settlement")
    return settlement.objects.filter(
        pk=message.payload.get("settlement_id"), status="PENDING"
    ).exists()


# Kinds that ask for something by a time: current only while that can still be done.
STILL_CURRENT: dict[str, Callable[[OutboxMessage, datetime], bool]] = {
    "reminder": _reminder_current,
    "checkin_partner": _checkin_current,
    "dispute_opened_initiator": _dispute_current,
    "dispute_opened_partner": _dispute_current,
    "settlement_proposed": _settlement_current,
}


def is_current(message: OutboxMessage, now: datetime | None = None) -> bool:
    """Whether a message that could not be delivered is still worth sending now: younger
    than its kind's shelf life (news), and for the kinds that ask for something by a
    time (STILL_CURRENT), only while that can still be done."""
    now = now or timezone.now()
    if now - message.created_at > SHELF_LIFE.get(message.kind, NEWS_SHELF_LIFE):
        return False
    rule = STILL_CURRENT.get(message.kind)
    return rule is None or rule(message, now)


def record_reach(user: User, *, allowed: bool, at: datetime, source: str) -> bool:
    """Record a signal that the bot can (`allowed`) or cannot reach `user`, true at `at`.

    1. Flip the flag if it says otherwise and no newer signal was recorded (one
       conditional UPDATE, so two signals racing settle on the newest).
    2. Otherwise just stamp the newer time on the same answer.
    3. On a flip to allowed, queue again the undelivered messages still current.
    Returns whether the flag flipped. `user` is updated in memory to match.
    """
    not_newer = Q(can_receive_messages_changed_at__isnull=True) | Q(
        can_receive_messages_changed_at__lt=at
    )
    rows = User.objects.filter(not_newer, pk=user.pk)
    flipped = bool(
        rows.exclude(can_receive_messages=allowed).update(
            can_receive_messages=allowed, can_receive_messages_changed_at=at
        )
    )
    if not flipped:
        rows.update(can_receive_messages_changed_at=at)
    user.refresh_from_db(fields=["can_receive_messages", "can_receive_messages_changed_at"])
    if flipped:
        log.info(
            "user_reach_changed",
            extra={"user_id": str(user.pk), "allowed": allowed, "source": source},
        )
        if allowed:
            requeue_current(user)
    return flipped


def messages_allowed(user: User, *, source: str, at: datetime | None = None) -> bool:
    return record_reach(user, allowed=True, at=at or timezone.now(), source=source)


def messages_refused(user: User, *, source: str, at: datetime | None = None) -> bool:
    return record_reach(user, allowed=False, at=at or timezone.now(), source=source)


def requeue_current(user: User, now: datetime | None = None) -> int:
    """Queue again `user`'s undelivered messages that are still current; the rest stay
    UNDELIVERABLE. Returns how many were queued."""
    now = now or timezone.now()
    undelivered = OutboxMessage.objects.filter(
        user=user,
        status=OutboxMessage.Status.UNDELIVERABLE,
        created_at__gte=now - LONGEST_SHELF_LIFE,
    ).order_by("created_at", "id")
    ids = [message.pk for message in undelivered if is_current(message, now)]
    queued = OutboxMessage.objects.filter(
        pk__in=ids, status=OutboxMessage.Status.UNDELIVERABLE
    ).update(status=OutboxMessage.Status.PENDING, next_attempt_at=now, last_error="")
    if queued:
        log.info("outbox_requeued", extra={"user_id": str(user.pk), "count": queued})
        if connection.vendor == "postgresql":
            # Wake the sender now, as a new row would (its trigger fires on INSERT only).
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_notify('outbox', '')")
    return queued


@receiver(write_access_in_init_data)
def _allowed_in_init_data(sender: type, *, user: User, at: datetime | None, **_: object) -> None:
    messages_allowed(user, source="init_data", at=at)
