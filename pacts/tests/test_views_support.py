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


def test_dev_login_opens_a_pending_invite_as_the_second_person(
    client, clock, initiator, partner, settings
):
    from conftest import make_terms
    from pacts.actions import pact_create

    settings.DEBUG = True
    invite = pact_create(initiator=initiator, terms=make_terms(title="Read 📚"))
    link = f"/invite/{invite.invite_code}"

    page = client.get("/dev/login").content.decode()
    assert f'href="{link}"' in page  # the invite's own link, for a signed-in tab
    assert f'name="next" value="{link}"' in page and "Open as Sam" in page
    assert "Open as Alex" not in page  # not the one who sent it

    body = client.post("/dev/login", {"user": partner.pk, "next": link}).content.decode()
    assert f'data-next="{link}"' in body
    token = body.split('data-token="Bearer ')[1].split('"')[0]
    assert user_from_token(token) == partner


@pytest.mark.parametrize("wanted", ["https://evil.example/", "//evil.example/x", "invite/x", ""])
def test_dev_login_goes_only_to_a_path_on_this_site(client, initiator, settings, wanted):
    settings.DEBUG = True
    body = client.post("/dev/login", {"user": initiator.pk, "next": wanted}).content.decode()
    assert 'data-next="/"' in body


@pytest.mark.parametrize("debug", [True, False])
def test_pages_load_htmx_without_django_htmxs_debug_handler(client, settings, debug):
    """Under DEBUG django-htmx's script swaps the whole page for the raw body of any
    400/403/404, hiding the designed error screens: the pages never load it."""
    settings.DEBUG = debug
    page = client.get("/").content.decode()
    assert "django_htmx/htmx-2.min.js" in page
    assert "django-htmx.js" not in page


def test_only_the_initiator_can_own_up_to_a_pending_day(pact, initiator, partner):
    day = PactDay.objects.get(pact=pact, date=pact.start_date)
    assert day.can_miss(initiator)
    assert not day.can_miss(partner)
    day.miss(initiator)
    assert not day.can_miss(initiator)
