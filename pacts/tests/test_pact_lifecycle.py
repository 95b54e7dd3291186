from datetime import UTC, date, datetime, time, timedelta

import pytest

from conftest import make_active_pact, make_terms, make_user
from habitpact.errors import DomainError
from outbox.models import OutboxMessage
from pacts.actions import (
    invite_status,
    pact_accept,
    pact_create,
    pact_decline,
    pact_end,
    pact_for,
    pact_stats,
)
from pacts.models import Pact, PactDay, PactParticipant
from pacts.sweeps import expire_invites, materialize_days

pytestmark = pytest.mark.django_db


def codes(excinfo) -> str:
    return excinfo.value.code


def test_create_makes_a_pending_pact_in_the_initiators_zone_with_an_unguessable_code(
    clock, initiator
):
    pact = pact_create(initiator=initiator, terms=make_terms())
    other = pact_create(initiator=initiator, terms=make_terms())
    assert pact.status == Pact.Status.PENDING_ACCEPT
    assert pact.timezone == "Europe/London"
    assert len(pact.invite_code) >= 20 and pact.invite_code != other.invite_code
    assert pact.initiator == initiator and pact.partner is None
    assert not pact.days.exists()


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"title": "  "}, "title"),
        ({"title": "x" * 256}, "title"),
        ({"stake_amount": 0}, "stake_amount"),
        ({"stake_amount": 10_001}, "stake_amount"),
        ({"currency": "XYZ"}, "currency"),
        ({"schedule_days": [False] * 7}, "schedule_days"),
        ({"schedule_days": [True] * 6}, "schedule_days"),
        ({"deadline_time": time(21, 0, 30)}, "deadline_time"),
        ({"start_date": date(2025, 1, 19)}, "start_date"),
        ({"end_date": date(2025, 1, 20)}, "end_date"),
        ({"dispute_window_hours": 73}, "dispute_window_hours"),
        ({"partner_username": "4sam"}, "partner_username"),
    ],
)
def test_create_refuses_bad_terms_with_a_field_error_and_creates_nothing(
    clock, initiator, overrides, field
):
    with pytest.raises(DomainError) as excinfo:
        pact_create(initiator=initiator, terms=make_terms(**overrides))
    assert codes(excinfo) == "VALIDATION_ERROR"
    assert field in excinfo.value.details
    assert not Pact.objects.exists()


def test_accept_makes_the_acceptor_partner_activates_and_materialises_today_and_tomorrow(
    clock, initiator, partner
):
    pact = pact_create(initiator=initiator, terms=make_terms())
    pact_accept(pact, partner)
    pact = pact_for(partner, pact.pk)
    assert pact.status == Pact.Status.ACTIVE
    assert pact.partner == partner
    assert list(pact.days.values_list("date", flat=True)) == [date(2025, 1, 20), date(2025, 1, 21)]
    assert OutboxMessage.objects.filter(kind="pact_accepted", user=initiator).count() == 1


def test_initiator_cannot_accept_their_own_invite(clock, initiator):
    pact = pact_create(initiator=initiator, terms=make_terms())
    with pytest.raises(DomainError) as excinfo:
        pact_accept(pact, initiator)
    assert codes(excinfo) == "FORBIDDEN_WRONG_ROLE"
    pact.refresh_from_db()
    assert pact.status == Pact.Status.PENDING_ACCEPT


def test_an_invite_is_accepted_once(clock, initiator, partner, stranger):
    pact = pact_create(initiator=initiator, terms=make_terms())
    pact_accept(pact, partner)
    with pytest.raises(DomainError) as excinfo:
        pact_accept(pact, stranger)
    assert codes(excinfo) == "PACT_NOT_ACTIVE"
    assert pact.participants.count() == 2


def test_decline_makes_the_pact_declined(clock, initiator, partner):
    pact = pact_create(initiator=initiator, terms=make_terms())
    pact_decline(pact, partner)
    pact.refresh_from_db()
    assert pact.status == Pact.Status.DECLINED
    assert invite_status(pact) == "DECLINED"  # rule 15: the status, told apart
    with pytest.raises(DomainError):
        pact_accept(pact, partner)


