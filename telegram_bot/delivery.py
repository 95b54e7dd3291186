"""Drain the outbox to Telegram: rate-limited, retried, and never skipping a message.

`deliver_outbox()` works like healthchecks' `sendalerts`:

1. Take the sender lock (a PostgreSQL advisory lock), so exactly one process sends at a
   time and the rate limits below hold for the whole deployment, not per process. If
   another process holds it, return at once: that one is already sending.
2. Claim due PENDING rows into an in-memory queue (topped up as it empties, at most
   BATCH_SIZE rows and PER_CHAT_QUEUE per chat): `FOR UPDATE SKIP LOCKED` on PostgreSQL (inside
   SQLite's IMMEDIATE transaction the same SELECT + conditional UPDATE is serialised),
   and push their `next_attempt_at` forward by a lease. The claim commits before any
   network I/O, so no transaction is held open while talking to Telegram.
3. Render each row for its recipient (`messages.render`), ahead of time while the
   limiter has the drain waiting; a row whose objects are gone or whose kind is unknown
   is marked FAILED with the reason and skipped.
4. Send each message on its own the moment the limiter allows it (30 per rolling
   second overall, one per chat per second; a send holds its slot from the moment it
   starts, and counts from the moment its answer is back): with Telegram, up to 30 are
   in flight at once on PTB's event loop in its own thread, while the drain's thread
   marks the answered rows (SENT, retry later, UNDELIVERABLE or FAILED) in batches.
   No waves: a slot is reused as soon as its second is over, not when the slowest
   answer of a wave is back.
5. Rows not sent before the lease's half-life or the time budget are released (their
   lease cancelled) for the next drain.

A crash after sending but before marking leaves the row PENDING with its lease; when the
lease runs out it is claimed and sent again. So the worst case is a duplicate, never a
lost message.

Outcomes: 429 → the limiter pauses every send for `retry_after` and the row waits that
long (not counted as an attempt: Telegram said "not yet", not "no"); timeouts, network
errors and 5xx → retried with exponential backoff (capped at BACKOFF_CAP) for as long as
the message is younger than GIVE_UP_AFTER, so an outage of Telegram or of our network,
however many attempts it costs, loses nothing; only a message a day old, whose news is
stale, is given up as FAILED; 403 (the
user blocked the bot) and "chat not found" → UNDELIVERABLE at once; any other 400 →
FAILED (sending the same request again would fail the same way); a rejected token →
stop the drain and leave every row as it was.

Without TELEGRAM_BOT_TOKEN (local development) messages are written to the log and
marked SENT, like Django's console e-mail backend.
"""

from __future__ import annotations

import asyncio
import html
import logging
import math
import re
import threading
import time
import warnings
from collections import Counter, deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Protocol

from django.db import connection
from django.utils import timezone, translation
from telegram import InputFile
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from habitpact.i18n import language_of
from outbox.models import LEASE, OutboxMessage
from pacts.models import User
from pacts.reach import messages_refused

from .client import BotSession, bot_configured
from .messages import PARSE_MODE, Preload, Rendered, Skip, render

log = logging.getLogger(__name__)

OVERALL_PER_SECOND = 30
PER_CHAT_INTERVAL = 1.0
GIVE_UP_AFTER = timedelta(hours=24)
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(minutes=5)
BATCH_SIZE = 300  # ten seconds at full rate: enough distinct chats to fill every second
PER_CHAT_QUEUE = 2  # one chat's messages held at once: it only gets one a second
# A caption's overflow follows its photo after this long (Telegram's one a second a chat).
FOLLOW_UP_DELAY = PER_CHAT_INTERVAL
# How far ahead of its slot a send may be handed to the transport, which starts it at
# the exact moment (on its event loop): the drain's own wake-ups, claims and renders are
# then off the critical path of every slot's reuse.
ARM_AHEAD = 0.5
# With a real transport, sends start about 1/30 s apart (bursts of up to 3) rather than
# 30 at once: a burst of 30 is answered slowly (each waits for the ones before it at
# both ends), and every slot is held until its answer is back, so a slow answer is
# throughput lost; spread out, each answer is quick.
SPACING_BURST = 3
# Any constant works: it only has to differ from other advisory locks in this database.
SENDER_LOCK_KEY = 0x68_70_62_6F_74  # "hpbot"


