"""The admin sign-in page is throttled per client IP and per username (rate_limit_counters)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from conftest import make_user
from habitpact.models import RateLimitCounter

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
TOO_MANY = "Too many sign-in attempts. Try again in 15 minutes."


@pytest.fixture
def limits_on(settings, clock):
    settings.RATE_LIMIT_ENABLED = True


@pytest.fixture
def olga(db):
    return make_user("Olga", is_staff=True, is_superuser=True, password=PASSWORD)


def sign_in(user, password: str, *, ip: str = "203.0.113.7", username: str | None = None):
    client = Client()
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": username or str(user.telegram_user_id), "password": password},
        REMOTE_ADDR=ip,
    )
    return response, client


def signed_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def page_says(response, text: str) -> bool:
    return response.status_code == 200 and text in response.content.decode()


def test_ten_wrong_passwords_from_one_address_lock_it_out(limits_on, olga):
    for n in range(10):
        response, _ = sign_in(olga, f"guess {n}", username=f"{n}")
        assert page_says(response, "Please enter the correct"), n
    # The eleventh try is refused unchecked, even with the right password...
    response, client = sign_in(olga, PASSWORD)
    assert page_says(response, TOO_MANY)
    assert client.get("/admin/").status_code == 302  # not signed in
    # ...while another address may still sign in.
    response, _ = sign_in(olga, PASSWORD, ip="203.0.113.8")
    assert signed_in(response)


def test_ten_wrong_passwords_for_one_username_lock_it_from_every_address(limits_on, olga):
    for n in range(10):
        response, _ = sign_in(olga, f"guess {n}", ip=f"198.51.100.{n}")
        assert page_says(response, "Please enter the correct"), n
    response, _ = sign_in(olga, PASSWORD, ip="198.51.100.99")
    assert page_says(response, TOO_MANY)


def test_the_lock_lifts_when_the_window_ends(limits_on, olga, clock):
    for n in range(11):
        sign_in(olga, f"guess {n}")
    clock.shift(timedelta(minutes=14))
    response, _ = sign_in(olga, PASSWORD)
    assert page_says(response, "Try again in 1 minute.")
    clock.shift(timedelta(minutes=1))
    response, _ = sign_in(olga, PASSWORD)
    assert signed_in(response)


def test_the_right_password_signs_in_and_counts_once(limits_on, olga):
    response, client = sign_in(olga, PASSWORD)
    assert signed_in(response)
    assert client.get("/admin/").status_code == 200
    keys = sorted(RateLimitCounter.objects.values_list("key", "hits"))
    assert keys == [
        ("admin_login:ip:203.0.113.7", 1),
        (f"admin_login:username:{olga.telegram_user_id}", 1),
    ]


def test_the_limit_comes_from_settings(limits_on, settings, olga):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "admin_login": (2, 60)}
    sign_in(olga, "a")
    sign_in(olga, "b")
    response, _ = sign_in(olga, PASSWORD)
    assert page_says(response, "Too many sign-in attempts. Try again in 1 minute.")
