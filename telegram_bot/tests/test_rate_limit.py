"""The rate limiter's decisions, on an injected clock (no sleeping), and the drain's
waves that follow from them."""

from __future__ import annotations

import pytest

from conftest import make_user
from outbox.models import OutboxMessage
from telegram_bot.delivery import Drain, Outcome, RateLimiter, Result


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_thirty_messages_may_go_at_once_and_the_thirty_first_waits_a_second():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    assert limiter.capacity() == 30
    limiter.record(range(30))
    assert limiter.capacity() == 0
    assert limiter.wait(99) == pytest.approx(1.0)
    clock.now += 0.6
    assert limiter.wait(99) == pytest.approx(0.4)
    clock.now += 0.4
    assert limiter.capacity() == 30
    assert limiter.wait(99) == 0.0


def test_the_window_rolls_rather_than_resetting():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    limiter.record(range(20))
    clock.now += 0.5
    limiter.record(range(100, 110))
    assert limiter.capacity() == 0
    clock.now += 0.5  # the first 20 are a second old now
    assert limiter.capacity() == 20


def test_a_chat_gets_one_message_per_second():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    limiter.record([7])
    assert limiter.wait(7) == pytest.approx(1.0)
    assert limiter.wait(8) == 0.0
    clock.now += 0.999
    assert limiter.wait(7) == pytest.approx(0.001)
    clock.now += 0.001
    assert limiter.wait(7) == 0.0


def test_plan_takes_the_first_message_of_each_free_chat_up_to_capacity():
    clock = FakeClock()
    limiter = RateLimiter(per_second=3, clock=clock)
    limiter.record([2])
    clock.now += 0.1
    # chat 1 twice (second must wait its turn), chat 2 busy, chats 3, 4, 5 free.
    assert limiter.plan([1, 1, 2, 3, 4, 5]) == [0, 3]  # capacity 3 - 1 recent = 2


def test_a_429_pauses_everything_for_retry_after():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    limiter.pause(7)
    assert limiter.capacity() == 0
    assert limiter.plan([1, 2]) == []
    assert limiter.wait(1) == pytest.approx(7)
    clock.now += 7
    assert limiter.plan([1, 2]) == [0, 1]


def test_a_send_in_flight_holds_its_slot_until_its_answer_and_a_second_after():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    for chat in range(30):
        limiter.start(chat)
    assert limiter.capacity() == 0
    assert limiter.wait(99) == float("inf")  # no answer back yet: no time would do
    clock.now += 0.25
    limiter.finish(0)  # answered now: that slot is free a second from now
    assert limiter.capacity() == 0
    assert limiter.wait(99) == pytest.approx(1.0)
    clock.now += 1.0
    assert limiter.capacity() == 1
    assert limiter.plan([0, 5, 99]) == [0]  # chat 0 is free again; chat 5 still in flight


def test_a_chat_with_a_message_in_flight_waits_for_its_answer_and_a_second():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock)
    limiter.start(7)
    assert limiter.plan([7, 8]) == [1]
    assert limiter.wait(7) == float("inf")
    clock.now += 0.3
    limiter.finish(7, at=clock.now - 0.1)  # its answer came back 0.1 s ago
    assert limiter.wait(7) == pytest.approx(0.9)


class RecordingTransport:
    """Records (fake time, chat) per message; every send succeeds."""

    def __init__(self, clock: FakeClock):
        self.clock = clock
        self.sent: list[tuple[float, int]] = []

    def send_many(self, items, clock=None):
        self.sent += [(self.clock.now, chat_id) for chat_id, _ in items]
        return [Outcome(Result.SENT)] * len(items)

    def close(self):
        pass


def _rows(users_and_counts):
    rows = []
    for user, count in users_and_counts:
        for i in range(count):
            rows.append(
                OutboxMessage(
                    user=user,
                    chat_id=user.telegram_user_id,
                    kind="weekly_summary",
                    dedupe_key=f"t:{user.pk}:{i}",
                    payload={"week_start": "2025-01-13", "week_end": "2025-01-19", "pacts": []},
                )
            )
    OutboxMessage.objects.bulk_create(rows)


@pytest.fixture
def always_renders(monkeypatch):
    from telegram_bot import delivery
    from telegram_bot.messages import Rendered

    monkeypatch.setattr(delivery, "render", lambda row, **_: Rendered(f"message {row.id}"))


def test_the_drain_spaces_one_chats_messages_a_second_apart_without_holding_up_others(
    db, always_renders
):
    alex, sam = make_user("Alex"), make_user("Sam")
    _rows([(alex, 3), (sam, 1)])
    clock = FakeClock()
    transport = RecordingTransport(clock)
    report = Drain(transport=transport, clock=clock, sleep=clock.sleep).run()
    assert report.sent == 4
    times = {
        chat: [t - 1000.0 for t, c in transport.sent if c == chat] for _, chat in transport.sent
    }
    assert times[sam.telegram_user_id] == [0.0]
    assert times[alex.telegram_user_id] == pytest.approx([0.0, 1.0, 2.0])
    assert OutboxMessage.objects.filter(status="SENT").count() == 4