# --- the rate limiter -------------------------------------------------------------------


class RateLimiter:
    """Telegram's limits for one sender: at most `per_second` messages in any rolling
    second, and one message per chat per `per_chat_interval` seconds.

    Sends are recorded when their responses are back, which is no earlier than Telegram
    received them, so the limits hold as Telegram counts them too. The clock is injected
    so tests can check every decision without sleeping.
    """

    def __init__(
        self,
        *,
        per_second: int = OVERALL_PER_SECOND,
        per_chat_interval: float = PER_CHAT_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        spacing: float = 0.0,
        burst: int = SPACING_BURST,
    ):
        self.per_second = per_second
        self.per_chat_interval = per_chat_interval
        self.clock = clock
        # Optional smoothing: starts at least `spacing` apart on average (a token bucket
        # of `burst`), so the 30 of a second are not all in flight at once.
        self.spacing = spacing
        self.burst = burst
        self._next_start = -math.inf
        self._recent: deque[float] = deque()
        self._chat_free_at: dict[int, float] = {}
        self._paused_until = 0.0
        # Sent but not answered yet: each holds a slot of the rolling second (and its
        # chat) until its answer is back and it is recorded.
        self._inflight: Counter[int] = Counter()
        self._inflight_total = 0

    def _prune(self, now: float) -> None:
        while self._recent and self._recent[0] <= now - 1.0:
            self._recent.popleft()
        if len(self._chat_free_at) > 10_000:
            self._chat_free_at = {c: t for c, t in self._chat_free_at.items() if t > now}

    def capacity(self) -> int:
        """How many messages may go out right now, to distinct chats."""
        now = self.clock()
        self._prune(now)
        if now < self._paused_until:
            return 0
        room = max(0, self.per_second - len(self._recent) - self._inflight_total)
        if self.spacing:
            if now < self._next_start:
                return 0
            tokens = 1 + (now - self._next_start) / self.spacing
            room = min(room, self.burst if math.isinf(tokens) else min(self.burst, int(tokens)))
        return room

    def wait(self, chat_id: int) -> float:
        """Seconds until a message to `chat_id` may go (0.0 = now; infinity = not before
        an answer to a message in flight comes back)."""
        now = self.clock()
        self._prune(now)
        return max(0.0, self._ready_at(chat_id) - now)

    def _ready_at(self, chat_id: int) -> float:
        """The clock time from which a message to `chat_id` may go (see `wait`)."""
        if self._inflight[chat_id]:
            return math.inf
        ready = max(self._paused_until, self._chat_free_at.get(chat_id, 0.0))
        if self.spacing:
            ready = max(ready, self._next_start)
        free_slots = self.per_second - self._inflight_total
        if free_slots <= 0:
            return math.inf
        if len(self._recent) >= free_slots:
            ready = max(ready, self._recent[-free_slots] + 1.0)
        return ready

    def plan(self, chat_ids: Iterable[int]) -> list[int]:
        """Positions in `chat_ids` (a queue, oldest first) that may be sent now: the first
        message of each chat that is free, up to the overall capacity.

        When more chats are free than there is room, chats with more messages queued go
        first (then the oldest): a chat can take only one a second, so leaving its backlog
        to the end of a burst would stretch the burst's last seconds (ten chats × 3 at the
        end of a burst take three seconds, not one), while fair round-robin keeps every
        second full."""
        room = self.capacity()
        if room <= 0:
            return []
        now = self.clock()
        first: dict[int, int] = {}  # chat → its oldest queued position
        queued: Counter[int] = Counter()
        for position, chat_id in enumerate(chat_ids):
            queued[chat_id] += 1
            first.setdefault(chat_id, position)
        free = [
            (chat_id, position)
            for chat_id, position in first.items()
            if not self._inflight[chat_id] and self._chat_free_at.get(chat_id, 0.0) <= now
        ]
        if len(free) > room:
            free.sort(key=lambda pair: (-queued[pair[0]], pair[1]))
            free = free[:room]
        return sorted(position for _, position in free)

    def start(self, chat_id: int, at: float | None = None) -> None:
        """A message to `chat_id` is on its way (to start at clock time `at`, if armed
        ahead): it counts against both limits until `finish()` records it."""
        self._inflight[chat_id] += 1
        self._inflight_total += 1
        if self.spacing:
            moment = self.clock() if at is None else at
            base = max(self._next_start, moment - (self.burst - 1) * self.spacing)
            self._next_start = base + self.spacing

    def finish(self, chat_id: int, at: float | None = None) -> None:
        """The answer to a `start()`ed message came back at `at` (None = now)."""
        self._inflight[chat_id] -= 1
        if not self._inflight[chat_id]:
            del self._inflight[chat_id]
        self._inflight_total -= 1
        self.record([chat_id], [at])

    def record(self, chat_ids: Iterable[int], at: Iterable[float | None] | None = None) -> None:
        """Note that messages to `chat_ids` were sent, their responses received at `at`
        (clock times; None or omitted = now)."""
        now = self.clock()
        chat_ids = list(chat_ids)
        moments = [now if t is None else min(t, now) for t in (at or [None] * len(chat_ids))]
        for moment, chat_id in sorted(zip(moments, chat_ids, strict=True)):
            self._recent.append(max(moment, self._recent[-1]) if self._recent else moment)
            self._chat_free_at[chat_id] = moment + self.per_chat_interval

    def pause(self, seconds: float) -> None:
        """Send nothing for `seconds` (Telegram answered 429 with retry_after)."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    def paused_until(self) -> float:
        """Clock time before which nothing may go (a send armed ahead checks it last)."""
        return self._paused_until

    def next_ready(self, chat_ids: Iterable[int]) -> tuple[float, int | None]:
        """(seconds until, position of) the queued message that may go first: the first
        message of each chat, ties to the chat with more queued, then the oldest (as
        `plan`). (inf, None) when none may go before an answer comes back."""
        queued = Counter(chat_ids := list(chat_ids))
        now = self.clock()
        self._prune(now)
        best: tuple[float, int, int] | None = None
        seen: set[int] = set()
        for position, chat_id in enumerate(chat_ids):
            if chat_id in seen:
                continue
            seen.add(chat_id)
            # One `now` for all: ties (the usual case) go by backlog, not by clock drift.
            key = (max(now, self._ready_at(chat_id)), -queued[chat_id], position)
            if best is None or key < best:
                best = key
        if best is None or math.isinf(best[0]):
            return math.inf, None
        return best[0] - now, best[2]


# --- sending ----------------------------------------------------------------------------


class Result(Enum):
    SENT = "sent"
    RETRY = "retry"  # transient: backoff, counted
    RETRY_AFTER = "retry_after"  # 429: wait as told, not counted
    UNDELIVERABLE = "undeliverable"
    FAILED = "failed"
    ABORT = "abort"  # our configuration is wrong: touch nothing, stop


@dataclass(frozen=True)
class Outcome:
    result: Result
    error: str = ""
    retry_after: float = 0.0
    done_at: float | None = None  # clock time the answer came back


def _seconds(value) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def classify(exc: BaseException) -> Outcome:
    """Map a python-telegram-bot exception to what the outbox should do about it.
    Order matters: RetryAfter is not a NetworkError, and BadRequest and TimedOut are."""
    text = f"{type(exc).__name__}: {exc}"[:500]
    if isinstance(exc, RetryAfter):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Outcome(Result.RETRY_AFTER, text, _seconds(exc.retry_after))
    if isinstance(exc, Forbidden):
        return Outcome(Result.UNDELIVERABLE, text)
    if isinstance(exc, InvalidToken):
        return Outcome(Result.ABORT, text)
    if isinstance(exc, BadRequest):
        message = str(exc).lower()
        if "chat not found" in message or "user is deactivated" in message:
            return Outcome(Result.UNDELIVERABLE, text)
        return Outcome(Result.FAILED, text)
    if isinstance(exc, ChatMigrated):
        return Outcome(Result.FAILED, text)
    if isinstance(exc, (NetworkError, TelegramError)):
        return Outcome(Result.RETRY, text)
    return Outcome(Result.RETRY, text)


class Transport(Protocol):
    def send_many(
        self, items: list[tuple[int, Rendered]], clock: Callable[[], float] = time.monotonic
    ) -> list[Outcome]: ...

    def close(self) -> None: ...


_TAG = re.compile(r"<[^>]+>")


def plain_text(telegram_html: str) -> str:
    """A message in Telegram's HTML parse mode as plain text: tags dropped, entities read."""
    return html.unescape(_TAG.sub("", telegram_html))


