"""`represent`: one output serializer per class gives what a fresh one's `.data` gives."""

from __future__ import annotations

import pytest

from conftest import make_active_pact, make_user
from habitpact.api import represent
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
