"""Domain errors, each carrying a spec §12 code.

Every interface turns a DomainError into its own shape: the API into the error envelope
with the HTTP status below, the Mini App into an inline message, the bot into a callback
answer. The message is written for the person who pressed the button.
"""

from typing import Any

HTTP_STATUS = {
    "AUTH_INVALID_INIT_DATA": 401,
    "AUTH_EXPIRED_TOKEN": 401,
    "UNAUTHORIZED": 401,
    "FORBIDDEN_NOT_PARTICIPANT": 403,
    "FORBIDDEN_WRONG_ROLE": 403,
    "PACT_NOT_FOUND": 404,
    "DAY_NOT_FOUND": 404,
    "NOT_FOUND": 404,
    "INVALID_STATE_TRANSITION": 409,
    "DISPUTE_WINDOW_CLOSED": 409,
    "RESOLUTION_WINDOW_CLOSED": 409,
    "ALREADY_CHECKED_IN": 409,
    "IDEMPOTENCY_MISMATCH": 409,
    "PACT_NOT_ACTIVE": 409,
    "WAIVE_EXCEEDS_BALANCE": 409,  # DECISIONS rule 14
    "BREAK_ALREADY_PLANNED": 409,  # DECISIONS rule 10: one open or future break per pact
    "SKIP_ALLOWANCE_USED": 409,  # rule 8: this month's free skips are gone
    "SKIP_REQUEST_OPEN": 409,  # rule 9: one open skip request per day
    "VALIDATION_ERROR": 422,
    "RATE_LIMITED": 429,
    # Telegram's Bot API did not answer or refused (the client falls back, issue 14).
    "TELEGRAM_UNAVAILABLE": 503,
}


class DomainError(Exception):
    """A rule said no. Nothing was changed."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None):
        assert code in HTTP_STATUS, code
        message = str(message)  # a lazy translation, in the language active now
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.message!r})"
