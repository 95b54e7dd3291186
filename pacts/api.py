"""JSON API (spec §7) for sign-in, the user's settings, pacts, their days and invites.

Views parse input shapes (serializers: types and formats), call the domain
(`pacts.actions`, the `PactDay` transitions) and render. Business rules (roles, states,
time windows, ranges) live in the domain and reach the client as its DomainError in the
error envelope (habitpact/api.py). Dates are dates in the pact's time zone.
"""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from habitpact.api import (
    QueryChoiceField,
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    body_error_responses,
    error_responses,
    page_params,
    page_query_serializer,
    query_params,
    represent,
)
from habitpact.auth import issue_token, user_from_init_data, validate_init_data
from ledger.models import balance_column

from . import privacy_api
from .actions import (
    PactTerms,
    balance_of,
    day_for,
    invite_for,
    invite_link,
    invite_shows_terms,
    invite_status,
    pact_accept,
    pact_cancel,
    pact_create,
    pact_decline,
    pact_end,
    pact_for,
    pact_stats,
    parse_day,
    today_for,
    todays_days,
    user_update_settings,
)
from .breaks import open_break
from .breaks_api import BreakSerializer, break_data
from .limits import (
    DISPUTE_WINDOW_MAX_HOURS,
    DISPUTE_WINDOW_MIN_HOURS,
    REMINDER_MAX_MINUTES,
    REMINDER_MIN_MINUTES,
    SKIP_REASON_MAX_LENGTH,
    SKIPS_PER_MONTH_DEFAULT,
    SKIPS_PER_MONTH_MAX,
    SKIPS_PER_MONTH_MIN,
)
from .models import Pact, PactDay, PactParticipant, SkipRequest, User
from .reach import messages_allowed

log = logging.getLogger(__name__)

PACT_ID = OpenApiParameter("pact_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
DAY_DATE = OpenApiParameter(
    "date", OpenApiTypes.DATE, OpenApiParameter.PATH, description="A date in the pact's zone."
)
INVITE_CODE = OpenApiParameter(
    "code", OpenApiTypes.STR, OpenApiParameter.PATH, description="From the invite link."
)


# --- input shapes -------------------------------------------------------------------------


_HH_MM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"


@extend_schema_field(
    {"type": "string", "pattern": _HH_MM, "example": "21:00", "description": "HH:MM"}
)
class HourMinuteField(serializers.TimeField):
    """A wall-clock time as "HH:MM" (the spec's shape), strictly."""

    def __init__(self, **kwargs):
        kwargs.setdefault("format", "%H:%M")
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        if not isinstance(value, str) or not re.match(_HH_MM, value):
            self.fail("invalid", format="HH:MM")
        return super().to_internal_value(value)


class TelegramAuthRequest(serializers.Serializer):
    init_data = StrictCharField(
        max_length=8192, trim_whitespace=False, help_text="Telegram.WebApp.initData, as is."
    )


class UserSettingsRequest(serializers.Serializer):
    timezone = StrictCharField(
        required=False, max_length=64, help_text="An IANA name, like Europe/London."
    )
    notify_reminders = StrictBooleanField(required=False)
    notify_disputes = StrictBooleanField(required=False)
    reminder_minutes_before = StrictIntegerField(
        required=False,
        help_text=f"{REMINDER_MIN_MINUTES} to {REMINDER_MAX_MINUTES} (whole minutes); "
        "for no reminders set notify_reminders to false.",
    )
    language = StrictCharField(
        required=False,
        allow_null=True,
        max_length=8,
        help_text="en, ru, es or pt-br; null = automatic (the language Telegram reports).",
    )


class PactCreateRequest(serializers.Serializer):
    title = StrictCharField(allow_blank=True, trim_whitespace=False, max_length=1000)
    description = StrictCharField(
        required=False, allow_blank=True, allow_null=True, max_length=2000, default=""
    )
    stake_amount = StrictIntegerField(help_text="Minor units (pence), 1 to 10 000.")
    currency = StrictCharField(
        required=False, default="GBP", allow_blank=True, max_length=16, help_text="ISO 4217."
    )
    schedule_days = serializers.ListField(
        child=StrictBooleanField(),
        max_length=7,
        help_text="Seven booleans, Monday first; at least one true.",
    )
    deadline_time = HourMinuteField(help_text="Local time in the pact's zone, HH:MM.")
    start_date = serializers.DateField()
    end_date = serializers.DateField(required=False, allow_null=True, default=None)
    dispute_window_hours = StrictIntegerField(
        required=False,
        default=12,
        help_text=f"{DISPUTE_WINDOW_MIN_HOURS}–{DISPUTE_WINDOW_MAX_HOURS}.",
    )
    partner_username = StrictCharField(
        required=False, allow_blank=True, allow_null=True, max_length=64, default=""
    )
    skips_per_month = StrictIntegerField(
        required=False,
        default=SKIPS_PER_MONTH_DEFAULT,
        help_text=f"The initiator's free skips per calendar month, "
        f"{SKIPS_PER_MONTH_MIN}–{SKIPS_PER_MONTH_MAX} (rule 8).",
    )


class InviteAnswerRequest(serializers.Serializer):
    invite_code = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        default="",
        help_text="The code from the invite link (rule 15). Missing or wrong: 404 "
        "PACT_NOT_FOUND, as for an unknown invite.",
    )


