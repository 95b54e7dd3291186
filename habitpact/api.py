"""The JSON API's plumbing: who is asking, how errors look, how lists are paged.

Every API module (pacts/api.py, ledger/api.py, and later ones such as the users/me
deletion and export endpoints) builds on this:

- `TelegramAuthentication`: DRF authentication over `habitpact.auth.signed_in`
  (`Authorization: Bearer <jwt>` or `Authorization: tma <initData>`). It is the project's
  default (settings.REST_FRAMEWORK), so a new `APIView` is authenticated without asking.
- `exception_handler`: every error, ours (`DomainError`) and DRF's own, becomes
  `{"error": {"code", "message", "details"}}` with the spec §12 code and HTTP status.
  Views just call the domain and let its DomainError propagate.
- `ERRORS` / `error_responses(...)`: the envelope for drf-spectacular's `extend_schema`.
- `page_params(request, default_limit=...)`: validated `limit` / `offset` query parameters.
- `represent(SerializerClass, body)`: an answer's JSON shape, as `SerializerClass(body).data`
  gives it, without building the serializer's fields again on every request.
- No `rest_framework.views` import at module level: DRF's settings import this module
  (DEFAULT_AUTHENTICATION_CLASSES), and `rest_framework.views` imports those settings.
- `health`: GET /health, a database round trip, 200 or 503.

A new endpoint therefore looks like::

    class ThingView(APIView):
        @extend_schema(responses={200: ThingSerializer, **error_responses(401, 403, 404)})
        def get(self, request, pact_id):
            pact = pact_for(request.user, pact_id)   # raises DomainError → envelope
            return Response(represent(ThingSerializer, {"thing": ...}))
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from habitpact.auth import signed_in
from habitpact.errors import DomainError
from habitpact.ratelimit import SpecRateThrottle

log = logging.getLogger(__name__)

# Bodies bigger than this are refused before parsing: no endpoint needs more. DRF reads
# request.body first, so past Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) the refusal
# comes from RequestDataTooBig in exception_handler instead, with the same answer.
MAX_BODY_BYTES = 64 * 1024

# --- authentication ----------------------------------------------------------------------


class AuthFailed(exceptions.AuthenticationFailed):
    """A present-but-wrong Authorization header, carrying the domain's code
    (AUTH_INVALID_INIT_DATA, AUTH_EXPIRED_TOKEN or UNAUTHORIZED)."""

    def __init__(self, error: DomainError):
        super().__init__(detail=error.message, code=error.code)
        self.domain_error = error


class TelegramAuthentication(BaseAuthentication):
    """`Authorization: Bearer <jwt>` (from POST /auth/telegram) or `tma <initData>`."""

    def authenticate(self, request):
        """The user, and the throttle's count for this request made in the same round
        trip (`SpecRateThrottle.counted_at_sign_in`)."""
        header = request.META.get("HTTP_AUTHORIZATION", "")
        view = (getattr(request, "parser_context", None) or {}).get("view")
        scope = SpecRateThrottle.scope_counted_by(request, view)
        try:
            user, counted = signed_in(header, counting=scope)
        except DomainError as error:
            raise AuthFailed(error) from None
        if counted is not None:
            SpecRateThrottle.counted_at_sign_in(request, scope, counted)
        return None if user is None else (user, None)

    def authenticate_header(self, request) -> str:
        # Its presence makes DRF answer 401 (not 403) to unauthenticated requests.
        return 'Bearer realm="habitpact", tma realm="habitpact"'


class TelegramAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "habitpact.api.TelegramAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": (
                "A token from POST /api/v1/auth/telegram. The Mini App may instead send "
                "`Authorization: tma <initData>` (Telegram's raw initData)."
            ),
        }


# --- errors ---------------------------------------------------------------------------

# DRF's own exceptions → (spec code, HTTP status). Anything else keeps DRF's status.
_DRF_CODES: list[tuple[type[exceptions.APIException], str, int]] = [
    (exceptions.ValidationError, "VALIDATION_ERROR", 422),
    (exceptions.ParseError, "VALIDATION_ERROR", 422),
    (exceptions.NotAuthenticated, "UNAUTHORIZED", 401),
    (exceptions.AuthenticationFailed, "UNAUTHORIZED", 401),
    (exceptions.PermissionDenied, "FORBIDDEN", 403),
    (exceptions.NotFound, "NOT_FOUND", 404),
    (exceptions.MethodNotAllowed, "METHOD_NOT_ALLOWED", 405),
    (exceptions.NotAcceptable, "NOT_ACCEPTABLE", 406),
    (exceptions.UnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", 415),
    (exceptions.Throttled, "RATE_LIMITED", 429),
]

_MESSAGES = {  # lazy: each answer is in its requester's language
    "VALIDATION_ERROR": gettext_lazy("Some of the details aren't right."),
    "UNAUTHORIZED": gettext_lazy("Sign in with Telegram first."),
    "FORBIDDEN": gettext_lazy("You can't do that."),
    "NOT_FOUND": gettext_lazy("We couldn't find that."),
}


class ApiError(exceptions.APIException):
    """An error with an explicit code, status and details, raised by API plumbing."""

    def __init__(
        self, code: str, message: str, status_code: int, details: dict[str, Any] | None = None
    ):
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.details = details or {}


def envelope(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        detail = list(detail.values())
    if isinstance(detail, list):
        for item in detail:
            message = _first_message(item)
            if message:
                return message
        return ""
    return str(detail)


def _flatten(detail: Any) -> dict[str, str]:
    """DRF's error detail → {"field": "first message"}, keyed by top-level field like the
    domain's VALIDATION_ERROR details (a list item's error names its list); errors about
    the body as a whole go under "body"."""
    if not isinstance(detail, dict):
        return {"body": _first_message(detail)}
    return {
        ("body" if key == "non_field_errors" else str(key)): _first_message(value)
        for key, value in detail.items()
    }


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Render any exception as the error envelope (spec §7, codes of §12).

    1. DomainError: its code, message, details and HTTP status.
    2. AuthFailed: the domain code it carries (401).
    3. DRF's exceptions: mapped by `_DRF_CODES`; validation errors flatten to
       {field: message}; a throttle adds `Retry-After`.
    4. Django's Http404 / PermissionDenied: NOT_FOUND / FORBIDDEN.
    5. The database unreachable (OperationalError, InterfaceError): 503
       SERVICE_UNAVAILABLE with `Retry-After`, logged as a warning.
    6. Anything else is a bug: logged with its traceback, answered 500 INTERNAL_ERROR
       (the envelope still, so clients have one shape to read).
    """
    headers: dict[str, str] = {}
    if isinstance(exc, DomainError):
        code, message, details, status_code = exc.code, exc.message, exc.details, exc.http_status
    elif isinstance(exc, AuthFailed):
        error = exc.domain_error
        code, message, details, status_code = error.code, error.message, error.details, 401
    elif isinstance(exc, ApiError):
        code, message, details, status_code = (
            exc.error_code,
            str(exc.detail),
            exc.details,
            exc.status_code,
        )
    elif isinstance(exc, exceptions.APIException):
        code, status_code = "ERROR", exc.status_code
        for cls, mapped_code, mapped_status in _DRF_CODES:
            if isinstance(exc, cls):
                code, status_code = mapped_code, mapped_status
                break
        details = {}
        if isinstance(exc, exceptions.ValidationError):
            details = _flatten(exc.detail)
            message = next(iter(details.values()), _MESSAGES["VALIDATION_ERROR"])
        elif isinstance(exc, exceptions.ParseError):
            message = _("The request body isn't valid JSON.")
            details = {"body": str(exc.detail)}
        elif isinstance(exc, exceptions.Throttled):
            wait = max(1, int(exc.wait or 1))
            headers["Retry-After"] = str(wait)
            message = _("Too many requests. Try again in %(seconds)d seconds.") % {"seconds": wait}
            details = {"retry_after": wait}
        elif isinstance(exc, exceptions.MethodNotAllowed):
            message = _("This endpoint doesn't accept that method.")
            details = {"method": context["request"].method}
        else:
            message = _MESSAGES.get(code) or str(exc.detail)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
    elif isinstance(exc, Http404):
        code, message, details, status_code = "NOT_FOUND", _MESSAGES["NOT_FOUND"], {}, 404
    elif isinstance(exc, DjangoPermissionDenied):
        code, message, details, status_code = "FORBIDDEN", _MESSAGES["FORBIDDEN"], {}, 403
    elif isinstance(exc, RequestDataTooBig):
        # DRF reads request.body, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) trips
        # before BoundedJSONParser sees the length: the same answer as the parser's.
        code, message, status_code = "VALIDATION_ERROR", _("The request body is too large."), 422
        details = {"body": f"At most {MAX_BODY_BYTES} bytes."}
    elif isinstance(exc, OperationalError | InterfaceError):
        # The database is down or restarting (drills/pg_restart.py): not a bug, and the
        # client should retry (writes carry idempotency keys), so 503 + Retry-After.
        log.warning("api_database_unavailable", extra={"error": str(exc)[:200]})
        headers["Retry-After"] = "1"
        code, message, details, status_code = (
            "SERVICE_UNAVAILABLE",
            _("We can't reach our database for a moment. Please try again."),
            {},
            503,
        )
    else:
        view = context.get("view")
        log.exception("api_unhandled_error", extra={"view": type(view).__name__})
        code, message, details, status_code = (
            "INTERNAL_ERROR",
            _("Something went wrong on our side. Please try again."),
            {},
            500,
        )
    from rest_framework.views import set_rollback  # not at import: DRF settings load us

    set_rollback()
    return Response(envelope(code, message, details), status=status_code, headers=headers)


