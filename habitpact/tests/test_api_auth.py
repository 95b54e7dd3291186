"""POST /api/v1/auth/telegram and the two Authorization schemes, end to end."""

import time
from urllib.parse import parse_qsl, urlencode

import jwt
import pytest
from django.conf import settings

from habitpact.testing import sign_init_data
from habitpact.tests.api import API, assert_error, client_for
from pacts.models import User

pytestmark = pytest.mark.django_db

SAM = {
    "id": 777001,
    "first_name": "Sam",
    "last_name": "Smith",
    "username": "samsmith",
    "photo_url": "https://t.me/i/userpic/320/sam.jpg",
}


def sign_in(init_data: str):
    return client_for(None).post(f"{API}/auth/telegram", {"init_data": init_data}, format="json")


def test_sign_in_creates_the_user_and_returns_a_working_token():
    response = sign_in(sign_init_data(SAM, query_id="AAH", chat_type="private"))
    assert response.status_code == 200
    body = response.json()
    assert body["is_new_user"] is True
    assert body["user"]["telegram_user_id"] == 777001
    assert body["user"]["display_name"] == "Sam Smith"
    assert body["user"]["username"] == "samsmith"
    assert body["user"]["timezone"] == "UTC"
    claims = jwt.decode(body["token"], settings.JWT_SECRET, algorithms=["HS256"])
    assert claims["user_id"] == body["user"]["id"]
    assert claims["telegram_user_id"] == 777001
    assert 7 * 86400 - 5 <= claims["exp"] - time.time() <= 7 * 86400

    me = client_for(None).get(f"{API}/users/me", HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert me.status_code == 200
    assert me.json()["user"]["id"] == body["user"]["id"]


def test_signing_in_again_updates_the_user_and_is_not_new():
    sign_in(sign_init_data(SAM))
    response = sign_in(sign_init_data({**SAM, "first_name": "Samuel"}))
    assert response.status_code == 200
    assert response.json()["is_new_user"] is False
    assert User.objects.get(telegram_user_id=777001).display_name == "Samuel Smith"


def test_init_data_with_the_newer_signature_field_and_no_query_id_is_accepted():
    raw = sign_init_data(SAM, signature="c2lnbmF0dXJlLWJ5dGVz", chat_instance="-42")
    assert "query_id" not in raw
    assert sign_in(raw).status_code == 200


def test_dropping_the_signature_field_breaks_the_hash():
    raw = sign_init_data(SAM, signature="c2lnbmF0dXJlLWJ5dGVz")
    fields = dict(parse_qsl(raw))
    del fields["signature"]
    assert_error(sign_in(urlencode(fields)), 401, "AUTH_INVALID_INIT_DATA")


def test_tampered_user_is_refused():
    fields = dict(parse_qsl(sign_init_data(SAM)))
    fields["user"] = fields["user"].replace("777001", "777002")
    assert_error(sign_in(urlencode(fields)), 401, "AUTH_INVALID_INIT_DATA")
    assert not User.objects.exists()


def test_init_data_signed_with_another_bot_token_is_refused():
    raw = sign_init_data(SAM, bot_token="999:ANOTHER-BOT")
    assert_error(sign_in(raw), 401, "AUTH_INVALID_INIT_DATA")


def test_stale_auth_date_is_refused():
    stale = int(time.time()) - settings.INIT_DATA_MAX_AGE_SECONDS - 1
    assert_error(sign_in(sign_init_data(SAM, auth_date=stale)), 401, "AUTH_INVALID_INIT_DATA")


def test_init_data_without_hash_is_refused():
    fields = dict(parse_qsl(sign_init_data(SAM)))
    del fields["hash"]
    assert_error(sign_in(urlencode(fields)), 401, "AUTH_INVALID_INIT_DATA")


@pytest.mark.parametrize("body", [{}, {"init_data": 5}, {"init_data": ""}, {"init_data": None}])
def test_missing_or_mistyped_init_data_is_a_validation_error(body):
    response = client_for(None).post(f"{API}/auth/telegram", body, format="json")
    assert response.status_code in (401, 422)
    assert response.json()["error"]["code"] in ("VALIDATION_ERROR", "AUTH_INVALID_INIT_DATA")


def test_raw_init_data_authenticates_with_the_tma_scheme():
    response = client_for(None).get(
        f"{API}/users/me", HTTP_AUTHORIZATION=f"tma {sign_init_data(SAM)}"
    )
    assert response.status_code == 200
    assert response.json()["user"]["telegram_user_id"] == 777001


def test_tampered_tma_header_is_refused():
    raw = sign_init_data(SAM).replace("Sam", "Eve")
    response = client_for(None).get(f"{API}/users/me", HTTP_AUTHORIZATION=f"tma {raw}")
    assert_error(response, 401, "AUTH_INVALID_INIT_DATA")


def test_no_credentials_is_unauthorized_with_a_challenge():
    response = client_for(None).get(f"{API}/pacts")
    assert_error(response, 401, "UNAUTHORIZED")
    assert "Bearer" in response["WWW-Authenticate"]


def _claims(user):
    return {"user_id": str(user.pk), "telegram_user_id": user.telegram_user_id}


def _get_me(token: str):
    return client_for(None).get(f"{API}/users/me", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_expired_token_is_auth_expired_token(initiator):
    token = jwt.encode(
        {**_claims(initiator), "exp": int(time.time()) - 1}, settings.JWT_SECRET, "HS256"
    )
    assert_error(_get_me(token), 401, "AUTH_EXPIRED_TOKEN")


def test_token_forged_with_alg_none_is_refused(initiator):
    token = jwt.encode({**_claims(initiator), "exp": int(time.time()) + 60}, None, "none")
    assert_error(_get_me(token), 401, "UNAUTHORIZED")


def test_token_signed_with_another_key_is_refused(initiator):
    token = jwt.encode(
        {**_claims(initiator), "exp": int(time.time()) + 60},
        "someone-elses-secret-key-0123456789abcdef",
        "HS256",
    )
    assert_error(_get_me(token), 401, "UNAUTHORIZED")


def test_token_with_another_algorithm_is_refused_even_with_our_key(initiator):
    token = jwt.encode(
        {**_claims(initiator), "exp": int(time.time()) + 60}, settings.JWT_SECRET, "HS512"
    )
    assert_error(_get_me(token), 401, "UNAUTHORIZED")


@pytest.mark.parametrize("header", ["Bearer", "Bearer not.a.jwt", "Basic YWxleDpwdw==", "tma"])
def test_malformed_authorization_headers_are_unauthorized(header):
    response = client_for(None).get(f"{API}/users/me", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response.json()["error"]["code"] in ("UNAUTHORIZED", "AUTH_INVALID_INIT_DATA")


def test_a_deleted_users_token_stops_working(initiator):
    token = client_for(initiator)._credentials["HTTP_AUTHORIZATION"].split()[1]
    User.objects.filter(pk=initiator.pk).update(is_active=False)
    assert_error(_get_me(token), 401, "UNAUTHORIZED")


def test_a_bad_authorization_header_does_not_block_signing_in():
    response = client_for(None).post(
        f"{API}/auth/telegram",
        {"init_data": sign_init_data(SAM)},
        format="json",
        HTTP_AUTHORIZATION="Bearer expired.or.broken",
    )
    assert response.status_code == 200
