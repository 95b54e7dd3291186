"""`represent`: one output serializer per class gives what a fresh one's `.data` gives;
`query_params`: a request with no query string gets the serializer's own defaults."""

from __future__ import annotations

import pytest
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from conftest import make_active_pact, make_user
from habitpact.api import page_query_serializer, query_params, represent
from pacts import api as pacts_api
from pacts.actions import pact_for
from pacts.api import PactDetailSerializer, PactListSerializer, PactOnlySerializer

pytestmark = pytest.mark.django_db


@pytest.fixture
def bodies(monkeypatch):
    """Every body the pacts API hands to `represent`, with the serializer it names."""
    seen: list[tuple[type, object]] = []

    def spy(serializer_class, body):
        seen.append((serializer_class, body))
        return represent(serializer_class, body)

    monkeypatch.setattr(pacts_api, "represent", spy)
    return seen


def test_the_shared_serializer_answers_as_a_fresh_one(clock, pact, initiator, partner, bodies):
    kit = make_user("Kit")
    other = make_active_pact(kit, make_user("Lou"), title="Read 10 pages")
    pact_for(initiator, pact.pk).days.get(date=pact.local_today()).check_in(initiator)
    for who, which in [(initiator, pact), (partner, pact), (kit, other)]:
        pacts_api.pact_detail(pact_for(who, which.pk), who)
    assert [cls for cls, _body in bodies] == [PactDetailSerializer] * 3
    answers = [represent(cls, body) for cls, body in bodies]
    assert answers == [cls(body).data for cls, body in bodies]
    # Nothing of one answer stays behind in the next: each names its own pact and day.
    assert [a["pact"]["title"] for a in answers] == [pact.title, pact.title, "Read 10 pages"]
    assert answers[0]["today"]["status"] == "DONE" and answers[0]["today"]["can_dispute"] is False
    assert answers[1]["today"]["can_dispute"] is True
    assert answers[2]["today"]["status"] == "PENDING"


def test_lists_and_nulls_answer_as_a_fresh_serializer(clock, pact, initiator):
    assert represent(PactOnlySerializer, {"pact": pact}) == PactOnlySerializer({"pact": pact}).data
    body = {"pacts": []}
    assert represent(PactListSerializer, body) == PactListSerializer(body).data == {"pacts": []}


def test_no_query_string_gets_the_defaults_a_fresh_validation_gives(rf):
    page = page_query_serializer(30)
    assert page is page_query_serializer(30) and page is not page_query_serializer(20)
    empty = Request(rf.get("/"))
    first = query_params(empty, page)
    fresh = page(data={})
    assert fresh.is_valid()
    assert first == dict(fresh.validated_data) == {"limit": 30, "offset": 0}
    first["limit"] = 99  # a caller's changes stay its own
    assert query_params(empty, page) == {"limit": 30, "offset": 0}
    assert query_params(Request(rf.get("/", {"limit": "5"})), page) == {"limit": 5, "offset": 0}
    with pytest.raises(ValidationError):
        query_params(Request(rf.get("/", {"limit": "0"})), page)
