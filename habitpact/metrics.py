"""Prometheus metrics at `/metrics`, correct however many web and worker processes run.

Two kinds of numbers, each measured where it can be exact:

1. **Business counters and gauges come from the database at scrape time**
   (`DatabaseCollector`): pacts created, check-ins by result, dispute resolutions,
   active pacts, the django-q2 queue (its `OrmQ` rows) and the oldest undelivered
   outbox message. Every process reads the same rows, so the numbers are exact no matter
   which process (or which of several hosts) answers the scrape, and they survive
   restarts. The counters only ever grow because what they count is never removed:
   pacts and decided days are kept, ledger rows are append-only (pending days, the only
   days ever deleted, have nothing to count yet).
2. **Request latency is measured in the process that served the request**
   (`api_request_duration_seconds`, a histogram), so it has to be added up across
   processes. With `PROMETHEUS_MULTIPROC_DIR` set (our `gunicorn.conf.py` sets it and
   empties it at start-up), prometheus_client's multiprocess mode has each gunicorn
   worker write its samples to files in that directory and `/metrics` sums them, so any
   worker's answer covers all workers of that host. Several hosts are several scrape
   targets: sum the histogram over them in PromQL (`sum by (le) (rate(...))`), and take
   `max` (not `sum`) of the database-derived series, which every host reports alike.
   Without the variable (tests, `runserver`) the histogram lives in the one process.

Access: `Authorization: Bearer <METRICS_TOKEN>`. With no token configured the endpoint
is open only when DEBUG is on, and answers 404 otherwise.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Callable

from django.conf import settings
from django.db.models import Count, Min, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

API_LATENCY = Histogram(
    "api_request_duration_seconds",
    "Time to answer an API request, by method, URL pattern and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=None,  # exposed per scrape below, from this process or from all of them
)


def _multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class DatabaseCollector:
    """The business metrics, read from the database on each scrape."""

    def collect(self):
        from django_q.models import OrmQ

        from ledger.models import LedgerEntry
        from outbox.models import OutboxMessage
        from pacts.models import Pact, PactDay

        pacts = Pact.objects.aggregate(
            created=Count("id"), active=Count("id", filter=Q(status=Pact.Status.ACTIVE))
        )
        yield CounterMetricFamily("pact_created", "Pacts created.", value=pacts["created"])

        days = PactDay.objects.aggregate(
            done=Count("id", filter=Q(checked_in_at__isnull=False)),
            disputed=Count("id", filter=Q(disputed_at__isnull=False)),
            skipped=Count("id", filter=Q(skipped_at__isnull=False)),
        )
        entries = LedgerEntry.objects.aggregate(
            missed=Count("id", filter=Q(type=LedgerEntry.Type.FORFEIT)),
            waived=Count("id", filter=Q(type=LedgerEntry.Type.WAIVER)),
        )
        checkins = CounterMetricFamily(
            "checkin",
            "Pact days by result: checked in (done), missed (a forfeit), disputed, "
            "skipped, waived.",
            labels=["status"],
        )
        for status in ("done", "missed", "disputed", "skipped", "waived"):
            checkins.add_metric([status], days.get(status, entries.get(status, 0)))
        yield checkins

        resolutions = dict(
            PactDay.objects.filter(resolution__isnull=False)
            .values_list("resolution")
            .annotate(n=Count("id"))
            .values_list("resolution", "n")
        )
        disputes = CounterMetricFamily(
            "dispute_resolution", "Disputes resolved, by resolution.", labels=["resolution"]
        )
        for resolution in PactDay.Resolution.values:
            disputes.add_metric([resolution.lower()], resolutions.get(resolution, 0))
        yield disputes

        yield GaugeMetricFamily("active_pacts_gauge", "Pacts now ACTIVE.", value=pacts["active"])

        now = timezone.now()
        queue = OrmQ.objects.aggregate(
            waiting=Count("id", filter=Q(lock__isnull=True) | Q(lock__lte=now)),
            leased=Count("id", filter=Q(lock__gt=now)),
        )
        depth = GaugeMetricFamily(
            "job_queue_depth",
            "django-q2 tasks in the ORM broker: waiting for a worker, or leased by one.",
            labels=["state"],
        )
        depth.add_metric(["waiting"], queue["waiting"])
        depth.add_metric(["leased"], queue["leased"])
        yield depth

        outbox = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).aggregate(
            pending=Count("id"), oldest=Min("created_at")
        )
        yield GaugeMetricFamily(
            "outbox_pending", "Notifications not yet delivered.", value=outbox["pending"]
        )
        age = (now - outbox["oldest"]).total_seconds() if outbox["oldest"] else 0.0
        yield GaugeMetricFamily(
            "outbox_oldest_pending_age_seconds",
            "Age of the oldest notification not yet delivered (0 when none is waiting).",
            value=max(age, 0.0),
        )


def render_metrics() -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    if _multiprocess_dir():
        MultiProcessCollector(registry)
    else:
        registry.register(API_LATENCY)
    registry.register(DatabaseCollector())
    return generate_latest(registry)


def _authorised(request: HttpRequest) -> bool | None:
    """True/False for a token check; None when metrics are switched off."""
    token = getattr(settings, "METRICS_TOKEN", "")
    if not token:
        return True if settings.DEBUG else None
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def metrics_view(request: HttpRequest) -> HttpResponse:
    allowed = _authorised(request)
    if allowed is None:
        return HttpResponse("Not found.\n", status=404, content_type="text/plain")
    if not allowed:
        response = HttpResponse(
            "Send Authorization: Bearer <METRICS_TOKEN>.\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)


class ApiLatencyMiddleware:
    """Time every `/api/` request into `api_request_duration_seconds`, labelled by the
    URL pattern (not the raw path, so ids don't explode the series)."""

    def __init__(self, get_response: Callable):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = match.route if match is not None else "unmatched"
        API_LATENCY.labels(request.method, route, str(response.status_code)).observe(
            time.perf_counter() - started
        )
        return response
