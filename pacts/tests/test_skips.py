"""Rule 8 (the skip allowance) and rule 9 (skip requests), through the domain.

The `pact` fixture: Alex (initiator) and Sam (partner), every day, 21:00 London, active
from Monday 2025-01-20 09:00 UTC (the clock), 2 free skips a month by default.
"""

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction

from conftest import make_active_pact, make_terms, make_user
from habitpact.errors import DomainError
from ledger.models import LedgerEntry
from outbox.models import OutboxMessage
from pacts.actions import day_for, pact_create, pact_end
from pacts.models import Pact, PactDay, SkipRequest
from pacts.sweeps import process_deadlines

pytestmark = pytest.mark.django_db

MONDAY = date(2025, 1, 20)


def at(day: int, hour: int, minute: int = 0, month: int = 1) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


def day_of(pact, day=MONDAY):
    return day_for(pact, day)


def refused(code, fn, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        fn(*args, **kwargs)
    assert caught.value.code == code, caught.value
    return caught.value


def messages(kind, user=None):
    found = OutboxMessage.objects.filter(kind=kind)
    return list(found.filter(user=user) if user is not None else found)


# --- the allowance (rule 8) ------------------------------------------------------------


def test_a_new_pact_allows_two_free_skips_a_month_unless_it_says_otherwise(clock, initiator):
    assert pact_create(initiator=initiator, terms=make_terms()).skips_per_month == 2
    pact = pact_create(initiator=initiator, terms=make_terms(skips_per_month=0))
    assert pact.skips_per_month == 0


@pytest.mark.parametrize("value", [-1, 11, True, "2", None])
def test_an_allowance_outside_0_to_10_is_refused_with_the_field(clock, initiator, value):
    error = refused(
        "VALIDATION_ERROR",
        pact_create,
        initiator=initiator,
        terms=make_terms(skips_per_month=value),
    )
    assert set(error.details) == {"skips_per_month"}
    assert Pact.objects.count() == 0


def test_the_database_refuses_an_allowance_over_ten(pact):
    with pytest.raises(IntegrityError), transaction.atomic():
        Pact.objects.filter(pk=pact.pk).update(skips_per_month=11)


def test_the_initiators_skips_use_the_allowance_and_the_third_is_refused(clock, pact, initiator):
    for offset in (0, 1):
        day_of(pact, MONDAY + timedelta(days=offset)).skip(initiator)
        clock.shift(timedelta(days=1))
    assert pact.skip_allowance(date(2025, 1, 22)).used == 2
    third = day_of(pact, date(2025, 1, 22))
    assert not third.can_skip(initiator)
    error = refused("SKIP_ALLOWANCE_USED", third.skip, initiator)
    assert error.http_status == 409
    assert error.details == {"month": "2025-01", "allowed": 2, "used": 2}
    assert "Ask Sam to skip instead" in error.message
    third.refresh_from_db()
    assert third.status == PactDay.Status.PENDING and third.skipped_at is None


def test_the_allowance_is_per_calendar_month_in_the_pacts_zone(clock, partner):
    kenji = make_user("Kenji", tz="Asia/Tokyo")
    clock.move_to(at(29, 0))  # 09:00 on Jan 29 in Tokyo
    pact = make_active_pact(kenji, partner, start_date=date(2025, 1, 29), skips_per_month=1)
    day_of(pact, date(2025, 1, 29)).skip(kenji)
    refused("SKIP_ALLOWANCE_USED", day_of(pact, date(2025, 1, 30)).skip, kenji)
    # Jan 31 16:00 UTC is already Feb 1 in Tokyo: February's skip, not January's.
    clock.move_to(at(31, 16))
    day_of(pact, date(2025, 2, 1)).skip(kenji)
    assert pact.skip_allowance(date(2025, 2, 1)).used == 1
    assert pact.skip_allowance(date(2025, 1, 5)).used == 1


def test_the_partners_skip_never_uses_the_allowance(clock, pact, initiator, partner):
    Pact.objects.filter(pk=pact.pk).update(skips_per_month=0)
    pact.refresh_from_db()
    day = day_of(pact)
    assert not day.can_skip(initiator) and day.can_skip(partner)
    day.skip(partner)
    day.refresh_from_db()
    assert (day.status, day.skipped_by_user_id, day.skip_used_allowance) == (
        PactDay.Status.SKIPPED,
        partner.pk,
        False,
    )
    assert pact.skip_allowance(MONDAY).used == 0


def test_no_free_skips_at_all_says_so(clock, initiator, partner):
    pact = make_active_pact(initiator, partner, skips_per_month=0)
    error = refused("SKIP_ALLOWANCE_USED", day_of(pact).skip, initiator)
    assert error.message == "This pact has no free skips. Ask Sam to skip instead."


# --- skip requests (rule 9) -----------------------------------------------------------


def test_the_initiator_asks_and_the_partner_is_told_once(clock, pact, initiator, partner):
    day = day_of(pact)
    assert day.can_request_skip(initiator) and not day.can_request_skip(partner)
    request = day.request_skip(initiator, reason="  Sick as a dog 🤒 ")
    assert (request.status, request.reason, request.requested_at) == (
        SkipRequest.Status.OPEN,
        "Sick as a dog 🤒",
        at(20, 9),
    )
    assert day_of(pact).skip_request == request
    [message] = messages("skip_requested")
    assert message.user_id == partner.pk
    assert message.payload["request_id"] == str(request.pk)
    # A retry with the same reason is the same request and tells nobody again.
    assert day.request_skip(initiator, reason="Sick as a dog 🤒") == request
    assert len(messages("skip_requested")) == 1 and SkipRequest.objects.count() == 1


def test_a_second_request_while_one_is_open_is_refused(clock, pact, initiator):
    day = day_of(pact)
    day.request_skip(initiator, reason="Sick")
    assert not day.can_request_skip(initiator)
    refused("SKIP_REQUEST_OPEN", day.request_skip, initiator, reason="Really sick")
    assert SkipRequest.objects.count() == 1


def test_the_database_allows_one_open_request_per_day(clock, pact, initiator):
    day = day_of(pact)
    SkipRequest.objects.create(day=day, requested_by_user=initiator)
    with pytest.raises(IntegrityError), transaction.atomic():
        SkipRequest.objects.create(day=day, requested_by_user=initiator)
    SkipRequest.objects.update(status=SkipRequest.Status.DECLINED, answered_at=at(20, 10))
    SkipRequest.objects.create(day=day, requested_by_user=initiator)  # closed ones don't count


@pytest.mark.parametrize(
    ("who", "reason", "code"),
    [
        ("partner", "", "FORBIDDEN_WRONG_ROLE"),
        ("stranger", "", "FORBIDDEN_NOT_PARTICIPANT"),
        ("initiator", "x" * 501, "VALIDATION_ERROR"),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(pact, request, who, reason, code):
    refused(code, day_of(pact).request_skip, request.getfixturevalue(who), reason=reason)
    assert SkipRequest.objects.count() == 0 and messages("skip_requested") == []


def test_a_request_needs_a_pending_day_before_its_deadline(clock, pact, initiator):
    day_of(pact).check_in(initiator)
    refused("INVALID_STATE_TRANSITION", day_of(pact).request_skip, initiator)
    clock.move_to(at(21, 21))  # Tuesday's deadline has passed, not yet swept
    refused("INVALID_STATE_TRANSITION", day_of(pact, date(2025, 1, 21)).request_skip, initiator)
    assert SkipRequest.objects.count() == 0


def test_approving_skips_the_day_as_the_partners_skip(clock, pact, initiator, partner):
    Pact.objects.filter(pk=pact.pk).update(skips_per_month=0)
    pact.refresh_from_db()
    day = day_of(pact)
    request = day.request_skip(initiator, reason="Sick")
    assert day.can_answer_skip(partner) and not day.can_answer_skip(initiator)
    clock.shift(timedelta(minutes=5))
    day.approve_skip(partner)
    day.refresh_from_db()
    request.refresh_from_db()
    assert (day.status, day.skipped_by_user_id, day.skip_used_allowance) == (
        PactDay.Status.SKIPPED,
        partner.pk,
        False,
    )
    assert (request.status, request.answered_by_user_id, request.answered_at) == (
        SkipRequest.Status.APPROVED,
        partner.pk,
        at(20, 9, 5),
    )
    [told] = messages("skip_request_answered")
    assert (told.user_id, told.payload["outcome"]) == (initiator.pk, "APPROVED")
    assert messages("day_skipped") == []  # the outcome message says it
    # A double tap or a retry: the same answer, nothing new.
    day_of(pact).approve_skip(partner)
    assert len(messages("skip_request_answered")) == 1
    assert LedgerEntry.objects.count() == 0


def test_declining_keeps_the_day_and_no_second_ask(clock, pact, initiator, partner):
    day = day_of(pact)
    day.request_skip(initiator, reason="Tired")
    day.decline_skip(partner)
    day.decline_skip(partner)  # idempotent
    day.refresh_from_db()
    assert day.status == PactDay.Status.PENDING
    assert day.skip_request.status == SkipRequest.Status.DECLINED
    [told] = messages("skip_request_answered")
    assert told.payload["outcome"] == "DECLINED"
    error = refused("INVALID_STATE_TRANSITION", day.request_skip, initiator, reason="Pleeease")
    assert "already said no" in error.message
    refused("INVALID_STATE_TRANSITION", day.approve_skip, partner)
    assert day_of(pact).status == PactDay.Status.PENDING


@pytest.mark.parametrize("answer", ["approve_skip", "decline_skip"])
def test_only_the_partner_answers_and_only_an_open_request(pact, initiator, partner, answer):
    day = day_of(pact)
    refused("INVALID_STATE_TRANSITION", getattr(day, answer), partner)  # nothing asked
    day.request_skip(initiator)
    refused("FORBIDDEN_WRONG_ROLE", getattr(day, answer), initiator)
    assert day_of(pact).skip_request.status == SkipRequest.Status.OPEN


def test_an_unanswered_request_lapses_at_the_deadline(clock, pact, initiator, partner):
    day = day_of(pact)
    request = day.request_skip(initiator, reason="Sick")
    clock.move_to(at(20, 21))
    refused("INVALID_STATE_TRANSITION", day.approve_skip, partner)  # too late, not yet swept
    process_deadlines()
    process_deadlines()
    request.refresh_from_db()
    assert request.status == SkipRequest.Status.LAPSED and request.answered_at == at(20, 21)
    assert day_of(pact).status == PactDay.Status.MISSED
    [told] = messages("skip_request_answered")
    assert (told.user_id, told.payload["outcome"]) == (initiator.pk, "LAPSED")
    error = refused("INVALID_STATE_TRANSITION", day_of(pact).approve_skip, partner)
    assert "lapsed" in error.message


def test_a_check_in_lapses_the_open_request_without_a_message(clock, pact, initiator, partner):
    day = day_of(pact)
    day.request_skip(initiator)
    day.check_in(initiator)
    assert day_of(pact).skip_request.status == SkipRequest.Status.LAPSED
    assert messages("skip_request_answered") == []
    refused("INVALID_STATE_TRANSITION", day_of(pact).approve_skip, partner)


def test_the_partners_own_skip_answers_an_open_request_yes(clock, pact, initiator, partner):
    day = day_of(pact)
    day.request_skip(initiator)
    day.skip(partner)
    assert day_of(pact).skip_request.status == SkipRequest.Status.APPROVED
    [told] = messages("skip_request_answered")
    assert told.payload["outcome"] == "APPROVED"
    assert messages("day_skipped") == []


def test_ending_the_pact_lapses_an_overdue_request_and_tells_the_initiator(
    clock, pact, initiator, partner
):
    day_of(pact).request_skip(initiator)
    clock.move_to(at(20, 22))
    pact_end(pact, partner)
    assert SkipRequest.objects.get().status == SkipRequest.Status.LAPSED
    assert [m.payload["outcome"] for m in messages("skip_request_answered")] == ["LAPSED"]


TRIGGERS = {"pacts_updated_at", "pact_days_updated_at", "skip_requests_updated_at"}


def trigger_names() -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        return {row[0] for row in cursor.fetchall()}


def test_the_updated_at_triggers_survive_migration_0013(db):
    """0013 rebuilds `pacts` and `pact_days` on SQLite (which drops their triggers, so
    it restores them) and gives `skip_requests` its own, on both engines."""
    assert trigger_names() >= TRIGGERS


@pytest.mark.django_db(transaction=True)
def test_a_raw_update_still_moves_updated_at_on_the_new_and_rebuilt_tables(initiator, partner):
    """The behaviour behind the triggers: an UPDATE that leaves updated_at alone still
    moves it. Committed transactions, since PostgreSQL's NOW() is the transaction's."""
    with time_machine.travel(at(20, 9), tick=False):
        pact = make_active_pact(initiator, partner)
        day = day_of(pact)
        day.request_skip(initiator)

    def stamps():
        return {
            "pacts": Pact.objects.get().updated_at,
            "pact_days": PactDay.objects.get(pk=day.pk).updated_at,
            "skip_requests": SkipRequest.objects.get().updated_at,
        }

    before = stamps()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE pacts SET title = 'Gym 2'")
        cursor.execute("UPDATE pact_days SET checkin_note = 'x'")
        cursor.execute("UPDATE skip_requests SET reason = 'y'")
    after = stamps()
    for table in before:
        assert after[table] > before[table], table


def test_a_deadline_at_midnight_is_still_before_the_end_of_the_day(clock, initiator, partner):
    """Rule 12: a 00:00 deadline is the end of the day, so a request at 23:00 is in time."""
    pact = make_active_pact(initiator, partner, deadline_time=time(0, 0))
    clock.move_to(at(20, 23))
    assert day_of(pact).request_skip(initiator).status == SkipRequest.Status.OPEN


@pytest.mark.django_db(transaction=True)
def test_migration_0013_reverses_and_reapplies_keeping_the_triggers():
    from django.core.management import call_command

    call_command("migrate", "pacts", "0012", verbosity=0)
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    assert "skip_requests" not in tables
    assert {"pacts_updated_at", "pact_days_updated_at"} <= trigger_names()
    call_command("migrate", "pacts", verbosity=0)
    assert trigger_names() >= TRIGGERS


@pytest.mark.django_db
def test_the_fair_play_counts_show_the_answered_skip_requests(clock, pact, initiator, partner):
    from pacts.actions import pact_stats

    pact.skips_per_month = 0
    pact.save(update_fields=["skips_per_month"])
    monday, tuesday = (day_for(pact, date(2025, 1, 20)), day_for(pact, date(2025, 1, 21)))
    monday.request_skip(initiator, reason="Flu")
    monday.approve_skip(partner)
    tuesday.request_skip(initiator)
    tuesday.decline_skip(partner)
    stats = pact_stats(pact)
    assert (stats.skip_requests_approved, stats.skip_requests_declined) == (1, 1)
    # The partner's approved skip is not one of the initiator's free skips (rule 8).
    assert stats.skips_used_this_month == 0
