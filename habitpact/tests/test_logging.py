"""Structured JSON logs with request ids, and job runs logged with counts and duration."""

from __future__ import annotations

import io
import json
import logging
import threading
from datetime import timedelta

import pytest
from django.http import HttpResponse
from django.urls import path

from habitpact.logging import JsonFormatter, RequestIdFilter, TextFormatter, log_job
from pacts.actions import pact_end, today_for

view_log = logging.getLogger("habitpact.tests.view")


def noisy_view(request):
    view_log.info("inside_view", extra={"pact_id": "p-1"})
    return HttpResponse("ok")


urlpatterns = [path("noisy", noisy_view)]


@pytest.fixture
def log_lines():
    """Every log line written during the test, as parsed JSON, through the real
    formatter and filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root, django_log = logging.getLogger(), logging.getLogger("django")  # doesn't propagate
    old_level = root.level
    root.addHandler(handler)
    django_log.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        django_log.removeHandler(handler)
        root.setLevel(old_level)


def test_a_log_line_is_one_json_object_with_the_extra_fields(log_lines):
    logging.getLogger("pacts.models").info(
        "day_checked_in", extra={"pact_id": "p", "day_id": "d", "count": 3}
    )

    (line,) = log_lines()
    assert line["event"] == "day_checked_in"
    assert line["level"] == "INFO"
    assert line["logger"] == "pacts.models"
    assert (line["pact_id"], line["day_id"], line["count"]) == ("p", "d", 3)
    assert "time" in line


def test_an_exception_is_logged_with_its_traceback(log_lines):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("x").exception("it_broke")

    (line,) = log_lines()
    assert line["level"] == "ERROR"
    assert "ValueError: boom" in line["exc_info"]


def test_the_text_format_keeps_the_extra_fields():
    record = logging.LogRecord("pacts", logging.INFO, __file__, 1, "pact_ended", None, None)
    record.pact_id = "p-9"

    assert TextFormatter().format(record) == "INFO pacts pact_ended pact_id=p-9"


@pytest.mark.urls(__name__)
def test_every_line_of_a_request_carries_its_id_which_the_response_returns(client, log_lines):
    response = client.get("/noisy")

    request_id = response["X-Request-ID"]
    lines = log_lines()
    assert len(request_id) == 32
    assert [line["event"] for line in lines] == ["inside_view", "http_request"]
    assert {line["request_id"] for line in lines} == {request_id}
    assert lines[1]["status"] == 200 and lines[1]["path"] == "/noisy"


@pytest.mark.urls(__name__)
def test_a_request_id_from_the_proxy_is_kept(client, log_lines):
    response = client.get("/noisy", HTTP_X_REQUEST_ID="heroku-abc-123")

    assert response["X-Request-ID"] == "heroku-abc-123"
    assert {line["request_id"] for line in log_lines()} == {"heroku-abc-123"}


@pytest.mark.urls(__name__)
def test_a_garbage_request_id_is_replaced(client):
    response = client.get("/noisy", HTTP_X_REQUEST_ID='"><script>')

    assert response["X-Request-ID"] != '"><script>'
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.urls(__name__)
def test_two_requests_get_different_ids(client):
    assert client.get("/noisy")["X-Request-ID"] != client.get("/noisy")["X-Request-ID"]


def test_a_log_line_outside_a_request_has_no_request_id(log_lines):
    logging.getLogger("x").info("quiet")

    assert "request_id" not in log_lines()[0]


def test_a_job_run_is_logged_with_its_count_duration_and_own_id(log_lines):
    @log_job("sweep_deadlines")
    def sweep():
        logging.getLogger("pacts.sweeps").info("batch", extra={"missed": 2})
        return 2

    assert sweep() == 2

    batch, finished = log_lines()
    assert finished["event"] == "job_finished"
    assert finished["job"] == "sweep_deadlines"
    assert finished["count"] == 2
    assert finished["duration_ms"] >= 0
    assert batch["request_id"] == finished["request_id"]
    assert finished["request_id"].startswith("job-")


def test_a_job_returning_counts_logs_each_of_them(log_lines):
    log_job("digest")(lambda: {"sent": 4, "skipped": 1, "note": "x"})()

    (line,) = log_lines()
    assert (line["sent"], line["skipped"]) == (4, 1)
    assert "note" not in line


def test_a_failing_job_is_logged_and_still_raises(log_lines):
    @log_job()
    def broken():
        raise RuntimeError("db down")

    with pytest.raises(RuntimeError):
        broken()

    (line,) = log_lines()
    assert line["event"] == "job_failed"
    assert line["job"].endswith("broken")
    assert "db down" in line["exc_info"]


def test_threads_keep_their_own_job_ids(log_lines):
    @log_job("parallel")
    def job():
        logging.getLogger("x").info("working")

    threads = [threading.Thread(target=job) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    ids = [line["request_id"] for line in log_lines() if line["event"] == "working"]
    assert len(set(ids)) == 3


@pytest.mark.django_db
def test_day_and_pact_transitions_are_logged_with_their_ids(pact, clock, log_lines):
    initiator = pact.initiator
    day = today_for(pact)

    day.check_in(initiator)
    clock.shift(timedelta(hours=1))
    pact_end(pact, initiator)

    events = {line["event"]: line for line in log_lines()}
    assert events["day_checked_in"]["day_id"] == str(day.pk)
    assert events["day_checked_in"]["pact_id"] == str(pact.pk)
    assert events["pact_ended"]["pact_id"] == str(pact.pk)
    assert events["pact_ended"]["user_id"] == str(initiator.pk)


@pytest.mark.django_db
def test_the_scheduled_jobs_log_their_runs(log_lines, clock):
    from pacts import tasks

    assert tasks.expire_invites() == 0

    (finished,) = [line for line in log_lines() if line["event"] == "job_finished"]
    assert (finished["job"], finished["count"]) == ("expire_invites", 0)


@pytest.mark.django_db
def test_djangos_own_error_lines_carry_the_request_id(client, log_lines):
    response = client.get("/no-such-page-anywhere")

    lines = [line for line in log_lines() if line["logger"] == "django.request"]
    assert response.status_code == 404
    assert lines and lines[0]["request_id"] == response["X-Request-ID"]


@pytest.mark.django_db
def test_static_files_are_not_logged_line_by_line(client, log_lines):
    client.get("/static/css/app.css")

    assert not [line for line in log_lines() if line["event"] == "http_request"]
