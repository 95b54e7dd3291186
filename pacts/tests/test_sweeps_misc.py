"""Dispute expiry, day materialisation and invite expiry as sweeps."""

from datetime import UTC, date, datetime, timedelta

import pytest

from conftest import make_active_pact, make_terms, make_user
from outbox.models import OutboxMessage
from pacts.actions import day_for, pact_create, user_update_settings
from pacts.models import Pact, PactDay
from pacts.sweeps import expire_disputes, expire_invites, materialize_days

pytestmark = pytest.mark.django_db

MONDAY = date(2025, 1, 20)


def at(hour, minute=0, day=20):
    return datetime(2025, 1, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def disputed(clock, pact, initiator, partner):
    day_for(pact, MONDAY).check_in(initiator)
    clock.move_to(at(12))
    return day_for(pact, MONDAY).dispute(partner)  # resolvable until 00:00


def test_a_dispute_stays_open_until_its_resolution_window_closes(clock, disputed):
    clock.move_to(at(23, 59))
    assert expire_disputes() == 0
    disputed.refresh_from_db()
    assert disputed.status == PactDay.Status.DISPUTED


def test_an_expired_dispute_stands_as_done_and_both_hear_of_it(
    clock, disputed, pact, initiator, partner
):
    clock.move_to(at(0, day=21))
    assert expire_disputes() == 1
    disputed.refresh_from_db()
    assert (disputed.status, disputed.resolution) == ("DONE", "DONE_STANDS")
    assert disputed.resolution_at == at(0, day=21)
    messages = OutboxMessage.objects.filter(kind="dispute_expired")
    assert {m.user_id for m in messages} == {initiator.pk, partner.pk}
    for message in messages:
        assert message.payload == {
            "pact_id": str(pact.pk),
            "day_id": str(disputed.pk),
            "date": "2025-01-20",
        }
    assert expire_disputes() == 0
    assert messages.count() == 2


def test_dispute_expiry_respects_notify_disputes(clock, disputed, initiator, partner):
    user_update_settings(initiator, notify_disputes=False)
    clock.move_to(at(0, day=21))
    expire_disputes()
    assert list(
        OutboxMessage.objects.filter(kind="dispute_expired").values_list("user_id", flat=True)
    ) == [partner.pk]


def test_materialising_only_touches_pacts_whose_local_tomorrow_has_moved(clock, initiator):
    tokyo = make_user("Kenji", tz="Asia/Tokyo")
    london_pact = make_active_pact(initiator, make_user("Sam"))
    tokyo_pact = make_active_pact(tokyo, make_user("Yui", tz="Asia/Tokyo"))
    assert materialize_days() == 0  # both are up to date
    clock.move_to(at(15, 30))  # 00:30 on Tuesday in Tokyo, still Monday in London
    assert materialize_days() == 1
    assert tokyo_pact.days.order_by("-date").first().date == date(2025, 1, 22)
    assert london_pact.days.order_by("-date").first().date == date(2025, 1, 21)
    clock.move_to(at(0, 1, day=21))
    assert materialize_days() == 1
    assert london_pact.days.order_by("-date").first().date == date(2025, 1, 22)
    assert materialize_days() == 0


def test_an_invite_expires_after_seven_days_and_the_initiator_is_told(clock, initiator):
    pact = pact_create(initiator=initiator, terms=make_terms(start_date=date(2025, 2, 1)))
    clock.shift(timedelta(days=7, seconds=-1))
    assert expire_invites() == 0
    clock.shift(timedelta(seconds=1))
    assert expire_invites() == 1
    assert expire_invites() == 0
    pact.refresh_from_db()
    assert pact.status == Pact.Status.EXPIRED
    message = OutboxMessage.objects.get(kind="invite_expired")
    assert (message.user_id, message.payload) == (initiator.pk, {"pact_id": str(pact.pk)})
    assert message.dedupe_key == f"invite_expired:{pact.pk}:{initiator.pk}"


def test_invites_expire_in_batches(clock, initiator):
    for i in range(5):
        pact_create(initiator=initiator, terms=make_terms(title=f"P{i}", start_date=MONDAY))
    clock.shift(timedelta(days=8))
    assert expire_invites(batch_size=2) == 5
    assert Pact.objects.filter(status="EXPIRED").count() == 5
