"""The functions django-q2 runs on schedule (see `manage.py setup_schedules`).

Each one runs one sweep of `pacts.sweeps` "now" and returns how many rows it changed.
The broker delivers at least once, so every task is safe to run twice or two at once:
the sweeps claim rows with SKIP LOCKED, re-check state and dedupe their messages. Long
sweeps stop starting new batches well before the cluster's `timeout`, so a task is
never killed in the middle of a batch by design (and if it were, the batch rolls back
and the next tick takes it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule
from django_q.tasks import async_task

from habitpact.logging import log_job

from . import actions, sweeps

log = logging.getLogger(__name__)


def _time_budget() -> float:
    """Seconds a sweep may keep starting batches: two thirds of the task timeout."""
    return settings.Q_CLUSTER.get("timeout", 90) * 2 / 3


@log_job("process_deadlines")
def process_deadlines(helper: bool = False) -> int:
    """The scheduled deadline sweep. When more than one batch is due (21:00 in a big
    time zone), it first queues a helper for every other cluster worker, so the whole
    cluster takes the backlog (SKIP LOCKED splits it); helpers never fan out. Any run
    that stops for time queues one continuation, so the backlog is finished in this
    tick, not the next one, however large it is."""
    if not helper and sweeps.due_days_exceed(sweeps.BATCH_SIZE):
        for _ in range(settings.Q_CLUSTER["workers"] - 1):
            _queue_deadline_helper()
    run = sweeps.miss_due_days(batch_size=sweeps.BATCH_SIZE, max_seconds=_time_budget())
    if not run.finished:
        _queue_deadline_helper()
    return run.count


def _queue_deadline_helper() -> None:
    async_task("pacts.tasks.process_deadlines", helper=True, task_name="process_deadlines helper")


@log_job("resolve_expired_disputes")
def resolve_expired_disputes() -> int:
    return sweeps.expire_disputes()


@log_job("send_reminders")
def send_reminders() -> int:
    return sweeps.send_reminders()


@log_job("send_weekly_summaries")
def send_weekly_summaries() -> int:
    return sweeps.send_weekly_summaries()


@log_job("materialize_days")
def materialize_days() -> int:
    return sweeps.materialize_days()


@log_job("expire_invites")
def expire_invites() -> int:
    return sweeps.expire_invites()


@log_job("complete_pacts")
def complete_pacts() -> int:
    return actions.complete_finished_pacts()


# --- schedules ----------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """A recurring task. `minutes` for an every-N-minutes schedule; `offset` shifts its
    first run to a minute ≡ offset (mod minutes) past the hour (disputes at :01, :31)."""

    name: str
    func: str
    minutes: int | None = None
    schedule_type: str = Schedule.MINUTES
    offset: int = 0

    def first_run(self, now: datetime) -> datetime:
        start = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        if self.schedule_type != Schedule.MINUTES or not self.offset:
            return start
        while (start.minute - self.offset) % self.minutes:
            start += timedelta(minutes=1)
        return start


# Interval schedules only: each sweep decides from stored instants and takes everything
# due, so none depends on django-q2 firing at a wall-clock time (django-q2 #44). Other
# apps' tasks are named by dotted path: `pacts` imports no other app.
# How often the deadline sweep runs; `check_ledger` reports a PENDING day left more
# than two of these past its deadline.
DEADLINE_SWEEP_MINUTES = 2

JOBS = (
    Job("process_deadlines", "pacts.tasks.process_deadlines", minutes=DEADLINE_SWEEP_MINUTES),
    Job("resolve_expired_disputes", "pacts.tasks.resolve_expired_disputes", minutes=30, offset=1),
    Job("send_reminders", "pacts.tasks.send_reminders", minutes=1),
    Job("materialize_days", "pacts.tasks.materialize_days", minutes=2),
    Job("send_weekly_summaries", "pacts.tasks.send_weekly_summaries", minutes=5),
    Job("expire_invites", "pacts.tasks.expire_invites", schedule_type=Schedule.DAILY),
    Job("complete_pacts", "pacts.tasks.complete_pacts", minutes=30, offset=7),
    Job("deliver_outbox", "telegram_bot.tasks.deliver_outbox", minutes=1),
    Job(
        "prune_rate_limits", "habitpact.ratelimit.prune_rate_limits", schedule_type=Schedule.HOURLY
    ),
    Job("prune_outbox", "outbox.tasks.prune_outbox", schedule_type=Schedule.DAILY),
)


def setup_schedules(now: datetime | None = None) -> list[tuple[str, bool]]:
    """Create or update the schedules in JOBS by name; safe to rerun (every deploy).

    An existing schedule keeps its `next_run`; extra rows with the same name (made by
    hand or by `schedule()`, whose names are not unique) are removed. Returns
    [(name, created)].
    """
    now = now or timezone.now()
    results = []
    with transaction.atomic():
        for job in JOBS:
            ids = list(
                Schedule.objects.filter(name=job.name).order_by("id").values_list("id", flat=True)
            )
            Schedule.objects.filter(id__in=ids[1:]).delete()
            _, created = Schedule.objects.update_or_create(
                name=job.name,
                defaults={
                    "func": job.func,
                    "schedule_type": job.schedule_type,
                    "minutes": job.minutes,
                    "repeats": -1,
                    "args": None,
                    "kwargs": None,
                    "hook": None,
                    "cron": None,
                    "cluster": None,
                },
                create_defaults={
                    "func": job.func,
                    "schedule_type": job.schedule_type,
                    "minutes": job.minutes,
                    "repeats": -1,
                    "next_run": job.first_run(now),
                },
            )
            results.append((job.name, created))
    log.info("schedules_set_up", extra={"schedules_created": sum(c for _, c in results)})
    return results
