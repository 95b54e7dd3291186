"""The home screen: a card per pact, with today's check-in and the tab."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from habitpact.miniapp import acting_user
from habitpact.screens import render_screen, screen
from pacts.actions import balances_of, todays_days
from pacts.models import Pact, PactDay, User
from pacts.templatetags.hp import owes_text
from pacts.views.common import declined_by, offered_zone, other_member


@dataclass
class Card:
    """One pact as the home screen shows it."""

    pact: Pact
    role: str | None
    other: User | None
    today: PactDay | None
    balance: int
    can_check_in: bool
    # Past its deadline but not yet swept: say so, offer nothing (PactDay.awaiting_sweep).
    overdue: bool = False
    # Fresh per render, so a double tap sends one key and can't check in twice.
    checkin_key: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def owes_text(self) -> str:
        return owes_text(self.pact, self.balance)

    @property
    def declined_by(self) -> User | None:
        return declined_by(self.pact)


def card_for(pact: Pact, user: User, today: PactDay | None, balance: int, now: datetime) -> Card:
    return Card(
        pact=pact,
        role=pact.role_of(user),
        other=other_member(pact, user),
        today=today,
        balance=balance,
        can_check_in=bool(today and today.can_check_in(user, now)),
        overdue=bool(today and today.awaiting_sweep(now)),
    )


def home_cards(user: User, now: datetime) -> list[Card]:
    """Every pact the user is in, with today's day and the tab, in a bounded number of
    queries: pacts + participants, today's days, balances (plus materialising a day
    the job has not reached yet, which is rare). Running pacts first, then invites
    waiting for an answer, then past pacts (Pact.is_past), newest first within each."""
    pacts = list(
        Pact.objects.for_user(user).prefetch_related("participants__user").order_by("-created_at")
    )
    order = {Pact.Status.ACTIVE: 0, Pact.Status.PENDING_ACCEPT: 1}
    pacts.sort(key=lambda p: order.get(p.status, 2))
    days = todays_days(pacts, now)
    balances = balances_of(p.pk for p in pacts)
    cards = []
    for pact in pacts:
        card = card_for(pact, user, days[pact.pk], balances.get(pact.pk, 0), now)
        if pact.status == Pact.Status.DECLINED:
            card.other = declined_by(pact)
        cards.append(card)
    return cards


def greeting(user: User, now: datetime) -> str:
    hour = now.astimezone(user.tz).hour
    part = "morning" if 5 <= hour < 12 else "afternoon" if 12 <= hour < 18 else "evening"
    return f"Good {part}, {user.display_name}! 👋"


@screen("GET")
def home(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    now = timezone.now()
    cards = home_cards(user, now)
    return render_screen(
        request,
        "pacts/home.html",
        {
            "cards": [card for card in cards if not card.pact.is_past],
            "past_cards": [card for card in cards if card.pact.is_past],
            "greeting": greeting(user, now),
            "offer_zone": offered_zone(request, user),
        },
    )