class LogTransport:
    """No bot token: write each message to the log instead (local development)."""

    def send_many(self, items: list[tuple[int, Rendered]], clock=time.monotonic) -> list[Outcome]:
        for chat_id, rendered in items:
            buttons = [
                button.text
                for row in (rendered.reply_markup.inline_keyboard if rendered.reply_markup else [])
                for button in row
            ]
            # One log line per message, as the person would read it (no HTML tags); the
            # local run's text logs show it on the console as it is "sent".
            extra = {"chat_id": chat_id, "text": plain_text(rendered.text), "buttons": buttons}
            if rendered.photo is not None:
                extra["photo_bytes"] = len(rendered.photo)
            log.info("bot_message_logged", extra=extra)
        return [Outcome(Result.SENT)] * len(items)

    def close(self) -> None:
        pass


class TelegramTransport:
    """Sends through python-telegram-bot. The session's event loop runs in a thread of
    its own, so `send_many` may be called from several threads at once (the drain keeps
    up to 30 sends in flight while its own thread does the database work)."""

    concurrent = True  # the drain may call send_many from several threads at once

    def __init__(self, session: BotSession | None = None):
        self.session = session or BotSession()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def _loop(self) -> asyncio.AbstractEventLoop:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self.session.loop.run_forever, name="bot-send-loop", daemon=True
                )
                self._thread.start()
        return self.session.loop

    def warm(self) -> None:
        """Initialise the bot (PTB's `initialize()`: one getMe) and so open a connection
        before the first burst; the first sends would otherwise pay for it while holding
        their slots. A failure here is left for the sends to report."""

        async def initialize() -> None:
            try:
                await self.session.bot.initialize()
            except Exception:  # noqa: BLE001 - the sends classify what is wrong
                log.warning("bot_initialize_failed", exc_info=True)

        asyncio.run_coroutine_threadsafe(initialize(), self._loop()).result()

    async def _send(self, chat_id: int, rendered: Rendered, clock) -> Outcome:
        if rendered.photo is not None:
            return await self._send_photo(chat_id, rendered, clock)
        try:
            await self.session.bot.send_message(
                chat_id=chat_id,
                text=rendered.text,
                parse_mode=PARSE_MODE,
                reply_markup=rendered.reply_markup,
                disable_web_page_preview=True,
            )
        except Exception as exc:  # noqa: BLE001 - every failure becomes an outcome
            outcome = classify(exc)
            return Outcome(outcome.result, outcome.error, outcome.retry_after, clock())
        return Outcome(Result.SENT, done_at=clock())

    async def _send_photo(self, chat_id: int, rendered: Rendered, clock) -> Outcome:
        """sendPhoto (a multipart upload) with the text as its caption; a text too long
        for a caption follows the photo, a second later (one message a second per chat),
        with the keyboard. The row's outcome is the photo's: once the photo is out, a
        failed follow-up is logged, not retried, since a retry would send the photo again."""
        follow_up = rendered.caption is not None
        try:
            await self.session.bot.send_photo(
                chat_id=chat_id,
                photo=InputFile(rendered.photo, filename="recap.png"),
                caption=rendered.caption if follow_up else rendered.text,
                parse_mode=PARSE_MODE,
                reply_markup=None if follow_up else rendered.reply_markup,
            )
        except Exception as exc:  # noqa: BLE001 - every failure becomes an outcome
            outcome = classify(exc)
            return Outcome(outcome.result, outcome.error, outcome.retry_after, clock())
        done_at = clock()
        if follow_up:
            await asyncio.sleep(FOLLOW_UP_DELAY)
            try:
                await self.session.bot.send_message(
                    chat_id=chat_id,
                    text=rendered.text,
                    parse_mode=PARSE_MODE,
                    reply_markup=rendered.reply_markup,
                    disable_web_page_preview=True,
                )
            except Exception as exc:  # noqa: BLE001 - the photo is out: log, don't resend
                log.warning(
                    "outbox_follow_up_failed",
                    extra={"chat_id": chat_id, "error": f"{type(exc).__name__}: {exc}"[:500]},
                )
            done_at = clock()
        return Outcome(Result.SENT, done_at=done_at)

    def send_many(self, items: list[tuple[int, Rendered]], clock=time.monotonic) -> list[Outcome]:
        async def wave() -> list[Outcome]:
            return list(await asyncio.gather(*(self._send(c, r, clock) for c, r in items)))

        return asyncio.run_coroutine_threadsafe(wave(), self._loop()).result()

    def submit(
        self,
        chat_id: int,
        rendered: Rendered,
        clock: Callable[[], float] = time.monotonic,
        *,
        at: float | None = None,
        paused_until: Callable[[], float] = lambda: 0.0,
    ) -> Future:
        """Send one message on the event loop, not before clock time `at`; a Future of
        its [Outcome]. If a 429 paused the sender meanwhile (`paused_until`), it is not
        sent and comes back as "not yet"."""

        async def one() -> list[Outcome]:
            while at is not None and (delay := at - clock()) > 0:
                await asyncio.sleep(delay)
            if (pause := paused_until() - clock()) > 0:
                return [Outcome(Result.RETRY_AFTER, "paused by a 429", pause, clock())]
            return [await self._send(chat_id, rendered, clock)]

        return asyncio.run_coroutine_threadsafe(one(), self._loop())

    def close(self) -> None:
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self.session.loop.call_soon_threadsafe(self.session.loop.stop)
            thread.join()
        self.session.close()


