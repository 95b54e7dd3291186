"""The django-q2 side: schedules set up idempotently, tasks run through the broker."""

import pydoc
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django_q.models import Schedule, Task
from django_q.tasks import async_task

from ledger.models import LedgerEntry
from outbox.models import OutboxMessage
from pacts import sweeps, tasks
from pacts.models import PactDay
from pacts.tasks import JOBS, setup_schedules

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 1, 20, 9, 0, 30, tzinfo=UTC)


def test_setting_up_schedules_twice_makes_each_one_once():
    first = setup_schedules(NOW)
    second = setup_schedules(NOW)
    assert all(created for _, created in first)
    assert not any(created for _, created in second)
    names = list(Schedule.objects.values_list("name", flat=True))
    assert sorted(names) == sorted(job.name for job in JOBS)


def test_a_rerun_keeps_next_run_and_repairs_a_hand_edited_or_doubled_schedule():
    setup_schedules(NOW)
    sweep = Schedule.objects.get(name="process_deadlines")
    Schedule.objects.filter(pk=sweep.pk).update(minutes=60, next_run=NOW)
    Schedule.objects.create(name="process_deadlines", func="pacts.tasks.process_deadlines")
    setup_schedules(datetime(2025, 2, 1, tzinfo=UTC))
    sweep = Schedule.objects.get(name="process_deadlines")
    assert (sweep.minutes, sweep.next_run) == (2, NOW)


def test_the_schedules_fire_every_few_minutes_and_disputes_at_01_and_31():
    setup_schedules(NOW)
    schedules = {s.name: s for s in Schedule.objects.all()}
    every = {name: s.minutes for name, s in schedules.items() if s.schedule_type == "I"}
    assert every == {
        "process_deadlines": 2,
        "resolve_expired_disputes": 30,
        "send_reminders": 1,
        "materialize_days": 2,
        "send_weekly_summaries": 5,
        "complete_pacts": 30,
        "deliver_outbox": 1,
    }
    assert schedules["resolve_expired_disputes"].next_run == datetime(2025, 1, 20, 9, 1, tzinfo=UTC)
    assert schedules["expire_invites"].schedule_type == Schedule.DAILY
    assert schedules["prune_outbox"].schedule_type == Schedule.DAILY
    assert schedules["prune_rate_limits"].schedule_type == Schedule.HOURLY
    assert not any(s.schedule_type == Schedule.CRON for s in schedules.values())
    assert all(s.repeats == -1 for s in schedules.values())


def test_other_apps_tasks_are_named_by_dotted_path_and_ours_resolve():
    setup_schedules(NOW)
    funcs = dict(Schedule.objects.values_list("name", "func"))
    assert funcs["deliver_outbox"] == "telegram_bot.tasks.deliver_outbox"
    assert funcs["prune_rate_limits"] == "habitpact.ratelimit.prune_rate_limits"
    assert funcs["prune_outbox"] == "outbox.tasks.prune_outbox"
    for job in JOBS:
        if job.func.startswith("pacts."):
            assert callable(pydoc.locate(job.func)), job.func


def test_the_cluster_retries_only_after_a_task_has_timed_out_and_gives_up():
    q = settings.Q_CLUSTER
    assert q["orm"] == "default"
    assert q["timeout"] < q["retry"]
    assert q["max_attempts"] >= 1
    assert q["catch_up"] is False


def test_the_deadline_task_runs_through_the_broker(clock, pact):
    clock.move_to(datetime(2025, 1, 20, 21, 0, tzinfo=UTC))
    async_task("pacts.tasks.process_deadlines")
    assert PactDay.objects.get(date="2025-01-20").status == "MISSED"
    assert OutboxMessage.objects.filter(kind="missed").count() == 2


@pytest.mark.parametrize(
    "func",
    [
        "resolve_expired_disputes",
        "send_reminders",
        "send_weekly_summaries",
        "materialize_days",
        "expire_invites",
    ],
)
def test_every_sweep_task_runs_when_nothing_is_due(clock, pact, func):
    task_id = async_task(f"pacts.tasks.{func}")
    task = Task.objects.get(id=task_id)
    assert task.success, task.result
    assert task.result == 0


def _deadline_tasks():
    return Task.objects.filter(func="pacts.tasks.process_deadlines")


def _missed_once_each(dates):
    days = PactDay.objects.filter(date__in=dates)
    assert {d.status for d in days} == {"MISSED"}
    entries = LedgerEntry.objects.filter(type="FORFEIT")
    assert sorted(e.pact_day.date.isoformat() for e in entries) == sorted(dates)
    assert OutboxMessage.objects.filter(kind="missed").count() == 2 * len(dates)


SIX_DAYS = [f"2025-01-{d}" for d in range(20, 26)]


@pytest.fixture
def six_due_days(clock, pact):
    """Saturday 21:00: Monday to Saturday are due (nobody swept all week)."""
    clock.move_to(datetime(2025, 1, 25, 21, 0, tzinfo=UTC))
    sweeps.materialize_days()


def test_a_backlog_larger_than_a_batch_fans_out_and_continues_until_done(
    six_due_days, monkeypatch, settings
):
    """Six due days, batches of two, two workers, a budget that runs out after every
    batch: the scheduled run queues one helper (one per other worker), every run that
    stops for time queues its continuation, and each day is missed exactly once."""
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "workers": 2}
    monkeypatch.setattr(sweeps, "BATCH_SIZE", 2)
    monkeypatch.setattr(tasks, "_time_budget", lambda: 0)
    async_task("pacts.tasks.process_deadlines")
    _missed_once_each(SIX_DAYS)
    runs = _deadline_tasks()
    # The scheduled run fans out one helper, which takes two days and queues its
    # continuation, and so on: three helpers take two days each; the third's batch was
    # full, so a fourth looks and finds none, and so does the scheduled run's own batch.
    assert sorted((t.kwargs.get("helper", False), t.result) for t in runs) == [
        (False, 0),
        (True, 0),
        (True, 2),
        (True, 2),
        (True, 2),
    ]
    assert all(t.success for t in runs)


def test_one_batch_of_work_is_one_run(six_due_days, settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "workers": 4}
    async_task("pacts.tasks.process_deadlines")
    _missed_once_each(SIX_DAYS)
    assert _deadline_tasks().count() == 1


def test_a_helper_with_time_left_finishes_the_backlog_and_never_fans_out(
    six_due_days, monkeypatch, settings
):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "workers": 4}
    monkeypatch.setattr(sweeps, "BATCH_SIZE", 2)
    async_task("pacts.tasks.process_deadlines", helper=True)
    _missed_once_each(SIX_DAYS)
    assert _deadline_tasks().count() == 1


def test_the_backlog_check_reads_past_the_batch(six_due_days, clock):
    assert sweeps.due_days_exceed(5)
    assert not sweeps.due_days_exceed(6)
    clock.move_to(datetime(2025, 1, 25, 20, 59, tzinfo=UTC))
    assert not sweeps.due_days_exceed(5)
