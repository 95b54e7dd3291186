"""Rule 17: who the bot can reach, the newest signal winning, and which undelivered
messages go out again once it can (pacts.reach)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from ledger.actions import settlement_cancel, settlement_propose
from outbox.models import OutboxMessage, notify
from pacts.actions import day_for
from pacts.models import PactDay, User
from pacts.reach import (
    NEWS_SHELF_LIFE,
    is_current,
    messages_allowed,
    messages_refused,
    record_reach,
    requeue_current,
)
from pacts.sweeps import process_deadlines

MONDAY = date(2025, 1, 20)


def undeliverable(user: User, kind: str, key: str = "k", **facts) -> OutboxMessage:
    notify(user, kind, key, **facts)
    row = OutboxMessage.objects.get(user=user, kind=kind, dedupe_key__contains=f":{key}:")
    OutboxMessage.objects.filter(pk=row.pk).update(
        status=OutboxMessage.Status.UNDELIVERABLE, last_error="Forbidden: bot was blocked"
    )
    row.refresh_from_db()
    return row


def reloaded(user: User) -> User:
    return User.objects.get(pk=user.pk)


# --- the flag -------------------------------------------------------------------------


def test_a_new_user_cannot_be_reached_until_they_say_so(clock, db):
    user = User.objects.create_user(telegram_user_id=555, display_name="New")
    assert (user.can_receive_messages, user.can_receive_messages_changed_at) == (False, None)
    assert messages_allowed(user, source="start") is True
    assert (
        reloaded(user).can_receive_messages,
        reloaded(user).can_receive_messages_changed_at,
    ) == (
        True,
        timezone.now(),
    )


def test_a_signal_older_than_the_last_one_changes_nothing(clock, partner):
    now = timezone.now()
    messages_allowed(partner, source="start", at=now - timedelta(hours=2))
    assert messages_refused(partner, source="delivery", at=now) is True
    # initData signed an hour ago (before the refusal) still says "allowed": stale.
    assert messages_allowed(partner, source="init_data", at=now - timedelta(hours=1)) is False
    assert reloaded(partner).can_receive_messages is False
    # A fresh launch (signed after the refusal) wins.
    assert messages_allowed(partner, source="init_data", at=now + timedelta(minutes=1)) is True
    assert reloaded(partner).can_receive_messages is True


def test_the_same_answer_again_only_moves_the_time_on(clock, partner):
    now = timezone.now()
    messages_allowed(partner, source="start", at=now - timedelta(hours=1))
    assert record_reach(partner, allowed=True, at=now, source="start") is False
    user = reloaded(partner)
    assert (user.can_receive_messages, user.can_receive_messages_changed_at) == (True, now)
    # So a refusal from before that newer "allowed" no longer turns it off.
    assert messages_refused(partner, source="delivery", at=now - timedelta(minutes=1)) is False
    assert reloaded(partner).can_receive_messages is True


def test_the_users_updated_at_trigger_survives_the_migration(clock, partner):
    """0010 rebuilds `users` on SQLite (and 0007 did too): the trigger that keeps
    updated_at current on a bulk UPDATE is back on both engines."""
    before = reloaded(partner).updated_at
    clock.shift(timedelta(minutes=5))
    User.objects.filter(pk=partner.pk).update(display_name="Sammy")  # no auto_now here
    assert reloaded(partner).display_name == "Sammy"
    assert reloaded(partner).updated_at != before


# --- what is still current ------------------------------------------------------------


def test_a_reminder_is_current_only_while_its_day_can_be_checked_in(clock, pact, initiator):
    day = day_for(pact, MONDAY)
    row = undeliverable(initiator, "reminder", day=day)
    assert is_current(row)  # 09:00, the deadline is 21:00
    clock.move_to(day.deadline_at - timedelta(seconds=1))
    assert is_current(row)
    clock.move_to(day.deadline_at)
    assert not is_current(row)  # the deadline has passed


def test_a_reminder_for_a_day_already_checked_in_is_not_current(clock, pact, initiator):
    day = day_for(pact, MONDAY)
    row = undeliverable(initiator, "reminder", day=day)
    day.check_in(initiator)
    assert not is_current(row)


def test_a_check_in_notice_is_current_while_it_can_be_disputed(clock, pact, initiator, partner):
    day = day_for(pact, MONDAY).check_in(initiator)
    row = OutboxMessage.objects.get(user=partner, kind="checkin_partner")
    assert is_current(row)
    clock.move_to(day.dispute_open_until)
    assert not is_current(row)


def test_a_dispute_notice_is_current_while_the_dispute_is_open(clock, pact, initiator, partner):
    day = day_for(pact, MONDAY).check_in(initiator)
    day = PactDay.objects.get(pk=day.pk).dispute(partner, reason="No photo")
    row = OutboxMessage.objects.get(user=initiator, kind="dispute_opened_initiator")
    assert is_current(row)
    clock.move_to(day.dispute_resolve_until)
    assert not is_current(row)


def test_a_settlement_request_is_current_while_it_waits(clock, pact, initiator, partner):
    clock.shift(timedelta(hours=12, minutes=1))  # past Monday's deadline: £5 on the tab
    process_deadlines()
    settlement = settlement_propose(pact, initiator)
    row = OutboxMessage.objects.get(user=partner, kind="settlement_proposed")
    assert is_current(row)
    settlement_cancel(settlement, initiator)
    assert not is_current(row)


def test_news_is_current_for_its_shelf_life(clock, pact, initiator):
    row = OutboxMessage.objects.get(user=initiator, kind="pact_accepted")
    clock.shift(NEWS_SHELF_LIFE)
    assert is_current(row)
    clock.shift(timedelta(seconds=1))
    assert not is_current(row)


# --- queued again once allowed ------------------------------------------------------


def test_permission_given_queues_again_only_the_current_messages(clock, pact, initiator):
    day = day_for(pact, MONDAY)
    messages_refused(initiator, source="delivery")
    news = OutboxMessage.objects.get(user=initiator, kind="pact_accepted")
    OutboxMessage.objects.filter(pk=news.pk).update(status=OutboxMessage.Status.UNDELIVERABLE)
    reminder = undeliverable(initiator, "reminder", day=day)
    clock.move_to(day.deadline_at + timedelta(minutes=5))  # the reminder is stale now
    assert messages_allowed(initiator, source="write_access_allowed") is True
    news.refresh_from_db()
    reminder.refresh_from_db()
    assert (news.status, news.next_attempt_at, news.last_error) == (
        "PENDING",
        timezone.now(),
        "",
    )
    assert reminder.status == "UNDELIVERABLE"
    # Only a flip queues: saying it again changes nothing.
    OutboxMessage.objects.filter(pk=news.pk).update(status=OutboxMessage.Status.UNDELIVERABLE)
    assert messages_allowed(initiator, source="start") is False
    news.refresh_from_db()
    assert news.status == "UNDELIVERABLE"


def test_requeue_leaves_other_users_and_other_states_alone(clock, pact, initiator, partner):
    mine = undeliverable(initiator, "pact_ended", key="a")
    theirs = undeliverable(partner, "pact_ended", key="b")
    failed = undeliverable(initiator, "pact_declined", key="c")
    OutboxMessage.objects.filter(pk=failed.pk).update(status=OutboxMessage.Status.FAILED)
    assert requeue_current(initiator) == 1
    statuses = dict(
        OutboxMessage.objects.filter(pk__in=[mine.pk, theirs.pk, failed.pk]).values_list(
            "pk", "status"
        )
    )
    assert statuses == {mine.pk: "PENDING", theirs.pk: "UNDELIVERABLE", failed.pk: "FAILED"}


@pytest.mark.parametrize("kind", ["weekly_summary"])
def test_the_weekly_summary_keeps_for_a_week(clock, initiator, kind):
    row = undeliverable(initiator, kind, week_start="2025-01-13", week_end="2025-01-19")
    clock.shift(timedelta(days=7))
    assert is_current(row)
    clock.shift(timedelta(seconds=1))
    assert not is_current(row)
