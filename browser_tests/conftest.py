"""Browser tests: Debian's Chromium, driven by Playwright, against pytest-django's live
server, with a stand-in for Telegram's script that carries validly signed initData.

No browser is ever downloaded: Playwright launches the system Chromium (`/usr/bin/chromium`
or `$HP_CHROMIUM`). Where it is missing the tests are deselected, not skipped; CI installs
it (.ci/run).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

from habitpact.testing import sign_init_data

CHROMIUM = os.environ.get("HP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js"
STAND_IN = (Path(__file__).parent / "telegram_stand_in.js").read_text()
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"
VIEWPORT = {"width": 390, "height": 844}
# Monday 2025-01-20, 09:00 in London: the same morning the unit tests use.
MONDAY_9AM = datetime(2025, 1, 20, 9, 0, tzinfo=UTC)

HERE = Path(__file__).parent


def pytest_collection_modifyitems(config, items):
    """Without a Chromium to drive, browser tests are deselected (never skipped)."""
    if Path(CHROMIUM).exists():
        return
    drop = [item for item in items if Path(str(item.fspath)).parent == HERE]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = [item for item in items if item not in drop]


@pytest.fixture(scope="module")
def browser():
    """Chromium for one module. Playwright's sync API keeps an event loop running in this
    thread while it is up, so it is stopped as soon as the module is done: the rest of the
    suite must not find a running loop (asyncio.run, Django's async-safety check)."""
    from playwright.sync_api import sync_playwright

    # While it runs, Django would refuse the test's own ORM calls as "async"; they are
    # plain synchronous calls here.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def server_clock():
    """The server's clock (time-machine is process-wide, so the live server's thread
    follows it), ticking from Monday 09:00 UTC. Move it with `.move_to()`; never sleep."""
    with time_machine.travel(MONDAY_9AM, tick=True) as traveller:
        yield traveller


@dataclass
class TelegramUser:
    id: int
    first_name: str
    username: str
    zone: str = "Europe/London"
    extra: dict = field(default_factory=dict)
    language_code: str = "en"

    def as_telegram(self) -> dict:
        return {
            "id": self.id,
            "first_name": self.first_name,
            "username": self.username,
            "language_code": self.language_code,
        }


ALEX = TelegramUser(1001, "Alex", "alexcode")
SAM = TelegramUser(1002, "Sam", "samsmith")


class MiniAppOpener:
    """Opens the Mini App as a Telegram user would: a fresh webview (browser context)
    whose Telegram script is the stand-in, carrying initData signed for that user."""

    def __init__(self, browser, live_server):
        self.browser = browser
        self.base = live_server.url
        self.contexts = []

    def open(
        self,
        user: TelegramUser | None,
        path: str = "/",
        *,
        start_param: str = "",
        theme: str = "light",
        width: int = VIEWPORT["width"],
        bot_token: str | None = None,
        platform: str = "tdesktop",
        native: bool = False,
        **stand_in: object,
    ):
        """`native`: a current client (Bot API 8.0: MainButton, SecondaryButton,
        showConfirm, requestWriteAccess, shareMessage, the home screen); otherwise a 6.0
        one that has none of them. `stand_in`: its answers (confirmAnswer,
        writeAccessAnswer, homeScreenStatus)."""
        context = self.browser.new_context(
            viewport={"width": width, "height": VIEWPORT["height"]},
            device_scale_factor=1,
            timezone_id=user.zone if user else "Europe/London",
            color_scheme=theme,
            locale="ru-RU" if user and user.language_code == "ru" else "en-GB",
        )
        self.contexts.append(context)
        extra = {"start_param": start_param} if start_param else {}
        init_data = sign_init_data(user.as_telegram(), bot_token=bot_token, **extra) if user else ""
        unsafe = {"user": user.as_telegram(), **extra} if user else {}
        config = {
            "initData": init_data,
            "initDataUnsafe": unsafe,
            "theme": theme,
            "platform": platform,
            "native": native,
            **stand_in,
        }
        script = STAND_IN.replace("__CONFIG__", json.dumps(config))
        context.route(
            TELEGRAM_SCRIPT,
            lambda route: route.fulfill(
                status=200, content_type="application/javascript", body=script
            ),
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(self.base + path)
        return page

    def close(self):
        for context in self.contexts:
            context.close()


@pytest.fixture
def mini_app(browser, live_server):
    opener = MiniAppOpener(browser, live_server)
    yield opener
    opener.close()


def settle(page) -> None:
    """Wait until htmx has nothing in flight."""
    from playwright.sync_api import expect

    expect(page.locator(".htmx-request")).to_have_count(0)


@pytest.fixture
def shoot():
    """Screenshot the current screen in Telegram's light and dark themes."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> None:
        settle(page)
        for theme in ("light", "dark"):
            page.emulate_media(color_scheme=theme)
            page.evaluate("name => window.__setTheme && window.__setTheme(name)", theme)
            page.screenshot(path=str(SCREENSHOTS / f"{name}-{theme}.png"), full_page=True)
        page.emulate_media(color_scheme="light")
        page.evaluate("() => window.__setTheme && window.__setTheme('light')")

    return take
