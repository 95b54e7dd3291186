"""The streak rule, written once for every query that needs it (balances: ledger.models).

The current streak is the number of DONE days since the pact's last MISSED day: SKIPPED
and WAIVED days neither break nor extend it, and neither does a day still PENDING or
DISPUTED. `pact_stats` (one pact), the weekly summaries and the recap card (many pacts)
all count it with `current_streak`.
"""

from datetime import date

from django.db.models import IntegerField, Max, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from .models import PactDay


class Counted(Subquery):
    """`count(*)` of a queryset's rows, as a scalar subquery of the outer query.

    A bare count is never NULL, so it needs no Coalesce, and that matters beside a join:
    Django groups by a Coalesce(Subquery) itself, and PostgreSQL then evaluates it once
    per joined row to sort the groups, where a Subquery is grouped by the outer columns
    it refers to and evaluated once per group. With the Coalesce, a pact with two years
    of history took 1.4 s for its screen (`bench/history.py`: 535 824 probes of the skip
    requests for 732 days)."""

    template = "(SELECT count(*) FROM (%(subquery)s) AS counted)"
    output_field = IntegerField()

    def __init__(self, queryset: QuerySet, **extra):
        super().__init__(queryset.order_by().values("pk"), **extra)


def day_count(pact: OuterRef, **filters) -> Counted:
    """How many of the pact's days (`pact` an `OuterRef("pk")` from a Pact query) match:
    a read of the pact's days through its (pact, date) index, once per pact."""
    return Counted(PactDay.objects.filter(pact=pact, **filters))


def current_streak(pact: OuterRef) -> Counted:
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
