"""The Mini App's pact screens (spec §9) and their htmx fragments.

Each view authenticates through `miniapp_page`, calls the domain (pacts.actions and the
PactDay transitions) and renders one template: the whole page, its `content` partial
(for htmx navigation), or the fragment an action changed. Rules live in the domain;
buttons appear when the model's `can_*` predicate says the action would succeed, and a
refusal comes back as the DomainError's message, inline.
"""

from __future__ import annotations

import json
import logging
import uuid
from calendar import Calendar
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from urllib.parse import quote

from babel.numbers import get_currency_precision
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from habitpact.api import envelope
from habitpact.forms import clean_text, form_key, form_text, minor_units
from habitpact.miniapp import acting_user, frameable, miniapp_page, wants_full_page
from habitpact.ratelimit import RateLimited, limit_user
from ledger.models import Settlement

from .actions import (
    PactTerms,
    balance_of,
    balances_of,
    can_cancel,
    day_for,
    invite_for,
    invite_link,
    invite_shows_terms,
    invite_status,
    open_days,
    pact_accept,
    pact_cancel,
    pact_create,
    pact_decline,
    pact_end,
    pact_for,
    pact_stats,
    parse_day,
    today_for,
    todays_days,
    user_update_settings,
)
from .errors import DomainError
from .limits import REMINDER_MAX_MINUTES, REMINDER_MIN_MINUTES
from .models import Pact, PactDay, PactParticipant, User
from .privacy import user_delete, user_export
from .schedule import canonical_timezones, is_valid_timezone
from .templatetags.hp import clock_text, format_money, owes_text, schedule_text, weekday_names

log = logging.getLogger(__name__)


# --- rendering --------------------------------------------------------------------------


def render(
    request: HttpRequest,
    template: str,
    context: dict,
    *,
    fragment: str | None = None,
    error: DomainError | None = None,
    success: str | None = None,
) -> TemplateResponse:
    """The whole page, its `content` partial, or one fragment, with the outcome of an
    action (an inline error, a success) told to the page script for haptics."""
    if fragment:
        name = f"{template}#{fragment}"
    elif wants_full_page(request):
        name = template
    else:
        name = f"{template}#content"
    context = {**context, "viewer": acting_user(request), "error": error}
    if "pact" in context and "back_href" not in context:
        context["back_href"] = f"/pacts/{context['pact'].pk}"
    status = error.http_status if error is not None else 200
    response = TemplateResponse(request, name, context, status=status)
    events = {}
    if error is not None:
        events["hp:error"] = {"code": error.code, "message": error.message}
    if success:
        events["hp:success"] = {"message": success}
    if events:
        response["HX-Trigger-After-Settle"] = json.dumps(events)
    return response


def problem(request: HttpRequest, error: DomainError) -> TemplateResponse:
    """A screen that can't be shown (unknown pact, not yours): the whole screen says why."""
    response = TemplateResponse(
        request,
        "shell.html" if wants_full_page(request) else "shell.html#problem",
        {"error": error, "problem": True},
        status=error.http_status,
    )
    response["HX-Retarget"] = "#app"
    response["HX-Reswap"] = "innerHTML"
    response["HX-Trigger"] = json.dumps({"hp:error": {"code": error.code}})
    return response


