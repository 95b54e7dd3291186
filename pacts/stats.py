"""Balances and the streak rule, each written once for every query that needs it.

A pact's balance is the sum of its ledger, read from the `pact_balances` view (spec §5);
positive means the initiator owes the partner.

The current streak is the number of DONE days since the pact's last MISSED day: SKIPPED
and WAIVED days neither break nor extend it, and neither does a day still PENDING or
DISPUTED. `pact_stats` (one pact) and the weekly summaries (many pacts) both count it
with these expressions.
"""

from datetime import date

from django.db.models import Max, OuterRef, Q, Subquery
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce

from ledger.models import PactBalance

from .models import PactDay


def balances_of(pact_ids) -> dict:
    """{pact_id: balance} for many pacts in one query; 0 for a pact with no entries."""
    ids = list(pact_ids)
    found = dict(PactBalance.objects.filter(pact_id__in=ids).values_list("pact_id", "balance"))
    return {pk: found.get(pk, 0) for pk in ids}


def balance_column() -> Coalesce:
    """The balance as an annotation on a Pact queryset (no extra query)."""
    row = PactBalance.objects.filter(pact=OuterRef("pk")).values("balance")
    return Coalesce(Subquery(row), 0)


def balance_of(pact) -> int:
    """One pact's balance (a Pact or its id)."""
    pact_id = getattr(pact, "pk", pact)
    return balances_of([pact_id])[pact_id]


def last_miss_date(pact) -> Coalesce:
    """The date of the pact's latest MISSED day, or date.min; `pact` may be an OuterRef."""
    latest = (
        PactDay.objects.filter(pact=pact, status=PactDay.Status.MISSED)
        .values("pact")
        .annotate(m=Max("date"))
        .values("m")
    )
    return Coalesce(Subquery(latest), date.min)


def streak_filter(last_miss: Combinable, prefix: str = "") -> Q:
    """Days that count towards the streak; `prefix` is "days__" when counting from Pact."""
    return Q(**{f"{prefix}status": PactDay.Status.DONE, f"{prefix}date__gt": last_miss})
