"""The privacy endpoints (spec §15): GET /users/me/export and DELETE /users/me.

Thin, like every view: authenticate (the API's defaults), call `pacts.privacy`, render.
DELETE /users/me is `MeView.delete` in `pacts/api.py`, which calls `delete_account`.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from habitpact.api import error_responses

from .privacy import user_delete, user_export


class ExportView(APIView):
    """GET /users/me/export: everything we hold about the caller, as one JSON file."""

    @extend_schema(
        operation_id="users_me_export",
        tags=["users"],
        summary="Export all my data (GDPR)",
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="`user`, `pacts` (with participants' names, days, ledger and "
                "settlements) and `notifications`.",
            ),
            **error_responses(),
        },
    )
    def get(self, request):
        response = Response(user_export(request.user))
        response["Content-Disposition"] = 'attachment; filename="habitpact-export.json"'
        response["Cache-Control"] = "no-store"
        return response


def delete_account(request) -> Response:
    """Erase the caller's account; their active pacts end and their partners are told."""
    user_delete(request.user)
    return Response(status=status.HTTP_204_NO_CONTENT)


DELETE_SCHEMA = extend_schema(
    operation_id="users_me_delete",
    tags=["users"],
    summary="Delete my account (GDPR)",
    description=(
        "Erases the profile (the name becomes “Deleted user”), ends active pacts (the "
        "partner is notified), cancels pending settlements and keeps every ledger entry, "
        "so the partner's balance and history stay as they were. Signing in again with "
        "the same Telegram account starts a new, empty account."
    ),
    request=None,
    responses={204: OpenApiResponse(description="Deleted."), **error_responses()},
)
