"""JSON API for breaks (DECISIONS rule 10), beside pacts/api.py.

    POST /pacts/{pact_id}/breaks           propose (201; a retry of the same proposal 200)
    GET  /pacts/{pact_id}/breaks           the pact's breaks, latest first
    POST /breaks/{break_id}/approve        the partner approves the initiator's break
    POST /breaks/{break_id}/decline        the partner declines it
    POST /breaks/{break_id}/end            either ends a running or future break early
                                           (the proposer withdraws a proposal)

Errors: 422 VALIDATION_ERROR (dates: 1–30 days, from tomorrow in the pact's zone;
reason length), 409 BREAK_ALREADY_PLANNED (one open or future break per pact),
409 INVALID_STATE_TRANSITION (answering what is not a proposal, too late, ending what
is over), 409 PACT_NOT_ACTIVE, 403 FORBIDDEN_NOT_PARTICIPANT / FORBIDDEN_WRONG_ROLE,
404 PACT_NOT_FOUND / NOT_FOUND (an unknown break).
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from habitpact.api import StrictCharField, body_error_responses, error_responses, represent

from .actions import pact_for
from .breaks import (
    BREAK_MAX_DAYS,
    BREAK_REASON_MAX_LENGTH,
    Break,
    break_for,
    break_propose,
    breaks_of,
)
from .models import User

PACT_ID = OpenApiParameter("pact_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
BREAK_ID = OpenApiParameter("break_id", OpenApiTypes.UUID, OpenApiParameter.PATH)


class BreakProposeRequest(serializers.Serializer):
    start_date = serializers.DateField(
        help_text="The first day off (pact zone): tomorrow or later."
    )
    end_date = serializers.DateField(
        help_text=f"The last day off, inclusive: 1 to {BREAK_MAX_DAYS} days in all."
    )
    reason = StrictCharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=2000,
        default="",
        help_text=f"Optional, up to {BREAK_REASON_MAX_LENGTH} characters.",
    )


class BreakUserSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    display_name = serializers.CharField()


class BreakSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    pact_id = serializers.UUIDField()
    start_date = serializers.DateField()
    end_date = serializers.DateField(
        help_text="The last day off; a break ended early ends on the day it was ended."
    )
    days = serializers.IntegerField(help_text="Days from start to end, inclusive.")
    reason = serializers.CharField()
    status = serializers.ChoiceField(choices=Break.Status.choices)
    proposed_by = BreakUserSerializer(source="proposed_by_user")
    created_at = serializers.DateTimeField()
    answered_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    can_approve = serializers.BooleanField(help_text="Whether you may approve it now.")
    can_decline = serializers.BooleanField(help_text="Whether you may decline it now.")
    can_end = serializers.BooleanField(
        help_text="Whether you may end it now (or withdraw your proposal)."
    )


# {"break": {...}}: `break` is a Python keyword, so the field is declared by name.
BreakEnvelope = type("BreakEnvelope", (serializers.Serializer,), {"break": BreakSerializer()})


class BreakListSerializer(serializers.Serializer):
    breaks = BreakSerializer(many=True)


def break_data(brk: Break, user: User) -> dict:
    """One break for `user`, with what they may do about it now (the `can_*` rules),
    for BreakSerializer (or a serializer that nests it)."""
    now = timezone.now()
    data = {name: getattr(brk, name) for name in BREAK_FIELDS}
    data |= {
        "can_approve": brk.can_approve(user, now),
        "can_decline": brk.can_decline(user, now),
        "can_end": brk.can_end(user, now),
    }
    return data


def break_json(brk: Break, user: User) -> dict:
    return represent(BreakSerializer, break_data(brk, user))


BREAK_FIELDS = (
    "id",
    "pact_id",
    "start_date",
    "end_date",
    "days",
    "reason",
    "status",
    "proposed_by_user",
    "created_at",
    "answered_at",
    "ended_at",
)


def _envelope(brk: Break, user: User) -> dict:
    return {"break": break_json(brk, user)}


class PactBreaksView(APIView):
    @extend_schema(
        operation_id="breaks_list",
        tags=["breaks"],
        parameters=[PACT_ID],
        responses={200: BreakListSerializer, **error_responses(403, 404)},
    )
    def get(self, request, pact_id):
        """The pact's breaks, latest first, with what you may do about each."""
        pact = pact_for(request.user, pact_id)
        return Response({"breaks": [break_json(b, request.user) for b in breaks_of(pact)]})

    @extend_schema(
        operation_id="breaks_propose",
        tags=["breaks"],
        request=BreakProposeRequest,
        parameters=[PACT_ID],
        responses={
            201: BreakEnvelope,
            200: BreakEnvelope,
            **body_error_responses(403, 404, 409),
        },
    )
    def post(self, request, pact_id):
        """Propose a break of 1–30 days from tomorrow on (either participant). From the
        partner it is approved at once; from the initiator it waits for the partner,
        who is asked in the bot. 409 BREAK_ALREADY_PLANNED while another break is open
        or ahead. The same proposal again answers 200 with the break it made."""
        pact = pact_for(request.user, pact_id)
        data = BreakProposeRequest(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        brk, created = break_propose(
            pact,
            request.user,
            start_date=values["start_date"],
            end_date=values["end_date"],
            reason=values.get("reason") or "",
        )
        return Response(
            _envelope(brk, request.user),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


def _break_action(operation_id: str, summary: str):
    return extend_schema(
        operation_id=operation_id,
        tags=["breaks"],
        request=None,
        parameters=[BREAK_ID],
        responses={200: BreakEnvelope, **error_responses(403, 404, 409)},
        description=summary,
    )


class BreakApproveView(APIView):
    @_break_action(
        "breaks_approve",
        "The partner approves the initiator's break, before its first day: its days become "
        "days off. Approving again answers with the break.",
    )
    def post(self, request, break_id):
        brk = break_for(request.user, break_id)
        return Response(_envelope(brk.approve(request.user), request.user))


class BreakDeclineView(APIView):
    @_break_action("breaks_decline", "The partner declines the initiator's break.")
    def post(self, request, break_id):
        brk = break_for(request.user, break_id)
        return Response(_envelope(brk.decline(request.user), request.user))


class BreakEndView(APIView):
    @_break_action(
        "breaks_end",
        "Either participant ends a running or future break early (days after today are "
        "scheduled again; a future one is CANCELLED), or the proposer withdraws a "
        "proposal. Ending again answers with the break.",
    )
    def post(self, request, break_id):
        brk = break_for(request.user, break_id)
        return Response(_envelope(brk.end(request.user), request.user))
