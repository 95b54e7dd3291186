"""Ledger invariants: what must be true of the money at every moment.

Read-only, set-based (a handful of aggregate queries however many pacts there are), and
run inside one REPEATABLE READ snapshot on PostgreSQL, so it is safe to run against
production while it serves traffic. The reliability drills run it after every scenario.

1. Every MISSED day has exactly one FORFEIT and no WAIVER.
2. Every WAIVED day has exactly one FORFEIT and one WAIVER, which cancel out.
3. No PENDING, DONE, DISPUTED or SKIPPED day has any day-linked entry.
4. Every FORFEIT is the pact's stake; no entry is linked to another pact's day.
5. Every CONFIRMED settlement has one SETTLEMENT entry of minus its amount, and every
   SETTLEMENT entry belongs to exactly one confirmed settlement.
6. Each pact's balance in the `pact_balances` view equals the sum of its entries.
7. No balance is below zero (rule 14: the tab never goes below zero).
8. No PENDING day belongs to a pact that is no longer running (ended, or any status but
   PENDING_ACCEPT and ACTIVE): closing decides or removes every pending day (rule 13).
9. No PENDING day is more than two deadline-sweep intervals past its deadline: the
   sweep (or a close) has decided it, or the worker is down and money is waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from pacts.tasks import DEADLINE_SWEEP_MINUTES

# A day may wait for the next sweep, and the scheduler fires up to ~30 s late: two
# intervals is the most a healthy deployment leaves a day PENDING past its deadline.
OVERDUE_GRACE = timedelta(minutes=2 * DEADLINE_SWEEP_MINUTES)

CHECKS: dict[str, str] = {
    "missed day without exactly one forfeit and no waiver": """
        SELECT d.id, d.pact_id FROM pact_days d
        LEFT JOIN ledger_entries e ON e.pact_day_id = d.id
        WHERE d.status = 'MISSED'
        GROUP BY d.id, d.pact_id
        HAVING COUNT(*) FILTER (WHERE e.type = 'FORFEIT') <> 1
            OR COUNT(*) FILTER (WHERE e.type = 'WAIVER') <> 0
    """,
    "waived day without one forfeit and one cancelling waiver": """
        SELECT d.id, d.pact_id FROM pact_days d
        LEFT JOIN ledger_entries e ON e.pact_day_id = d.id
        WHERE d.status = 'WAIVED'
        GROUP BY d.id, d.pact_id
        HAVING COUNT(*) FILTER (WHERE e.type = 'FORFEIT') <> 1
            OR COUNT(*) FILTER (WHERE e.type = 'WAIVER') <> 1
            OR COALESCE(SUM(e.amount), 0) <> 0
    """,
    "undecided, done or skipped day with a ledger entry": """
        SELECT d.id, d.pact_id FROM pact_days d
        JOIN ledger_entries e ON e.pact_day_id = d.id
        WHERE d.status IN ('PENDING', 'DONE', 'DISPUTED', 'SKIPPED')
        GROUP BY d.id, d.pact_id
    """,
    "forfeit that is not the pact's stake, or on another pact's day": """
        SELECT e.id, e.pact_id FROM ledger_entries e
        JOIN pacts p ON p.id = e.pact_id
        LEFT JOIN pact_days d ON d.id = e.pact_day_id
        WHERE (e.type = 'FORFEIT' AND e.amount <> p.stake_amount)
           OR (e.pact_day_id IS NOT NULL AND (d.id IS NULL OR d.pact_id <> e.pact_id))
    """,
    "confirmed settlement without its entry": """
        SELECT s.id, s.pact_id FROM settlements s
        LEFT JOIN ledger_entries e ON e.id = s.ledger_entry_id
        WHERE s.status = 'CONFIRMED'
          AND (e.id IS NULL OR e.type <> 'SETTLEMENT' OR e.amount <> -s.amount
               OR e.pact_id <> s.pact_id)
    """,
    "settlement entry without exactly one confirmed settlement": """
        SELECT e.id, e.pact_id FROM ledger_entries e
        LEFT JOIN settlements s ON s.ledger_entry_id = e.id AND s.status = 'CONFIRMED'
        WHERE e.type = 'SETTLEMENT'
        GROUP BY e.id, e.pact_id
        HAVING COUNT(s.id) <> 1
    """,
    "balance view differs from the sum of entries": """
        SELECT b.pact_id, b.pact_id FROM pact_balances b
        JOIN (SELECT pact_id, SUM(amount) AS total FROM ledger_entries GROUP BY pact_id) t
          ON t.pact_id = b.pact_id
        WHERE b.balance <> t.total
    """,
    "negative balance": """
        SELECT b.pact_id, b.pact_id FROM pact_balances b WHERE b.balance < 0
    """,
    "pending day of a pact that is no longer running": """
        SELECT d.id, d.pact_id FROM pact_days d
        JOIN pacts p ON p.id = d.pact_id
        WHERE d.status = 'PENDING' AND p.status NOT IN ('PENDING_ACCEPT', 'ACTIVE')
    """,
    "pending day more than two sweep intervals past its deadline": """
        SELECT d.id, d.pact_id FROM pact_days d
        WHERE d.status = 'PENDING' AND d.deadline_at < %(overdue_before)s
    """,
}


@dataclass(frozen=True)
class Violation:
    rule: str
    row_id: str
    pact_id: str


def check_ledger(limit_per_rule: int = 100, *, now: datetime | None = None) -> list[Violation]:
    """Every violation found (up to `limit_per_rule` of each kind). Empty means healthy.
    `now` (default: the clock) dates the overdue-day check."""
    violations: list[Violation] = []
    overdue_before = (now or timezone.now()) - OVERDUE_GRACE
    params = {"overdue_before": connection.ops.adapt_datetimefield_value(overdue_before)}
    own_snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cursor:
        if own_snapshot:  # one consistent, read-only view of all tables
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for rule, sql in CHECKS.items():
            cursor.execute(f"{sql} LIMIT {int(limit_per_rule)}", params)
            violations += [Violation(rule, str(row[0]), str(row[1])) for row in cursor.fetchall()]
    return violations