class PactEndRequest(serializers.Serializer):
    reason = StrictCharField(
        required=False, allow_blank=True, allow_null=True, max_length=1000, default=""
    )


class CheckInRequest(serializers.Serializer):
    note = StrictCharField(
        required=False, allow_blank=True, allow_null=True, max_length=1000, default=None
    )
    idempotency_key = StrictCharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=64,
        default=None,
        help_text="Client-generated; a retry with the same key and note returns the same day.",
    )


class DisputeRequest(serializers.Serializer):
    reason = StrictCharField(
        required=False, allow_blank=True, allow_null=True, max_length=1000, default=""
    )


class SkipRequestBody(serializers.Serializer):
    # The domain bounds the reason (SKIP_REASON_MAX_LENGTH, 422 VALIDATION_ERROR with the
    # same message on every door); this only keeps absurd bodies out.
    reason = StrictCharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=10_000,
        default="",
        help_text=f"Optional, up to {SKIP_REASON_MAX_LENGTH} characters.",
    )


class ResolveRequest(serializers.Serializer):
    resolution = serializers.ChoiceField(choices=["CONCEDE", "WITHDRAW", "REJECT"])


class PactListQuery(serializers.Serializer):
    status = QueryChoiceField(choices=Pact.Status.choices, required=False)
    role = QueryChoiceField(choices=PactParticipant.Role.choices, required=False)


class DayListQuery(serializers.Serializer):
    status = QueryChoiceField(choices=PactDay.Status.choices, required=False)


def parsed(request, serializer_class) -> dict:
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


# --- output shapes ------------------------------------------------------------------------


class MeSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    telegram_user_id = serializers.IntegerField()
    display_name = serializers.CharField()
    username = serializers.CharField(allow_null=True)
    timezone = serializers.CharField()
    notify_reminders = serializers.BooleanField()
    notify_disputes = serializers.BooleanField()
    reminder_minutes_before = serializers.IntegerField()
    can_receive_messages = serializers.BooleanField(
        help_text="Whether the bot may message you (rule 17): false until you start the bot "
        "or allow it to write (Telegram.WebApp.requestWriteAccess)."
    )
    language = serializers.ChoiceField(
        choices=settings.LANGUAGES,
        allow_null=True,
        help_text="The user's choice; null = automatic (the language Telegram reports).",
    )


class UserBriefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    display_name = serializers.CharField()
    username = serializers.CharField(allow_null=True)


class PactSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    description = serializers.CharField()
    status = serializers.ChoiceField(choices=Pact.Status.choices)
    stake_amount = serializers.IntegerField()
    currency = serializers.CharField()
    schedule_days = serializers.ListField(child=serializers.BooleanField())
    deadline_time = HourMinuteField()
    timezone = serializers.CharField()
    dispute_window_hours = serializers.IntegerField()
    skips_per_month = serializers.IntegerField(help_text="The initiator's free skips a month.")
    start_date = serializers.DateField()
    end_date = serializers.DateField(allow_null=True)
    partner_username = serializers.CharField()
    created_at = serializers.DateTimeField()
    activated_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    end_reason = serializers.CharField()