def test_invite_expires_after_seven_days_even_before_the_sweep_runs(clock, initiator, partner):
    pact = pact_create(initiator=initiator, terms=make_terms(start_date=date(2025, 2, 1)))
    clock.shift(timedelta(days=7))
    assert invite_status(pact) == "EXPIRED"
    with pytest.raises(DomainError) as excinfo:
        pact_accept(pact, partner)
    assert codes(excinfo) == "PACT_NOT_ACTIVE"
    assert expire_invites() == 1
    assert expire_invites() == 0
    pact.refresh_from_db()
    assert pact.status == Pact.Status.EXPIRED
    assert OutboxMessage.objects.filter(kind="invite_expired").count() == 1


def test_invite_six_days_old_is_still_open(clock, initiator):
    pact = pact_create(initiator=initiator, terms=make_terms(start_date=date(2025, 2, 1)))
    clock.shift(timedelta(days=6, hours=23))
    assert expire_invites() == 0
    assert invite_status(pact) == "PENDING_ACCEPT"


def test_no_day_is_created_whose_deadline_passed_before_activation(initiator, partner):
    with __import__("time_machine").travel(datetime(2025, 1, 20, 21, 30, tzinfo=UTC), tick=False):
        pact = make_active_pact(initiator, partner)
    assert list(pact.days.values_list("date", flat=True)) == [date(2025, 1, 21)]


def test_materialising_follows_the_schedule_catches_up_and_never_doubles(clock, pact):
    clock.shift(timedelta(days=3))  # the worker was down for three days
    created = materialize_days()
    assert created == 3
    assert materialize_days() == 0
    assert pact.days.count() == 5  # 20th..24th
    assert len(set(pact.days.values_list("date", flat=True))) == 5


def test_materialising_respects_weekdays_and_end_date(clock, initiator, partner):
    pact = make_active_pact(
        initiator,
        partner,
        schedule_days=[True, False, True, False, False, False, False],  # Mon, Wed
        end_date=date(2025, 1, 29),
    )
    clock.shift(timedelta(days=14))
    materialize_days()
    assert list(pact.days.values_list("date", flat=True)) == [
        date(2025, 1, 20),
        date(2025, 1, 22),
        date(2025, 1, 27),
        date(2025, 1, 29),
    ]


def test_days_get_dst_correct_deadlines(initiator, partner):
    import time_machine

    with time_machine.travel(datetime(2025, 3, 28, 12, 0, tzinfo=UTC), tick=False) as clock:
        pact = make_active_pact(initiator, partner, start_date=date(2025, 3, 28))
        clock.shift(timedelta(days=2))
        materialize_days()
    deadlines = dict(pact.days.values_list("date", "deadline_at"))
    assert deadlines[date(2025, 3, 29)] == datetime(2025, 3, 29, 21, 0, tzinfo=UTC)  # GMT
    assert deadlines[date(2025, 3, 30)] == datetime(2025, 3, 30, 20, 0, tzinfo=UTC)  # BST


def test_end_keeps_decided_days_and_removes_pending_ones(clock, pact, initiator, partner):
    today = pact.days.get(date=date(2025, 1, 20))
    today.check_in(initiator)
    pact_end(pact, partner, reason="Done with it")
    pact.refresh_from_db()
    assert pact.status == Pact.Status.ENDED and pact.end_reason == "Done with it"
    assert list(pact.days.values_list("status", flat=True)) == [PactDay.Status.DONE]
    assert OutboxMessage.objects.filter(kind="pact_ended").count() == 2
    with pytest.raises(DomainError) as excinfo:
        pact_end(pact, initiator)
    assert codes(excinfo) == "PACT_NOT_ACTIVE"


def test_a_stranger_cannot_end_or_see_a_pact(clock, pact, stranger):
    with pytest.raises(DomainError) as excinfo:
        pact_end(pact, stranger)
    assert codes(excinfo) == "FORBIDDEN_NOT_PARTICIPANT"
    with pytest.raises(DomainError) as excinfo:
        pact_for(stranger, pact.pk)
    assert codes(excinfo) == "FORBIDDEN_NOT_PARTICIPANT"
    with pytest.raises(DomainError) as excinfo:
        pact_for(stranger, "not-a-uuid")
    assert codes(excinfo) == "PACT_NOT_FOUND"


