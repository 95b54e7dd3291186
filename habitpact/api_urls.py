"""Routes of the JSON API, mounted at /api/v1/ (spec §7).

Ids and dates are matched as plain strings so a malformed one reaches the view and gets
the spec's 404 (PACT_NOT_FOUND / DAY_NOT_FOUND) in the error envelope. Anything that
matches no route gets the envelope's NOT_FOUND from the catch-all at the end, which must
stay last.
"""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from habitpact.api import ApiError
from ledger import api as ledger_api
from pacts import api as pacts_api
from pacts import breaks_api, privacy_api
from telegram_bot import api as bot_api

app_name = "api"


class NotFoundView(APIView):
    """Any unknown path under /api/v1/: the envelope, not Django's HTML 404."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    schema = None

    def dispatch(self, request, *args, **kwargs):
        self.args, self.kwargs, self.request = args, kwargs, self.initialize_request(request)
        self.headers = self.default_response_headers
        response = self.handle_exception(
            ApiError("NOT_FOUND", "There's no such API endpoint.", 404, {"path": request.path})
        )
        self.response = self.finalize_response(self.request, response, *args, **kwargs)
        return self.response


urlpatterns = [
    path("auth/telegram", pacts_api.TelegramAuthView.as_view(), name="auth-telegram"),
    path("users/me", pacts_api.MeView.as_view(), name="me"),
    path("users/me/export", privacy_api.ExportView.as_view(), name="me-export"),
    path("users/me/write-access", pacts_api.WriteAccessView.as_view(), name="me-write-access"),
    path("pacts", pacts_api.PactListView.as_view(), name="pacts"),
    path("pacts/<str:pact_id>", pacts_api.PactDetailView.as_view(), name="pact"),
    path("pacts/<str:pact_id>/accept", pacts_api.PactAcceptView.as_view(), name="pact-accept"),
    path("pacts/<str:pact_id>/decline", pacts_api.PactDeclineView.as_view(), name="pact-decline"),
    path("pacts/<str:pact_id>/cancel", pacts_api.PactCancelView.as_view(), name="pact-cancel"),
    path(
        "pacts/<str:pact_id>/invite/prepared",
        bot_api.PreparedInviteView.as_view(),
        name="pact-invite-prepared",
    ),
    path("pacts/<str:pact_id>/end", pacts_api.PactEndView.as_view(), name="pact-end"),
    path("pacts/<str:pact_id>/days", pacts_api.DayListView.as_view(), name="days"),
    path("pacts/<str:pact_id>/days/<str:date>", pacts_api.DayDetailView.as_view(), name="day"),
    path(
        "pacts/<str:pact_id>/days/<str:date>/checkin",
        pacts_api.CheckInView.as_view(),
        name="day-checkin",
    ),
    path("pacts/<str:pact_id>/days/<str:date>/miss", pacts_api.MissView.as_view(), name="day-miss"),
    path(
        "pacts/<str:pact_id>/days/<str:date>/dispute",
        pacts_api.DisputeView.as_view(),
        name="day-dispute",
    ),
    path(
        "pacts/<str:pact_id>/days/<str:date>/resolve",
        pacts_api.ResolveView.as_view(),
        name="day-resolve",
    ),
    path(
        "pacts/<str:pact_id>/days/<str:date>/waive", pacts_api.WaiveView.as_view(), name="day-waive"
    ),
    path("pacts/<str:pact_id>/days/<str:date>/skip", pacts_api.SkipView.as_view(), name="day-skip"),
    # Rules 10 and 11: breaks and the partner's "Looks good".
    path(
        "pacts/<str:pact_id>/days/<str:date>/approve",
        pacts_api.ApproveView.as_view(),
        name="day-approve",
    ),
    path("pacts/<str:pact_id>/breaks", breaks_api.PactBreaksView.as_view(), name="breaks"),
    path(
        "breaks/<str:break_id>/approve", breaks_api.BreakApproveView.as_view(), name="break-approve"
    ),
    path(
        "breaks/<str:break_id>/decline", breaks_api.BreakDeclineView.as_view(), name="break-decline"
    ),
    path("breaks/<str:break_id>/end", breaks_api.BreakEndView.as_view(), name="break-end"),
    path(
        "pacts/<str:pact_id>/days/<str:date>/skip-request",
        pacts_api.SkipRequestView.as_view(),
        name="day-skip-request",
    ),
    path(
        "pacts/<str:pact_id>/days/<str:date>/skip-request/approve",
        pacts_api.SkipRequestApproveView.as_view(),
        name="day-skip-request-approve",
    ),
    path(
        "pacts/<str:pact_id>/days/<str:date>/skip-request/decline",
        pacts_api.SkipRequestDeclineView.as_view(),
        name="day-skip-request-decline",
    ),
    path("pacts/<str:pact_id>/ledger", ledger_api.LedgerView.as_view(), name="ledger"),
    path(
        "pacts/<str:pact_id>/settlements",
        ledger_api.SettlementListView.as_view(),
        name="settlements",
    ),
    path(
        "settlements/<str:settlement_id>/confirm",
        ledger_api.SettlementConfirmView.as_view(),
        name="settlement-confirm",
    ),
    path(
        "settlements/<str:settlement_id>/cancel",
        ledger_api.SettlementCancelView.as_view(),
        name="settlement-cancel",
    ),
    path("invites/<str:code>", pacts_api.InviteView.as_view(), name="invite"),
    path("invites/<str:code>/accept", pacts_api.InviteAcceptView.as_view(), name="invite-accept"),
    # OpenAPI 3 schema and interactive docs (Swagger UI served from drf-spectacular-sidecar's
    # static files: no CDN, works offline).
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script as a file: no inline script, so
    # the site's Content-Security-Policy (habitpact/security.py) allows it.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    re_path(r"^.*$", NotFoundView.as_view(), name="not-found"),
]
