"""What several pact screens share: who the other member is, who declined, the
phone's zone and the zone picker's order, and an ended pact's send-off."""

from __future__ import annotations

from django.http import HttpRequest

from pacts.models import Pact, PactParticipant, User
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


def offered_zone(request: HttpRequest, user: User) -> str:
    """The phone's zone (sent by the page script) when it differs from the user's."""
    zone = request.headers.get("X-Timezone", "")
    if zone and zone != user.timezone and is_valid_timezone(zone):
        return zone
    return ""


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