def slow_down(request: HttpRequest, error: RateLimited) -> HttpResponse:
    """Too many of one action: the screen stays as it is and a toast says why (a
    whole-page load, which has no screen to keep, gets the problem screen)."""
    if wants_full_page(request):
        response = problem(request, error)
    else:
        response = HttpResponse(status=429)
        response["HX-Reswap"] = "none"
        event = {"code": error.code, "message": error.message, "toast": True}
        response["HX-Trigger"] = json.dumps({"hp:error": event})
    response["Retry-After"] = str(error.retry_after)
    return response


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 404 handler (habitpact/urls.py): an address no route matches, such as
    /pacts/not-a-uuid, gets the app's own "couldn't open that" screen, or the error
    envelope under /api/ (Django's bare page otherwise)."""
    if request.path.startswith("/api/"):
        body = envelope("NOT_FOUND", "There's no such endpoint.", {"path": request.path[:200]})
        return JsonResponse(body, status=404)
    missing = DomainError("NOT_FOUND", "There's nothing at that address. Try going back home.")
    return frameable(problem(request, missing))


def now_in(request: HttpRequest) -> datetime:
    return timezone.now()


def in_users_zone(view):
    """Dates and times on every screen are in the viewer's own zone."""

    def wrapper(request: HttpRequest, *args, **kwargs):
        with timezone.override(acting_user(request).tz):
            response = view(request, *args, **kwargs)
            if isinstance(response, TemplateResponse):
                response.render()
            return response

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def screen(*methods: str, scope: str | Callable[[dict], str] | None = None):
    """A Mini App view: authenticated, rate limited, in the viewer's zone, limited to
    `methods`, and a DomainError while loading the screen becomes the problem screen.

    Rule 16: each request counts against the viewer's spec §13 budget for the same
    action in the API (`scope`, or a function of the URL's kwargs naming it; by
    default "read" for GET, "write" otherwise), the one budget the API and the bot's
    buttons count against too.
    """

    def scope_of(request: HttpRequest, kwargs: dict) -> str:
        if callable(scope):
            return scope(kwargs)
        if scope:
            return scope
        return "read" if request.method in ("GET", "HEAD", "OPTIONS") else "write"

    def decorate(view):
        def guarded(request: HttpRequest, *args, **kwargs):
            try:
                limit_user(acting_user(request), scope_of(request, kwargs))
            except RateLimited as error:
                return slow_down(request, error)
            try:
                return view(request, *args, **kwargs)
            except DomainError as error:
                return problem(request, error)

        guarded.__name__ = view.__name__
        guarded.__doc__ = view.__doc__
        return miniapp_page(require_http_methods(list(methods))(in_users_zone(guarded)))

    return decorate


# --- home -------------------------------------------------------------------------------


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


def declined_by(pact: Pact) -> User | None:
    """Who said no to a DECLINED invite (participants are prefetched on every screen)."""
    for participant in pact.participants.all():
        if participant.status == PactParticipant.Status.DECLINED:
            return participant.user
    return None


def _other(pact: Pact, user: User) -> User | None:
    for member in pact.members:
        if member.user_id != user.pk:
            return member.user
    return None


def _card(pact: Pact, user: User, today: PactDay | None, balance: int, now: datetime) -> Card:
    return Card(
        pact=pact,
        role=pact.role_of(user),
        other=_other(pact, user),
        today=today,
        balance=balance,
        can_check_in=bool(today and today.can_check_in(user, now)),
        overdue=bool(today and today.awaiting_sweep(now)),
    )


def _home_cards(user: User, now: datetime) -> list[Card]:
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
        card = _card(pact, user, days[pact.pk], balances.get(pact.pk, 0), now)
        if pact.status == Pact.Status.DECLINED:
            card.other = declined_by(pact)
        cards.append(card)
    return cards


def greeting(user: User, now: datetime) -> str:
    hour = now.astimezone(user.tz).hour
    part = "morning" if 5 <= hour < 12 else "afternoon" if 12 <= hour < 18 else "evening"
    return f"Good {part}, {user.display_name}! 👋"


def offered_zone(request: HttpRequest, user: User) -> str:
    """The phone's zone (sent by the page script) when it differs from the user's."""
    zone = request.headers.get("X-Timezone", "")
    if zone and zone != user.timezone and is_valid_timezone(zone):
        return zone
    return ""


@screen("GET")
def home(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    now = now_in(request)
    cards = _home_cards(user, now)
    return render(
        request,
        "pacts/home.html",
        {
            "cards": [card for card in cards if not card.pact.is_past],
            "past_cards": [card for card in cards if card.pact.is_past],
            "greeting": greeting(user, now),
            "offer_zone": offered_zone(request, user),
        },
    )


# --- pact detail ------------------------------------------------------------------------


def _week(pact: Pact, now: datetime) -> list[dict]:
    today = pact.local_today(now)
    monday = today - timedelta(days=today.weekday())
    days = {d.date: d for d in pact.days.filter(date__gte=monday, date__lt=monday + timedelta(7))}
    return [
        {
            "date": monday + timedelta(i),
            "letter": "MTWTFSS"[i],
            "name": weekday_names()[i],
            "day": days.get(monday + timedelta(i)),
            "is_today": monday + timedelta(i) == today,
            # Days are created a day ahead; a later check-in day is still scheduled.
            "scheduled": monday + timedelta(i) > today
            and pact.status == Pact.Status.ACTIVE
            and pact.is_scheduled_on(monday + timedelta(i)),
        }
        for i in range(7)
    ]


def journey_text(pact: Pact, user: User, done_days: int) -> str:
    """The ended pact's one-line send-off (Appendix A), kind when nobody showed up and
    about the initiator when the partner is reading."""
    if pact.role_of(user) == PactParticipant.Role.INITIATOR:
        who = "You"
    else:
        who = pact.initiator.display_name if pact.initiator else "Your partner"
    if done_days == 0:
        return "Journey complete. Not every pact sticks; the next one might. 🌱"
    return f"Journey complete. {who} showed up {done_days} time{'s' if done_days != 1 else ''}!"


def _detail_context(pact: Pact, user: User, now: datetime) -> dict:
    today = today_for(pact, now=now)
    balance = balance_of(pact)
    stats = pact_stats(pact, now=now)
    return {
        "pact": pact,
        "role": pact.role_of(user),
        "other": _other(pact, user),
        "today": today,
        "local_today": pact.local_today(now),
        "can_check_in": bool(today and today.can_check_in(user, now)),
        "can_skip": bool(today and today.can_skip(user, now)),
        "overdue": bool(today and today.awaiting_sweep(now)),
        "stats": stats,
        "journey": journey_text(pact, user, stats.done_days),
        "balance": balance,
        "owes": owes_text(pact, balance),
        "pending_settlement": pact.settlements.filter(status=Settlement.Status.PENDING).first(),
        "week": _week(pact, now),
        "checkin_key": uuid.uuid4().hex,
        # An ended pact's days still open to dispute or in dispute (rule 13).
        "open_days": open_days(pact, now=now) if pact.status == Pact.Status.ENDED else [],
    }


INVITE_STATES = (
    Pact.Status.PENDING_ACCEPT,
    Pact.Status.DECLINED,
    Pact.Status.EXPIRED,
    Pact.Status.CANCELLED,
)


def _invite_context(pact: Pact, user: User, now: datetime, *, confirming: bool = False) -> dict:
    """A pact that never started: waiting (with Withdraw), or how its invite ended."""
    return {
        "pact": pact,
        "invite_state": True,
        "invite_link": invite_link(pact),
        "can_withdraw": can_cancel(pact, user, now),
        "confirming": confirming,
        "declined_by": declined_by(pact),
    }


@screen("GET")
def pact_detail(request: HttpRequest, pact_id: uuid.UUID) -> HttpResponse:
    user = acting_user(request)
    now = now_in(request)
    pact = pact_for(user, pact_id)
    if pact.status in INVITE_STATES:
        confirming = request.GET.get("confirm") == "withdraw"
        fragment = "invite_box" if request.htmx and "confirm" in request.GET else None
        context = _invite_context(pact, user, now, confirming=confirming)
        return render(request, "pacts/detail.html", context, fragment=fragment)
    return render(request, "pacts/detail.html", _detail_context(pact, user, now))


@screen("POST")
def pact_withdraw(request: HttpRequest, pact_id: uuid.UUID) -> HttpResponse:
    """Withdraw a pending invite (the initiator, after the confirm step): the same
    `pact_cancel` as the API's POST /pacts/{id}/cancel."""
    user = acting_user(request)
    now = now_in(request)
    pact = pact_for(user, pact_id)
    error = success = None
    try:
        pact_cancel(pact, user, now=now)
        success = "Invite withdrawn."
    except DomainError as refusal:
        error = refusal
    pact.refresh_from_db()
    context = {**_invite_context(pact, user, now), "flash": success}
    return render(
        request, "pacts/detail.html", context, fragment="invite_box", error=error, success=success
    )


# --- day actions ------------------------------------------------------------------------


def _day_context(pact: Pact, day: PactDay, user: User, now: datetime) -> dict:
    return {
        "pact": pact,
        "day": day,
        "is_today": day.date == pact.local_today(now),
        "overdue": day.awaiting_sweep(now),
        "role": pact.role_of(user),
        "initiator": pact.initiator,
        "partner": pact.partner,
        "can_check_in": day.can_check_in(user, now),
        "can_skip": day.can_skip(user, now),
        "can_miss": day.can_miss(user, now),
        "can_dispute": day.can_dispute(user, now),
        "can_concede": day.can_resolve(user, "CONCEDE", now),
        "can_reject": day.can_resolve(user, "REJECT", now),
        "can_withdraw": day.can_resolve(user, "WITHDRAW", now),
        "can_waive": day.can_waive(user, now),
        "dispute_open": day.status == PactDay.Status.DONE and day.dispute_window_open(now),
        "checkin_key": uuid.uuid4().hex,
    }


@screen("GET")
def day_detail(request: HttpRequest, pact_id: uuid.UUID, day: str) -> HttpResponse:
    user = acting_user(request)
    pact = pact_for(user, pact_id)
    found = day_for(pact, parse_day(day))
    return render(request, "pacts/day.html", _day_context(pact, found, user, now_in(request)))


SUCCESS = {
    "check-in": "Nice one! ✅",
    "skip": "Day skipped. No harm done.",
    "miss": "Owned up. The tab grows.",
    "dispute": "Dispute opened.",
    "CONCEDE": "Conceded. Honesty counts.",
    "REJECT": "You stood by it. 💪",
    "WITHDRAW": "Dispute withdrawn. The check-in stands.",
    "waive": "Miss waived. Generous! 🤝",
}


def _perform(action: str, day: PactDay, user: User, request: HttpRequest, now: datetime) -> str:
    """Call the domain for `action`; returns the success message key."""
    if action == "check-in":
        day.check_in(
            user,
            note=form_text(request.POST, "note", max_length=500) or None,
            idempotency_key=form_key(request.POST, "key"),
            now=now,
        )
    elif action == "skip":
        day.skip(user, now=now)
    elif action == "miss":
        day.miss(user, now=now)
    elif action == "dispute":
        day.dispute(user, reason=form_text(request.POST, "reason", max_length=500), now=now)
    elif action == "resolve":
        resolution = request.POST.get("resolution", "")
        day.resolve(user, resolution, now=now)
        return resolution
    elif action == "waive":
        day.waive(user, now=now)
    else:  # pragma: no cover - the URL pattern lists the actions
        raise DomainError("NOT_FOUND", "Unknown action.")
    return action


# The day actions with a §13 scope of their own (as in the API); the rest are "write".
DAY_ACTION_SCOPES = {"check-in": "checkin", "dispute": "dispute"}


@screen("POST", scope=lambda kwargs: DAY_ACTION_SCOPES.get(kwargs["action"], "write"))
def day_action(request: HttpRequest, pact_id: uuid.UUID, day: str, action: str) -> HttpResponse:
    """POST /pacts/<id>/days/<date>/<action>, then re-render the fragment that asked:
    the home card, the pact detail's live area, or the day detail card."""
    user = acting_user(request)
    now = now_in(request)
    pact = pact_for(user, pact_id)
    found = day_for(pact, parse_day(day), now=now)
    error, success = None, None
    try:
        success = SUCCESS.get(_perform(action, found, user, request, now))
        log.info("miniapp_day_action", extra={"action": action, "day_id": str(found.pk)})
    except DomainError as refusal:
        error = refusal
    found.refresh_from_db()
    found.pact = pact
    where = request.POST.get("fragment", "day")
    if where == "card":
        card = _card(pact, user, found, balance_of(pact), now)
        return render(
            request,
            "pacts/home.html",
            {"card": card, "flash": success},
            fragment="card",
            error=error,
            success=success,
        )
    if where == "live":
        context = _detail_context(pact, user, now)
        # The checked-in card says "Nice one! ✅" itself; a flash would say it twice.
        flash = None if action == "check-in" else success
        return render(
            request,
            "pacts/detail.html",
            {**context, "flash": flash},
            fragment="live",
            error=error,
            success=success,
        )
    context = _day_context(pact, found, user, now)
    return render(
        request,
        "pacts/day.html",
        {**context, "flash": success},
        fragment="day",
        error=error,
        success=success,
    )


# --- history ----------------------------------------------------------------------------


def _month(value: str | None, fallback: date) -> date:
    """The first of `?month=YYYY-MM`, or of `fallback`'s month when it isn't one. Years
    stop short of date's limits, so the previous and next month always exist."""
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        if 1 < year < 9999:
            return date(year, month, 1)
    except ValueError:
        pass
    return fallback.replace(day=1)


def _add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@screen("GET")
def pact_history(request: HttpRequest, pact_id: uuid.UUID) -> HttpResponse:
    """A month calendar of day states, and the month's days as a list."""
    user = acting_user(request)
    pact = pact_for(user, pact_id)
    now = now_in(request)
    today = pact.local_today(now)
    month = _month(request.GET.get("month"), today)
    following = _add_months(month, 1)
    days = {d.date: d for d in pact.days.filter(date__gte=month, date__lt=following)}
    weeks = [
        [
            {
                "date": d,
                "day": days.get(d),
                "in_month": d.month == month.month,
                "is_today": d == today,
            }
            for d in week
        ]
        for week in Calendar(firstweekday=0).monthdatescalendar(month.year, month.month)
    ]
    first_month = pact.start_date.replace(day=1)
    context = {
        "pact": pact,
        "month": month,
        "weeks": weeks,
        "day_list": sorted(days.values(), key=lambda d: d.date, reverse=True),
        "previous": _add_months(month, -1) if month > first_month else None,
        "next": following if following <= today.replace(day=1) else None,
        "weekday_letters": "MTWTFSS",
        "today": today,
    }
    fragment = "month" if request.htmx and request.GET.get("month") else None
    return render(request, "pacts/history.html", context, fragment=fragment)


# --- pact settings ----------------------------------------------------------------------


@screen("GET", "POST")
def pact_settings(request: HttpRequest, pact_id: uuid.UUID) -> HttpResponse:
    """The pact's terms and ending it, with a confirmation step before it happens."""
    user = acting_user(request)
    now = now_in(request)
    pact = pact_for(user, pact_id)
    context = {"pact": pact, "role": pact.role_of(user), "other": _other(pact, user)}
    if request.method == "GET":
        confirming = request.GET.get("confirm") == "end"
        fragment = "danger" if request.htmx and "confirm" in request.GET else None
        if pact.status == Pact.Status.ENDED:
            done = pact_stats(pact, now=now).done_days
            context["journey"] = journey_text(pact, user, done)
        return render(
            request, "pacts/settings.html", {**context, "confirming": confirming}, fragment=fragment
        )
    error, success = None, None
    try:
        pact_end(pact, user, reason=form_text(request.POST, "reason", max_length=1000), now=now)
        success = "Pact ended."
    except DomainError as refusal:
        error = refusal
    pact.refresh_from_db()
    stats = pact_stats(pact, now=now)
    context = {**context, "journey": journey_text(pact, user, stats.done_days), "flash": success}
    if error is not None:
        return render(
            request, "pacts/settings.html", context, fragment="danger", error=error, success=success
        )
    # Ended: the terms card's Status row changes too, so the whole screen is swapped.
    response = render(request, "pacts/settings.html", context, success=success)
    response["HX-Retarget"] = "#app"
    response["HX-Reswap"] = "innerHTML"
    return response


# --- invites ----------------------------------------------------------------------------


@screen("GET", "POST")
def invite(request: HttpRequest, code: str, answer: str = "") -> HttpResponse:
    """Preview an invite, then accept (→ the pact) or decline it. Only an explicit
    answer (the path's, or a form's `action`) changes anything: a bare POST is refused,
    never read as a decline (rule 15)."""
    user = acting_user(request)
    now = now_in(request)
    pact = invite_for(code)
    error = success = None
    if request.method == "POST":
        answer = answer or request.POST.get("action", "")
        try:
            if answer not in ("accept", "decline"):
                raise DomainError(
                    "VALIDATION_ERROR",
                    "Tap Accept or No thanks to answer this invite.",
                    {"action": "accept or decline"},
                )
            if answer == "accept":
                pact_accept(pact, user, now=now)
                response = render(
                    request,
                    "pacts/detail.html",
                    _detail_context(pact, user, now),
                    success="You're in! Keep them honest. 🤝",
                )
                response["HX-Retarget"] = "#app"
                response["HX-Reswap"] = "innerHTML show:window:top"
                response["HX-Push-Url"] = f"/pacts/{pact.pk}"
                return response
            pact_decline(pact, user, now=now)
            success = "Invite declined."
        except DomainError as refusal:
            error = refusal
        pact.refresh_from_db()
    context = {
        "pact": pact,
        "code": code,
        "shows_terms": invite_shows_terms(pact, user, now),
        "initiator": pact.initiator,
        "status": invite_status(pact, now),
        "is_own": pact.created_by_user_id == user.pk,
        "is_member": pact.role_of(user) is not None,
        "invite_link": invite_link(pact),
        "flash": success,
    }
    fragment = "answer" if request.method == "POST" else None
    return render(
        request, "pacts/invite.html", context, fragment=fragment, error=error, success=success
    )


# --- user settings ----------------------------------------------------------------------


# Offered first in the time zone picker, after the phone's own: the most used zones
# around the world, west to east (the rest follow alphabetically; typing filters all).
COMMON_ZONES = (
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Sao_Paulo",
    "Europe/London",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Moscow",
    "Asia/Dubai",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Australia/Sydney",
)


def _zones(*first: str | None) -> list[str]:
    """Every city zone, `first` (the phone's, the user's) and COMMON_ZONES ahead, once each."""
    every = sorted(z for z in canonical_timezones() if "/" in z and not z.startswith("Etc/"))
    known = set(every)
    ahead = [z for z in dict.fromkeys([*first, *COMMON_ZONES]) if z in known]
    return ahead + [z for z in every if z not in set(ahead)]


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return -1  # out of range: the domain says why, in its words


@screen("GET", "POST")
def user_settings(request: HttpRequest) -> HttpResponse:
    user = acting_user(request)
    error = success = None
    if request.method == "POST":
        only_zone = request.POST.get("only") == "timezone"
        try:
            if only_zone:
                user_update_settings(user, timezone=request.POST.get("timezone", ""))
            else:
                user_update_settings(
                    user,
                    timezone=request.POST.get("timezone", "") or None,
                    notify_reminders=request.POST.get("notify_reminders") == "on",
                    notify_disputes=request.POST.get("notify_disputes") == "on",
                    reminder_minutes_before=_int_or_none(
                        request.POST.get("reminder_minutes_before")
                    ),
                )
            success = "Saved ✓"
        except DomainError as refusal:
            error = refusal
            user.refresh_from_db()
        if only_zone:
            return render(
                request,
                "pacts/home.html",
                {"zone_saved": not error, "offer_zone": request.POST.get("timezone", "")},
                fragment="zone_offer",
                error=error,
            )
    context = {
        "user": user,
        "zones": _zones(request.headers.get("X-Timezone"), user.timezone),
        "phone_zone": offered_zone(request, user),
        "reminder_min": REMINDER_MIN_MINUTES,
        "reminder_max": REMINDER_MAX_MINUTES,
        "flash": success,
        "form": request.POST if error else None,
    }
    fragment = "form" if request.method == "POST" else None
    if request.method == "GET" and request.htmx and "confirm" in request.GET:
        context["confirming_delete"] = request.GET["confirm"] == "delete"
        fragment = "account"
    return render(
        request,
        "pacts/user_settings.html",
        context,
        fragment=fragment,
        error=error,
        success=success,
    )


@screen("POST")
def account_delete(request: HttpRequest) -> HttpResponse:
    """Erase the account (after the confirmation step on the settings screen)."""
    user_delete(acting_user(request), now=now_in(request))
    return render(
        request,
        "pacts/user_settings.html",
        {"deleted": True},
        fragment="account",
        success="Account deleted",
    )


@screen("GET")
def account_export(request: HttpRequest) -> HttpResponse:
    """The data export as a file download: the same JSON as GET /api/v1/users/me/export.

    The Mini App signs in by header, which a plain link can't carry, so app.js fetches
    this with the header and saves the answer as a file (data-download); no token ever
    goes into a URL, where logs and history would keep it.
    """
    response = JsonResponse(user_export(acting_user(request)), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = 'attachment; filename="habitpact-export.json"'
    response["Cache-Control"] = "no-store"
    return response


# --- create ------------------------------------------------------------------------------

EMOJIS = ["🏋️", "📚", "🧘", "🏃", "💻", "🎸", "🥗", "💧"]
CURRENCIES = [
    "GBP",
    "EUR",
    "USD",
    "CAD",
    "AUD",
    "CHF",
    "SEK",
    "NOK",
    "PLN",
    "INR",
    "JPY",
    "BRL",
    "UAH",
    "TRY",
]
# The title, with the emoji appended (" 🏋️"), must fit the model's 255 characters; the
# input stops there and its counter says so, rather than cutting the name silently.
TITLE_MAX = Pact._meta.get_field("title").max_length - max(len(f" {e}") for e in EMOJIS)
WINDOWS = [1, 3, 6, 12, 24, 48, 72]
QUICK_PICKS = [1, 5, 10, 20]
STEP_FIELDS = {
    1: ("title",),
    2: ("schedule_days", "deadline_time", "start_date", "end_date"),
    3: ("currency", "stake_amount", "dispute_window_hours"),
    4: ("partner_username",),
}
# Raw form state, as strings, carried between steps in hidden inputs.
STATE_KEYS = (
    "title",
    "emoji",
    "deadline",
    "start",
    "end",
    "currency",
    "stake",
    "window",
    "partner",
)


@dataclass
class Draft:
    """The create flow's state: raw values as typed, and what they parse to."""

    raw: dict
    days: list[bool]

    @classmethod
    def from_post(cls, data, today: date) -> Draft:
        raw = {
            "title": "",
            "emoji": EMOJIS[0],
            "deadline": "21:00",
            "start": today.isoformat(),
            "end": "",
            "currency": "GBP",
            "stake": "5",
            "window": "12",
            "partner": "",
        }
        if data is not None:
            for key in STATE_KEYS:
                if key in data:
                    raw[key] = data.get(key, "").strip()
        if data is not None and "days_sent" in data:
            days = [str(i) in data.getlist("days") for i in range(7)]
        else:
            days = [True] * 5 + [False] * 2
        return cls(raw=raw, days=days)

    def parse(self) -> tuple[PactTerms | None, dict[str, str]]:
        """PactTerms from the raw values, or the fields that didn't parse."""
        raw, errors = self.raw, {}
        try:
            hours, minutes = (int(p) for p in raw["deadline"].split(":")[:2])
            deadline = time(hours, minutes)
        except ValueError:
            errors["deadline_time"] = "Pick a time, like 21:00."
            deadline = time(21)
        start = end = None
        try:
            start = date.fromisoformat(raw["start"])
        except ValueError:
            errors["start_date"] = "Pick a start date."
        if raw["end"]:
            try:
                end = date.fromisoformat(raw["end"])
            except ValueError:
                errors["end_date"] = "Pick an end date, or leave it empty."
        currency = raw["currency"].upper()
        stake = 0
        try:
            stake = minor_units(raw["stake"], currency, "stake_amount")
        except DomainError as error:
            errors.update(error.details)
        try:
            window = int(raw["window"])
        except ValueError:
            window = 0
        title = raw["title"].strip()
        try:
            clean_text(title, "title")
        except DomainError as error:
            errors.update(error.details)
        if title and raw["emoji"] in EMOJIS:
            title = f"{title} {raw['emoji']}"
        terms = PactTerms(
            title=title,
            stake_amount=stake,
            currency=currency,
            schedule_days=self.days,
            deadline_time=deadline,
            start_date=start or date.min,
            end_date=end,
            dispute_window_hours=window,
            partner_username=raw["partner"],
        )
        return terms, errors

    def errors_for(self, steps, today: date) -> dict[str, str]:
        terms, errors = self.parse()
        domain = terms.errors(today=today)
        if "stake_amount" in domain and "stake_amount" not in errors:
            domain["stake_amount"] = (
                f"Pick an amount from {format_money(1, terms.currency)} "
                f"to {format_money(10_000, terms.currency)}."
            )
        merged = {**domain, **errors}
        fields = {f for step in steps for f in STEP_FIELDS[step]}
        return {k: v for k, v in merged.items() if k in fields}

    def summary(self) -> str:
        terms, _ = self.parse()
        # Times in one style, the |clock filter's ("9:00 PM"; 00:00 is "midnight", rule 12).
        by = clock_text(terms.deadline_time)
        stake = format_money(terms.stake_amount, terms.currency) if terms.stake_amount else "?"
        return f"{terms.title or 'Your habit'} • {schedule_text(self.days)} by {by} • {stake}/miss"

    def summary_lines(self, zone: str) -> list[str]:
        """The terms the one-line summary leaves out: when, where, and the dispute window."""
        terms, _ = self.parse()
        lines = []
        if terms.start_date != date.min:
            lines.append(
                f"Starts {terms.start_date:%a} {terms.start_date.day} {terms.start_date:%b %Y}"
            )
        if terms.end_date:
            lines.append(f"Ends {terms.end_date:%a} {terms.end_date.day} {terms.end_date:%b %Y}")
        else:
            lines.append("No end date")
        lines.append(f"Deadlines in {zone}")
        hours = terms.dispute_window_hours
        lines.append(
            f"Your partner has {hours} hour{'s' if hours != 1 else ''} to dispute a check-in"
        )
        return lines

    def quick_picks(self) -> list[tuple[str, str]]:
        currency = self.raw["currency"].upper()
        try:
            precision = get_currency_precision(currency)
        except Exception:  # noqa: BLE001 - an unknown code: offer GBP-like picks
            precision = 2
        scale = 100 if precision == 0 else 1
        return [
            (str(n * scale), format_money(int(Decimal(n * scale).scaleb(precision)), currency))
            for n in QUICK_PICKS
        ]


def _create_context(draft: Draft, step: int, errors: dict, user: User, today: date) -> dict:
    return {
        "step": step,
        "draft": draft,
        "raw": draft.raw,
        "days": [
            (i, name, on)
            for i, (name, on) in enumerate(zip(weekday_names(), draft.days, strict=True))
        ],
        "errors": errors,
        "emojis": EMOJIS,
        "title_max": TITLE_MAX,
        "currencies": CURRENCIES,
        "windows": WINDOWS,
        "quick_picks": draft.quick_picks(),
        "summary": draft.summary() if step == 4 else "",
        "summary_lines": draft.summary_lines(user.timezone) if step == 4 else [],
        "today": today,
        "zone": user.timezone,
        "carry": [(k, v) for k, v in draft.raw.items() if k not in STEP_STATE_FIELDS.get(step, ())],
        "carry_days": step != 2,
    }


STEP_STATE_FIELDS = {
    1: ("title", "emoji"),
    2: ("deadline", "start", "end"),
    3: ("currency", "stake", "window"),
    4: ("partner",),
}


@screen("GET", "POST")
def pact_new(request: HttpRequest) -> HttpResponse:
    """The four-step create flow. Each step posts every value so far (hidden inputs);
    the server validates the step through PactTerms.errors() and shows the next step,
    or the same one with its errors inline. The last step creates the pact."""
    user = acting_user(request)
    now = now_in(request)
    today = now.astimezone(user.tz).date()
    if request.method == "GET":
        draft = Draft.from_post(None, today)
        return render(request, "pacts/new.html", _create_context(draft, 1, {}, user, today))
    draft = Draft.from_post(request.POST, today)
    try:
        step = min(max(int(request.POST.get("step", "1")), 1), 4)
    except ValueError:
        step = 1
    go = request.POST.get("go", "next")
    errors: dict[str, str] = {}
    picking_zone = False
    if go == "zone":
        # "Change" the time zone inside the flow, so the draft (this form) survives.
        picking_zone, step = True, 2
    elif go == "set_zone":
        step = 2
        try:
            user_update_settings(user, timezone=request.POST.get("new_zone", "").strip())
            today = now.astimezone(user.tz).date()
        except DomainError as refusal:
            errors, picking_zone = dict(refusal.details), True
            user.refresh_from_db()
    elif go == "back":
        step = max(step - 1, 1)
    elif go == "next":
        errors = draft.errors_for([step], today)
        if not errors:
            step = min(step + 1, 4)
    elif go == "create":
        errors = draft.errors_for([1, 2, 3, 4], today)
        if errors:
            step = min(s for s, fields in STEP_FIELDS.items() if set(fields) & set(errors))
        else:
            terms, _ = draft.parse()
            try:
                pact = pact_create(initiator=user, terms=terms, now=now)
            except DomainError as refusal:
                context = _create_context(draft, 4, refusal.details or {}, user, today)
                return render(request, "pacts/new.html", context, fragment="step", error=refusal)
            link = invite_link(pact)
            share = (
                "https://t.me/share/url?url="
                + quote(link, safe="")
                + "&text="
                + quote(f"Hold me to it: {pact.title}. Accept my HabitPact?", safe="")
            )
            log.info("miniapp_pact_created", extra={"pact_id": str(pact.pk)})
            return render(
                request,
                "pacts/new.html",
                {"pact": pact, "invite_link": link, "share_link": share, "created": True},
                fragment="created",
                success="Pact created! 🚀",
            )
    context = _create_context(draft, step, errors, user, today)
    if picking_zone:
        context["picking_zone"] = True
        context["zones"] = _zones(request.headers.get("X-Timezone"), user.timezone)
    return render(request, "pacts/new.html", context, fragment="step")
