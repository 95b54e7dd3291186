"""Lists cost a constant number of SQL queries, whatever their length."""

from datetime import date, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from conftest import make_active_pact, make_user
from habitpact.tests.api import API, client_for
from pacts.actions import day_for
from pacts.sweeps import process_deadlines

pytestmark = pytest.mark.django_db

# Authentication (1) + pacts with balances (1) + participants (1) + users (1) + today (1).
PACT_LIST_QUERIES = 5
# Authentication (1) + the pact (1) + participants (1) + users (1) + count (1) + page (1)
# + the page's skip requests (1, one prefetch for every day: issue 12).
DAY_LIST_QUERIES = 7
LEDGER_QUERIES = 7


def count_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(captured)


def make_pacts(user, how_many: int):
    """`how_many` active pacts with user, each with a different partner and a miss."""
    for n in range(how_many):
        pact = make_active_pact(user, make_user(f"Friend{n}"), title=f"Habit {n}")
        day_for(pact, pact.local_today()).miss(user)


@pytest.mark.parametrize("size", [5, 50])
def test_listing_pacts_costs_the_same_queries_for_5_or_50(
    clock, initiator, size, django_assert_max_num_queries
):
    make_pacts(initiator, size)
    client = client_for(initiator)
    with django_assert_max_num_queries(PACT_LIST_QUERIES):
        body = client.get(f"{API}/pacts").json()
    assert len(body["pacts"]) == size
    assert all(p["balance"] == 500 and p["today"]["status"] == "MISSED" for p in body["pacts"])
    assert all(p["partner"]["display_name"].startswith("Friend") for p in body["pacts"])


def test_pact_list_query_count_does_not_grow(clock, initiator):
    client = client_for(initiator)
    make_pacts(initiator, 2)
    small = count_queries(client, f"{API}/pacts")
    make_pacts(initiator, 40)
    assert count_queries(client, f"{API}/pacts") == small


def _pact_with_days(initiator, clock, days: int):
    pact = make_active_pact(initiator, make_user("Sam"))
    clock.shift(timedelta(days=days - 2))
    with transaction.atomic():
        pact.materialize_days(clock_now())
    return pact


def clock_now():
    from django.utils import timezone

    return timezone.now()


@pytest.mark.parametrize("size", [5, 30])
def test_listing_days_costs_the_same_queries_for_5_or_30(
    clock, initiator, size, django_assert_max_num_queries
):
    pact = _pact_with_days(initiator, clock, size)
    client = client_for(initiator)
    with django_assert_max_num_queries(DAY_LIST_QUERIES):
        body = client.get(f"{API}/pacts/{pact.pk}/days?limit=30").json()
    assert len(body["days"]) == size


def test_day_list_and_ledger_query_counts_do_not_grow(clock, initiator):
    small = make_active_pact(initiator, make_user("Sam"), end_date=date(2025, 1, 22))
    big = make_active_pact(make_user("Ari"), make_user("Bo"))
    clock.shift(timedelta(days=28))
    with transaction.atomic():
        for pact in (small, big):
            pact.materialize_days(clock_now())
    process_deadlines()
    assert (small.ledger_entries.count(), big.ledger_entries.count()) == (3, 28)
    counts = {}
    for name, pact in (("small", small), ("big", big)):
        client = client_for(pact.initiator)
        counts[name] = (
            count_queries(client, f"{API}/pacts/{pact.pk}/days?limit=30"),
            count_queries(client, f"{API}/pacts/{pact.pk}/ledger?limit=20"),
        )
    assert counts["small"] == counts["big"]
    assert counts["big"][0] <= DAY_LIST_QUERIES and counts["big"][1] <= LEDGER_QUERIES


def test_the_pact_detail_counts_this_months_free_skips_once(clock, pact, initiator):
    # pact_stats counts them for the stats block; the skip allowance reuses that count.
    day_for(pact, pact.local_today()).skip(initiator)
    client = client_for(initiator)
    with CaptureQueriesContext(connection) as captured:
        body = client.get(f"{API}/pacts/{pact.pk}").json()
    counting_skips = [
        q["sql"] for q in captured if "COUNT(" in q["sql"] and "skip_used_allowance" in q["sql"]
    ]
    assert len(counting_skips) == 1
    assert body["skip_allowance"]["used"] == body["stats"]["skips_used_this_month"] == 1
