"""Template filters for the Mini App: money, countdowns, day states."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import format_currency, get_currency_precision
from django import template
from django.utils import timezone

register = template.Library()

# en_US gives each currency its plain symbol: £5, $5.50, €3, ¥500.
MONEY_LOCALE = "en_US"


def to_major(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-get_currency_precision(currency))


def format_money(minor: int, currency: str) -> str:
    """Minor units as money: whole amounts without decimals (£5), others with (£5.50)."""
    value = to_major(minor, currency)
    if value == value.to_integral_value():
        return format_currency(
            value, currency, format="¤#,##0", locale=MONEY_LOCALE, currency_digits=False
        )
    return format_currency(value, currency, locale=MONEY_LOCALE)


ALL_SQUARE = "all square"


def owes_text(
    pact,
    balance: int,
    *,
    name: Callable[[Any], str] = lambda user: user.display_name,
    amount: Callable[[str], str] = lambda text: text,
) -> str:
    """The tab in words, the one wording every interface uses: "Alex owes Sam £15",
    "Sam owes Alex £2" (a negative balance, after an adjustment) or "all square".

    `name` and `amount` let the bot escape names and bold the amount without writing
    the sentence again; a deleted member reads as "Someone" / "their partner"."""
    if balance == 0:
        return ALL_SQUARE
    debtor, creditor = pact.initiator, pact.partner
    if balance < 0:
        debtor, creditor = creditor, debtor
    return (
        f"{name(debtor) if debtor else 'Someone'} owes "
        f"{name(creditor) if creditor else 'their partner'} "
        f"{amount(format_money(abs(balance), pact.currency))}"
    )


@register.filter
def money(minor: int | None, currency: str = "GBP") -> str:
    return format_money(minor or 0, currency)


@register.filter
def money_abs(minor: int | None, currency: str = "GBP") -> str:
    return format_money(abs(minor or 0), currency)


def humanize_delta(delta: timedelta) -> str:
    """'2h 30m', '45m', '3d 4h'; 'less than a minute' near zero."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "less than a minute"
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def clock_text(at: time) -> str:
    """'9:00 PM', '12:30 AM', and 'midnight' for 00:00: a 00:00 deadline is the end of
    its day (rule 12), and "12:00 AM" reads as its start."""
    if at.hour == 0 and at.minute == 0:
        return "midnight"
    return f"{at.hour % 12 or 12}:{at.minute:02d} {'AM' if at.hour < 12 else 'PM'}"


@register.filter
def clock(value: datetime | time | None) -> str:
    """A deadline's wall-clock time in the current zone (the viewer's, on every screen)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = timezone.localtime(value).time() if timezone.is_aware(value) else value.time()
    return clock_text(value)


def _wall_clock(moment: datetime, tz: tzinfo) -> str:
    return clock_text(moment.astimezone(tz).time())


def both_clocks(
    moment: datetime,
    viewer_tz: tzinfo,
    other: Any = None,
    *,
    show: Callable[[datetime, tzinfo], str] = _wall_clock,
    name: Callable[[str], str] = lambda text: text,
    mine: Callable[[str], str] = lambda text: text,
) -> str:
    """A deadline for two people, the one wording every screen and message uses: the
    viewer's reading of `moment`, and when `other` (the other participant) reads it on a
    different wall clock, theirs too: "9:00 PM · 1:00 PM for Sam" (issue 12).

    `show(moment, zone)` words one reading (default "9:00 PM"; the bot adds "tomorrow"),
    `name` escapes the other's name, and `mine` wraps the viewer's part (the bot's
    `date_time` entity, which Telegram shows in the reader's own zone)."""
    text = mine(show(moment, viewer_tz))
    if other is None or not getattr(other, "timezone", None):
        return text
    try:
        other_tz = ZoneInfo(other.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return text
    here = moment.astimezone(viewer_tz).replace(tzinfo=None)
    there = moment.astimezone(other_tz).replace(tzinfo=None)
    if here == there:
        return text
    return f"{text} · {show(moment, other_tz)} for {name(other.display_name)}"


@register.filter
def clocks(moment: datetime | None, other: Any = None) -> str:
    """`both_clocks` on a screen: the viewer's zone is the current one (the Mini App
    activates the signed-in user's)."""
    if moment is None:
        return ""
    return both_clocks(moment, timezone.get_current_timezone(), other)


@register.filter
def until(moment: datetime | None) -> str:
    """Time left until `moment` (empty once it has passed)."""
    if moment is None:
        return ""
    delta = moment - timezone.now()
    return humanize_delta(delta) if delta.total_seconds() > 0 else ""


@register.filter
def status_icon(status: str) -> str:
    return {
        "PENDING": "⏰",
        "DONE": "✅",
        "MISSED": "❌",
        "DISPUTED": "⚖️",
        "SKIPPED": "😬",
        "WAIVED": "🤝",
    }.get(status, "·")


@register.filter
def status_label(status: str) -> str:
    return {
        "PENDING": "Pending",
        "DONE": "Done",
        "MISSED": "Missed",
        "DISPUTED": "Disputed",
        "SKIPPED": "Skipped",
        "WAIVED": "Waived",
        "PENDING_ACCEPT": "Awaiting partner",
        "ACTIVE": "Active",
        "ENDED": "Ended",
        "DECLINED": "Declined",
        "EXPIRED": "Expired",
        "CANCELLED": "Withdrawn",
    }.get(status, status.title())


@register.filter
def skips_text(count: int) -> str:
    """The skip allowance as agreed (rule 8): "2 free skips a month"."""
    if not count:
        return "No free skips: every skip is asked for"
    return f"{count} free skip{'' if count == 1 else 's'} a month"


@register.filter
def allowance_text(allowance) -> str:
    """This month's allowance (a `SkipAllowance`): "1 of 2 skips left in December"."""
    if allowance.allowed == 0:
        return "No free skips on this pact: ask instead"
    return f"{allowance.left} of {allowance.allowed} skips left in {allowance.month:%B}"


WEEKDAY_LETTERS = "MTWTFSS"
WEEKDAY_SHORT = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


@register.filter
def schedule_text(days: list[bool]) -> str:
    """'Every day', 'Mon–Fri', 'Weekends', or 'Mon, Wed, Fri'."""
    if all(days):
        return "Every day"
    if days == [True] * 5 + [False] * 2:
        return "Mon–Fri"
    if days == [False] * 5 + [True] * 2:
        return "Weekends"
    return ", ".join(name for name, on in zip(WEEKDAY_SHORT, days, strict=True) if on)
