"""The streak rule, written once for every query that needs it (balances: ledger.models).

The current streak is the number of DONE days since the pact's last MISSED day: SKIPPED
and WAIVED days neither break nor extend it, and neither does a day still PENDING or
DISPUTED. `pact_stats` (one pact) and the weekly summaries (many pacts) both count it
with these expressions.
"""

from datetime import date

from django.db.models import Max, Q, Subquery
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce

from .models import PactDay


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