class ErrorBodySerializer(serializers.Serializer):
    code = serializers.CharField(help_text="A spec §12 code, e.g. PACT_NOT_FOUND.")
    message = serializers.CharField(help_text="What went wrong, in the user's words.")
    details = serializers.DictField(help_text="Facts about the error, e.g. {field: message}.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorBodySerializer()


ERRORS = {
    400: "The request could not be read.",
    401: "UNAUTHORIZED, AUTH_INVALID_INIT_DATA or AUTH_EXPIRED_TOKEN.",
    403: "FORBIDDEN_NOT_PARTICIPANT or FORBIDDEN_WRONG_ROLE.",
    404: "PACT_NOT_FOUND, DAY_NOT_FOUND or NOT_FOUND.",
    405: "METHOD_NOT_ALLOWED.",
    409: (
        "INVALID_STATE_TRANSITION, DISPUTE_WINDOW_CLOSED, RESOLUTION_WINDOW_CLOSED, "
        "ALREADY_CHECKED_IN, IDEMPOTENCY_MISMATCH, PACT_NOT_ACTIVE, WAIVE_EXCEEDS_BALANCE "
        "or BREAK_ALREADY_PLANNED."
    ),
    415: "UNSUPPORTED_MEDIA_TYPE: send application/json.",
    422: "VALIDATION_ERROR: details maps each field to its message.",
    429: "RATE_LIMITED: see the Retry-After header.",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """The error envelope for each status, for `extend_schema(responses=...)`. 401, 405,
    415 and 429 can happen anywhere and are always included (422 on any body)."""
    wanted = sorted({*statuses, 401, 405, 406, 429})
    return {
        code: OpenApiResponse(ErrorSerializer, description=ERRORS.get(code, "Error."))
        for code in wanted
    }


def body_error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    """As `error_responses`, for endpoints that read a JSON body."""
    return error_responses(*statuses, 400, 415, 422)


class BoundedJSONParser(JSONParser):
    """JSON only, and at most MAX_BODY_BYTES of it."""

    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0) if request else 0
        except ValueError:
            length = 0
        if length > MAX_BODY_BYTES:
            raise ApiError(
                "VALIDATION_ERROR",
                _("The request body is too large."),
                422,
                {"body": f"At most {MAX_BODY_BYTES} bytes."},
            )
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:  # "[[[[...]]]]" nested deeper than Python's stack
            raise exceptions.ParseError("JSON nested too deeply.") from None


# --- strict JSON fields -------------------------------------------------------------------
# DRF's fields coerce, as suits HTML forms: IntegerField takes "500", 5.0 and 1e3, and
# CharField takes 123. A JSON API should take exactly the type its schema names, so
# every request serializer uses these (VALIDATION_ERROR 422 otherwise).

MAX_JSON_INTEGER = 2**63 - 1  # anything bigger cannot reach a bigint column anyway


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer only: not a string, a float (5.0, 1e3), or a boolean."""

    def to_internal_value(self, data):
        if type(data) is not int or abs(data) > MAX_JSON_INTEGER:
            self.fail("invalid")
        return data


class StrictCharField(serializers.CharField):
    """A JSON string only: not a number, a boolean, a list or an object."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON true/false only (DRF's BooleanField also takes "yes", 1, "on", ...)."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)