class ParticipantSerializer(serializers.Serializer):
    user = UserBriefSerializer()
    role = serializers.ChoiceField(choices=PactParticipant.Role.choices)
    status = serializers.ChoiceField(choices=PactParticipant.Status.choices)
    can_receive_messages = serializers.BooleanField(
        source="user.can_receive_messages",
        help_text="False: the bot can't reach them, so reminders and notices don't arrive.",
    )


class StatsSerializer(serializers.Serializer):
    total_days = serializers.IntegerField()
    done_days = serializers.IntegerField()
    missed_days = serializers.IntegerField()
    disputed_days = serializers.IntegerField()
    skipped_days = serializers.IntegerField()
    waived_days = serializers.IntegerField()
    current_streak = serializers.IntegerField()
    # Honesty in the open (issue 12): both participants see the same numbers.
    skips_used_this_month = serializers.IntegerField(
        help_text="The initiator's own skips of days in this month (pact zone)."
    )
    skip_requests_approved = serializers.IntegerField()
    skip_requests_declined = serializers.IntegerField()
    breaks_taken = serializers.IntegerField(help_text="Approved breaks that have started.")
    disputes_opened = serializers.IntegerField(help_text="Days whose check-in was disputed.")
    disputes_conceded = serializers.IntegerField()
    disputes_rejected = serializers.IntegerField()
    disputes_withdrawn = serializers.IntegerField()
    disputes_expired = serializers.IntegerField(
        help_text="Disputes left unanswered: the check-in stood."
    )
    waivers = serializers.IntegerField()
    approvals = serializers.IntegerField(help_text='Check-ins the partner marked "Looks good".')


class SkipRequestSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=SkipRequest.Status.choices)
    reason = serializers.CharField()
    requested_at = serializers.DateTimeField()


