"""JSON API (spec §7) for a pact's ledger and its settlements.

As in pacts/api.py: serializers check shapes, `ledger.actions` decides, DomainErrors
become the error envelope.
"""

from __future__ import annotations

import logging

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from habitpact.api import (
    StrictIntegerField,
    body_error_responses,
    error_responses,
    page_params,
    page_query_serializer,
    represent,
)
from pacts.actions import balance_of, pact_for
from pacts.api import PACT_ID, parsed

from .actions import settlement_cancel, settlement_confirm, settlement_for, settlement_propose
from .models import LedgerEntry, Settlement

log = logging.getLogger(__name__)

SETTLEMENT_ID = OpenApiParameter("settlement_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
LEDGER_PAGE = page_query_serializer(20)


class LedgerEntrySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.ChoiceField(choices=LedgerEntry.Type.choices)
    amount = serializers.IntegerField(help_text="Signed minor units; positive = owes more.")
    date = serializers.DateField(help_text="The day it is about, in the pact's zone.")
    note = serializers.CharField()
    created_at = serializers.DateTimeField()


class LedgerSerializer(serializers.Serializer):
    entries = LedgerEntrySerializer(many=True)
    balance = serializers.IntegerField(help_text="Positive: the initiator owes the partner.")
    total_entries = serializers.IntegerField()


class SettlementSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    pact_id = serializers.UUIDField()
    amount = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Settlement.Status.choices)
    proposed_by_user_id = serializers.UUIDField()
    from_user_confirmed_at = serializers.DateTimeField(
        allow_null=True, help_text="The initiator's (payer's) confirmation."
    )
    to_user_confirmed_at = serializers.DateTimeField(
        allow_null=True, help_text="The partner's (payee's) confirmation."
    )
    created_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)


class SettlementResponseSerializer(serializers.Serializer):
    settlement = SettlementSerializer()


class SettlementListSerializer(serializers.Serializer):
    settlements = SettlementSerializer(many=True)


class SettlementProposeRequest(serializers.Serializer):
    amount = StrictIntegerField(
        required=False,
        allow_null=True,
        default=None,
        help_text="Minor units, 1 to the balance; defaults to the whole balance.",
    )


class LedgerView(APIView):
    @extend_schema(
        operation_id="ledger_retrieve",
        tags=["ledger"],
        parameters=[PACT_ID, LEDGER_PAGE],
        responses={200: LedgerSerializer, **error_responses(403, 404, 422)},
    )
    def get(self, request, pact_id):
        """The pact's ledger entries, newest first (`limit` default 20, `offset`)."""
        pact = pact_for(request.user, pact_id)
        limit, offset = page_params(request, default_limit=20)
        entries = LedgerEntry.objects.filter(pact=pact)
        total = entries.count()
        page = []
        if offset < total:
            page = list(
                entries.select_related("pact_day").order_by("-created_at", "-id")[
                    offset : offset + limit
                ]
            )
        tz = pact.tz
        items = [
            {
                "id": entry.pk,
                "type": entry.type,
                "amount": entry.amount,
                "date": entry.pact_day.date
                if entry.pact_day_id
                else entry.created_at.astimezone(tz).date(),
                "note": entry.note,
                "created_at": entry.created_at,
            }
            for entry in page
        ]
        body = {"entries": items, "balance": balance_of(pact), "total_entries": total}
        return Response(represent(LedgerSerializer, body))


class SettlementListView(APIView):
    @extend_schema(
        operation_id="settlements_list",
        tags=["settlements"],
        parameters=[PACT_ID],
        responses={200: SettlementListSerializer, **error_responses(403, 404)},
    )
    def get(self, request, pact_id):
        """Settlement history, newest first."""
        pact = pact_for(request.user, pact_id)
        settlements = list(Settlement.objects.filter(pact=pact).order_by("-created_at", "-id"))
        return Response(represent(SettlementListSerializer, {"settlements": settlements}))

    @extend_schema(
        operation_id="settlements_create",
        tags=["settlements"],
        request=SettlementProposeRequest,
        parameters=[PACT_ID],
        responses={201: SettlementResponseSerializer, **body_error_responses(403, 404, 409)},
    )
    def post(self, request, pact_id):
        """Propose settling (either party); counts as the proposer's own confirmation."""
        pact = pact_for(request.user, pact_id)
        amount = parsed(request, SettlementProposeRequest)["amount"]
        settlement = settlement_propose(pact, request.user, amount=amount)
        log.info(
            "api_settlement_proposed",
            extra={"settlement_id": str(settlement.pk), "pact_id": str(pact.pk)},
        )
        body = represent(SettlementResponseSerializer, {"settlement": settlement})
        return Response(body, status=status.HTTP_201_CREATED)


class SettlementConfirmView(APIView):
    @extend_schema(
        operation_id="settlements_confirm",
        tags=["settlements"],
        request=None,
        parameters=[SETTLEMENT_ID],
        responses={200: SettlementResponseSerializer, **error_responses(403, 404, 409)},
    )
    def post(self, request, settlement_id):
        """Confirm (each party); the second confirmation writes the SETTLEMENT entry."""
        settlement = settlement_confirm(settlement_for(request.user, settlement_id), request.user)
        return Response(represent(SettlementResponseSerializer, {"settlement": settlement}))


class SettlementCancelView(APIView):
    @extend_schema(
        operation_id="settlements_cancel",
        tags=["settlements"],
        request=None,
        parameters=[SETTLEMENT_ID],
        responses={200: SettlementResponseSerializer, **error_responses(403, 404, 409)},
    )
    def post(self, request, settlement_id):
        """Cancel a pending settlement (either party)."""
        settlement = settlement_cancel(settlement_for(request.user, settlement_id), request.user)
        return Response(represent(SettlementResponseSerializer, {"settlement": settlement}))
