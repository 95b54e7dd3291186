"""The Mini App's support pieces: money formatting, the dev login, the miss predicate."""

from __future__ import annotations

import pytest

from habitpact.auth import user_from_token
from pacts.models import PactDay
from pacts.templatetags.hp import format_money, humanize_delta, schedule_text


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [(500, "GBP", "£5"), (550, "USD", "$5.50"), (500, "JPY", "¥500"), (123456, "EUR", "€1,234.56")],
)
def test_money_is_whole_when_whole_and_exact_otherwise(minor, currency, shown):
    assert format_money(minor, currency) == shown


def test_countdowns_read_like_people_talk():
    from datetime import timedelta

    assert humanize_delta(timedelta(hours=2, minutes=30)) == "2h 30m"
    assert humanize_delta(timedelta(minutes=45)) == "45m"
    assert humanize_delta(timedelta(days=3, hours=4)) == "3d 4h"
    assert humanize_delta(timedelta(seconds=20)) == "less than a minute"


def test_schedules_read_like_people_talk():
    assert schedule_text([True] * 7) == "Every day"
    assert schedule_text([True] * 5 + [False] * 2) == "Mon–Fri"
    assert schedule_text([True, False, True, False, True, False, False]) == "Mon, Wed, Fri"


def test_dev_login_does_not_exist_without_debug(client, initiator):
    assert client.get("/dev/login").status_code == 404
    assert client.post("/dev/login", {"user": initiator.pk}).status_code == 404


def test_dev_login_hands_the_tab_a_token_for_the_chosen_user(client, initiator, settings):
    settings.DEBUG = True
    assert "Alex" in client.get("/dev/login").content.decode()
    response = client.post("/dev/login", {"user": initiator.pk})
    body = response.content.decode()
    token = body.split('data-token="Bearer ')[1].split('"')[0]
    assert user_from_token(token) == initiator


def test_only_the_initiator_can_own_up_to_a_pending_day(pact, initiator, partner):
    day = PactDay.objects.get(pact=pact, date=pact.start_date)
    assert day.can_miss(initiator)
    assert not day.can_miss(partner)
    day.miss(initiator)
    assert not day.can_miss(initiator)