@extend_schema_field({"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}$", "example": "2025-01"})
class MonthField(serializers.DateField):
    """A calendar month as "YYYY-MM" (from the date of its first day)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("format", "%Y-%m")
        super().__init__(**kwargs)


class SkipAllowanceSerializer(serializers.Serializer):
    month = MonthField(help_text="YYYY-MM, in the pact's zone.")
    allowed = serializers.IntegerField()
    used = serializers.IntegerField()
    left = serializers.IntegerField()


class TodaySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    date = serializers.DateField()
    status = serializers.ChoiceField(choices=PactDay.Status.choices)
    deadline = serializers.DateTimeField()
    can_check_in = serializers.BooleanField()
    can_dispute = serializers.BooleanField()
    can_skip = serializers.BooleanField()
    can_miss = serializers.BooleanField()
    can_approve = serializers.BooleanField(help_text='Whether you may say "Looks good" now.')
    can_request_skip = serializers.BooleanField()
    can_answer_skip = serializers.BooleanField()
    skip_request = SkipRequestSerializer(allow_null=True)


class PactDetailSerializer(serializers.Serializer):
    pact = PactSerializer()
    participants = ParticipantSerializer(many=True)
    balance = serializers.IntegerField(help_text="Positive: the initiator owes the partner.")
    stats = StatsSerializer()
    skip_allowance = SkipAllowanceSerializer(
        help_text="The initiator's free skips this month (today's month, pact zone)."
    )
    today = TodaySerializer(allow_null=True)
    current_break = BreakSerializer(
        allow_null=True, help_text="The break running or ahead (approved or proposed), if any."
    )
    invite_link = serializers.CharField(
        allow_null=True, help_text="For the initiator while the invite is open."
    )


class PactCreatedSerializer(serializers.Serializer):
    pact = PactSerializer()
    invite_link = serializers.CharField()


class PactOnlySerializer(serializers.Serializer):
    pact = PactSerializer()


class TodayBriefSerializer(serializers.Serializer):
    date = serializers.DateField()
    status = serializers.ChoiceField(choices=PactDay.Status.choices)
    deadline = serializers.DateTimeField(source="deadline_at")


class PartnerBriefSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    display_name = serializers.CharField()


class PactSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=Pact.Status.choices)
    my_role = serializers.ChoiceField(choices=PactParticipant.Role.choices)
    partner = PartnerBriefSerializer(allow_null=True)
    stake_amount = serializers.IntegerField()
    currency = serializers.CharField()
    balance = serializers.IntegerField()
    today = TodayBriefSerializer(allow_null=True)


class PactListSerializer(serializers.Serializer):
    pacts = PactSummarySerializer(many=True)


class DaySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    date = serializers.DateField()
    status = serializers.ChoiceField(choices=PactDay.Status.choices)
    deadline = serializers.DateTimeField(source="deadline_at")
    checked_in_at = serializers.DateTimeField(allow_null=True)
    checkin_note = serializers.CharField(allow_null=True)
    dispute_open_until = serializers.DateTimeField(allow_null=True)
    disputed_at = serializers.DateTimeField(allow_null=True)
    dispute_reason = serializers.CharField(allow_null=True)
    dispute_resolve_until = serializers.DateTimeField(allow_null=True)
    resolution = serializers.ChoiceField(choices=PactDay.Resolution.choices, allow_null=True)
    resolution_at = serializers.DateTimeField(allow_null=True)
    skipped_at = serializers.DateTimeField(allow_null=True)
    break_id = serializers.UUIDField(
        source="on_break_id", allow_null=True, help_text="The break that made this a day off."
    )
    approved_at = serializers.DateTimeField(
        allow_null=True,
        help_text='When the partner said "Looks good" (the dispute window closed then).',
    )
    skip_request = SkipRequestSerializer(
        allow_null=True, help_text="The day's latest skip request (rule 9), or null."
    )


class DayResponseSerializer(serializers.Serializer):
    day = DaySerializer()


class DayListSerializer(serializers.Serializer):
    days = DaySerializer(many=True)
    total = serializers.IntegerField(help_text="Days matching the filter.")
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()


class AuthResponseSerializer(serializers.Serializer):
    user = MeSerializer()
    token = serializers.CharField(help_text="Send as `Authorization: Bearer <token>`.")
    is_new_user = serializers.BooleanField()


class MeResponseSerializer(serializers.Serializer):
    user = MeSerializer()


class InviteTermsSerializer(serializers.Serializer):
    title = serializers.CharField()
    description = serializers.CharField()
    stake_amount = serializers.IntegerField()
    currency = serializers.CharField()
    schedule_days = serializers.ListField(child=serializers.BooleanField())
    deadline_time = HourMinuteField()
    timezone = serializers.CharField()
    start_date = serializers.DateField()
    end_date = serializers.DateField(allow_null=True)
    dispute_window_hours = serializers.IntegerField()
    skips_per_month = serializers.IntegerField()


class InviterSerializer(serializers.Serializer):
    display_name = serializers.CharField()
    username = serializers.CharField(allow_null=True)


INVITE_STATUSES = ["PENDING_ACCEPT", "ALREADY_ACCEPTED", "DECLINED", "EXPIRED", "CANCELLED"]


class InvitePreviewSerializer(serializers.Serializer):
    pact = InviteTermsSerializer(
        allow_null=True, help_text="Null once the invite is answered (unless you're in it)."
    )
    initiator = InviterSerializer(
        allow_null=True, help_text="Null once the invite is answered (unless you're in it)."
    )
    status = serializers.ChoiceField(choices=INVITE_STATUSES)


# --- reads shared by several views ----------------------------------------------------


def pact_detail(pact: Pact, user: User) -> dict:
    """GET /pacts/{id}'s body. `pact` comes from `pact_for` (participants prefetched)."""
    today = today_for(pact)
    current = open_break(pact)
    is_open_invite = pact.status == Pact.Status.PENDING_ACCEPT
    body = {
        "pact": pact,
        "participants": list(pact.participants.all()),
        "balance": balance_of(pact),
        "stats": pact_stats(pact),
        "skip_allowance": pact.skip_allowance(pact.local_today()),
        "today": None
        if today is None
        else {
            "id": today.pk,
            "date": today.date,
            "status": today.status,
            "deadline": today.deadline_at,
            "can_check_in": today.can_check_in(user),
            "can_dispute": today.can_dispute(user),
            "can_skip": today.can_skip(user),
            "can_miss": today.can_miss(user),
            "can_approve": today.can_approve(user),
            "can_request_skip": today.can_request_skip(user),
            "can_answer_skip": today.can_answer_skip(user),
            "skip_request": today.skip_request,
        },
        "current_break": None if current is None else break_data(current, user),
        "invite_link": invite_link(pact)
        if is_open_invite and pact.created_by_user_id == user.pk
        else None,
    }
    return represent(PactDetailSerializer, body)


