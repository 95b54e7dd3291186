"""Structured logs: one JSON object per line, with a request (or job run) id on each.

Log the way the house does, `log.info("event_name", extra={...ids and counts...})`; the
formatter turns the message into `event` and every `extra` key into a field:

    {"time": "...", "level": "INFO", "logger": "pacts.models", "event": "day_checked_in",
     "request_id": "3f1c...", "pact_id": "...", "day_id": "...", "user_id": "..."}

`RequestIdMiddleware` gives every request an id (the proxy's `X-Request-ID` when it
sends a sane one, else a fresh one), puts it on every log line written while the request
runs (a context variable, so threads and async tasks keep theirs apart) and returns it
in the `X-Request-ID` response header, so a user's report can be matched to the logs.
`log_job` does the same for a scheduled job and logs its duration and counts.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

REQUEST_ID_HEADER = "X-Request-ID"
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

# Attributes every LogRecord has; anything else on a record came from `extra`.
_RECORD_ATTRS = frozenset(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {
    "message",
    "asctime",
    "request_id",
}

log = logging.getLogger(__name__)


def current_request_id() -> str | None:
    return _request_id.get()


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RECORD_ATTRS}


class RequestIdFilter(logging.Filter):
    """Stamp the current request/job id on every record (attach to the handler)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            # Django logs a 4xx/5xx response (`django.request`) after the middleware has
            # returned, but hands it the request, which carries its id.
            request = getattr(record, "request", None)
            record.request_id = getattr(request, "request_id", None) or _request_id.get()
        return True


class QuietTaskChatter(logging.Filter):
    """The local run's console (DEBUG): drop django-q2's four INFO lines per task run
    (enqueued, created from schedule, processing, processed), keep its start/stop lines
    and every warning. Our jobs log their own `job_finished` line. Matched on the text:
    if django-q2 rewords one, that line simply shows again."""

    CHATTER = re.compile(
        r"^Enqueued \[| created task .+ from schedule \[| processing .+ '|^Processed '"
    )

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.INFO or not self.CHATTER.search(record.getMessage())


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event, request_id, then extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or _request_id.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in _extras(record).items():
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def _text_value(value: Any) -> str:
    """A field as a person reads it, on one line: bare when it is one word, quoted (JSON
    string rules, so a newline shows as \\n) when it has spaces, lists as JSON."""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=str, ensure_ascii=False)
    text = str(value)
    if text == "" or any(ch.isspace() or ch in '"=' for ch in text):
        return json.dumps(text, ensure_ascii=False)
    return text


class TextFormatter(logging.Formatter):
    """For a terminal (the default under DEBUG, or `LOG_FORMAT=text`):
    `LEVEL logger event key=value ...`, one line per record."""

    def format(self, record: logging.LogRecord) -> str:
        fields = _extras(record)
        request_id = getattr(record, "request_id", None) or _request_id.get()
        if request_id:
            fields = {"request_id": request_id, **fields}
        line = f"{record.levelname} {record.name} {record.getMessage()}"
        if fields:
            line += " " + " ".join(f"{k}={_text_value(v)}" for k, v in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class RequestIdMiddleware:
    """Give each request an id, log it on every line, and echo it in the response.

    Runs first, so everything after it (including Django's own error logging) sees the
    id. Ends with one `http_request` line: method, path, status and duration."""

    def __init__(self, get_response: Callable):
        from django.conf import settings

        self.get_response = get_response
        self.quiet_prefix = "/" + settings.STATIC_URL.lstrip("/")

    def __call__(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _SANE_ID.match(incoming) else uuid.uuid4().hex
        token = _request_id.set(request_id)
        request.request_id = request_id
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = request_id
            if request.path.startswith(self.quiet_prefix):
                return response  # static files: the platform's router logs those
            user = getattr(request, "user", None)
            log.info(
                "http_request",
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": response.status_code,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                    "user_id": str(user.pk) if getattr(user, "is_authenticated", False) else None,
                },
            )
            return response
        finally:
            _request_id.reset(token)


def log_job(name: str | None = None) -> Callable:
    """Decorate a scheduled job: a fresh run id on every line it logs, and one
    `job_finished` line with its duration and counts (an int result becomes `count`, a
    dict of numbers is merged in), or `job_failed` with the traceback. Re-raises."""

    def decorate(func: Callable) -> Callable:
        job = name or f"{func.__module__}.{func.__qualname__}"

        @functools.wraps(func)
        def run(*args, **kwargs):
            token = _request_id.set(f"job-{uuid.uuid4().hex[:16]}")
            started = time.perf_counter()
            try:
                result = func(*args, **kwargs)
            except Exception:
                log.exception(
                    "job_failed",
                    extra={"job": job, "duration_ms": _ms_since(started)},
                )
                raise
            else:
                counts: dict[str, Any] = {}
                if isinstance(result, bool):
                    pass
                elif isinstance(result, int):
                    counts["count"] = result
                elif isinstance(result, dict):
                    counts = {str(k): v for k, v in result.items() if isinstance(v, (int, float))}
                log.info(
                    "job_finished",
                    extra={"job": job, "duration_ms": _ms_since(started), **counts},
                )
                return result
            finally:
                _request_id.reset(token)

        return run

    return decorate


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