def make_transport() -> Transport:
    return TelegramTransport() if bot_configured() else LogTransport()


# --- the outbox rows --------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min, then every 5 min: after an outage, messages go out
    within minutes of the API's return."""
    return min(BACKOFF_BASE * 2 ** max(0, attempts - 1), BACKOFF_CAP)


@dataclass
class DrainReport:
    sent: int = 0
    retried: int = 0
    rate_limited: int = 0
    undeliverable: int = 0
    failed: int = 0
    released: int = 0
    batches: int = 0
    busy: bool = False  # another process holds the sender lock
    aborted: bool = False
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "errors"}


def _mark(row: OutboxMessage, outcome: Outcome, report: DrainReport) -> None:
    now = timezone.now()
    extra = {"outbox_id": row.id, "kind": row.kind, "chat_id": row.chat_id}
    error = outcome.error
    rows = OutboxMessage.objects.filter(pk=row.pk)
    if outcome.result is Result.RETRY_AFTER:
        report.rate_limited += 1
        rows.retry(at=now + timedelta(seconds=outcome.retry_after), error=error, count=False)
        log.warning("outbox_rate_limited", extra={**extra, "retry_after": outcome.retry_after})
    elif outcome.result is Result.RETRY and now - row.created_at < GIVE_UP_AFTER:
        report.retried += 1
        rows.retry(at=now + backoff(row.attempts + 1), error=error)
        log.warning("outbox_retry", extra={**extra, "error": outcome.error})
    elif outcome.result is Result.UNDELIVERABLE:
        report.undeliverable += 1
        rows.mark_undeliverable(error=error)
        log.info("outbox_undeliverable", extra={**extra, "error": outcome.error})
        recipient_unreachable(row, at=now)
    else:  # FAILED, or RETRY of a message too old to be worth sending
        report.failed += 1
        rows.mark_failed(error=error)
        log.error("outbox_failed", extra={**extra, "error": outcome.error})


