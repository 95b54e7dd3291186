"""The load drill's baseline: bare Django views running the same queries as the API.

Each view authenticates the same way (the bearer token's user, one query), runs the same
ORM queries / domain calls as the API view it mirrors, and returns a small JsonResponse:
no DRF, no serializers, no rate limiter, no middleware (drills/settings.py). Served only
by the drill's baseline gunicorn (`DJANGO_SETTINGS_MODULE=drills.settings`).
"""

from __future__ import annotations

import json
from datetime import date

from django.db.models import OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from habitpact.api import health
from habitpact.auth import user_from_authorization
from habitpact.errors import DomainError
from ledger.models import LedgerEntry
from pacts.actions import balance_of, day_for, pact_for, pact_stats, today_for
from pacts.breaks import open_break
from pacts.models import Pact, PactDay


def bare(view):
    @csrf_exempt
    def wrapped(request, *args, **kwargs):
        try:
            user = user_from_authorization(request.headers.get("Authorization", ""))
            if user is None:
                return JsonResponse({"error": "UNAUTHORIZED"}, status=401)
            return JsonResponse(view(request, user, *args, **kwargs))
        except DomainError as error:
            return JsonResponse({"error": error.code}, status=error.http_status)

    return wrapped


@bare
def home(request, user):
    pacts = Pact.objects.for_user(user)
    balance = (
        LedgerEntry.objects.filter(pact=OuterRef("pk"))
        .order_by()
        .values("pact")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    pacts = list(
        pacts.annotate(balance=Coalesce(Subquery(balance), 0))
        .prefetch_related("participants__user")
        .order_by("-created_at", "-id")
    )
    now = timezone.now()
    todays = {pact.pk: pact.local_today(now) for pact in pacts}
    days = {
        (day.pact_id, day.date): day
        for day in PactDay.objects.filter(pact__in=pacts, date__in=set(todays.values()))
    }
    return {
        "pacts": [
            {
                "id": str(p.pk),
                "balance": p.balance,
                "today": getattr(days.get((p.pk, todays[p.pk])), "status", None),
            }
            for p in pacts
        ]
    }


@bare
def detail(request, user, pact_id):
    pact = pact_for(user, pact_id)
    today = today_for(pact)
    current = open_break(pact)
    stats = pact_stats(pact)
    allowance = pact.skip_allowance(pact.local_today())
    return {
        "id": str(pact.pk),
        "participants": [str(m.user_id) for m in pact.participants.all()],
        "balance": balance_of(pact),
        "streak": getattr(stats, "current_streak", None),
        "skips_left": allowance.left,
        "break": None if current is None else str(current.pk),
        "today": None if today is None else today.status,
        "can_check_in": None if today is None else today.can_check_in(user),
        "can_dispute": None if today is None else today.can_dispute(user),
        "can_skip": None if today is None else today.can_skip(user),
        "can_request_skip": None if today is None else today.can_request_skip(user),
        "skip_request": None if today is None else getattr(today.skip_request, "status", None),
    }


@bare
def checkin(request, user, pact_id, day):
    body = json.loads(request.body or b"{}")
    found = day_for(pact_for(user, pact_id), date.fromisoformat(day))
    found.check_in(user, note=body.get("note"), idempotency_key=body.get("idempotency_key"))
    return {"day": {"id": str(found.pk), "status": found.status}}


@bare
def dispute(request, user, pact_id, day):
    body = json.loads(request.body or b"{}")
    found = day_for(pact_for(user, pact_id), date.fromisoformat(day))
    found.dispute(user, reason=body.get("reason") or "")
    return {"day": {"id": str(found.pk), "status": found.status}}


urlpatterns = [
    path("health", health),
    path("api/v1/pacts", home),
    path("api/v1/pacts/<str:pact_id>", detail),
    path("api/v1/pacts/<str:pact_id>/days/<str:day>/checkin", checkin),
    path("api/v1/pacts/<str:pact_id>/days/<str:day>/dispute", dispute),
]