# --- query parameters and pagination ------------------------------------------------------


class StrictQueryMixin:
    """A query parameter that is present but empty (`?limit=`) is invalid, not absent
    (DRF treats form-style input that way; an API should say what it accepts)."""

    def get_value(self, dictionary):
        return dictionary.get(self.field_name, serializers.empty)


class QueryChoiceField(StrictQueryMixin, serializers.ChoiceField):
    pass


class QueryIntegerField(StrictQueryMixin, serializers.IntegerField):
    pass


MAX_OFFSET = 2**31 - 1


@functools.cache
def page_query_serializer(default_limit: int, max_limit: int = 100) -> type[serializers.Serializer]:
    """A query-parameter serializer for `limit` / `offset` (also documents them); one
    class per pair of limits, so `query_params` can keep its defaults."""

    class PageQuery(serializers.Serializer):
        limit = QueryIntegerField(
            required=False,
            default=default_limit,
            min_value=1,
            max_value=max_limit,
            help_text=f"How many to return (1–{max_limit}, default {default_limit}).",
        )
        offset = QueryIntegerField(
            required=False,
            default=0,
            min_value=0,
            max_value=MAX_OFFSET,
            help_text="How many to skip.",
        )

    PageQuery.__name__ = f"PageQuery{default_limit}"
    return PageQuery


