"""A malformed invite link in the Mini App is "not found", never a 500 (drills/hostile.py)."""

import pytest
from django.test import Client

from habitpact.testing import sign_init_data, tg_user

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("code", ["%00", "abc%00def", "%C3%A9t%C3%A9", "x" * 300])
def test_a_malformed_invite_link_in_the_mini_app_is_not_found_not_a_500(initiator, code):
    # drills/hostile.py: GET /invite/%00 sent the NUL to PostgreSQL, which refuses it in
    # a text value: a 500 instead of "this invite link doesn't work".
    headers = {"Authorization": "tma " + sign_init_data(tg_user(initiator)), "HX-Request": "true"}
    response = Client().get(f"/invite/{code}", headers=headers)
    assert response.status_code == 404
    assert "invite link doesn" in response.content.decode()