def day_of(user: User, pact_id, day: str) -> PactDay:
    """The participant's pact day (403 for a stranger before anything about the date)."""
    pact = pact_for(user, pact_id)
    return day_for(pact, parse_day(day))


def day_body(day: PactDay) -> dict:
    return represent(DayResponseSerializer, {"day": day})


# --- auth and the user's own settings -------------------------------------------------


class TelegramAuthView(APIView):
    """POST /auth/telegram: Telegram initData in, user + 7-day JWT out."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    rate_scope = "auth"

    @extend_schema(
        operation_id="auth_telegram",
        tags=["auth"],
        request=TelegramAuthRequest,
        responses={200: AuthResponseSerializer, **body_error_responses()},
        auth=[],
    )
    def post(self, request):
        data = parsed(request, TelegramAuthRequest)
        user, is_new = user_from_init_data(validate_init_data(data["init_data"]))
        log.info("api_signed_in", extra={"user_id": str(user.pk), "is_new_user": is_new})
        return Response(
            represent(
                AuthResponseSerializer,
                {"user": user, "token": issue_token(user), "is_new_user": is_new},
            )
        )


class MeView(APIView):
    """GET / PATCH /users/me."""

    @extend_schema(
        operation_id="users_me_retrieve",
        tags=["users"],
        responses={200: MeResponseSerializer, **error_responses()},
    )
    def get(self, request):
        return Response(represent(MeResponseSerializer, {"user": request.user}))

    @extend_schema(
        operation_id="users_me_update",
        tags=["users"],
        request=UserSettingsRequest,
        responses={200: MeResponseSerializer, **body_error_responses()},
    )
    def patch(self, request):
        user = user_update_settings(request.user, **parsed(request, UserSettingsRequest))
        return Response(represent(MeResponseSerializer, {"user": user}))

    @privacy_api.DELETE_SCHEMA
    def delete(self, request):
        return privacy_api.delete_account(request)


class WriteAccessView(APIView):
    """POST /users/me/write-access."""

    @extend_schema(
        operation_id="users_me_write_access",
        tags=["users"],
        request=None,
        responses={200: MeResponseSerializer, **error_responses()},
    )
    def post(self, request):
        """The Mini App's `requestWriteAccess()` was granted: the bot may message you.
        (Telegram also tells the bot; this makes the change show at once. Saying so
        falsely only costs a refused message, which turns it off again.)"""
        messages_allowed(request.user, source="mini_app")
        return Response(represent(MeResponseSerializer, {"user": request.user}))


# --- pacts ---------------------------------------------------------------------------------


class PactListView(APIView):
    """GET /pacts (filters `status`, `role`) and POST /pacts."""

    @extend_schema(
        operation_id="pacts_list",
        tags=["pacts"],
        parameters=[PactListQuery],
        responses={200: PactListSerializer, **error_responses(422)},
    )
    def get(self, request):
        """The user's pacts, newest first, with partner, balance and today's day.

        Costs a constant number of queries whatever the count: the pacts with their
        balance (a subquery), their participants and users (two prefetches), and the
        days of everyone's "today" (one query, dates computed per pact's zone).
        """
        filters = query_params(request, PactListQuery)
        user = request.user
        pacts = Pact.objects.for_user(user, role=filters.get("role"))
        if "status" in filters:
            pacts = pacts.filter(status=filters["status"])
        pacts = list(
            pacts.annotate(balance=balance_column())
            .prefetch_related("participants__user")
            .order_by("-created_at", "-id")
        )
        days = todays_days(pacts, timezone.now())
        items = []
        for pact in pacts:
            role = pact.role_of(user)
            other = next((m.user for m in pact.members if m.user_id != user.pk), None)
            items.append(
                {
                    "id": pact.pk,
                    "title": pact.title,
                    "status": pact.status,
                    "my_role": role,
                    "partner": other,
                    "stake_amount": pact.stake_amount,
                    "currency": pact.currency,
                    "balance": pact.balance,
                    "today": days[pact.pk],
                }
            )
        return Response(represent(PactListSerializer, {"pacts": items}))

    @extend_schema(
        operation_id="pacts_create",
        tags=["pacts"],
        request=PactCreateRequest,
        responses={201: PactCreatedSerializer, **body_error_responses()},
    )
    def post(self, request):
        data = parsed(request, PactCreateRequest)
        data["description"] = data["description"] or ""
        data["partner_username"] = data["partner_username"] or ""
        pact = pact_create(initiator=request.user, terms=PactTerms(**data))
        log.info(
            "api_pact_created", extra={"pact_id": str(pact.pk), "user_id": str(request.user.pk)}
        )
        body = represent(PactCreatedSerializer, {"pact": pact, "invite_link": invite_link(pact)})
        return Response(body, status=status.HTTP_201_CREATED)


class PactDetailView(APIView):
    @extend_schema(
        operation_id="pacts_retrieve",
        tags=["pacts"],
        parameters=[PACT_ID],
        responses={200: PactDetailSerializer, **error_responses(403, 404)},
    )
    def get(self, request, pact_id):
        return Response(pact_detail(pact_for(request.user, pact_id), request.user))


def invited_pact(request, pact_id) -> Pact:
    """The pact for accept/decline by id: only with its invite code in the body."""
    code = parsed(request, InviteAnswerRequest)["invite_code"]
    return invite_for(code, pact_id=pact_id)


class PactAcceptView(APIView):
    @extend_schema(
        operation_id="pacts_accept",
        tags=["pacts"],
        request=InviteAnswerRequest,
        parameters=[PACT_ID],
        responses={200: PactDetailSerializer, **body_error_responses(403, 404, 409)},
    )
    def post(self, request, pact_id):
        """Accept the invitation (the invited partner; never the initiator). Needs the
        invite code: without it, or with another one, 404 as for an unknown invite."""
        pact = pact_accept(invited_pact(request, pact_id), request.user)
        return Response(pact_detail(pact_for(request.user, pact.pk), request.user))


class PactDeclineView(APIView):
    @extend_schema(
        operation_id="pacts_decline",
        tags=["pacts"],
        request=InviteAnswerRequest,
        parameters=[PACT_ID],
        responses={200: PactOnlySerializer, **body_error_responses(403, 404, 409)},
    )
    def post(self, request, pact_id):
        """Decline the invitation (the invited partner). Needs the invite code, as
        accepting does."""
        pact = pact_decline(invited_pact(request, pact_id), request.user)
        return Response(represent(PactOnlySerializer, {"pact": pact}))


class PactCancelView(APIView):
    @extend_schema(
        operation_id="pacts_cancel",
        tags=["pacts"],
        request=None,
        parameters=[PACT_ID],
        responses={200: PactDetailSerializer, **error_responses(403, 404, 409)},
    )
    def post(self, request, pact_id):
        """Withdraw an invite still waiting for an answer (the initiator only): the pact
        becomes CANCELLED, both are told, and the invite link says it was withdrawn."""
        pact = pact_cancel(pact_for(request.user, pact_id), request.user)
        return Response(pact_detail(pact_for(request.user, pact.pk), request.user))


class PactEndView(APIView):
    @extend_schema(
        operation_id="pacts_end",
        tags=["pacts"],
        request=PactEndRequest,
        parameters=[PACT_ID],
        responses={200: PactDetailSerializer, **body_error_responses(403, 404, 409)},
    )
    def post(self, request, pact_id):
        """End an active pact (either participant)."""
        pact = pact_for(request.user, pact_id)
        reason = parsed(request, PactEndRequest)["reason"] or ""
        pact_end(pact, request.user, reason=reason)
        return Response(pact_detail(pact_for(request.user, pact.pk), request.user))


# --- days ----------------------------------------------------------------------------------


DAYS_PAGE = page_query_serializer(30)


class DayListView(APIView):
    @extend_schema(
        operation_id="days_list",
        tags=["days"],
        parameters=[PACT_ID, DayListQuery, DAYS_PAGE],
        responses={200: DayListSerializer, **error_responses(403, 404, 422)},
    )
    def get(self, request, pact_id):
        """The pact's days, newest first (`limit` default 30, `offset`, `status`)."""
        pact = pact_for(request.user, pact_id)
        filters = query_params(request, DayListQuery)
        limit, offset = page_params(request, default_limit=30)
        days = PactDay.objects.filter(pact=pact)
        if "status" in filters:
            days = days.filter(status=filters["status"])
        total = days.count()
        page = (
            list(days.order_by("-date").prefetch_related("skip_requests")[offset : offset + limit])
            if offset < total
            else []
        )
        body = {"days": page, "total": total, "limit": limit, "offset": offset}
        return Response(represent(DayListSerializer, body))


