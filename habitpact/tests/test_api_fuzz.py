"""Fuzz the whole OpenAPI schema in-process with schemathesis: no input makes a 5xx, and
every answer matches the schema (status, content type, body).

Each operation is a test of its own. Requests go straight into the WSGI application
inside the test's database transaction, signed in as the initiator, the partner, a
stranger or a newcomer, around a real pact with days in every interesting state, a
pending settlement and an open invite. Path parameters are swapped for those real ids
(or kept as generated) by a hash of the generated case, so each example is
reproducible; a path made invalid on purpose (negative mode) is kept. Positive
(schema-valid) and negative (schema-invalid) cases are generated; schema-invalid input
must be refused with a 4xx.

Size: `FUZZ_EXAMPLES` examples per operation and generation mode (env, default 25).
"""

from __future__ import annotations

import os
import zlib
from collections import Counter
from datetime import UTC, date, datetime

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from conftest import make_active_pact, make_terms, make_user
from habitpact.auth import issue_token
from ledger.actions import settlement_propose
from pacts.actions import day_for, pact_create
from pacts.breaks import break_propose
from pacts.sweeps import process_deadlines

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
CALLS: Counter[int] = Counter()  # status code → responses


@pytest.fixture(scope="module", autouse=True)
def _report_run_size():
    """How many requests the run made, by status (shown with `pytest -s`)."""
    yield
    statuses = ", ".join(f"{code}: {n}" for code, n in sorted(CALLS.items()))
    print(f"\nschemathesis fuzz: {CALLS.total()} requests ({statuses})")


@pytest.fixture(autouse=True)
def _requests_keep_the_test_transaction(db):
    """Django's test client stops the request signals from closing the test's database
    connection (which would end its transaction); the WSGI handler that schemathesis
    calls does not, so the same is done here for the length of each test."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def bot_api():
    """The Bot API stand-in, for the endpoints that call Telegram (the invite card):
    the fuzz never reaches the real network, and Telegram answers as it should."""
    from telegram_bot.tests.fake_bot_api import FakeBotApi

    with FakeBotApi() as api:
        yield api


@pytest.fixture
def world(clock, initiator, partner, stranger, bot_api, settings):
    """Wednesday 2025-01-22 09:00 in Alex and Sam's pact (72-hour dispute window):
    Monday DONE and open to dispute, Tuesday MISSED (£5 owed), a pending £1 settlement,
    Wednesday and Thursday PENDING (Wednesday with an open skip request), a break Alex
    asked for (Sat–Mon); plus an open invite and a stranger."""
    settings.TELEGRAM_BOT_TOKEN = bot_api.token
    settings.TELEGRAM_API_URL = bot_api.url
    pact = make_active_pact(initiator, partner, dispute_window_hours=72)
    day_for(pact, date(2025, 1, 20)).check_in(initiator, note="Gym")
    clock.move_to(datetime(2025, 1, 22, 9, 0, tzinfo=UTC))
    process_deadlines()
    day_for(pact, date(2025, 1, 23))
    # An open skip request (rule 9) on Wednesday, for approve / decline to find.
    day_for(pact, date(2025, 1, 22)).request_skip(initiator, reason="Flu 🤒")
    settlement = settlement_propose(pact, initiator, amount=100)
    asked, _ = break_propose(
        pact, initiator, start_date=date(2025, 1, 25), end_date=date(2025, 1, 27), reason="Trip"
    )
    pending = pact_create(initiator=initiator, terms=make_terms(start_date=date(2025, 1, 22)))
    newcomer = make_user("Noa")
    return {
        "pact_id": [str(pact.pk), str(pending.pk)],
        "date": ["2025-01-20", "2025-01-21", "2025-01-22", "2025-01-23"],
        "settlement_id": [str(settlement.pk)],
        "break_id": [str(asked.pk)],
        "code": [pending.invite_code, pact.invite_code],
        "tokens": [issue_token(u) for u in (initiator, partner, stranger, newcomer)],
    }


def _pick(seed: int, options: list, generated):
    """One of the real values, or (one time in three) the generated one."""
    choices = [*options, generated, generated][: len(options) + max(1, len(options) // 2)]
    return choices[seed % len(choices)]


# Loaded once at collection from the app itself (the schema view needs no database).
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", get_wsgi_application())
# Unknown query parameters are ignored, as by most APIs: don't count them as invalid input.
schema.config.generation.update(allow_extra_parameters=False)


@schema.parametrize()
@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_makes_the_api_fail_or_break_its_schema(case, world):
    seed = zlib.crc32(repr((case.method, case.path, case.path_parameters, case.body)).encode())
    meta = getattr(case, "_meta", None)
    path_is_negated = meta is not None and meta.is_negative_at(ParameterLocation.PATH)
    for name, value in (case.path_parameters or {}).items():
        if name in world and not path_is_negated:
            case.path_parameters[name] = _pick(seed >> 4, world[name], value)
    token = world["tokens"][seed % len(world["tokens"])]
    response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
    CALLS[response.status_code] += 1  # with -s: printed at the end of the module
