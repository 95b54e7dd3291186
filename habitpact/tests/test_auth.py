import hashlib
import hmac
import time
from urllib.parse import urlencode

import jwt
import pytest
from django.conf import settings

from habitpact.auth import (
    issue_token,
    user_from_authorization,
    user_from_init_data,
    user_from_token,
    validate_init_data,
)
from habitpact.errors import DomainError
from habitpact.testing import sign_init_data
from pacts.models import User

pytestmark = pytest.mark.django_db

ALEX = {
    "id": 4242,
    "first_name": "Alex",
    "last_name": "Code",
    "username": "alexcode",
    "photo_url": "https://t.me/i/userpic/320/x.jpg",
}


def code_of(fn, *args, **kwargs):
    with pytest.raises(DomainError) as excinfo:
        fn(*args, **kwargs)
    return excinfo.value.code


def test_valid_init_data_with_signature_and_no_query_id_is_accepted():
    raw = sign_init_data(ALEX, signature="c2lnbmF0dXJl", chat_type="private")
    fields = validate_init_data(raw)
    assert fields["signature"] == "c2lnbmF0dXJl"
    assert "\\/" in fields["user"]  # hashed exactly as received


def test_tampered_field_is_refused():
    raw = sign_init_data(ALEX).replace("alexcode", "mallory")
    assert code_of(validate_init_data, raw) == "AUTH_INVALID_INIT_DATA"


def test_wrong_bot_token_is_refused():
    raw = sign_init_data(ALEX, bot_token="999:OTHER")
    assert code_of(validate_init_data, raw) == "AUTH_INVALID_INIT_DATA"


def test_stale_auth_date_is_refused():
    old = int(time.time()) - settings.INIT_DATA_MAX_AGE_SECONDS - 1
    assert (
        code_of(validate_init_data, sign_init_data(ALEX, auth_date=old)) == "AUTH_INVALID_INIT_DATA"
    )


def test_missing_hash_is_refused():
    raw = "&".join(p for p in sign_init_data(ALEX).split("&") if not p.startswith("hash="))
    assert code_of(validate_init_data, raw) == "AUTH_INVALID_INIT_DATA"


def test_user_is_created_then_updated():
    user, created = user_from_init_data(validate_init_data(sign_init_data(ALEX)))
    assert created and user.display_name == "Alex Code" and user.username == "alexcode"
    renamed = {**ALEX, "first_name": "Alexandra", "last_name": None}
    again, created = user_from_init_data(validate_init_data(sign_init_data(renamed)))
    assert not created and again.pk == user.pk and again.display_name == "Alexandra"


def test_token_round_trip_and_header_schemes():
    user, _ = user_from_init_data(validate_init_data(sign_init_data(ALEX)))
    assert user_from_token(issue_token(user)) == user
    assert user_from_authorization(f"Bearer {issue_token(user)}") == user
    assert user_from_authorization(f"tma {sign_init_data(ALEX)}") == user
    assert user_from_authorization("") is None


def test_expired_forged_and_alg_none_tokens_are_refused():
    user, _ = user_from_init_data(validate_init_data(sign_init_data(ALEX)))
    claims = {"user_id": str(user.pk), "telegram_user_id": user.telegram_user_id}
    expired = jwt.encode({**claims, "exp": int(time.time()) - 1}, settings.JWT_SECRET, "HS256")
    assert code_of(user_from_token, expired) == "AUTH_EXPIRED_TOKEN"
    forged = jwt.encode(
        {**claims, "exp": int(time.time()) + 60},
        "not-our-key-but-long-enough-for-hs256-0123456789",
        "HS256",
    )
    assert code_of(user_from_token, forged) == "UNAUTHORIZED"
    unsigned = jwt.encode({**claims, "exp": int(time.time()) + 60}, None, algorithm="none")
    assert code_of(user_from_token, unsigned) == "UNAUTHORIZED"


def test_a_known_user_with_an_unchanged_name_costs_one_read(django_assert_num_queries):
    user_from_init_data(validate_init_data(sign_init_data(ALEX)))
    fields = validate_init_data(sign_init_data(ALEX))
    with django_assert_num_queries(1):
        user, created = user_from_init_data(fields)
    assert not created and user.telegram_user_id == ALEX["id"]


@pytest.mark.parametrize(
    "user",
    [
        {**ALEX, "id": 2**63},
        {**ALEX, "id": 10**30},
        {**ALEX, "id": "4242"},
        {**ALEX, "id": True},
        {**ALEX, "id": 0},
        {**ALEX, "first_name": {"nested": "object"}},
        {**ALEX, "last_name": ["Code"]},
        {**ALEX, "username": 42},
        {**ALEX, "first_name": "Al\x00ex"},
        ["not", "an", "object"],
    ],
)
def test_a_signed_user_of_the_wrong_shape_is_invalid_init_data_not_a_500(user):
    from habitpact.tests.api import API, assert_error, client_for

    response = client_for(None).post(
        f"{API}/auth/telegram", {"init_data": sign_init_data(user)}, format="json"
    )

    assert_error(response, 401, "AUTH_INVALID_INIT_DATA")
    assert not User.objects.exists()


def test_a_deeply_nested_signed_user_is_invalid_init_data():
    fields = {"auth_date": str(int(time.time())), "user": "[" * 100_000 + "]" * 100_000}
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", settings.TELEGRAM_BOT_TOKEN.encode(), hashlib.sha256)
    fields["hash"] = hmac.new(secret.digest(), check.encode(), hashlib.sha256).hexdigest()
    raw = urlencode(fields)
    assert code_of(lambda: user_from_init_data(validate_init_data(raw))) == (
        "AUTH_INVALID_INIT_DATA"
    )