@functools.cache
def _output_serializer(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    return serializer_class()


def represent(serializer_class: type[serializers.Serializer], instance: Any) -> Any:
    """`serializer_class(instance).data`, the same dict, at a fraction of the cost.

    DRF deep-copies a serializer's declared fields, nested serializers and all, for every
    instance: about 80 field objects for a pact's detail, on every request. An output
    serializer holds no state once its fields are bound (the instance is passed in,
    `to_representation` writes nothing, and no field here reads `context`), so one
    instance per class, built on first use, serves every answer. Request serializers
    keep a fresh instance each (`parsed`, `query_params`): validation does hold state.
    """
    return _output_serializer(serializer_class).to_representation(instance)


def query_params(request, serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
    """Validated query parameters (VALIDATION_ERROR 422 otherwise).

    Most requests send none (the home screen's GET /pacts), and then the answer is the
    serializer's own defaults: validated once per class (`_defaults`), a copy each time."""
    if not request.query_params:
        return dict(_defaults(serializer_class))
    return _validated(serializer_class, request.query_params)


def _validated(serializer_class: type[serializers.Serializer], data) -> dict[str, Any]:
    params = serializer_class(data=data)
    params.is_valid(raise_exception=True)
    return dict(params.validated_data)


@functools.cache
def _defaults(serializer_class: type[serializers.Serializer]) -> dict[str, Any]:
    return _validated(serializer_class, {})


def page_params(request, *, default_limit: int, max_limit: int = 100) -> tuple[int, int]:
    """(limit, offset) from the query string, validated."""
    data = query_params(request, page_query_serializer(default_limit, max_limit))
    return data["limit"], data["offset"]


# --- health ---------------------------------------------------------


# A plain Django view: drf-spectacular lists only DRF views, so it is not in the schema.
# (An `extend_schema` here would import DRF's schema class while DRF's settings are still
# importing this module: `import rest_framework.views` first then failed.)
@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """GET /health: 200 when the database answers, 503 when it doesn't. No auth, no
    rate limit, one `SELECT 1` bounded by a short statement timeout on PostgreSQL."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL statement_timeout = 2000")
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        log.warning("health_database_unavailable", extra={"error": str(error)[:200]})
        return JsonResponse({"status": "error", "database": "unavailable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"}, status=status.HTTP_200_OK)


__all__ = [
    "MAX_BODY_BYTES",
    "ApiError",
    "AuthFailed",
    "BoundedJSONParser",
    "ErrorSerializer",
    "StrictBooleanField",
    "StrictCharField",
    "StrictIntegerField",
    "TelegramAuthentication",
    "body_error_responses",
    "envelope",
    "error_responses",
    "exception_handler",
    "health",
    "page_params",
    "page_query_serializer",
    "query_params",
]
