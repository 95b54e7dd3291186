"""Honesty in the open (issue 12 item 5): the pact's fair-play counts, the same for
both people, in one query."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from habitpact.tests.api import API, client_for
from pacts.actions import _stats_query, day_for, pact_stats
from pacts.breaks import break_propose
from pacts.models import month_of
from pacts.sweeps import expire_disputes, materialize_days, process_deadlines

pytestmark = pytest.mark.django_db


def day(pact, d: int):
    return day_for(pact, date(2025, 1, d))


def at(d: int, hour: int = 9) -> datetime:
    return datetime(2025, 1, d, hour, 0, tzinfo=UTC)


@pytest.fixture
def week(clock, pact, initiator, partner):
    """Mon 20: done, disputed, conceded (missed), then waived.
    Tue 21: done, disputed, rejected.  Wed 22: done, disputed, withdrawn, Looks good.
    Thu 23: done, disputed, left to expire.  Fri 24: skipped by Alex.
    Sat 25: skipped by Sam.  Sun 26 – Mon 27: a break Sam gave.  Tue 28: today, pending."""
    break_propose(pact, partner, start_date=date(2025, 1, 26), end_date=date(2025, 1, 27))
    for d in range(20, 29):
        clock.move_to(at(d))
        materialize_days()
        today = day(pact, d)
        if d <= 23:
            today.check_in(initiator)
            today.dispute(partner, reason="Hmm")
        if d == 20:
            today.resolve(initiator, "CONCEDE")
            today.waive(partner)
        elif d == 21:
            today.resolve(initiator, "REJECT")
        elif d == 22:
            today.resolve(partner, "WITHDRAW")
            today.approve(partner)
        elif d == 24:
            today.skip(initiator)
        elif d == 25:
            today.skip(partner)
    clock.move_to(at(28))
    expire_disputes()
    process_deadlines()
    return pact


def test_the_counts_say_how_each_dispute_ended(week, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        stats = pact_stats(week)
    assert (stats.disputes_opened, stats.disputes_conceded, stats.disputes_rejected) == (4, 1, 1)
    assert (stats.disputes_withdrawn, stats.disputes_expired) == (1, 1)
    assert (stats.waivers, stats.approvals, stats.breaks_taken) == (1, 1, 1)
    # Only Alex's own skip uses the allowance: not Sam's, not the break's two days.
    assert (stats.skips_used_this_month, stats.skipped_days) == (1, 4)
    assert (stats.skip_requests_approved, stats.skip_requests_declined) == (0, 0)


def test_both_people_see_the_same_numbers(week, initiator, partner):
    seen = [
        client_for(user).get(f"{API}/pacts/{week.pk}").json()["stats"]
        for user in (initiator, partner)
    ]
    assert seen[0] == seen[1]
    assert seen[0]["disputes_opened"] == 4 and seen[0]["approvals"] == 1


def test_last_months_skips_are_not_this_months(clock, pact, initiator):
    day(pact, 20).skip(initiator)
    clock.move_to(datetime(2025, 2, 1, 9, 0, tzinfo=UTC))
    materialize_days()
    assert pact_stats(pact).skips_used_this_month == 0
    day_for(pact, date(2025, 2, 2)).skip(initiator)  # a day ahead, this month
    assert pact_stats(pact).skips_used_this_month == 1


@pytest.mark.parametrize("d", [20, 24, 28, 31])
def test_the_compiled_query_answers_as_the_orm_builds_it(week, pact, clock, d):
    """`pact_stats` runs its query compiled once with stand-ins; on any day it must
    answer what the ORM's own query for that pact and day answers."""
    clock.move_to(at(d, 12))
    today = pact.local_today()
    built = _stats_query(pact.pk, today, *month_of(today)).get()
    stats = pact_stats(pact)
    assert (stats.total_days, stats.done_days, stats.missed_days) == (
        built["n_total"],
        built["n_done"],
        built["n_missed"],
    )
    assert stats.current_streak == built["n_streak"]
    assert stats.skips_used_this_month == built["n_skips_month"]
    assert stats.breaks_taken == built["n_breaks"]
    assert (stats.disputes_opened, stats.approvals) == (built["n_disputes"], built["n_approvals"])
    assert (stats.skip_requests_approved, stats.skip_requests_declined) == (
        built["n_requests_approved"],
        built["n_requests_declined"],
    )
