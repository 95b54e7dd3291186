"""Every pact-day transition of spec §11, legal and illegal, by role and by time."""

from datetime import UTC, date, datetime, timedelta

import pytest

from conftest import make_active_pact
from habitpact.errors import DomainError
from ledger.models import LedgerEntry
from outbox.models import OutboxMessage
from pacts.actions import balance_of, day_for
from pacts.models import PactDay
from pacts.sweeps import expire_disputes, process_deadlines

pytestmark = pytest.mark.django_db

MONDAY = date(2025, 1, 20)


def at(hour, minute=0, day=20):
    return datetime(2025, 1, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def today(pact):
    return day_for(pact, MONDAY)


def refused(code, fn, *args, **kwargs):
    with pytest.raises(DomainError) as excinfo:
        fn(*args, **kwargs)
    assert excinfo.value.code == code, excinfo.value
    return excinfo.value


def done_day(today, initiator, note=None):
    return today.check_in(initiator, note=note, idempotency_key="k1")


# --- check-in ---------------------------------------------------------------------------


def test_initiator_checks_in_before_the_deadline(clock, today, initiator):
    day = today.check_in(initiator, note="30 mins cardio")
    day.refresh_from_db()
    assert day.status == PactDay.Status.DONE
    assert day.checked_in_at == at(9)
    assert day.dispute_open_until == at(21)  # 12 h window
    assert day.checkin_note == "30 mins cardio"
    kinds = set(OutboxMessage.objects.values_list("kind", flat=True))
    assert {"checkin_confirmed", "checkin_partner"} <= kinds


def test_check_in_at_the_last_second_counts(clock, today, initiator):
    clock.move_to(at(20, 59) + timedelta(seconds=59))
    assert today.check_in(initiator).status == PactDay.Status.DONE


def test_check_in_at_the_deadline_is_too_late_even_before_the_sweep(clock, today, initiator):
    clock.move_to(at(21))
    refused("INVALID_STATE_TRANSITION", today.check_in, initiator)
    today.refresh_from_db()
    assert today.status == PactDay.Status.PENDING


def test_partner_cannot_check_in(clock, today, partner):
    refused("FORBIDDEN_WRONG_ROLE", today.check_in, partner)


def test_stranger_cannot_check_in(clock, today, stranger):
    refused("FORBIDDEN_NOT_PARTICIPANT", today.check_in, stranger)


def test_cannot_check_in_for_tomorrow(clock, pact, initiator):
    tomorrow = day_for(pact, MONDAY + timedelta(days=1))
    refused("INVALID_STATE_TRANSITION", tomorrow.check_in, initiator)


def test_second_check_in_is_already_checked_in(clock, today, initiator):
    today.check_in(initiator)
    refused("ALREADY_CHECKED_IN", today.check_in, initiator, idempotency_key="other")


def test_same_key_and_payload_returns_the_first_result(clock, today, initiator):
    first = today.check_in(initiator, note="ran", idempotency_key="abc")
    clock.shift(timedelta(minutes=5))
    again = day_for(today.pact, MONDAY).check_in(initiator, note="ran", idempotency_key="abc")
    assert again.pk == first.pk and again.checked_in_at == first.checked_in_at
    assert OutboxMessage.objects.filter(kind="checkin_confirmed").count() == 1


def test_same_key_different_payload_is_a_mismatch(clock, today, initiator):
    today.check_in(initiator, note="ran", idempotency_key="abc")
    refused("IDEMPOTENCY_MISMATCH", today.check_in, initiator, note="swam", idempotency_key="abc")


def test_same_key_on_another_day_is_a_mismatch(clock, pact, today, initiator):
    today.check_in(initiator, idempotency_key="abc")
    clock.move_to(at(9, day=21))
    tomorrow = day_for(pact, MONDAY + timedelta(days=1))
    refused("IDEMPOTENCY_MISMATCH", tomorrow.check_in, initiator, idempotency_key="abc")
    tomorrow.refresh_from_db()
    assert tomorrow.status == PactDay.Status.PENDING


def test_cannot_check_in_on_an_ended_pact(clock, pact, today, initiator, partner):
    from pacts.actions import pact_end

    pact_end(pact, partner)
    refused("DAY_NOT_FOUND", today.check_in, initiator)


# --- deadline pass and manual miss ----------------------------------------------------


def test_deadline_sweep_marks_missed_with_one_forfeit_and_notifies_both(clock, pact, today):
    clock.move_to(at(21))
    assert process_deadlines() == 1
    assert process_deadlines() == 0
    today.refresh_from_db()
    assert today.status == PactDay.Status.MISSED
    forfeit = LedgerEntry.objects.get(pact_day=today)
    assert (forfeit.type, forfeit.amount) == (LedgerEntry.Type.FORFEIT, 500)
    assert forfeit.from_user == pact.initiator and forfeit.to_user == pact.partner
    assert OutboxMessage.objects.filter(kind="missed").count() == 2
    assert balance_of(pact) == 500


def test_deadline_sweep_leaves_days_before_their_deadline(clock, today):
    clock.move_to(at(20, 59))
    assert process_deadlines() == 0


def test_deadline_sweep_leaves_done_days_alone(clock, today, initiator):
    today.check_in(initiator)
    clock.move_to(at(23))
    assert process_deadlines() == 0
    assert not LedgerEntry.objects.exists()


def test_initiator_can_own_up_to_a_miss_before_the_deadline(clock, pact, today, initiator):
    day = today.miss(initiator)
    assert day.status == PactDay.Status.MISSED
    assert balance_of(pact) == 500
    clock.move_to(at(22))
    assert process_deadlines() == 0
    assert LedgerEntry.objects.count() == 1


def test_partner_cannot_mark_a_miss(clock, today, partner):
    refused("FORBIDDEN_WRONG_ROLE", today.miss, partner)


# --- skip ------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["initiator", "partner"])
def test_either_participant_may_skip_before_the_deadline(clock, today, who, request):
    user = request.getfixturevalue(who)
    day = today.skip(user)
    assert day.status == PactDay.Status.SKIPPED
    clock.move_to(at(22))
    assert process_deadlines() == 0
    assert not LedgerEntry.objects.exists()
    assert OutboxMessage.objects.filter(kind="day_skipped").exclude(user=user).count() == 1


def test_cannot_skip_after_the_deadline(clock, today, partner):
    clock.move_to(at(21))
    refused("INVALID_STATE_TRANSITION", today.skip, partner)


def test_cannot_skip_a_done_day(clock, today, initiator, partner):
    today.check_in(initiator)
    refused("INVALID_STATE_TRANSITION", today.skip, partner)


def test_stranger_cannot_skip(clock, today, stranger):
    refused("FORBIDDEN_NOT_PARTICIPANT", today.skip, stranger)


# --- dispute ---------------------------------------------------------------------------


def test_partner_disputes_within_the_window(clock, today, initiator, partner):
    done_day(today, initiator)
    clock.move_to(at(20))
    day = today.dispute(partner, reason="Didn't see you 🤔")
    assert day.status == PactDay.Status.DISPUTED
    assert day.dispute_resolve_until == at(8, day=21)  # 12 h to resolve
    kinds = set(OutboxMessage.objects.values_list("kind", flat=True))
    assert {"dispute_opened_initiator", "dispute_opened_partner"} <= kinds


def test_dispute_after_the_window_is_closed(clock, today, initiator, partner):
    done_day(today, initiator)
    clock.move_to(at(21))  # checked in at 09:00 + 12 h
    err = refused("DISPUTE_WINDOW_CLOSED", today.dispute, partner)
    assert err.details["window_end"] == at(21).isoformat()


def test_initiator_cannot_dispute(clock, today, initiator):
    done_day(today, initiator)
    refused("FORBIDDEN_WRONG_ROLE", today.dispute, initiator)


def test_cannot_dispute_a_pending_day(clock, today, partner):
    refused("INVALID_STATE_TRANSITION", today.dispute, partner)


def test_dispute_counts_as_checked_in_for_the_sweep(clock, today, initiator, partner):
    done_day(today, initiator)
    today.dispute(partner)
    clock.move_to(at(22))
    assert process_deadlines() == 0


# --- resolve ---------------------------------------------------------------------------


@pytest.fixture
def disputed(clock, today, initiator, partner):
    done_day(today, initiator)
    clock.move_to(at(12))
    return today.dispute(partner, reason="pics or it didn't happen")


def test_concede_makes_the_day_missed_with_a_forfeit(clock, disputed, initiator, pact):
    day = disputed.resolve(initiator, "CONCEDE")
    assert (day.status, day.resolution) == (PactDay.Status.MISSED, "CONCEDED")
    assert balance_of(pact) == 500
    assert OutboxMessage.objects.filter(kind="dispute_resolved").count() == 2


def test_reject_stands_by_the_check_in_and_partner_may_dispute_again(
    clock, disputed, initiator, partner
):
    day = disputed.resolve(initiator, "REJECT")
    assert (day.status, day.resolution) == (PactDay.Status.DONE, "REJECTED")
    clock.shift(timedelta(hours=1))
    again = day.dispute(partner, reason="still not convinced")
    assert again.status == PactDay.Status.DISPUTED and again.resolution is None
    assert OutboxMessage.objects.filter(kind="dispute_opened_initiator").count() == 2


def test_withdraw_by_partner(clock, disputed, partner, pact):
    day = disputed.resolve(partner, "WITHDRAW")
    assert (day.status, day.resolution) == (PactDay.Status.DONE, "WITHDRAWN")
    assert balance_of(pact) == 0


def messages(user, kind: str) -> int:
    return OutboxMessage.objects.filter(user=user, kind=kind).count()


def test_a_dispute_withdraw_loop_tells_the_initiator_once(clock, disputed, initiator, partner):
    """Rule 16: 20 dispute + withdraw cycles in 25 s (issue 11) are one dispute round."""
    opened_at = disputed.disputed_at
    day = disputed.resolve(partner, "WITHDRAW")
    for _ in range(19):
        clock.shift(timedelta(milliseconds=650))
        day = day.dispute(partner, reason="hmm")
        clock.shift(timedelta(milliseconds=650))
        day = day.resolve(partner, "WITHDRAW")
    assert messages(initiator, "dispute_opened_initiator") == 1
    assert messages(initiator, "dispute_resolved") == 1  # "withdrawn", once
    assert messages(partner, "dispute_opened_partner") == 1
    assert messages(partner, "dispute_resolved") == 1
    assert OutboxMessage.objects.filter(kind__startswith="dispute").count() == 4
    # The day still says when the round was opened.
    day.dispute(partner)
    assert day.disputed_at == opened_at
    assert day.status == PactDay.Status.DISPUTED


def test_a_dispute_after_a_reject_is_a_new_round(clock, disputed, initiator, partner):
    disputed.resolve(partner, "WITHDRAW")
    clock.shift(timedelta(minutes=1))
    disputed.dispute(partner)  # the same round still
    clock.shift(timedelta(minutes=1))
    disputed.resolve(initiator, "REJECT")
    clock.shift(timedelta(minutes=1))
    day = disputed.dispute(partner, reason="really?")
    assert day.disputed_at == at(12, 3)
    assert messages(initiator, "dispute_opened_initiator") == 2
    resolved = OutboxMessage.objects.filter(user=initiator, kind="dispute_resolved")
    assert sorted(m.payload["resolution"] for m in resolved) == ["REJECTED", "WITHDRAWN"]
    # A withdraw loop in the new round is again told once.
    day.resolve(partner, "WITHDRAW")
    clock.shift(timedelta(seconds=1))
    day.dispute(partner)
    day.resolve(partner, "WITHDRAW")
    assert messages(initiator, "dispute_opened_initiator") == 2
    assert messages(initiator, "dispute_resolved") == 3


def test_a_dispute_after_it_ran_out_is_a_new_round(clock, initiator, partner):
    pact = make_active_pact(initiator, partner, dispute_window_hours=48)
    today = day_for(pact, MONDAY).check_in(initiator)
    today.dispute(partner)
    clock.shift(timedelta(hours=12))  # the 12 h to resolve run out; 48 h to dispute
    assert expire_disputes() == 1
    today.refresh_from_db()
    today.dispute(partner)
    assert messages(initiator, "dispute_opened_initiator") == 2


@pytest.mark.parametrize(
    "who, resolution",
    [("partner", "CONCEDE"), ("partner", "REJECT"), ("initiator", "WITHDRAW")],
)
def test_resolution_by_the_wrong_role_is_refused(clock, disputed, who, resolution, request):
    refused("FORBIDDEN_WRONG_ROLE", disputed.resolve, request.getfixturevalue(who), resolution)
    disputed.refresh_from_db()
    assert disputed.status == PactDay.Status.DISPUTED


def test_unknown_resolution_is_a_validation_error(clock, disputed, initiator):
    refused("VALIDATION_ERROR", disputed.resolve, initiator, "SHRUG")


def test_resolving_after_the_resolution_window_is_refused(clock, disputed, initiator):
    clock.move_to(at(0, day=21))  # disputed at 12:00 → resolvable until 00:00
    refused("RESOLUTION_WINDOW_CLOSED", disputed.resolve, initiator, "CONCEDE")


def test_cannot_resolve_a_day_without_a_dispute(clock, today, initiator):
    done_day(today, initiator)
    refused("INVALID_STATE_TRANSITION", today.resolve, initiator, "REJECT")


def test_expired_dispute_stands_as_done(clock, disputed, pact):
    clock.move_to(at(23, 59))
    assert expire_disputes() == 0
    clock.move_to(at(0, day=21))
    assert expire_disputes() == 1
    assert expire_disputes() == 0
    disputed.refresh_from_db()
    assert (disputed.status, disputed.resolution) == (PactDay.Status.DONE, "DONE_STANDS")
    assert OutboxMessage.objects.filter(kind="dispute_expired").count() == 2
    assert balance_of(pact) == 0


# --- waive -----------------------------------------------------------------------------


def test_partner_waives_a_miss_with_a_reversing_entry(clock, pact, today, partner):
    clock.move_to(at(21, 5))
    process_deadlines()
    day = day_for(pact, MONDAY).waive(partner)
    assert day.status == PactDay.Status.WAIVED
    entries = dict(LedgerEntry.objects.filter(pact_day=day).values_list("type", "amount"))
    assert entries == {"FORFEIT": 500, "WAIVER": -500}
    assert balance_of(pact) == 0
    refused("INVALID_STATE_TRANSITION", day.waive, partner)
    assert LedgerEntry.objects.count() == 2


def test_initiator_cannot_waive_their_own_miss(clock, pact, today, initiator):
    clock.move_to(at(21, 5))
    process_deadlines()
    refused("FORBIDDEN_WRONG_ROLE", day_for(pact, MONDAY).waive, initiator)


def test_cannot_waive_a_done_day(clock, today, initiator, partner):
    today.check_in(initiator)
    refused("INVALID_STATE_TRANSITION", today.waive, partner)


def test_a_waiver_that_would_take_the_tab_below_zero_is_refused(
    clock, pact, today, initiator, partner
):
    from ledger.actions import settlement_confirm, settlement_propose

    clock.move_to(at(21, 5))
    process_deadlines()
    settlement_confirm(settlement_propose(pact, initiator), partner)
    day = day_for(pact, MONDAY)
    assert not day.can_waive(partner)  # the screens hide the button
    error = refused("WAIVE_EXCEEDS_BALANCE", day.waive, partner)
    assert error.http_status == 409
    assert error.details == {"balance": 0, "amount": 500}
    day.refresh_from_db()
    assert day.status == PactDay.Status.MISSED
    assert balance_of(pact) == 0
    # Once the tab holds another miss, the first one can be waived again.
    clock.move_to(at(21, 5, day=21))
    process_deadlines()
    assert day_for(pact, MONDAY).waive(partner).status == PactDay.Status.WAIVED
    assert balance_of(pact) == 0


def test_a_conceded_day_can_be_waived(clock, disputed, initiator, partner, pact):
    disputed.resolve(initiator, "CONCEDE").waive(partner)
    assert balance_of(pact) == 0


# --- the predicates the screens use agree with the rules -------------------------------


def test_can_predicates_match_the_transitions(clock, today, initiator, partner, stranger):
    assert today.can_check_in(initiator)
    assert not today.can_check_in(partner)
    assert not today.can_check_in(stranger)
    assert today.can_skip(partner)
    assert not today.can_dispute(partner)
    today.check_in(initiator)
    assert today.can_dispute(partner)
    assert not today.can_dispute(initiator)
    clock.move_to(at(21))
    assert not today.can_dispute(partner)
