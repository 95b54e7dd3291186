"""GET /pacts/<id>/recap.png?week=YYYY-Www and its share link (issue 14 item 4)."""

from __future__ import annotations

import io
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from PIL import Image

from habitpact.testing import sign_init_data, tg_user
from pacts import recap

pytestmark = pytest.mark.django_db


def headers(user) -> dict:
    return {"Authorization": "tma " + sign_init_data(tg_user(user))}


def get(url, user=None, **params):
    return Client().get(url, params, headers=headers(user) if user else {})


def test_a_participant_gets_the_weeks_png(clock, pact, initiator, partner):
    for user in (initiator, partner):
        response = get(f"/pacts/{pact.pk}/recap.png", user, week="2025-W04")
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert response["Cache-Control"] == "private, max-age=300"
        assert "Authorization" in response["Vary"]
        image = Image.open(io.BytesIO(response.content))
        assert (image.format, image.width) == ("PNG", recap.WIDTH)
        assert 'filename="habitpact-recap-2025-W04.png"' in response["Content-Disposition"]


def test_the_picture_is_the_users_card_of_that_week(clock, pact, initiator, monkeypatch):
    drawn = []
    monkeypatch.setattr(recap, "render_png", lambda card: drawn.append(card) or b"png")
    get(f"/pacts/{pact.pk}/recap.png", initiator, week="2025-W05")
    [card] = drawn
    assert card.week_start.isoformat() == "2025-01-27"
    assert (card.pacts[0].you, card.pacts[0].other) == ("Alex", "Sam")
    # No week: this week in the user's zone.
    get(f"/pacts/{pact.pk}/recap.png", initiator)
    assert drawn[1].week_start.isoformat() == "2025-01-20"


def test_strangers_and_unknown_pacts_get_404_and_no_picture(clock, pact, stranger, initiator):
    response = get(f"/pacts/{pact.pk}/recap.png", stranger, week="2025-W04")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "PACT_NOT_FOUND"
    unknown = "00000000-0000-0000-0000-000000000000"
    assert get(f"/pacts/{unknown}/recap.png", initiator, week="2025-W04").status_code == 404


def test_without_a_header_or_with_a_forged_one_it_is_401(clock, pact, initiator):
    response = get(f"/pacts/{pact.pk}/recap.png", week="2025-W04")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    forged = sign_init_data(tg_user(initiator), bot_token="999:WRONG")
    response = Client().get(
        f"/pacts/{pact.pk}/recap.png",
        {"week": "2025-W04"},
        headers={"Authorization": f"tma {forged}"},
    )
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("week", ["2025-W4", "2025-13", "next week", "2025-W54", "2025-W00", ""])
def test_a_bad_week_is_400_saying_how_to_write_one(clock, pact, initiator, week):
    response = get(f"/pacts/{pact.pk}/recap.png", initiator, week=week)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert "YYYY-Www" in error["message"] or "not a week" in error["message"]
    assert error["details"] == {"week": week}


def share_link(pact, user, week="2025-W04"):
    response = get(f"/pacts/{pact.pk}/recap-link", user, week=week)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    return response.json()


def test_a_share_link_opens_that_picture_without_the_header(clock, pact, initiator, settings):
    settings.WEBAPP_URL = "https://app.example.com"
    answer = share_link(pact, initiator)
    assert answer["expires_in"] == 600
    url = urlsplit(answer["url"])
    assert (url.scheme, url.netloc, url.path) == (
        "https",
        "app.example.com",
        f"/pacts/{pact.pk}/recap.png",
    )
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["week"] == "2025-W04"

    response = Client().get(url.path, query)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"


def test_a_share_link_opens_nothing_else(clock, pact, initiator, partner):
    query = {
        k: v[0] for k, v in parse_qs(urlsplit(share_link(pact, initiator)["url"]).query).items()
    }
    assert (
        Client().get(f"/pacts/{pact.pk}/recap.png", {**query, "week": "2025-W05"}).status_code
        == 401
    )
    assert (
        Client()
        .get(f"/pacts/{pact.pk}/recap.png", {**query, "sig": query["sig"] + "x"})
        .status_code
        == 401
    )
    assert (
        Client()
        .get(f"/pacts/{pact.pk}", {"sig": query["sig"]}, headers={"HX-Request": "true"})
        .status_code
        == 401
    )


def test_a_share_link_expires_after_ten_minutes(clock, pact, initiator):
    query = {
        k: v[0] for k, v in parse_qs(urlsplit(share_link(pact, initiator)["url"]).query).items()
    }
    clock.shift(timedelta(minutes=9))
    assert Client().get(f"/pacts/{pact.pk}/recap.png", query).status_code == 200
    clock.shift(timedelta(minutes=2))
    response = Client().get(f"/pacts/{pact.pk}/recap.png", query)
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_a_share_link_stops_working_for_someone_no_longer_in_the_pact(clock, pact, initiator):
    query = {
        k: v[0] for k, v in parse_qs(urlsplit(share_link(pact, initiator)["url"]).query).items()
    }
    pact.participants.filter(user=initiator).update(status="DECLINED")
    assert Client().get(f"/pacts/{pact.pk}/recap.png", query).status_code == 404


def test_only_participants_get_a_share_link(clock, pact, stranger):
    assert get(f"/pacts/{pact.pk}/recap-link", stranger, week="2025-W04").status_code == 404
    assert get(f"/pacts/{pact.pk}/recap-link", week="2025-W04").status_code == 401
    assert get(f"/pacts/{pact.pk}/recap-link", stranger, week="bad").status_code == 404


def test_the_history_screen_offers_this_and_last_weeks_recap(clock, pact, initiator):
    response = Client().get(
        f"/pacts/{pact.pk}/history", headers={**headers(initiator), "HX-Request": "true"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert (
        f'data-recap="/pacts/{pact.pk}/recap.png" '
        f'data-recap-link="/pacts/{pact.pk}/recap-link" data-week="2025-W04"'
    ) in body
    assert (
        f'data-recap="/pacts/{pact.pk}/recap.png" '
        f'data-recap-link="/pacts/{pact.pk}/recap-link" data-week="2025-W03"'
    ) in body
    assert "Share this week" in body and "Last week" in body
