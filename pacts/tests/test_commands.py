"""Each job is also a command that runs one sweep now, for operators and cron users."""

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django_q.models import Schedule

from pacts.actions import day_for

pytestmark = pytest.mark.django_db


def run(name):
    out = StringIO()
    call_command(name, stdout=out)
    return out.getvalue().strip()


def test_process_deadlines_reports_what_it_missed(clock, pact):
    clock.move_to(datetime(2025, 1, 20, 21, 0, tzinfo=UTC))
    assert run("process_deadlines") == "1 overdue day(s) marked missed."
    assert run("process_deadlines") == "0 overdue day(s) marked missed."


def test_send_reminders_reports_what_it_queued(clock, pact):
    clock.move_to(datetime(2025, 1, 20, 20, 0, tzinfo=UTC))
    assert run("send_reminders") == "1 reminder(s) queued."


def test_resolve_expired_disputes_closes_a_stale_dispute(clock, pact, initiator, partner):
    day = day_for(pact, pact.local_today())
    day.check_in(initiator)
    day.dispute(partner)
    clock.move_to(datetime(2025, 1, 21, 9, 0, tzinfo=UTC))
    assert run("resolve_expired_disputes") == "1 expired dispute(s) closed; the check-ins stand."


def test_send_weekly_summaries_on_sunday_evening(clock, pact):
    clock.move_to(datetime(2025, 1, 26, 18, 0, tzinfo=UTC))
    assert run("send_weekly_summaries") == "2 weekly summary(ies) queued."


def test_materialize_days_and_expire_invites_report_counts(clock, pact):
    clock.move_to(datetime(2025, 1, 22, 0, 5, tzinfo=UTC))
    assert run("materialize_days") == "2 day(s) created."
    assert run("expire_invites") == "0 invite(s) expired."


def test_setup_schedules_is_safe_to_rerun():
    assert "created process_deadlines" in run("setup_schedules")
    assert "updated process_deadlines" in run("setup_schedules")
    assert Schedule.objects.filter(name="process_deadlines").count() == 1
