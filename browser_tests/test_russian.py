"""Rule 18 in a real Chromium at 390 px: a Telegram user whose initData says
language_code=ru sees home, pact detail and the dispute screen in Russian, and Russian's
longer words never push a screen sideways. Screenshots: artifacts/screenshots/ru-*.png."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date

import pytest

from browser_tests.conftest import ALEX, SAM, VIEWPORT, settle
from conftest import make_active_pact
from pacts.actions import day_for
from pacts.models import User

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]

MONDAY = date(2025, 1, 20)
CYRILLIC = re.compile(r"[А-Яа-яЁё]{3,}")
ALEX_RU = replace(ALEX, language_code="ru")
SAM_RU = replace(SAM, language_code="ru")


def open_screen(page, base: str, path: str) -> str:
    page.goto(base + path)
    page.wait_for_selector("#app .screen:not(#shell)")
    settle(page)
    return page.inner_text("#app")


def overflow(page) -> int:
    return page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def test_home_detail_and_the_dispute_screen_speak_russian_at_390px(mini_app, shoot, server_clock):
    alex, sam = (
        User.objects.create_user(
            telegram_user_id=tg.id, display_name=tg.first_name, username=tg.username
        )
        for tg in (ALEX_RU, SAM_RU)
    )
    pact = make_active_pact(alex, sam)
    day = day_for(pact, MONDAY)
    day.check_in(alex)
    day.dispute(sam, reason="Не видел тебя в зале 🤔")

    page = mini_app.open(ALEX_RU)
    screens = {
        "home": "/",
        "detail": f"/pacts/{pact.pk}",
        "dispute": f"/pacts/{pact.pk}/days/2025-01-20",
    }
    texts = {}
    for name, path in screens.items():
        texts[name] = open_screen(page, mini_app.base, path)
        assert CYRILLIC.search(texts[name]), f"{name} is not in Russian: {texts[name][:300]}"
        assert page.get_attribute("html", "lang") == "ru"
        assert overflow(page) <= 0, f"{name} scrolls sideways at {VIEWPORT['width']}px"
        shoot(page, f"ru-{name}")

    assert "Доброе утро, Alex!" in texts["home"]
    assert "Партнёр не верит. Пора защищаться!" in texts["detail"]  # Appendix A
    assert "вы в расчёте" in texts["detail"]  # the tab, in words
    assert "Спор" in texts["dispute"] and "Признаю — пропустил 😅" in texts["dispute"]
    assert "Dispute" not in texts["dispute"]

    # Switching to English in settings switches the app.
    open_screen(page, mini_app.base, "/settings")
    page.select_option("#language", "en")
    page.get_by_role("button", name="Сохранить").click()
    settle(page)
    assert User.objects.get(pk=alex.pk).language == "en"
    home = open_screen(page, mini_app.base, "/")
    assert "Good morning, Alex!" in home
    assert not CYRILLIC.search(home.replace("Не видел тебя в зале", ""))