def recipient_unreachable(row: OutboxMessage, *, at: datetime) -> None:
    """Telegram refused a message because the bot may not write to its recipient (403:
    never started, or blocked; "chat not found"): record that (rule 17), so both people
    see it and the message goes out again once permission is given (pacts.reach)."""
    try:
        messages_refused(row.user, source="delivery", at=at)
    except Exception:  # noqa: BLE001 - the row is marked; the flag must not stop the drain
        log.exception("outbox_reach_update_failed", extra={"outbox_id": row.id})


def _release(rows: list[OutboxMessage], at: datetime, report: DrainReport) -> None:
    """Give claimed but unsent rows back, due at `at`."""
    report.released += OutboxMessage.objects.filter(pk__in=[row.pk for row in rows]).release(at=at)


@contextmanager
def sender_lock():
    """One sender at a time on PostgreSQL (a session-level advisory lock); on SQLite (one
    local process) always granted."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [SENDER_LOCK_KEY])
        got = cursor.fetchone()[0]
    try:
        yield got
    finally:
        if got:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [SENDER_LOCK_KEY])


class Drain:
    """One sender's state across batches (and across polls in `--loop` mode)."""

    def __init__(
        self,
        *,
        transport: Transport | None = None,
        limiter: RateLimiter | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        batch_size: int = BATCH_SIZE,
        lease: timedelta = LEASE,
        arm_ahead: float | None = None,
    ):
        self.transport = transport or make_transport()
        # Sends are armed ahead only on a transport that can start them on time itself,
        # and (unless told) only on the real clock its event loop also keeps.
        if arm_ahead is None:
            arm_ahead = ARM_AHEAD if clock is time.monotonic else 0.0
        self.arm_ahead = arm_ahead if hasattr(self.transport, "submit") else 0.0
        self.clock = clock
        self.sleep = sleep
        spacing = 1.0 / OVERALL_PER_SECOND if self.arm_ahead else 0.0
        self.limiter = limiter or RateLimiter(clock=clock, spacing=spacing)
        self.batch_size = batch_size
        self.lease = lease
        self._pool: ThreadPoolExecutor | None = None  # sends in flight, when concurrent
        self._warm = False  # the transport's connection is open

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self.transport.close()

    def run(self, *, max_seconds: float | None = None) -> DrainReport:
        """Send everything due (claimed batch by batch) until none is left or the time
        budget is spent."""
        with sender_lock() as got:
            if not got:
                return DrainReport(busy=True)
            return self.drain_locked(max_seconds=max_seconds)

    def drain_locked(self, *, max_seconds: float | None = None) -> DrainReport:
        """`run()` for a caller that already holds the sender lock (the `--loop` process
        holds it for its whole life, so no other sender slips in between its polls).

        A queue of claimed, rendered rows is topped up from the database as it empties.
        Each message goes on its own as soon as the limiter has a slot for it and its
        chat is free; with a concurrent transport up to 30 are in flight at once while
        this thread marks the answered ones and claims ahead, so a slot is reused the
        moment its second is over instead of waiting for a whole wave. Each row must be
        sent within half its lease of being claimed, or it is released for the next drain.
        """
        report = DrainReport()
        stop_at = self.clock() + max_seconds if max_seconds is not None else None
        queue: list[_Item] = []
        inflight: dict[Future, _Item] = {}
        crash: list[BaseException] = []
        answered: list[tuple[OutboxMessage, Outcome]] = []  # to be marked in the table
        last_claim_at, last_claim_full = float("-inf"), True
        try:
            while True:
                self._collect(inflight, answered, report, crash, timeout=0)
                if len(answered) >= OVERALL_PER_SECOND:
                    self._mark_all(answered, report)
                now = self.clock()
                if report.aborted or crash or (stop_at is not None and now >= stop_at):
                    if not inflight:
                        break
                    self._collect(inflight, answered, report, crash, timeout=None)
                    continue
                if len(queue) <= self.batch_size - OVERALL_PER_SECOND and (
                    last_claim_full or now - last_claim_at >= 1.0
                ):
                    fresh, last_claim_full = self._claim(queue, report)
                    last_claim_at = now
                    queue += fresh
                    report.batches += bool(fresh)
                if not queue:
                    if answered:
                        self._mark_all(answered, report)
                    elif inflight:
                        self._collect(inflight, answered, report, crash, timeout=None)
                    elif not last_claim_full:
                        break  # nothing more is due right now
                    continue
                queue = self._expire(queue, report)
                wave = self.limiter.plan(item.row.chat_id for item in queue)
                if wave:
                    chosen = set(wave)
                    items = [queue[i] for i in wave]
                    # Off the queue before sending: if this process dies mid-send, these
                    # rows keep their lease (resent later), never released as if unsent.
                    queue = [item for i, item in enumerate(queue) if i not in chosen]
                    for item in items:
                        if item.text is not None or self._render(item, report):
                            self._submit(item, inflight)
                    continue
                # Waiting for a slot anyway: mark the answered rows, render ahead.
                if answered:
                    self._mark_all(answered, report)
                    continue
                unrendered = next((item for item in queue if item.text is None), None)
                if unrendered is not None:
                    if not self._render(unrendered, report):
                        queue.remove(unrendered)
                    continue
                wait, first = self.limiter.next_ready(item.row.chat_id for item in queue)
                if (
                    first is not None
                    and wait <= self.arm_ahead
                    and (stop_at is None or self.clock() + wait < stop_at)
                ):
                    # Its slot frees within the arming horizon: hand it over now, to go
                    # at that very moment. It holds its slot and chat from here on.
                    item = queue.pop(first)
                    self._submit(item, inflight, at=self.clock() + wait)
                    continue
                wait = max(0.0, wait - self.arm_ahead)
                if stop_at is not None:
                    wait = min(wait, max(0.0, stop_at - self.clock()))
                if inflight:
                    # An answer may free a slot before `wait` is over.
                    self._collect(
                        inflight,
                        answered,
                        report,
                        crash,
                        timeout=None if math.isinf(wait) else max(wait, 0.001),
                    )
                else:
                    self.sleep(max(wait, 0.001))
        finally:
            if answered:
                self._mark_all(answered, report)
            # Claimed but never attempted: back to the table, due when the limiter would
            # have let them go. Rows still in flight (an error above) keep their lease.
            if queue:
                wait = min(self.limiter.wait(item.row.chat_id) for item in queue)
                wait = 0.0 if math.isinf(wait) else wait
                _release(
                    [item.row for item in queue], timezone.now() + timedelta(seconds=wait), report
                )
        if report.batches:
            log.info("outbox_drained", extra=report.as_dict())
        if crash:
            raise crash[0]
        return report

    def _claim(self, queue: list[_Item], report: DrainReport) -> tuple[list[_Item], bool]:
        """Claim and render more rows; also says whether the claim came back full (then
        more may be waiting)."""
        queued = Counter(item.row.chat_id for item in queue)
        limit = self.batch_size - len(queue)
        rows = OutboxMessage.objects.claim(
            limit=limit,
            now=timezone.now(),
            lease=self.lease,
            skip_chats=[chat for chat, count in queued.items() if count >= PER_CHAT_QUEUE],
        )
        if rows and not self._warm and hasattr(self.transport, "warm"):
            self.transport.warm()
            self._warm = True
        users = {user.pk: user for user in _users(rows)}
        send_by = self.clock() + self.lease.total_seconds() / 2
        for row in rows:
            row.user = users[row.user_id]
        # What the rows are about, in a few queries for the whole claim; each is rendered
        # later, one at a time while the limiter has us waiting (`_render`), so a claim
        # never holds up sends whose slot is free.
        preload = Preload(rows)
        return [_Item(row, None, send_by, preload) for row in rows], len(rows) == limit

    def _render(self, item: _Item, report: DrainReport) -> bool:
        """Render one queued row; False (and the row marked FAILED) if it cannot be."""
        row = item.row
        try:
            # Rule 18: in the recipient's language, decided now (they may have switched).
            with translation.override(language_of(row.user)):
                item.text = render(row, preload=item.preload)
            return True
        except Skip as skip:
            _mark(row, Outcome(Result.FAILED, str(skip)), report)
        except Exception as exc:  # noqa: BLE001 - one bad row must not stop the drain
            log.exception("outbox_render_error", extra={"outbox_id": row.id, "kind": row.kind})
            _mark(row, Outcome(Result.FAILED, f"render error: {exc!r}"[:500]), report)
        return False

    def _expire(self, queue: list[_Item], report: DrainReport) -> list[_Item]:
        """Release rows held too close to the end of their lease."""
        now = self.clock()
        late = [item.row for item in queue if now >= item.send_by]
        if late:
            _release(late, timezone.now(), report)
            return [item for item in queue if now < item.send_by]
        return queue

    def _submit(self, item: _Item, inflight: dict[Future, _Item], at: float | None = None) -> None:
        """Start sending one message (at clock time `at`, if given): on the transport's
        own event loop when it has one (`submit`), on the thread pool for another
        concurrent transport, here and now for the others (the log, the tests'
        recording transports)."""
        chat_id = item.row.chat_id
        self.limiter.start(chat_id, at)
        args = ([(chat_id, item.text)], self.clock)
        if hasattr(self.transport, "submit"):
            try:
                future = self.transport.submit(
                    chat_id,
                    item.text,
                    self.clock,
                    at=at,
                    paused_until=self.limiter.paused_until,
                )
            except Exception as exc:  # noqa: BLE001 - re-raised by drain_locked
                future = Future()
                future.set_exception(exc)
        elif getattr(self.transport, "concurrent", False):
            if self._pool is None:
                self._pool = ThreadPoolExecutor(OVERALL_PER_SECOND, thread_name_prefix="send")
            future = self._pool.submit(self.transport.send_many, *args)
        else:
            future = Future()
            try:
                future.set_result(self.transport.send_many(*args))
            except Exception as exc:  # noqa: BLE001 - re-raised by drain_locked
                future.set_exception(exc)
        inflight[future] = item

    def _collect(
        self,
        inflight: dict[Future, _Item],
        answered: list[tuple[OutboxMessage, Outcome]],
        report: DrainReport,
        crash: list[BaseException],
        *,
        timeout: float | None,
    ) -> None:
        """Wait up to `timeout` seconds (None = until one is answered) for sends in
        flight; record every answered one in the limiter (a 429 pauses it, a rejected
        token stops the drain) and queue it in `answered` for `_mark_all`."""
        if not inflight:
            return
        done = [future for future in inflight if future.done()]
        if not done and timeout != 0:
            done = list(wait_futures(inflight, timeout=timeout, return_when=FIRST_COMPLETED)[0])
        for future in done:
            item = inflight.pop(future)
            exc = future.exception()
            if exc is not None:
                # The transport itself broke (not an answer from Telegram): we cannot
                # know whether it went out, so the row keeps its lease and is resent
                # when that runs out. Stop starting new sends and re-raise.
                self.limiter.finish(item.row.chat_id)
                crash.append(exc)
                continue
            [outcome] = future.result()
            # At the moment its answer came back: no earlier than Telegram counted it.
            self.limiter.finish(item.row.chat_id, outcome.done_at)
            if outcome.result is Result.RETRY_AFTER:
                self.limiter.pause(outcome.retry_after)
            elif outcome.result is Result.ABORT and not report.aborted:
                report.aborted = True
                report.errors.append(outcome.error)
                log.error("outbox_token_rejected", extra={"error": outcome.error})
            answered.append((item.row, outcome))

    def _mark_all(self, answered: list[tuple[OutboxMessage, Outcome]], report: DrainReport) -> None:
        """Write the answered rows' outcomes to the table (and empty `answered`)."""
        results, answered[:] = list(answered), []
        sent = [row for row, outcome in results if outcome.result is Result.SENT]
        if sent:
            OutboxMessage.objects.filter(pk__in=[row.pk for row in sent]).mark_sent()
        report.sent += len(sent)
        for row, outcome in results:
            if outcome.result is Result.ABORT:
                _release([row], timezone.now(), report)
            elif outcome.result is not Result.SENT:
                _mark(row, outcome, report)


@dataclass
class _Item:
    row: OutboxMessage
    text: Rendered | None  # None until rendered
    send_by: float  # clock() time after which it is released unsent
    preload: Preload | None = None  # the objects of its claim, read together


def _users(rows: list[OutboxMessage]):
    return User.objects.filter(pk__in={row.user_id for row in rows})


def deliver_outbox(*, max_seconds: float | None = 45.0, **drain_options) -> DrainReport:
    """Drain the outbox once (what the every-minute job and `manage.py deliver_outbox` run)."""
    drain = Drain(**drain_options)
    try:
        return drain.run(max_seconds=max_seconds)
    finally:
        drain.close()
