"""A model-based test of the money: random interleavings of every action, checked
after every step.

A hypothesis `RuleBasedStateMachine` plays three people (two in London, one in
Santiago) who create, accept and decline pacts, check in, skip (within the monthly
allowance, rule 8), ask to skip and answer (rule 9), own up to misses, dispute and
resolve, say "Looks good", waive, take breaks (propose, approve, decline, end early),
settle up, end pacts and delete their accounts, while the
clock (time-machine) runs across deadlines and DST changes and the scheduled sweeps
run. Every action goes through the same domain function the API, the Mini App, the bot
and the jobs call, so what this finds, users can reach.

After every step it checks:

1. `check_ledger()` (ledger/invariants.py) finds nothing;
2. each pact's balance (`balance_of`, the `pact_balances` view) equals the sum of its
   ledger, and equals stake × MISSED days − confirmed settlements;
3. no balance is below zero (rule 14);
4. every MISSED day has exactly one FORFEIT and no WAIVER; every WAIVED day one
   FORFEIT and one WAIVER;
5. after a deadline sweep, no day past its deadline is still PENDING; after a dispute
   sweep, no dispute past its resolution window is still open;
6. a pact that is not ACTIVE has no PENDING day, and no day whose deadline has passed
   ever disappears (rule 13: closing decides overdue days, it doesn't drop them);
7. every deadline can be met: it falls after the start of its day (rule 12);
8. a refusal (DomainError) changed nothing: days, ledger, settlements, pacts, skip
   requests, breaks and balances are exactly as before; and a few actions the rules clearly
   allow are not refused (an oracle: check-in on time, a dispute inside its window, a
   skip with allowance left, an answer to an open request before the deadline, ...);
9. (rules 8, 9) no month holds more of the initiator's own skips than the pact allows;
   only the initiator's skips use the allowance; an OPEN skip request's day is still
   PENDING; an APPROVED one's day is SKIPPED without using the allowance; and no
   request is told its outcome twice.
10. breaks (rule 10): at most one open break per pact, each 1–30 days; every day inside
   an approved break is a day off (SKIPPED, never PENDING), and a break day belongs to
   an approved or ended break that covers its date; a Looks-good day is DONE with its
   dispute window closed (rule 11).

Budget: CI runs a small, derandomised (reproducible) budget on each engine. A larger,
random run (the seed is printed on failure; `--hypothesis-seed=N` replays it):

    HP_MODEL_EXAMPLES=500 HP_MODEL_STEPS=60 scripts/test ledger/tests/test_money_model.py -s

The figures (examples, steps, invariant checks, refusals) are printed with `-s`.
Examples share the test's database transaction; each one runs inside its own
savepoint, rolled back in `teardown`, so every example starts from an empty database.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from datetime import UTC, datetime, time, timedelta

import pytest
import time_machine
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone
from hypothesis import HealthCheck, Verbosity, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from conftest import make_user
from habitpact.errors import DomainError
from ledger.actions import settlement_cancel, settlement_confirm, settlement_propose
from ledger.invariants import check_ledger
from ledger.models import LedgerEntry, Settlement, balance_of, balances_of
from outbox.models import OutboxMessage
from pacts import tasks
from pacts.actions import (
    PactTerms,
    day_for,
    pact_accept,
    pact_cancel,
    pact_create,
    pact_decline,
    pact_end,
)
from pacts.breaks import Break, break_propose
from pacts.models import Pact, PactDay, SkipRequest, User
from pacts.privacy import user_delete

pytestmark = pytest.mark.django_db

# --- the rules the first build broke (issue 11) ------------------------------------


def _flag(name: str, *, default: bool) -> bool:
    """A check's switch: its default here, or HP_MODEL_<name>=1/0 to try it either way."""
    return os.environ.get(f"HP_MODEL_{name}", str(int(default))) == "1"


