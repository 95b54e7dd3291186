"""The recap picture for the Mini App: `GET /pacts/<id>/recap.png?week=YYYY-Www`.

The Mini App signs every request with `Authorization: tma <initData>`, which an `<img>`
cannot send, so static/js/app.js fetches the picture with the header and shows or shares
the blob. Telegram's `shareToStory(media_url)` is different: the Telegram client
downloads the picture itself, with no header. For that, `GET /pacts/<id>/recap-link`
(header-authenticated) answers a link to the same picture signed for that pact, week
and user, valid for SHARE_LINK_MAX_AGE: it opens that one picture and nothing else (no
session, no API), and only while its user is still in the pact. The user is about to
post the picture publicly, so a short-lived link to it gives away nothing they are not
already sharing.

Answers: 200 image/png; 401 without a valid header or link; 404 for a pact the user is
not in (or that does not exist: a stranger learns nothing); 400 VALIDATION_ERROR for a
week that is not `YYYY-Www`.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from habitpact.api import envelope
from habitpact.auth import user_from_authorization
from habitpact.errors import DomainError
from pacts import recap
from pacts.actions import pact_for
from pacts.models import User

SHARE_LINK_MAX_AGE = timedelta(minutes=10)
_SALT = "pacts.recap.share"


def _error(code: str, message: str, status: int, **details) -> JsonResponse:
    return JsonResponse(envelope(code, message, details), status=status)


def _signed_payload(pact_id: uuid.UUID, week: str, user: User) -> str:
    return f"{pact_id}:{week}:{user.pk}"


def _user_from_link(request: HttpRequest, pact_id: uuid.UUID, week: str) -> User | None:
    """The user a share link was signed for, if `sig` is good for this pact and week."""
    try:
        value = signing.TimestampSigner(salt=_SALT).unsign(
            request.GET["sig"], max_age=SHARE_LINK_MAX_AGE
        )
    except signing.BadSignature:  # includes SignatureExpired
        return None
    signed_pact, signed_week, user_id = value.split(":", 2)
    if signed_pact != str(pact_id) or signed_week != week:
        return None
    return User.objects.filter(pk=user_id, is_active=True, deleted_at__isnull=True).first()


def _week(request: HttpRequest, user: User) -> tuple[str, object]:
    """The asked week as ("YYYY-Www", its Monday); this week in the user's zone if none."""
    value = request.GET.get("week")
    if value is None:
        today = timezone.now().astimezone(user.tz).date()
        value = recap.week_label(today - timedelta(days=today.weekday()))
    return value, recap.parse_week(value)


@require_GET
@vary_on_headers("Authorization")
def recap_png(request: HttpRequest, pact_id: uuid.UUID) -> HttpResponse:
    """The week's recap card of one pact, for a participant."""
    week = request.GET.get("week", "")
    if "sig" in request.GET:
        user = _user_from_link(request, pact_id, week)
        if user is None:
            expired = gettext("This recap link has expired. Share it again.")
            return _error("UNAUTHORIZED", expired, 401)
    else:
        try:
            user = user_from_authorization(request.headers.get("Authorization", ""))
        except DomainError as error:
            return _error(error.code, error.message, error.http_status)
        if user is None:
            return _error("UNAUTHORIZED", gettext("Open HabitPact from Telegram to continue."), 401)
    try:
        pact = pact_for(user, pact_id)
    except DomainError:
        return _error("PACT_NOT_FOUND", gettext("We couldn't find that pact."), 404)
    try:
        label, monday = _week(request, user)
    except ValueError as exc:
        return _error("VALIDATION_ERROR", str(exc), 400, week=request.GET.get("week"))
    png = recap.render_for(user, [pact], monday, timezone.now())
    response = HttpResponse(png, content_type="image/png")
    response["Content-Disposition"] = f'inline; filename="habitpact-recap-{label}.png"'
    # Personal (names, the tab): no shared cache may keep it.
    response["Cache-Control"] = "private, max-age=300"
    return response


@require_GET
def recap_link(request: HttpRequest, pact_id: uuid.UUID) -> JsonResponse:
    """`{"url", "expires_in"}`: a link to the recap picture that works without the
    header, for `Telegram.WebApp.shareToStory` (see the module docstring)."""
    try:
        user = user_from_authorization(request.headers.get("Authorization", ""))
    except DomainError as error:
        return _error(error.code, error.message, error.http_status)
    if user is None:
        return _error("UNAUTHORIZED", gettext("Open HabitPact from Telegram to continue."), 401)
    try:
        pact = pact_for(user, pact_id)
    except DomainError:
        return _error("PACT_NOT_FOUND", gettext("We couldn't find that pact."), 404)
    try:
        label, _monday = _week(request, user)
    except ValueError as exc:
        return _error("VALIDATION_ERROR", str(exc), 400, week=request.GET.get("week"))
    sig = signing.TimestampSigner(salt=_SALT).sign(_signed_payload(pact.pk, label, user))
    path = reverse("pact_recap", args=[pact.pk])
    query = urlencode({"week": label, "sig": sig})
    response = JsonResponse(
        {
            "url": f"{settings.WEBAPP_URL.rstrip('/')}{path}?{query}",
            "expires_in": int(SHARE_LINK_MAX_AGE.total_seconds()),
        }
    )
    response["Cache-Control"] = "no-store"
    return response
