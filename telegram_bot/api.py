"""API endpoints that need the Bot API (so they live with the bot, not in `pacts`):

- POST /api/v1/pacts/{id}/invite/prepared: the invite card stored with
  `savePreparedInlineMessage`, for `Telegram.WebApp.shareMessage(id)` (issue 14).
"""

from __future__ import annotations

import logging

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView
from telegram.error import TelegramError

from habitpact.api import ErrorSerializer, error_responses, represent
from habitpact.errors import DomainError
from pacts.actions import invite_link, invite_to_share
from pacts.api import PACT_ID

from .client import BotSession, bot_configured
from .share import prepare_invite

log = logging.getLogger(__name__)


class PreparedInviteSerializer(serializers.Serializer):
    prepared_message_id = serializers.CharField(help_text="Pass to Telegram.WebApp.shareMessage().")
    expires_at = serializers.DateTimeField()
    invite_link = serializers.CharField(help_text="The plain link, for clients without it.")


class PreparedInviteView(APIView):
    @extend_schema(
        operation_id="pacts_invite_prepare",
        tags=["invites"],
        request=None,
        parameters=[PACT_ID],
        responses={
            200: PreparedInviteSerializer,
            **error_responses(403, 404, 409),
            503: OpenApiResponse(
                ErrorSerializer,
                description="TELEGRAM_UNAVAILABLE: share `details.invite_link` instead.",
            ),
        },
    )
    def post(self, request, pact_id):
        """Store the invite card (title, stake, schedule, your name, an "Open the pact"
        button) for you to share into any chat. The initiator only, while the invite is
        open. If Telegram can't be reached, 503 TELEGRAM_UNAVAILABLE with the plain link."""
        pact = invite_to_share(request.user, pact_id)
        link = invite_link(pact)
        unavailable = DomainError(
            "TELEGRAM_UNAVAILABLE",
            "Telegram didn't answer. Share the link instead.",
            {"invite_link": link},
        )
        if not bot_configured():
            raise unavailable
        try:
            with BotSession() as session:
                prepared = prepare_invite(pact, session)
        except TelegramError as exc:
            log.warning(
                "invite_prepare_failed", extra={"pact_id": str(pact.pk), "error": str(exc)[:200]}
            )
            raise unavailable from None
        log.info("invite_prepared", extra={"pact_id": str(pact.pk)})
        return Response(
            represent(
                PreparedInviteSerializer,
                {
                    "prepared_message_id": prepared.id,
                    "expires_at": prepared.expiration_date,
                    "invite_link": link,
                },
            )
        )
