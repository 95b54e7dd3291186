"""The django-q2 side: schedules set up idempotently, tasks run through the broker."""

import pydoc
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django_q.models import Schedule, Task
from django_q.tasks import async_task

from outbox.models import OutboxMessage
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
    assert schedules["prune_rate_limits"].schedule_type == Schedule.HOURLY
    assert not any(s.schedule_type == Schedule.CRON for s in schedules.values())
    assert all(s.repeats == -1 for s in schedules.values())


def test_other_apps_tasks_are_named_by_dotted_path_and_ours_resolve():
    setup_schedules(NOW)
    funcs = dict(Schedule.objects.values_list("name", "func"))
    assert funcs["deliver_outbox"] == "telegram_bot.tasks.deliver_outbox"
    assert funcs["prune_rate_limits"] == "habitpact.ratelimit.prune_rate_limits"
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
