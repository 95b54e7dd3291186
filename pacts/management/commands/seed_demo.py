"""Two demo users and a few pacts with a realistic history, built through the domain.

Safe to rerun: does nothing when the demo users already exist.
"""

import random
from datetime import time, timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from ledger.actions import settlement_confirm, settlement_propose
from outbox.models import OutboxMessage
from pacts.actions import PactTerms, pact_accept, pact_create
from pacts.models import PactDay, User
from pacts.sweeps import expire_disputes, process_deadlines

DEMO_USERS = [
    (1001, "Alex", "alexcode", "Europe/London"),
    (1002, "Sam", "samsmith", "Europe/London"),
]


class Command(BaseCommand):
    help = "Create demo users Alex and Sam with a few pacts and three weeks of history."

    def handle(self, *args, **options):
        if User.objects.filter(telegram_user_id=DEMO_USERS[0][0]).exists():
            self.stdout.write("Demo data already present.")
            return
        rng = random.Random(7)
        now = timezone.now()
        with transaction.atomic():
            alex, sam = (
                User.objects.create_user(
                    telegram_user_id=tg, display_name=name, username=username, timezone=tz
                )
                for tg, name, username, tz in DEMO_USERS
            )
            start = now - timedelta(days=21)
            gym = self._pact(alex, sam, "Gym 🏋️", 500, [True] * 5 + [False] * 2, time(21), start)
            reading = self._pact(
                sam, alex, "Read 20 pages 📚", 200, [True] * 7, time(22, 30), start
            )
            self._history(gym, alex, sam, start, now, rng)
            self._history(reading, sam, alex, start, now, rng)
            settlement = settlement_propose(gym, alex, amount=500, now=now - timedelta(days=7))
            settlement_confirm(settlement, sam, now=now - timedelta(days=7))
            pact_create(
                initiator=alex,
                terms=PactTerms(
                    title="Meditate 🧘",
                    stake_amount=100,
                    schedule_days=[True] * 7,
                    deadline_time=time(8),
                    start_date=now.astimezone(alex.tz).date() + timedelta(days=1),
                ),
                now=now,
            )
            # The history's notifications belong to the past: count them as delivered,
            # so the local run's sender prints only what happens from now on.
            OutboxMessage.objects.filter(
                user__in=[alex, sam], status=OutboxMessage.Status.PENDING
            ).update(status=OutboxMessage.Status.SENT, sent_at=now)
        self.stdout.write(self.style.SUCCESS("Demo users Alex (1001) and Sam (1002) created."))

    def _pact(self, initiator, partner, title, stake, days, deadline, start):
        terms = PactTerms(
            title=title,
            stake_amount=stake,
            schedule_days=days,
            deadline_time=deadline,
            start_date=start.astimezone(initiator.tz).date(),
        )
        pact = pact_create(initiator=initiator, terms=terms, now=start)
        return pact_accept(pact, partner, now=start + timedelta(minutes=5))

    def _history(self, pact, initiator, partner, start, now, rng):
        """Walk the days up to yesterday: mostly done, some missed, a skip, a dispute."""
        moment = start
        while moment < now - timedelta(days=1):
            moment += timedelta(days=1)
            pact.materialize_days(moment)
            day = PactDay.objects.filter(pact=pact, date=moment.astimezone(pact.tz).date()).first()
            if day is not None and day.status == PactDay.Status.PENDING:
                before = day.deadline_at - timedelta(hours=rng.randint(1, 8))
                roll = rng.random()
                if roll < 0.7:
                    day.check_in(
                        initiator, note=rng.choice(["", "Felt great", "Quick one"]), now=before
                    )
                    if roll < 0.08:
                        day.dispute(partner, reason="Photo or it didn't happen 🤔", now=before)
                elif roll < 0.8:
                    day.skip(partner, now=before)
            process_deadlines(now=moment + timedelta(hours=23))
            expire_disputes(now=moment + timedelta(hours=23))
        pact.materialize_days(now)