class DayDetailView(APIView):
    @extend_schema(
        operation_id="days_retrieve",
        tags=["days"],
        parameters=[PACT_ID, DAY_DATE],
        responses={200: DayResponseSerializer, **error_responses(403, 404)},
    )
    def get(self, request, pact_id, date):
        return Response(day_body(day_of(request.user, pact_id, date)))


DAY_ACTION_ERRORS = (403, 404, 409)


class CheckInView(APIView):
    rate_scope = "checkin"

    @extend_schema(
        operation_id="days_checkin",
        tags=["days"],
        request=CheckInRequest,
        parameters=[PACT_ID, DAY_DATE],
        responses={200: DayResponseSerializer, **body_error_responses(*DAY_ACTION_ERRORS)},
    )
    def post(self, request, pact_id, date):
        """Check in (initiator, on the day, before the deadline). Idempotent per key."""
        found = day_of(request.user, pact_id, date)
        data = parsed(request, CheckInRequest)
        found.check_in(request.user, note=data["note"], idempotency_key=data["idempotency_key"])
        return Response(day_body(found))


class MissView(APIView):
    @extend_schema(
        operation_id="days_miss",
        tags=["days"],
        request=None,
        parameters=[PACT_ID, DAY_DATE],
        responses={200: DayResponseSerializer, **error_responses(*DAY_ACTION_ERRORS)},
    )
    def post(self, request, pact_id, date):
        """Own up to a miss before the deadline (initiator)."""
        found = day_of(request.user, pact_id, date)
        return Response(day_body(found.miss(request.user)))


