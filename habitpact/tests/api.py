"""Helpers for the API tests: signed-in clients and error-envelope assertions."""

from __future__ import annotations

from rest_framework.test import APIClient

from habitpact.auth import issue_token
from pacts.models import User

API = "/api/v1"


def client_for(user: User | None) -> APIClient:
    """A JSON client signed in as `user` with a bearer token (anonymous for None)."""
    client = APIClient()
    client.default_format = "json"
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_token(user)}")
    return client


def assert_error(response, status: int, code: str) -> dict:
    """The response is the error envelope with this status and code; returns its body."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]