def test_the_drain_sends_at_most_thirty_in_any_second(db, always_renders):
    users = [make_user(f"U{i}") for i in range(75)]
    _rows([(user, 1) for user in users])
    clock = FakeClock()
    transport = RecordingTransport(clock)
    Drain(transport=transport, clock=clock, sleep=clock.sleep, batch_size=100).run()
    moments = [t for t, _ in transport.sent]
    assert len(moments) == 75
    for start in moments:
        assert sum(1 for t in moments if start <= t < start + 1.0) <= 30
    assert moments[-1] - moments[0] == pytest.approx(2.0)  # 30 + 30 + 15


class ArmingTransport:
    """A transport that starts each send at the clock time it is given (as the Telegram
    transport's event loop does), answered `rtt` seconds later. The fake clock moves to
    each answer, as if the drain had waited for it."""

    def __init__(self, clock: FakeClock, rtt: float = 0.0):
        self.clock = clock
        self.rtt = rtt
        self.sent: list[tuple[float, int]] = []
        self.armed = 0

    def submit(self, chat_id, rendered, clock, *, at=None, paused_until=lambda: 0.0):
        from concurrent.futures import Future

        if at is not None:
            self.armed += 1
            assert at >= self.clock.now - 1e-9  # never asked to send in the past
        start = max(self.clock.now, at if at is not None else 0.0)
        self.sent.append((start, chat_id))
        self.clock.now = start + self.rtt
        future = Future()
        future.set_result([Outcome(Result.SENT, done_at=self.clock.now)])
        return future

    def close(self):
        pass


def _check_limits(sent: list[tuple[float, int]]) -> None:
    moments = sorted(t for t, _ in sent)
    for start in moments:
        assert sum(1 for t in moments if start <= t < start + 1.0 - 1e-9) <= 30
    by_chat: dict[int, list[float]] = {}
    for t, chat in sent:
        by_chat.setdefault(chat, []).append(t)
    for times in by_chat.values():
        assert all(b - a >= 1.0 - 1e-9 for a, b in zip(times, times[1:], strict=False))


def test_sends_armed_ahead_reuse_each_slot_the_moment_it_frees_and_keep_both_limits(
    db, always_renders
):
    users = [make_user(f"U{i}") for i in range(40)]
    _rows([(user, 3) for user in users[:20]] + [(user, 1) for user in users[20:]])
    clock = FakeClock()
    transport = ArmingTransport(clock)
    limiter = RateLimiter(clock=clock)  # no spacing: each second's 30 as one burst
    report = Drain(
        transport=transport,
        clock=clock,
        sleep=clock.sleep,
        limiter=limiter,
        batch_size=100,
        arm_ahead=0.5,
    ).run()
    assert report.sent == 80 and transport.armed > 0
    _check_limits(transport.sent)
    # 80 messages: 30 + 30 + 20, each second's slots taken the moment they free.
    moments = sorted(t - 1000.0 for t, _ in transport.sent)
    assert moments[-1] == pytest.approx(2.0)
    assert OutboxMessage.objects.filter(status="SENT").count() == 80


def test_armed_sends_count_from_each_answer_not_from_each_start(db, always_renders):
    """With answers 0.2 s after each start, a slot frees 1 s after its answer: the limits
    hold by the time Telegram received the message, whenever in the round trip that was."""
    users = [make_user(f"U{i}") for i in range(31)]
    _rows([(user, 1) for user in users])
    clock = FakeClock()
    transport = ArmingTransport(clock, rtt=0.2)
    Drain(transport=transport, clock=clock, sleep=clock.sleep, arm_ahead=0.5).run()
    _check_limits(transport.sent)
    first_answer = transport.sent[0][0] + 0.2
    assert transport.sent[30][0] >= first_answer + 1.0 - 1e-9


def test_with_spacing_starts_go_a_bucket_of_three_then_one_per_interval():
    clock = FakeClock()
    limiter = RateLimiter(clock=clock, spacing=0.1, burst=3)
    assert limiter.capacity() == 3
    for chat in (1, 2, 3):
        limiter.start(chat)
    assert limiter.capacity() == 0
    assert limiter.wait(4) == pytest.approx(0.1)
    clock.now += 0.1
    assert limiter.plan([4, 5]) == [0]
    limiter.start(4)
    assert limiter.wait(5) == pytest.approx(0.1)
    # A send armed for later takes its place in the spacing at that moment.
    limiter.start(5, at=clock.now + 0.1)
    assert limiter.wait(6) == pytest.approx(0.2)