class DisputeView(APIView):
    rate_scope = "dispute"

    @extend_schema(
        operation_id="days_dispute",
        tags=["days"],
        request=DisputeRequest,
        parameters=[PACT_ID, DAY_DATE],
        responses={200: DayResponseSerializer, **body_error_responses(*DAY_ACTION_ERRORS)},
    )
    def post(self, request, pact_id, date):
        """Dispute a check-in while the window is open (partner)."""
        found = day_of(request.user, pact_id, date)
        reason = parsed(request, DisputeRequest)["reason"] or ""
        return Response(day_body(found.dispute(request.user, reason=reason)))


class ResolveView(APIView):
    @extend_schema(
        operation_id="days_resolve",
        tags=["days"],
        request=ResolveRequest,
        parameters=[PACT_ID, DAY_DATE],
        responses={200: DayResponseSerializer, **body_error_responses(*DAY_ACTION_ERRORS)},
    )
    def post(self, request, pact_id, date):
        """CONCEDE or REJECT (initiator), WITHDRAW (partner)."""
        found = day_of(request.user, pact_id, date)
        resolution = parsed(request, ResolveRequest)["resolution"]
        return Response(day_body(found.resolve(request.user, resolution)))


class WaiveView(APIView):
    @extend_schema(
        operation_id="days_waive",
        tags=["days"],
        request=None,
        parameters=[PACT_ID, DAY_DATE],
        responses={200: DayResponseSerializer, **error_responses(*DAY_ACTION_ERRORS)},
    )
    def post(self, request, pact_id, date):
        """Forgive a missed day (partner): a WAIVER entry reverses the forfeit."""
        found = day_of(request.user, pact_id, date)
        return Response(day_body(found.waive(request.user)))


