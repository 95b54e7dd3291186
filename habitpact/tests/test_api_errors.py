"""The error envelope for DRF's own errors, /health, and the OpenAPI schema and docs."""

from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client
from drf_spectacular.validation import validate_schema

from habitpact.api import MAX_BODY_BYTES
from habitpact.tests.api import API, assert_error, client_for

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/nope", "/pacts/x/y/z/w/v", "/pacts/", "/users/me/", "/"])
def test_an_unknown_api_path_is_not_found_in_the_envelope(initiator, path):
    response = client_for(initiator).get(f"{API}{path}")
    assert_error(response, 404, "NOT_FOUND")


def test_an_unknown_api_path_is_not_found_even_anonymously():
    assert_error(client_for(None).post(f"{API}/nope"), 404, "NOT_FOUND")


def test_a_wrong_method_is_405_in_the_envelope(initiator):
    response = client_for(initiator).delete(f"{API}/pacts")
    error = assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert error["details"] == {"method": "DELETE"}


def test_malformed_json_is_a_validation_error(initiator):
    response = client_for(initiator).generic(
        "POST", f"{API}/pacts", b'{"title": "Gym",', content_type="application/json"
    )
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert "body" in error["details"]


def test_a_form_body_is_unsupported_media_type(initiator):
    response = client_for(initiator).post(f"{API}/pacts", {"title": "x"}, format="multipart")
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_an_oversized_body_is_refused_before_parsing(initiator):
    body = b'{"title": "' + b"x" * MAX_BODY_BYTES + b'"}'
    response = client_for(initiator).generic(
        "POST", f"{API}/pacts", body, content_type="application/json"
    )
    assert_error(response, 422, "VALIDATION_ERROR")


def test_an_unexpected_error_is_a_500_in_the_envelope(pact, initiator):
    with mock.patch("pacts.api.pact_stats", side_effect=RuntimeError("boom")):
        response = client_for(initiator).get(f"{API}/pacts/{pact.pk}")
    assert_error(response, 500, "INTERNAL_ERROR")
    assert "boom" not in response.content.decode()


# --- health ---------------------------------------------------------------------------------


def test_health_is_200_when_the_database_answers():
    response = Client().get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_health_is_503_when_the_database_does_not_answer():
    with mock.patch(
        "habitpact.api.connection.cursor", side_effect=OperationalError("connection refused")
    ):
        response = Client().get("/health")
    assert response.status_code == 503
    assert response.json() == {"status": "error", "database": "unavailable"}


def test_health_only_answers_get():
    assert Client().post("/health").status_code == 405


# --- schema and docs -------------------------------------------------------------------------


def test_the_openapi_schema_validates_and_documents_every_endpoint():
    response = Client().get(f"{API}/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    assert schema["openapi"].startswith("3.")
    paths = schema["paths"]
    expected = {
        "/api/v1/auth/telegram": {"post"},
        "/api/v1/users/me": {"get", "patch", "delete"},
        "/api/v1/users/me/export": {"get"},
        "/api/v1/users/me/write-access": {"post"},
        "/api/v1/pacts": {"get", "post"},
        "/api/v1/pacts/{pact_id}": {"get"},
        "/api/v1/pacts/{pact_id}/accept": {"post"},
        "/api/v1/pacts/{pact_id}/decline": {"post"},
        "/api/v1/pacts/{pact_id}/end": {"post"},
        "/api/v1/pacts/{pact_id}/cancel": {"post"},
        "/api/v1/pacts/{pact_id}/invite/prepared": {"post"},
        "/api/v1/pacts/{pact_id}/days": {"get"},
        "/api/v1/pacts/{pact_id}/days/{date}": {"get"},
        "/api/v1/pacts/{pact_id}/ledger": {"get"},
        "/api/v1/pacts/{pact_id}/settlements": {"get", "post"},
        "/api/v1/settlements/{settlement_id}/confirm": {"post"},
        "/api/v1/settlements/{settlement_id}/cancel": {"post"},
        "/api/v1/invites/{code}": {"get"},
        "/api/v1/invites/{code}/accept": {"post"},
        # Rules 10 and 11: breaks and "Looks good".
        "/api/v1/pacts/{pact_id}/breaks": {"get", "post"},
        "/api/v1/breaks/{break_id}/approve": {"post"},
        "/api/v1/breaks/{break_id}/decline": {"post"},
        "/api/v1/breaks/{break_id}/end": {"post"},
    }
    for action in (
        "checkin",
        "miss",
        "dispute",
        "resolve",
        "waive",
        "skip",
        "skip-request",  # rule 9 (issue 12)
        "skip-request/approve",
        "skip-request/decline",
        "approve",
    ):
        expected[f"/api/v1/pacts/{{pact_id}}/days/{{date}}/{action}"] = {"post"}
    assert {p: set(ops) - {"parameters"} for p, ops in paths.items()} == expected
    checkin = paths["/api/v1/pacts/{pact_id}/days/{date}/checkin"]["post"]
    for status in ("401", "403", "404", "409", "422", "429"):
        ref = checkin["responses"][status]["content"]["application/json"]["schema"]["$ref"]
        assert ref == "#/components/schemas/Error"
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_the_docs_page_loads_swagger_ui_from_our_own_static_files():
    response = Client().get(f"{API}/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