def test_stats_count_days_and_the_streak_ignores_skips_and_waivers(
    clock, initiator, partner, django_assert_max_num_queries
):
    from pacts.sweeps import process_deadlines

    pact = make_active_pact(initiator, partner)
    # Mon done, Tue missed then waived, Wed done, Thu skipped, Fri done, Sat missed,
    # Sun done, Mon done: streak counts Sun + Mon = 2.
    plan = ["done", "waived", "done", "skip", "done", "miss", "done", "done"]
    for i, action in enumerate(plan):
        clock.move_to(datetime(2025, 1, 20 + i, 9, 0, tzinfo=UTC))
        materialize_days()
        day = pact.days.get(date=date(2025, 1, 20 + i))
        if action == "done":
            day.check_in(initiator)
        elif action == "skip":
            day.skip(partner)
        else:
            clock.move_to(datetime(2025, 1, 20 + i, 21, 1, tzinfo=UTC))
            process_deadlines()
            if action == "waived":
                day.waive(partner)
    with django_assert_max_num_queries(1):
        stats = pact_stats(pact)
    assert stats.total_days == 8
    assert (stats.done_days, stats.missed_days, stats.skipped_days, stats.waived_days) == (
        5,
        1,
        1,
        1,
    )
    assert stats.current_streak == 2


def test_participant_rows_are_one_initiator_and_one_partner(clock, pact):
    roles = sorted(pact.participants.values_list("role", flat=True))
    assert roles == [PactParticipant.Role.INITIATOR, PactParticipant.Role.PARTNER]


def test_pact_in_los_angeles_uses_the_initiators_zone(clock, partner):
    alex = make_user("Alexa", tz="America/Los_Angeles")
    pact = make_active_pact(alex, partner)
    first = pact.days.order_by("date").first()
    # 09:00 UTC is 01:00 in LA on the 20th: deadline 21:00 PST = 05:00 UTC on the 21st.
    assert first.date == date(2025, 1, 20)
    assert first.deadline_at == datetime(2025, 1, 21, 5, 0, tzinfo=UTC)


def test_user_settings_change_and_bad_values_change_nothing(initiator):
    from pacts.actions import user_update_settings

    user_update_settings(initiator, timezone="America/Los_Angeles", reminder_minutes_before=30)
    initiator.refresh_from_db()
    assert (initiator.timezone, initiator.reminder_minutes_before) == ("America/Los_Angeles", 30)
    with pytest.raises(DomainError) as excinfo:
        user_update_settings(initiator, timezone="Mars/Olympus", notify_reminders=False)
    assert excinfo.value.code == "VALIDATION_ERROR" and "timezone" in excinfo.value.details
    initiator.refresh_from_db()
    assert initiator.notify_reminders is True


def test_a_pact_ends_on_its_own_once_its_end_date_has_passed_and_every_day_is_decided(
    clock, initiator, partner
):
    from pacts.actions import complete_finished_pacts
    from pacts.sweeps import process_deadlines

    pact = make_active_pact(initiator, partner, end_date=date(2025, 1, 21))
    pact.days.get(date=date(2025, 1, 20)).check_in(initiator)
    clock.move_to(datetime(2025, 1, 21, 23, 0, tzinfo=UTC))  # the last day, still today
    assert complete_finished_pacts() == 0
    clock.move_to(datetime(2025, 1, 22, 0, 30, tzinfo=UTC))  # the 22nd, Tuesday undecided
    process_deadlines()
    assert complete_finished_pacts() == 1
    assert complete_finished_pacts() == 0
    pact.refresh_from_db()
    assert (pact.status, pact.end_reason) == (Pact.Status.ENDED, "Completed")
    assert OutboxMessage.objects.filter(kind="pact_ended").count() == 2
    assert list(pact.days.values_list("status", flat=True)) == ["DONE", "MISSED"]


def test_an_open_dispute_keeps_a_finished_pact_open_until_it_is_decided(clock, initiator, partner):
    from pacts.actions import complete_finished_pacts
    from pacts.sweeps import expire_disputes

    pact = make_active_pact(initiator, partner, end_date=date(2025, 1, 21))
    pact.days.get(date=date(2025, 1, 20)).skip(partner)
    clock.move_to(datetime(2025, 1, 21, 20, 0, tzinfo=UTC))
    day = pact.days.get(date=date(2025, 1, 21))
    day.check_in(initiator)
    day.dispute(partner, reason="hmm")
    clock.move_to(datetime(2025, 1, 22, 1, 0, tzinfo=UTC))
    assert complete_finished_pacts() == 0
    clock.move_to(datetime(2025, 1, 22, 8, 0, tzinfo=UTC))  # 12 h after the dispute
    assert expire_disputes() == 1
    assert complete_finished_pacts() == 1