class ApproveView(APIView):
    @extend_schema(
        operation_id="days_approve",
        tags=["days"],
        request=None,
        parameters=[PACT_ID, DAY_DATE],
        responses={200: DayResponseSerializer, **error_responses(*DAY_ACTION_ERRORS)},
    )
    def post(self, request, pact_id, date):
        """ "Looks good" (partner, a DONE day inside its dispute window): closes the window
        at once and tells the initiator. Again: the same day, no second message.
        409 DISPUTE_WINDOW_CLOSED after the window; 409 INVALID_STATE_TRANSITION on a
        day not DONE; 403 FORBIDDEN_WRONG_ROLE for the initiator."""
        found = day_of(request.user, pact_id, date)
        return Response(day_body(found.approve(request.user)))


class SkipView(APIView):
    @extend_schema(
        operation_id="days_skip",
        tags=["days"],
        request=None,
        parameters=[PACT_ID, DAY_DATE],
        responses={200: DayResponseSerializer, **error_responses(*DAY_ACTION_ERRORS)},
    )
    def post(self, request, pact_id, date):
        """Skip a pending day before its deadline (either participant). No forfeit. The
        initiator's skip uses one of the month's free skips (409 SKIP_ALLOWANCE_USED when
        none is left: ask instead); the partner's never does."""
        found = day_of(request.user, pact_id, date)
        return Response(day_body(found.skip(request.user)))


# --- skip requests (rule 9) ------------------------------------------------------------


class SkipRequestView(APIView):
    @extend_schema(
        operation_id="days_skip_request",
        tags=["days"],
        request=SkipRequestBody,
        parameters=[PACT_ID, DAY_DATE],
        responses={200: DayResponseSerializer, **body_error_responses(*DAY_ACTION_ERRORS)},
    )
    def post(self, request, pact_id, date):
        """Ask the partner to skip a pending day before its deadline (initiator). The
        partner gets a bot message with Approve / Decline. A retry with the same reason
        returns the same request; another while one is open is 409 SKIP_REQUEST_OPEN."""
        found = day_of(request.user, pact_id, date)
        reason = parsed(request, SkipRequestBody)["reason"] or ""
        found.request_skip(request.user, reason=reason)
        return Response(day_body(found))


class SkipRequestApproveView(APIView):
    @extend_schema(
        operation_id="days_skip_request_approve",
        tags=["days"],
        request=None,
        parameters=[PACT_ID, DAY_DATE],
        responses={200: DayResponseSerializer, **error_responses(*DAY_ACTION_ERRORS)},
    )
    def post(self, request, pact_id, date):
        """Approve the open skip request (partner, before the deadline): the day is
        SKIPPED as the partner's skip and uses no allowance. Idempotent."""
        found = day_of(request.user, pact_id, date)
        return Response(day_body(found.approve_skip(request.user)))


class SkipRequestDeclineView(APIView):
    @extend_schema(
        operation_id="days_skip_request_decline",
        tags=["days"],
        request=None,
        parameters=[PACT_ID, DAY_DATE],
        responses={200: DayResponseSerializer, **error_responses(*DAY_ACTION_ERRORS)},
    )
    def post(self, request, pact_id, date):
        """Decline the open skip request (partner): the day stays pending. Idempotent."""
        found = day_of(request.user, pact_id, date)
        return Response(day_body(found.decline_skip(request.user)))


# --- invites ---------------------------------------------------------------------------


class InviteView(APIView):
    @extend_schema(
        operation_id="invites_retrieve",
        tags=["invites"],
        parameters=[INVITE_CODE],
        responses={200: InvitePreviewSerializer, **error_responses(404)},
    )
    def get(self, request, code):
        """What the invite commits to, for any signed-in user holding the link while it
        is open; once answered, expired or withdrawn, only its status (rule 15)."""
        pact = invite_for(code)
        body = {"pact": None, "initiator": None, "status": invite_status(pact)}
        if invite_shows_terms(pact, request.user):
            body |= {"pact": pact, "initiator": pact.created_by_user}
        return Response(represent(InvitePreviewSerializer, body))


class InviteAcceptView(APIView):
    @extend_schema(
        operation_id="invites_accept",
        tags=["invites"],
        request=None,
        parameters=[INVITE_CODE],
        responses={200: PactDetailSerializer, **error_responses(403, 404, 409)},
    )
    def post(self, request, code):
        """Accept the invite: the same as POST /pacts/{id}/accept."""
        pact = pact_accept(invite_for(code), request.user)
        return Response(pact_detail(pact_for(request.user, pact.pk), request.user))
