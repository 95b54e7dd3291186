"""The streak rule, written once for every query that needs it (balances: ledger.models).

The current streak is the number of DONE days since the pact's last MISSED day: SKIPPED
and WAIVED days neither break nor extend it, and neither does a day still PENDING or
DISPUTED. `pact_stats` (one pact), the weekly summaries and the recap card (many pacts)
all count it with `current_streak`.
"""

from datetime import date

from django.db.models import Count, IntegerField, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from .models import PactDay


def day_count(pact: OuterRef, *conditions: Q, **filters) -> Coalesce:
    """How many of the pact's days (`pact` an `OuterRef("pk")` from a Pact query) match,
    as a scalar subquery.

    The counts of a pact's screen and of its summaries are subqueries like this, not
    `Count("days", filter=...)` over a join: beside the join's other annotations, which
    Django must GROUP BY, PostgreSQL evaluated every subquery once per joined day, so a
    pact with two years of history took 1.5 s for its screen (`bench/history.py`). Each
    of these reads the pact's days once through its (pact, date) index."""
    counted = (
        PactDay.objects.filter(*conditions, pact=pact, **filters)
        .order_by()
        .values("pact")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def current_streak(pact: OuterRef) -> Coalesce:
    """The pact's current streak (see the module's docstring), as a subquery.

    The last miss is a subquery of the count that refers only to the pact, so PostgreSQL
    runs it once per pact (an InitPlan), not once per day counted."""
    last_miss = (
        PactDay.objects.filter(pact=OuterRef(pact), status=PactDay.Status.MISSED)
        .order_by()
        .values("pact")
        .annotate(m=Max("date"))
        .values("m")
    )
    return day_count(
        pact, status=PactDay.Status.DONE, date__gt=Coalesce(Subquery(last_miss), date.min)
    )
