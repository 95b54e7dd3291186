"""Prometheus metrics: token-protected, exact from the database, latency across processes."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.http import HttpResponse
from django.urls import path
from prometheus_client.parser import text_string_to_metric_families

from habitpact.metrics import metrics_view, render_metrics
from outbox.models import OutboxMessage
from pacts.actions import today_for
from pacts.sweeps import process_deadlines

TOKEN = "s3cret-metrics-token"
ROOT = Path(__file__).resolve().parents[2]


def api_ping(request, n):
    return HttpResponse(status=204)


urlpatterns = [path("api/v1/ping/<int:n>", api_ping), path("metrics", metrics_view)]


@pytest.fixture
def metrics_token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.DEBUG = False
    return TOKEN


def scrape(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    return parse(response.content.decode())


def parse(text: str) -> dict[tuple[str, tuple], float]:
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


@pytest.mark.django_db
def test_metrics_need_the_token(client, metrics_token):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


@pytest.mark.django_db
def test_metrics_are_off_without_a_token_in_production(client, settings):
    settings.METRICS_TOKEN = ""
    settings.DEBUG = False

    assert client.get("/metrics").status_code == 404


@pytest.mark.django_db
def test_a_check_in_is_counted(client, metrics_token, pact):
    before = scrape(client)[("checkin_total", (("status", "done"),))]

    today_for(pact).check_in(pact.initiator)

    after = scrape(client)
    assert before == 0
    assert after[("checkin_total", (("status", "done"),))] == 1
    assert after[("pact_created_total", ())] == 1
    assert after[("active_pacts_gauge", ())] == 1


@pytest.mark.django_db
def test_misses_disputes_and_resolutions_are_counted(client, metrics_token, pact, clock):
    day = today_for(pact).check_in(pact.initiator)
    day.dispute(pact.partner, reason="No photo")
    day.resolve(pact.initiator, "CONCEDE")
    clock.shift(timedelta(days=1, hours=13))  # Tuesday 22:00: Tuesday missed
    process_deadlines()

    samples = scrape(client)

    assert samples[("checkin_total", (("status", "disputed"),))] == 1
    assert samples[("checkin_total", (("status", "missed"),))] == 2  # conceded + Tuesday
    assert samples[("dispute_resolution_total", (("resolution", "conceded"),))] == 1
    assert samples[("dispute_resolution_total", (("resolution", "rejected"),))] == 0


@pytest.mark.django_db
def test_the_oldest_undelivered_message_age_is_reported(client, metrics_token, pact, clock):
    clock.shift(timedelta(minutes=5))

    samples = scrape(client)

    pending = OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).count()
    assert samples[("outbox_pending", ())] == pending > 0
    assert samples[("outbox_oldest_pending_age_seconds", ())] == 300


@pytest.mark.django_db
def test_queue_depth_counts_django_q_tasks(client, metrics_token):
    from django_q.models import OrmQ

    OrmQ.objects.create(key="habitpact", payload="x", lock=None)

    samples = scrape(client)

    assert samples[("job_queue_depth", (("state", "waiting"),))] == 1
    assert samples[("job_queue_depth", (("state", "leased"),))] == 0


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_api_request_latency_is_observed_by_url_pattern(client, metrics_token):
    key = (
        "api_request_duration_seconds_count",
        (("method", "GET"), ("route", "api/v1/ping/<int:n>"), ("status", "204")),
    )
    before = scrape(client).get(key, 0)

    client.get("/api/v1/ping/1")
    client.get("/api/v1/ping/2")

    assert scrape(client)[key] == before + 2


@pytest.mark.django_db
def test_latency_from_several_processes_adds_up(tmp_path, monkeypatch):
    """Two separate processes (as two gunicorn workers) observe a request each; one
    scrape, from a third process's view of the directory, sees both."""
    observe = (
        "from habitpact.metrics import API_LATENCY; "
        "API_LATENCY.labels('GET', 'api/v1/pacts', '200').observe(0.2)"
    )
    for _ in range(2):
        subprocess.run(
            [sys.executable, "-c", observe],
            cwd=ROOT,
            env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
            check=True,
        )
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    samples = parse(render_metrics().decode())

    labels = (("method", "GET"), ("route", "api/v1/pacts"), ("status", "200"))
    assert samples[("api_request_duration_seconds_count", labels)] == 2
    assert samples[("api_request_duration_seconds_sum", labels)] == pytest.approx(0.4)
    assert ("pact_created_total", ()) in samples  # the database metrics come along
