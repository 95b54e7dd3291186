"""Rule 18: which language a user reads, stored from Telegram, chosen in settings, and
followed by the API, the Mini App, the bot's replies and its delivered messages."""

from __future__ import annotations

from datetime import date, time

import pytest
from django.utils import translation

from habitpact.auth import upsert_telegram_user
from habitpact.i18n import from_telegram, language_of
from habitpact.testing import sign_init_data
from habitpact.tests.api import API, assert_error, client_for
from pacts.models import User
from pacts.templatetags.hp import (
    clock_text,
    date_text,
    first_weekday,
    format_money,
    owes_text,
    weekday_names,
)


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("ru", "ru"),
        ("ru-RU", "ru"),
        ("es", "es"),
        ("es-419", "es"),
        ("pt-br", "pt-br"),
        ("pt", "pt-br"),
        ("pt_PT", "pt-br"),
        ("en", "en"),
        ("de", "en"),
        ("uk", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_telegram_language_codes_map_to_ours(code, language):
    assert from_telegram(code) == language


def test_the_users_choice_wins_over_telegram_and_null_follows_telegram():
    assert language_of(User(language_code="ru", language=None)) == "ru"
    assert language_of(User(language_code="ru", language="es")) == "es"
    assert language_of(User(language_code=None, language=None)) == "en"


def test_initdata_and_bot_updates_store_what_telegram_last_said(db):
    user, _ = upsert_telegram_user({"id": 4242, "first_name": "Ivan", "language_code": "ru"})
    assert user.language_code == "ru"
    user, _ = upsert_telegram_user({"id": 4242, "first_name": "Ivan", "language_code": "pt-br"})
    assert User.objects.get(pk=user.pk).language_code == "pt-br"
    # An update without a language_code keeps the last one.
    upsert_telegram_user({"id": 4242, "first_name": "Ivan"})
    assert User.objects.get(pk=user.pk).language_code == "pt-br"


def test_users_me_carries_the_language_and_patch_changes_it(initiator):
    client = client_for(initiator)
    assert client.get(f"{API}/users/me").json()["user"]["language"] is None
    response = client.patch(f"{API}/users/me", {"language": "pt-br"})
    assert response.status_code == 200, response.content
    assert response.json()["user"]["language"] == "pt-br"
    response = client.patch(f"{API}/users/me", {"language": None})
    assert response.json()["user"]["language"] is None
    initiator.refresh_from_db()
    assert initiator.language is None


def test_an_unknown_language_is_refused_in_the_requesters_language(initiator):
    initiator.language_code = "ru"
    initiator.save()
    response = client_for(initiator).patch(f"{API}/users/me", {"language": "klingon"})
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert "language" in error["details"]
    assert any("а" <= ch <= "я" for ch in error["message"]), error["message"]
    initiator.refresh_from_db()
    assert initiator.language is None
    # The request's language did not leak into this thread.
    assert translation.get_language() == "en"


def test_the_api_speaks_the_initdata_users_language(client, db):
    init_data = sign_init_data({"id": 777, "first_name": "Ana", "language_code": "es"})
    response = client.patch(
        f"{API}/users/me",
        {"language": "xx"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"tma {init_data}",
    )
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert error["message"].startswith("Elige"), error["message"]
    assert response["Content-Language"] == "es"
    assert User.objects.get(telegram_user_id=777).language_code == "es"


@pytest.mark.parametrize(
    ("language", "whole", "cents", "brl"),
    [
        ("en", "£5", "£5.50", "R$5"),
        ("ru", "5\xa0£", "5,50\xa0£", "5\xa0R$"),
        ("es", "5\xa0£", "5,50\xa0£", "5\xa0R$"),
        ("pt-br", "£\xa05", "£\xa05,50", "R$\xa05"),
    ],
)
def test_money_follows_the_locale(language, whole, cents, brl):
    with translation.override(language):
        assert format_money(500, "GBP") == whole
        assert format_money(550, "GBP") == cents
        assert format_money(500, "BRL") == brl


@pytest.mark.parametrize(
    ("language", "clock", "day", "week_starts"),
    [
        ("en", "9:00 PM", "Dec 1", 6),
        ("ru", "21:00", "1 дек.", 0),
        ("es", "21:00", "1 dic", 0),
        ("pt-br", "21:00", "1 de dez.", 6),
    ],
)
def test_clock_dates_and_weeks_follow_the_locale(language, clock, day, week_starts):
    with translation.override(language):
        assert clock_text(time(21, 0)) == clock
        assert date_text(date(2026, 12, 1)) == day
        assert first_weekday() == week_starts
        assert len(set(weekday_names())) == 7


def test_midnight_is_a_word_in_every_language():
    for language, word in [("en", "midnight"), ("ru", "полночь"), ("es", "medianoche")]:
        with translation.override(language):
            assert clock_text(time(0, 0)) == word


def test_the_tab_in_words_in_russian(pact):
    with translation.override("ru"):
        assert owes_text(pact, 1500) == "Alex в долгу у Sam: 15\xa0£"
        assert owes_text(pact, 0) == "вы в расчёте"
