"""The API under a database outage (503, retry) and oversized or over-deep bodies (refused,
not a 500): regressions found by the reliability drills (drills/, docs/RELIABILITY.md)."""

from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError

from habitpact.tests.api import API, assert_error, client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("connection failed: connection refused"),
        OperationalError("terminating connection due to administrator command"),
        InterfaceError("connection already closed"),
    ],
)
def test_an_unreachable_database_is_a_503_to_retry_not_a_500(pact, initiator, error):
    # drills/pg_restart.py: while PostgreSQL restarted, every API request was a 500
    # INTERNAL_ERROR with a traceback in the log, as if it were a bug.
    with mock.patch("pacts.api.pact_stats", side_effect=error):
        response = client_for(initiator).get(f"{API}/pacts/{pact.pk}")
    body = assert_error(response, 503, "SERVICE_UNAVAILABLE")
    assert response["Retry-After"] == "1"
    assert "connection" not in body["message"]


def test_a_database_error_that_is_not_an_outage_is_still_a_500(pact, initiator):
    from django.db import IntegrityError

    with mock.patch("pacts.api.pact_stats", side_effect=IntegrityError("duplicate key")):
        response = client_for(initiator).get(f"{API}/pacts/{pact.pk}")
    assert_error(response, 500, "INTERNAL_ERROR")


def test_a_body_over_djangos_upload_limit_is_refused_not_a_500(initiator):
    # drills/hostile.py: a 5 MB body tripped Django's DATA_UPLOAD_MAX_MEMORY_SIZE inside
    # DRF (which reads request.body) before the parser's own 64 KB check: a 500.
    body = b'{"title": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    response = client_for(initiator).generic(
        "POST", f"{API}/pacts", body, content_type="application/json"
    )
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert error["message"] == "The request body is too large."


def test_json_nested_deeper_than_the_stack_is_refused_not_a_500(initiator):
    # drills/hostile.py: 30 000 nested arrays (60 KB, under the size limit) made json
    # raise RecursionError, which DRF's parser does not catch: a 500.
    body = b"[" * 30_000 + b"]" * 30_000
    response = client_for(initiator).generic(
        "POST", f"{API}/pacts", body, content_type="application/json"
    )
    assert_error(response, 422, "VALIDATION_ERROR")