# Each flag switches on the check of a rule the first build broke (the machine found each
# bug on that code); all are on now that the fixes landed. HP_MODEL_<flag>=0 turns one off.
# Rule 13: closing a pact (end, completion, account deletion) decides overdue days first.
CHECK_RULE_13_CLOSE_DECIDES_OVERDUE_DAYS = _flag(
    "CHECK_RULE_13_CLOSE_DECIDES_OVERDUE_DAYS", default=True
)
# Rule 13: dispute and resolution windows survive the end of the pact.
CHECK_RULE_13_DISPUTES_SURVIVE_END = _flag("CHECK_RULE_13_DISPUTES_SURVIVE_END", default=True)
# Rule 14: a waiver never takes the balance below zero. Off, the machine never tries a
# waiver the balance can't pay for, so the rest of the run stays meaningful.
CHECK_RULE_14_NEVER_BELOW_ZERO = _flag("CHECK_RULE_14_NEVER_BELOW_ZERO", default=True)
# Rule 12: a 00:00 deadline is midnight at the end of the day. Off, no pact gets one.
CHECK_RULE_12_MIDNIGHT_DEADLINE = _flag("CHECK_RULE_12_MIDNIGHT_DEADLINE", default=True)

EXAMPLES = int(os.environ.get("HP_MODEL_EXAMPLES", "20"))
STEPS = int(os.environ.get("HP_MODEL_STEPS", "25"))
# The CI budget is reproducible; a budget asked for by hand explores new ground.
DERANDOMIZE = "HP_MODEL_EXAMPLES" not in os.environ

# Where each example's clock starts: two days before London's spring-forward (Sun
# 30 Mar 2025 01:00 UTC) and fall-back (Sun 26 Oct 2025 01:00 UTC), and before
# Santiago's spring-forward at local midnight (Sun 7 Sep 2025 04:00 UTC).
STARTS = [
    datetime(2025, 3, 28, 9, 0, tzinfo=UTC),
    datetime(2025, 10, 24, 20, 30, tzinfo=UTC),
    datetime(2025, 9, 5, 12, 0, tzinfo=UTC),
]
# 01:30 falls in London's spring-forward gap and in its repeated autumn hour.
DEADLINES = [time(21, 0), time(1, 30), time(23, 59), time(9, 0), time(0, 0)]
PEOPLE = [("Alex", "Europe/London"), ("Sam", "Europe/London"), ("Kim", "America/Santiago")]

FIGURES: Counter = Counter()

i = st.integers(min_value=0, max_value=7)
# Which day a day action picks, by its index: mostly today, then yesterday, tomorrow.
DAY_OFFSETS = [0, -1, 1, 0, -2, -1, 0, -3]
# Who each day action is for, and the state of the day it needs.
ACTION_ROLE = {
    "check-in": "initiator",
    "miss": "initiator",
    "dispute": "partner",
    "concede": "initiator",
    "reject": "initiator",
    "withdraw": "partner",
    "waive": "partner",
    "looks-good": "partner",
    "ask-skip": "initiator",
    "approve-skip": "partner",
    "decline-skip": "partner",
}
ACTION_NEEDS = {
    "check-in": "PENDING",
    "miss": "PENDING",
    "skip": "PENDING",
    "dispute": "DONE",
    "concede": "DISPUTED",
    "reject": "DISPUTED",
    "withdraw": "DISPUTED",
    "waive": "MISSED",
    "looks-good": "DONE",
    "ask-skip": "PENDING",
    "approve-skip": "PENDING",
    "decline-skip": "PENDING",
}


