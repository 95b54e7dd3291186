"""What several pact screens share: who the other member is, who declined, the
phone's zone and the zone picker's order, and an ended pact's send-off."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.utils.translation import gettext, ngettext

from pacts.models import Pact, PactDay, PactParticipant, User
from pacts.schedule import canonical_timezones, is_valid_timezone


def declined_by(pact: Pact) -> User | None:
    """Who said no to a DECLINED invite (participants are prefetched on every screen)."""
    for participant in pact.participants.all():
        if participant.status == PactParticipant.Status.DECLINED:
            return participant.user
    return None


def other_member(pact: Pact, user: User) -> User | None:
    for member in pact.members:
        if member.user_id != user.pk:
            return member.user
    return None


def skip_context(pact: Pact, day: PactDay | None, user: User, now: datetime) -> dict:
    """What the skip controls of a day show (rules 8, 9), on the pact and day screens:
    this month's allowance, Skip (behind a confirm), "Ask Sam to skip" once the free
    skips are gone, the day's skip request, and the partner's Approve / Decline."""
    month = day.date if day is not None else pact.local_today(now)
    allowance = pact.skip_allowance(month)
    if day is None:
        return {"allowance": allowance}
    can_skip = day.can_skip(user, now)
    can_request = day.can_request_skip(user, now)
    can_answer = day.can_answer_skip(user, now)
    return {
        "allowance": allowance,
        # While a request waits, the partner's answer is Approve / Decline, not Skip.
        "can_skip": can_skip and not can_answer,
        "uses_allowance": can_skip and pact.role_of(user) == PactParticipant.Role.INITIATOR,
        # With free skips left, Skip is the way; asking is offered once they're gone.
        "can_ask": can_request and not can_skip,
        "can_answer": can_answer,
        "request": day.skip_request,
    }


def offered_zone(request: HttpRequest, user: User) -> str:
    """The phone's zone (sent by the page script) when it differs from the user's."""
    zone = request.headers.get("X-Timezone", "")
    if zone and zone != user.timezone and is_valid_timezone(zone):
        return zone
    return ""


def journey_text(pact: Pact, user: User, done_days: int) -> str:
    """The ended pact's one-line send-off (Appendix A), kind when nobody showed up and
    about the initiator when the partner is reading."""
    if done_days == 0:
        return gettext("Journey complete. Not every pact sticks; the next one might. 🌱")
    if pact.role_of(user) == PactParticipant.Role.INITIATOR:
        return ngettext(
            "Journey complete. You showed up %(count)d time!",
            "Journey complete. You showed up %(count)d times!",
            done_days,
        ) % {"count": done_days}
    name = pact.initiator.display_name if pact.initiator else gettext("Your partner")
    return ngettext(
        "Journey complete. %(name)s showed up %(count)d time!",
        "Journey complete. %(name)s showed up %(count)d times!",
        done_days,
    ) % {"name": name, "count": done_days}


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


def zone_choices(*first: str | None) -> list[str]:
    """Every city zone, `first` (the phone's, the user's) and COMMON_ZONES ahead, once each."""
    every = sorted(z for z in canonical_timezones() if "/" in z and not z.startswith("Etc/"))
    known = set(every)
    ahead = [z for z in dict.fromkeys([*first, *COMMON_ZONES]) if z in known]
    return ahead + [z for z in every if z not in set(ahead)]