class MoneyModel(RuleBasedStateMachine):
    """Three people, their pacts and the clock; see the module docstring."""

    def __init__(self) -> None:
        super().__init__()
        self.savepoint = transaction.savepoint()
        self.traveller = None
        self.users: list[User] = []
        self.pacts: list[Pact] = []
        self.kinds: dict[str, list] = {
            "any": [],
            "invite": [],
            "active": [],
            "days": [],
            "money": [],
        }
        self.seen_deadlines: dict = {}  # day id → deadline, for every day ever seen
        # Whether the step just checked ran the deadline / dispute sweep: a later step may
        # materialise overdue days (the job was behind), which the next sweep decides.
        self.just_swept = self.just_swept_disputes = False
        FIGURES["examples"] += 1

    def teardown(self) -> None:
        if self.traveller is not None:
            self.travel.stop()
        transaction.savepoint_rollback(self.savepoint)

    # --- helpers --------------------------------------------------------------------

    def _user(self, n: int) -> User | None:
        """The n-th person, as the interfaces would load them; None once deleted (a
        deleted account can't sign in, so it can't act)."""
        user = User.objects.get(pk=self.users[n % len(self.users)].pk)
        return None if user.deleted_at is not None else user

    def _pact(self, n: int, kind: str = "any") -> Pact | None:
        """The n-th pact of a kind (see `_sort_pacts`), so that no step is wasted on a
        pact the action can't touch (refusals are still drawn: strangers, wrong roles,
        closed windows)."""
        ids = self.kinds[kind]
        return Pact.objects.get(pk=ids[n % len(ids)]) if ids else None

    def _sort_pacts(self, pacts: list[Pact], days: list[PactDay], balances: dict) -> None:
        """Which pacts each kind of action can touch, refreshed after every step."""
        with_days = {d.pact_id for d in days}
        pending = set(
            Settlement.objects.filter(status=Settlement.Status.PENDING).values_list(
                "pact_id", flat=True
            )
        )
        S = Pact.Status
        self.kinds = {
            "any": [p.pk for p in pacts],
            "invite": [p.pk for p in pacts if p.status == S.PENDING_ACCEPT],
            "active": [p.pk for p in pacts if p.status == S.ACTIVE],
            "days": [p.pk for p in pacts if p.status == S.ACTIVE or p.pk in with_days],
            "money": [p.pk for p in pacts if balances[p.pk] > 0 or p.pk in pending],
        }

    def _member(self, pact: Pact, who: str) -> User | None:
        """ "initiator", "partner", or "stranger" (someone not in the pact)."""
        if who == "initiator":
            user = pact.initiator
        elif who == "partner":
            user = pact.partner
        else:
            inside = {m.user_id for m in pact.members}
            user = next((u for u in self.users if u.pk not in inside), None)
        if user is None:
            return None
        user.refresh_from_db()
        return None if user.deleted_at is not None else user

    def _day(self, pact: Pact, n: int, *, wanted: str | None = None) -> PactDay | None:
        """A day of the pact, fetched as the interfaces do: by date, through `day_for`
        (which materialises days if the job is behind). Mostly (n < 6) the n-th
        day in the `wanted` state, if there is one; else a date near today."""
        day_date = None
        if wanted is not None and n < 6:
            # Pending days oldest first, mostly among those still before their deadline
            # (today's); decided days newest first (their windows may still be open).
            days = pact.days.filter(status=wanted).order_by("-date")
            if wanted == PactDay.Status.PENDING:
                days = days.order_by("date")
                if n < 4:
                    days = days.filter(deadline_at__gt=timezone.now())
            dates = list(days.values_list("date", flat=True))
            day_date = dates[n % len(dates)] if dates else None
        if day_date is None:
            day_date = pact.local_today() + timedelta(days=DAY_OFFSETS[n % len(DAY_OFFSETS)])
        try:
            return day_for(pact, day_date)
        except DomainError:
            return None

    def _fingerprint(self) -> tuple:
        return (
            sorted(
                PactDay.objects.values_list(
                    "id", "status", "resolution", "approved_at", "on_break_id"
                )
            ),
            sorted(Break.objects.values_list("id", "status", "end_date")),
            LedgerEntry.objects.count(),
            sorted(Settlement.objects.values_list("id", "status")),
            sorted(Pact.objects.values_list("id", "status")),
            sorted(balances_of(Pact.objects.values_list("pk", flat=True)).items()),
            sorted(SkipRequest.objects.values_list("id", "status")),
        )

    def _attempt(self, action: str, call, *, must_succeed: bool = False):
        """Run one domain call. A DomainError is a refusal and must change nothing."""
        before = self._fingerprint()
        try:
            result = call()
        except DomainError as refusal:
            FIGURES[f"refused {action}"] += 1
            FIGURES["refusals checked"] += 1
            assert self._fingerprint() == before, f"refused {action} changed something"
            assert not must_succeed, f"{action} refused although the rules allow it: {refusal}"
            return None
        FIGURES[f"done {action}"] += 1
        return result

    # --- pacts ----------------------------------------------------------------------

    terms = dict(
        stake=st.sampled_from([1, 300, 500, 10_000]),
        deadline=st.sampled_from(DEADLINES),
        window=st.sampled_from([1, 12, 72]),
        starts_in=st.integers(min_value=0, max_value=2),
        lasts=st.sampled_from([None, 1, 3, 6]),
        weekdays=st.sampled_from([[True] * 7, [True, False] * 3 + [True], [False] * 6 + [True]]),
        skips=st.sampled_from([2, 0, 1]),
    )

    @initialize(
        start=st.sampled_from(STARTS),
        initiator=st.sampled_from([0, 2]),
        stake=terms["stake"],
        deadline=terms["deadline"],
        window=terms["window"],
    )
    def first_pact(self, start, initiator, **terms):
        """The clock starts near a DST change; the three people arrive; every run starts
        with an every-day pact from today, accepted by the next person along (so a
        small budget spends its steps on days and money, not on getting started)."""
        self.travel = time_machine.travel(start, tick=False)
        self.traveller = self.travel.start()
        self.users = [make_user(name, tz=tz) for name, tz in PEOPLE]
        pact = self._create(initiator, starts_in=0, lasts=None, weekdays=[True] * 7, **terms)
        if pact is not None:
            self._attempt("accept", lambda: pact_accept(pact, self._user(initiator + 1)))

    @precondition(lambda self: self.users and len(self.pacts) < 3)
    @rule(initiator=i, **terms)
    def create(self, initiator, **terms):
        self._create(initiator, **terms)

    def _create(self, initiator, stake, deadline, window, starts_in, lasts, weekdays, skips=2):
        if deadline == time(0, 0) and not CHECK_RULE_12_MIDNIGHT_DEADLINE:
            deadline = time(0, 1)
        user = self._user(initiator)
        if user is None:
            return None
        start = timezone.now().astimezone(user.tz).date() + timedelta(days=starts_in)
        terms = PactTerms(
            title="Gym",
            stake_amount=stake,
            schedule_days=weekdays,
            deadline_time=deadline,
            start_date=start,
            end_date=None if lasts is None else start + timedelta(days=lasts),
            dispute_window_hours=window,
            skips_per_month=skips,
        )
        pact = self._attempt("create", lambda: pact_create(initiator=user, terms=terms))
        if pact is not None:
            self.pacts.append(pact)
        return pact

    @precondition(lambda self: self.kinds["invite"])
    @rule(p=i, by=i)
    def accept(self, p, by):
        pact, user = self._pact(p, "invite"), self._user(by)
        if user is not None:
            self._attempt("accept", lambda: pact_accept(pact, user))

    @precondition(lambda self: self.kinds["invite"])
    @rule(p=i, by=i)
    def decline(self, p, by):
        pact, user = self._pact(p, "invite"), self._user(by)
        if user is not None:
            self._attempt("decline", lambda: pact_decline(pact, user))

    @precondition(lambda self: self.kinds["invite"])
    @rule(p=i, by=i)
    def cancel(self, p, by):
        pact, user = self._pact(p, "invite"), self._user(by)
        if user is not None:
            self._attempt("cancel", lambda: pact_cancel(pact, user))

    @precondition(lambda self: self.kinds["active"])
    @rule(p=i, who=st.sampled_from(["initiator", "partner", "stranger"]))
    def end(self, p, who):
        pact = self._pact(p, "active")
        user = self._member(pact, who)
        if user is not None:
            self._attempt("end", lambda: pact_end(pact, user, reason="Done with it"))

    @precondition(lambda self: self.users and sum(u.deleted_at is not None for u in self.users) < 1)
    @rule(n=i, really=st.integers(min_value=0, max_value=3))
    def delete_account(self, n, really):
        """Rarely (really == 3), as it ends every pact of the person; the simplest draw
        (0, what hypothesis tries first and shrinks to) leaves everyone in."""
        if really != 3:
            return
        user = self._user(n)
        if user is not None:
            self._attempt("delete account", lambda: user_delete(user))
            self.users = [User.objects.get(pk=u.pk) for u in self.users]

    # --- days -----------------------------------------------------------------------
    # One rule for every day action (and one for settlements, one for the clock), each
    # taking a single tuple: hypothesis' swarm testing switches whole rules off per
    # example and favours rules with fewer arguments, so these few rules keep every
    # action in play in a small budget.

    @precondition(lambda self: self.kinds["days"])
    @rule(
        step=st.tuples(
            st.sampled_from(
                [
                    "check-in",
                    "dispute",
                    "waive",
                    "miss",
                    "concede",
                    "skip",
                    "reject",
                    "withdraw",
                    "looks-good",
                    "ask-skip",
                    "approve-skip",
                    "decline-skip",
                ]
            ),
            i,
            i,
            st.sampled_from(["right", "right", "wrong", "stranger"]),
        )
    )
    def act_on_day(self, step):
        """(action, pact, day, who). `who` is mostly the person the action is for (the
        initiator checks in, the partner disputes...), and `day` mostly a day in the
        state the action needs, so a small budget reaches disputes and waivers; the
        rest draws refusals."""
        action, p, d, who = step
        pact = self._pact(p, "days")
        if pact is None:
            return
        if who != "stranger":
            right = ACTION_ROLE.get(action, "initiator" if d % 2 else "partner")
            who = right if who == "right" else {"initiator": "partner"}.get(right, "initiator")
        day = self._day(pact, d, wanted=ACTION_NEEDS[action])
        if action in ("approve-skip", "decline-skip") and d < 6:
            # Mostly the day that has a request to answer, so answers are reached.
            asked = SkipRequest.objects.filter(day__pact=pact, status=SkipRequest.Status.OPEN)
            asked_day = asked.values_list("day__date", flat=True).first()
            if asked_day is not None:
                day = day_for(pact, asked_day)
        user = self._member(pact, who)
        if day is None or user is None:
            return
        now = timezone.now()
        S = PactDay.Status
        if action == "check-in":
            allowed = (
                who == "initiator"
                and pact.status == Pact.Status.ACTIVE
                and day.status == S.PENDING
                and now < day.deadline_at
                and pact.local_today(now) == day.date
            )
            key = f"k-{day.pk}"
            done = self._attempt(
                action,
                lambda: day.check_in(user, note="Done!", idempotency_key=key),
                must_succeed=allowed,
            )
            if done is not None:  # the same request again (a retried tap) changes nothing
                before = self._fingerprint()
                day.check_in(user, note="Done!", idempotency_key=key)
                assert self._fingerprint() == before, "a retried check-in changed something"
        elif action == "miss":
            self._attempt(action, lambda: day.miss(user))
        elif action == "skip":
            on_time = (
                pact.status == Pact.Status.ACTIVE
                and day.status == S.PENDING
                and now < day.deadline_at
            )
            allowed = on_time and (
                who == "partner" or (who == "initiator" and pact.skip_allowance(day.date).left > 0)
            )
            self._attempt(action, lambda: day.skip(user), must_succeed=allowed)
        elif action == "ask-skip":
            current = day.skip_request
            allowed = (
                who == "initiator"
                and pact.status == Pact.Status.ACTIVE
                and day.status == S.PENDING
                and now < day.deadline_at
                and (current is None or current.status in ("APPROVED", "LAPSED"))
            )
            self._attempt(
                action, lambda: day.request_skip(user, reason="Flu"), must_succeed=allowed
            )
        elif action in ("approve-skip", "decline-skip"):
            current = day.skip_request
            allowed = (
                who == "partner"
                and pact.status == Pact.Status.ACTIVE
                and day.status == S.PENDING
                and now < day.deadline_at
                and current is not None
                and current.status == SkipRequest.Status.OPEN
            )
            answer = day.approve_skip if action == "approve-skip" else day.decline_skip
            done = self._attempt(action, lambda: answer(user), must_succeed=allowed)
            if done is not None:  # a double tap answers the same and changes nothing
                before = self._fingerprint()
                outbox = OutboxMessage.objects.count()
                answer(user)
                assert self._fingerprint() == before, f"a repeated {action} changed something"
                assert OutboxMessage.objects.count() == outbox, f"a repeated {action} told again"
        elif action == "dispute":
            open_statuses = (Pact.Status.ACTIVE, Pact.Status.ENDED)
            allowed = (
                who == "partner"
                and day.status == S.DONE
                and day.dispute_window_open(now)
                and (
                    pact.status == Pact.Status.ACTIVE
                    or (CHECK_RULE_13_DISPUTES_SURVIVE_END and pact.status in open_statuses)
                )
            )
            self._attempt(
                action, lambda: day.dispute(user, reason="No photo"), must_succeed=allowed
            )
        elif action in ("concede", "reject", "withdraw"):
            resolution = action.upper()
            allowed = (
                day.status == S.DISPUTED
                and now < day.dispute_resolve_until
                and who == ("partner" if resolution == "WITHDRAW" else "initiator")
            )
            self._attempt(action, lambda: day.resolve(user, resolution), must_succeed=allowed)
        elif action == "looks-good":
            allowed = (
                who == "partner"
                and day.status == S.DONE
                and (day.dispute_window_open(now) or day.approved_at is not None)
                and pact.status in (Pact.Status.ACTIVE, Pact.Status.ENDED)
            )
            done = self._attempt(action, lambda: day.approve(user), must_succeed=allowed)
            if done is not None:  # a double tap changes nothing
                before = self._fingerprint()
                PactDay.objects.get(pk=day.pk).approve(user)
                assert self._fingerprint() == before, "a second Looks good changed something"
        elif action == "waive":
            if not CHECK_RULE_14_NEVER_BELOW_ZERO and balance_of(pact) < pact.stake_amount:
                return  # the known rule-14 hole: this waiver would take the tab below zero
            allowed = (
                who == "partner"
                and day.status == S.MISSED
                and balance_of(pact) >= pact.stake_amount
            )
            self._attempt(action, lambda: day.waive(user), must_succeed=allowed)

    # --- breaks (rule 10) -----------------------------------------------------------

    @precondition(lambda self: self.kinds["active"])
    @rule(
        step=st.tuples(
            st.sampled_from(["propose", "propose", "approve", "decline", "end"]),
            i,
            st.sampled_from(["initiator", "partner", "partner", "stranger"]),
            st.sampled_from([1, 2, 0, 3]),
            st.sampled_from([1, 3, 30, 31]),
        )
    )
    def take_break(self, step):
        """(action, pact, who, starts in n days, lasting n days). Propose a break, or
        answer or end the pact's latest one. Starting today (0) and 31 days are refused."""
        action, p, who, starts_in, days = step
        pact = self._pact(p, "active")
        user = self._member(pact, who)
        if user is None:
            return
        now = timezone.now()
        today = pact.local_today(now)
        if action == "propose":
            start = today + timedelta(days=starts_in)
            end = start + timedelta(days=days - 1)
            blocking = Break.objects.filter(pact=pact, status__in=Break.OPEN).filter(
                Q(status=Break.Status.APPROVED, end_date__gte=today)
                | Q(status=Break.Status.PROPOSED, start_date__gt=today)
            )
            allowed = (
                who != "stranger"
                and starts_in >= 1
                and days <= 30
                and not blocking.exists()
                and (pact.end_date is None or start <= pact.end_date)
            )
            self._attempt(
                "break propose",
                lambda: break_propose(pact, user, start_date=start, end_date=end, reason="Trip"),
                must_succeed=allowed,
            )
            return
        brk = pact.breaks.order_by("-created_at").first()
        if brk is None:
            return
        brk.pact = pact
        if action == "approve":
            allowed = (
                who == "partner" and brk.status == Break.Status.PROPOSED and brk.start_date > today
            )
            self._attempt("break approve", lambda: brk.approve(user), must_succeed=allowed)
        elif action == "decline":
            self._attempt("break decline", lambda: brk.decline(user))
        else:
            allowed = (
                who != "stranger" and brk.status == Break.Status.APPROVED and brk.end_date >= today
            )
            self._attempt("break end", lambda: brk.end(user), must_succeed=allowed)

    # --- settlements ----------------------------------------------------------------

    @precondition(lambda self: self.kinds["money"])
    @rule(
        step=st.tuples(
            st.sampled_from(["propose", "confirm", "cancel"]),
            i,
            st.sampled_from(["initiator", "partner", "stranger"]),
            st.sampled_from([1, 2, None, 0]),
        )
    )
    def settle(self, step):
        """(action, pact, who, share). Propose all of the balance (1 or None), half (2)
        or nothing (0, refused); confirm or cancel the pact's latest settlement."""
        action, p, who, share = step
        pact = self._pact(p, "money")
        user = self._member(pact, who)
        if user is None:
            return
        if action == "propose":
            amount = None if share is None else (balance_of(pact) // share if share else 0)
            self._attempt("settle propose", lambda: settlement_propose(pact, user, amount=amount))
            return
        settlement = pact.settlements.order_by("-created_at").first()
        if settlement is None:
            return
        if action == "confirm":
            self._attempt("settle confirm", lambda: settlement_confirm(settlement, user))
        else:
            self._attempt("settle cancel", lambda: settlement_cancel(settlement, user))

    # --- time and the sweeps --------------------------------------------------------

    @precondition(lambda self: self.traveller is not None)
    @rule(
        step=st.tuples(
            st.sampled_from(
                [60, "deadline-1", "deadline", "deadline+1", 0, 1, 30, 300, 780, 1440, 4320]
            ),
            i,
            st.sampled_from(["all", "down", "deadlines", "disputes", "materialize", "complete"]),
        )
    )
    def clock(self, step):
        """(move, pact, jobs). Time passes: by some minutes, or to one minute before, at
        or after the next deadline of a pact's days. Then the scheduled jobs
        (pacts/tasks.py) run as django-q2 runs them: all, one, or none (worker down)."""
        move, p, worker = step
        if isinstance(move, int):
            self.traveller.shift(timedelta(minutes=move))
        else:
            pact = self._pact(p, "days")
            upcoming = pact and pact.days.filter(deadline_at__gt=timezone.now()).first()
            if upcoming is not None:
                offset = {"deadline-1": -1, "deadline": 0, "deadline+1": 1}[move]
                target = upcoming.deadline_at + timedelta(minutes=offset)
                self.traveller.move_to(max(target, timezone.now()))
        FIGURES["clock moves"] += 1
        if worker in ("all", "materialize"):
            tasks.materialize_days()
        if worker in ("all", "deadlines"):
            tasks.process_deadlines()
            self.just_swept = True
        if worker in ("all", "disputes"):
            tasks.resolve_expired_disputes()
            self.just_swept_disputes = True
        if worker in ("all", "complete"):
            tasks.expire_invites()
            tasks.complete_pacts()
        FIGURES[f"jobs run: {worker}"] += 1

    # --- invariants -----------------------------------------------------------------

    @invariant()
    def the_money_adds_up(self) -> None:
        if self.traveller is None:
            return
        FIGURES["steps checked"] += 1
        now = timezone.now()
        violations = check_ledger()
        if not self.just_swept:
            # A PENDING day long past its deadline is an operational alarm (the worker is
            # down), not a money error, while the model's worker is down: the machine
            # checks the sweep itself below, right after it runs.
            violations = [v for v in violations if "deadline" not in v.rule]
        assert violations == [], violations
        FIGURES["invariant checks"] += 1

        links = Counter(
            {
                (row["pact_day_id"], row["type"]): row["n"]
                for row in LedgerEntry.objects.filter(pact_day__isnull=False)
                .values("pact_day_id", "type")
                .annotate(n=Count("id"))
            }
        )
        days = list(PactDay.objects.select_related("pact"))
        for day in days:
            forfeits, waivers = links[day.pk, "FORFEIT"], links[day.pk, "WAIVER"]
            if day.status == PactDay.Status.MISSED:
                assert (forfeits, waivers) == (1, 0), f"MISSED day {day.date}"
            elif day.status == PactDay.Status.WAIVED:
                assert (forfeits, waivers) == (1, 1), f"WAIVED day {day.date}"
            else:
                assert (forfeits, waivers) == (0, 0), f"{day.status} day {day.date}"
            if self.just_swept:
                assert not (day.status == PactDay.Status.PENDING and day.deadline_at <= now), (
                    f"day {day.date} is past its deadline and still PENDING after the sweep"
                )
            if self.just_swept_disputes:
                assert not (
                    day.status == PactDay.Status.DISPUTED and day.dispute_resolve_until <= now
                ), f"dispute on {day.date} is past its window and still open after the sweep"
            if CHECK_RULE_12_MIDNIGHT_DEADLINE:
                tz = day.pact.tz
                day_starts = datetime.combine(day.date, time(0, 0)).replace(tzinfo=tz)
                assert day.deadline_at > day_starts, f"deadline of {day.date} can't be met"
            self.seen_deadlines[day.pk] = day.deadline_at
            FIGURES["invariant checks"] += 4

        pacts = list(Pact.objects.all())
        balances = balances_of([p.pk for p in pacts])
        ledger = dict(
            LedgerEntry.objects.values_list("pact_id").annotate(s=Sum("amount")).order_by()
        )
        settled = dict(
            Settlement.objects.filter(status=Settlement.Status.CONFIRMED)
            .values_list("pact_id")
            .annotate(s=Sum("amount"))
            .order_by()
        )
        self._sort_pacts(pacts, days, balances)
        for pact in pacts:
            balance = balances[pact.pk]
            missed = sum(d.pact_id == pact.pk and d.status == PactDay.Status.MISSED for d in days)
            assert balance == ledger.get(pact.pk, 0), "balance is not the sum of the ledger"
            assert balance == pact.stake_amount * missed - settled.get(pact.pk, 0), (
                "balance is not stake × missed days − confirmed settlements"
            )
            if CHECK_RULE_14_NEVER_BELOW_ZERO:
                assert balance >= 0, f"balance below zero: {balance}"
            if pact.status != Pact.Status.ACTIVE:
                assert not any(
                    d.pact_id == pact.pk and d.status == PactDay.Status.PENDING for d in days
                ), f"a {pact.status} pact has a PENDING day"
            FIGURES["invariant checks"] += 4

        # Rule 10: breaks. Rule 11: a Looks-good day is DONE with its window closed.
        breaks = list(Break.objects.all())
        open_per_pact = Counter(b.pact_id for b in breaks if b.status in Break.OPEN)
        assert all(n == 1 for n in open_per_pact.values()), "two open breaks on a pact"
        by_id = {b.pk: b for b in breaks}
        for brk in breaks:
            assert 1 <= brk.days <= 30, f"a break of {brk.days} days"
            if brk.status == Break.Status.APPROVED:
                inside = [
                    d
                    for d in days
                    if d.pact_id == brk.pact_id and brk.start_date <= d.date <= brk.end_date
                ]
                assert not any(d.status == PactDay.Status.PENDING for d in inside), (
                    "a day inside an approved break is still PENDING"
                )
        for day in days:
            if day.on_break_id is not None:
                brk = by_id[day.on_break_id]
                assert day.status == PactDay.Status.SKIPPED, f"break day is {day.status}"
                assert brk.status in (Break.Status.APPROVED, Break.Status.ENDED)
                assert brk.start_date <= day.date <= brk.end_date, "break day outside its break"
            if day.approved_at is not None:
                assert day.status == PactDay.Status.DONE, f"approved day is {day.status}"
                assert not day.dispute_window_open(now), "approved, yet open to dispute"
        FIGURES["invariant checks"] += 3
        self._check_skips(pacts, days)

        if CHECK_RULE_13_CLOSE_DECIDES_OVERDUE_DAYS:
            # A day may only leave when its pact closes, and only if its deadline is
            # still ahead at that moment (the step that closed it ran at `now`).
            existing = {day.pk for day in days}
            for pk in [pk for pk in self.seen_deadlines if pk not in existing]:
                assert self.seen_deadlines.pop(pk) > now, (
                    "a day past its deadline vanished without a forfeit"
                )
            FIGURES["invariant checks"] += 1
        self.just_swept = self.just_swept_disputes = False

    def _check_skips(self, pacts: list[Pact], days: list[PactDay]) -> None:
        """Rules 8 and 9 (invariant 9 of the module docstring)."""
        initiators = {p.pk: p.created_by_user_id for p in pacts}
        used: Counter = Counter()
        for day in days:
            if day.skip_used_allowance:
                assert day.status == PactDay.Status.SKIPPED, f"{day.status} day used a skip"
                assert day.skipped_by_user_id == initiators[day.pact_id], (
                    "a skip that wasn't the initiator's used the allowance"
                )
                used[day.pact_id, day.date.year, day.date.month] += 1
        allowed = {p.pk: p.skips_per_month for p in pacts}
        for (pact_id, _, _), count in used.items():
            assert count <= allowed[pact_id], f"{count} skips in a month of {allowed[pact_id]}"
        by_id = {day.pk: day for day in days}
        for request in SkipRequest.objects.all():
            day = by_id[request.day_id]
            if request.status == SkipRequest.Status.OPEN:
                assert day.status == PactDay.Status.PENDING, f"open request on a {day.status} day"
            if request.status == SkipRequest.Status.APPROVED:
                assert day.status == PactDay.Status.SKIPPED and not day.skip_used_allowance
        told = Counter(
            OutboxMessage.objects.filter(kind="skip_request_answered").values_list(
                "payload__request_id", flat=True
            )
        )
        assert all(n == 1 for n in told.values()), "a skip request's outcome was told twice"
        FIGURES["invariant checks"] += 3


@pytest.fixture
def quiet_logs():
    """Thousands of steps each log a line; nobody reads them, and they cost time."""
    logging.disable(logging.INFO)
    yield
    logging.disable(logging.NOTSET)


def test_money_model(capsys, quiet_logs):
    FIGURES.clear()
    started = datetime.now()
    run_state_machine_as_test(
        MoneyModel,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=DERANDOMIZE,
            database=None,
            print_blob=True,
            verbosity=Verbosity.verbose if os.environ.get("HP_MODEL_VERBOSE") else Verbosity.normal,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    with capsys.disabled():
        seconds = (datetime.now() - started).total_seconds()
        print(f"\nmoney model: {seconds:.1f} s")
        for name, count in sorted(FIGURES.items()):
            print(f"  {name}: {count}")
    assert FIGURES["steps checked"] > EXAMPLES  # the machine really ran
