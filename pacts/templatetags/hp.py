"""Template filters for the Mini App: money, dates, clock times, countdowns, day states.

Each speaks the active language (habitpact.i18n, rule 18): words through gettext, numbers,
dates and times through babel's CLDR data for that language's locale. The bot's messages
use the same functions, rendered in the recipient's language.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time
from babel.numbers import (
    NumberPattern,
    format_currency,
    get_currency_precision,
    get_currency_symbol,
)
from django import template
from django.utils import timezone
from django.utils.translation import gettext, ngettext, pgettext

from habitpact.i18n import babel_locale

register = template.Library()


def to_major(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-get_currency_precision(currency))


@cache
def _whole_pattern(locale: Locale) -> NumberPattern:
    """The locale's currency pattern with no decimals: "¤#,##0.00" → "¤#,##0"."""
    pattern = copy.copy(locale.currency_formats["standard"])
    pattern.frac_prec = (0, 0)
    return pattern


def format_money(minor: int, currency: str, *, language: str | None = None) -> str:
    """Minor units as money in the active locale: whole amounts without decimals
    (£5, 5 £, R$ 5), others with (£5.50, 5,50 £, R$ 5,50)."""
    value = to_major(minor, currency)
    locale = babel_locale(language)
    if value == value.to_integral_value():
        text = _whole_pattern(locale).apply(value, locale, currency=currency, currency_digits=False)
    else:
        text = format_currency(value, currency, locale=locale)
    if locale.currency_symbols.get(currency, currency) == currency:
        # CLDR's Spanish has no sign of its own for £ or R$ ("5 GBP"): use the
        # currency's usual one, as en_US writes it ("5 £").
        text = text.replace(currency, get_currency_symbol(currency, "en_US"))
    return text


def all_square() -> str:
    return gettext("all square")


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
        return all_square()
    debtor, creditor = pact.initiator, pact.partner
    if balance < 0:
        debtor, creditor = creditor, debtor
    return gettext("%(debtor)s owes %(creditor)s %(amount)s") % {
        "debtor": name(debtor) if debtor else gettext("Someone"),
        "creditor": name(creditor) if creditor else gettext("their partner"),
        "amount": amount(format_money(abs(balance), pact.currency)),
    }


@register.filter
def money(minor: int | None, currency: str = "GBP") -> str:
    return format_money(minor or 0, currency)


@register.filter
def money_abs(minor: int | None, currency: str = "GBP") -> str:
    return format_money(abs(minor or 0), currency)


def humanize_delta(delta: timedelta) -> str:
    """'2h 30m', '45m', '3d 4h' (ru: '2 ч 30 мин'); 'less than a minute' near zero."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return gettext("less than a minute")
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return gettext("%(days)dd %(hours)dh") % {"days": days, "hours": hours}
    if hours:
        return gettext("%(hours)dh %(minutes)dm") % {"hours": hours, "minutes": minutes}
    return gettext("%(minutes)dm") % {"minutes": minutes}


def _plain_spaces(text: str) -> str:
    # CLDR puts a narrow no-break space before AM/PM ("9:00\u202fPM"); Telegram and
    # our tests read an ordinary one. A no-break space keeps "21 ч" together.
    return text.replace("\u202f", " ")


def clock_text(at: time, *, language: str | None = None) -> str:
    """A wall-clock time as the locale writes it: '9:00 PM' (en), '21:00' (ru, es,
    pt-BR), and 'midnight' for 00:00: a 00:00 deadline is the end of its day (rule 12),
    and "12:00 AM" / "00:00" reads as its start."""
    if at.hour == 0 and at.minute == 0:
        return gettext("midnight")
    return _plain_spaces(format_time(at, "short", locale=babel_locale(language)))


def date_text(
    value: date | datetime, skeleton: str = "MMMd", *, language: str | None = None
) -> str:
    """A date (or an instant, in the current zone) as the locale writes it, from a CLDR
    skeleton: "MMMd" → 'Dec 1' / '1 дек.' / '1 dic' / '1 de dez.'; "MMMEd" adds the
    weekday, "yMMMd" the year, "EEEE" is the weekday alone, "LLLL" the month alone,
    "yMMMM" the month and year; "j" in
    a skeleton is the locale's own hour (12 h or 24 h)."""
    if isinstance(value, datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    locale = babel_locale(language)
    if skeleton == "EEEE":  # the weekday alone, in full: skeletons would shorten it
        return format_date(value, "cccc", locale=locale)
    if skeleton == "LLLL":  # the month alone, in full ('January', 'январь')
        return format_date(value, "LLLL", locale=locale)
    if skeleton.endswith("jmm"):  # a date and its clock time, joined the locale's way
        day = date_text(value, skeleton[:-3], language=language)
        at = clock_text(value.time(), language=language)
        return locale.datetime_formats["short"].format(at, day)
    return _plain_spaces(format_skeleton(skeleton, value, locale=locale))


@register.filter
def ldate(value: date | datetime | None, skeleton: str = "MMMd") -> str:
    """`{{ day.date|ldate:"MMMEd" }}`: date_text in the viewer's language."""
    return "" if value is None else date_text(value, skeleton)


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
    return gettext("%(mine)s · %(theirs)s for %(name)s") % {
        "mine": text,
        "theirs": show(moment, other_tz),
        "name": name(other.display_name),
    }


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
def day_state(day) -> str:
    """A day's CSS state: its status, or "break" for a day off inside a break (rule 10)."""
    return "break" if getattr(day, "on_break_id", None) else day.status.lower()


@register.filter
def day_label(day) -> str:
    """A day's state in words, "Break 🏖️" for a day off inside a break."""
    return (
        pgettext("status", "Break 🏖️")
        if getattr(day, "on_break_id", None)
        else status_label(day.status)
    )


@register.filter
def status_label(status: str) -> str:
    return {
        "PENDING": pgettext("status", "Pending"),
        "DONE": pgettext("status", "Done"),
        "MISSED": pgettext("status", "Missed"),
        "DISPUTED": pgettext("status", "Disputed"),
        "SKIPPED": pgettext("status", "Skipped"),
        "WAIVED": pgettext("status", "Waived"),
        "PENDING_ACCEPT": pgettext("status", "Awaiting partner"),
        "ACTIVE": pgettext("status", "Active"),
        "ENDED": pgettext("status", "Ended"),
        "DECLINED": pgettext("status", "Declined"),
        "EXPIRED": pgettext("status", "Expired"),
        "CANCELLED": pgettext("status", "Withdrawn"),
    }.get(status, status.title())


@register.filter
def skips_text(count: int) -> str:
    """The skip allowance as agreed (rule 8): "2 free skips a month"."""
    if not count:
        return gettext("No free skips: every skip is asked for")
    return ngettext("%(count)d free skip a month", "%(count)d free skips a month", count) % {
        "count": count
    }


@register.filter
def allowance_text(allowance) -> str:
    """This month's allowance (a `SkipAllowance`): "1 of 2 skips left in December"."""
    if allowance.allowed == 0:
        return gettext("No free skips on this pact: ask instead")
    return ngettext(
        "%(left)d of %(allowed)d skips left in %(month)s",
        "%(left)d of %(allowed)d skips left in %(month)s",
        allowance.allowed,
    ) % {
        "left": allowance.left,
        "allowed": allowance.allowed,
        "month": format_date(allowance.month, "LLLL", locale=babel_locale()),
    }


WEEKDAY_SHORT = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def weekday_names(width: str = "abbreviated", *, language: str | None = None) -> list[str]:
    """Monday..Sunday (ISO order, as schedule_days) in the locale: width "abbreviated"
    ('Mon', 'пн', 'lun'), "narrow" ('M', 'П', 'L') or "wide" ('Monday')."""
    names = babel_locale(language).days["stand-alone"][width]
    return [names[i] for i in range(7)]


def first_weekday(*, language: str | None = None) -> int:
    """The weekday a calendar week starts on in the locale (0 = Monday, 6 = Sunday):
    Sunday in en_US and pt_BR, Monday in ru and es."""
    return babel_locale(language).first_week_day


@register.filter
def schedule_text(days: list[bool]) -> str:
    """'Every day', 'Mon–Fri', 'Weekends', or 'Mon, Wed, Fri' (in the viewer's words)."""
    if all(days):
        return gettext("Every day")
    short = weekday_names()
    if days == [True] * 5 + [False] * 2:
        return pgettext("schedule", "%(first)s–%(last)s") % {"first": short[0], "last": short[4]}
    if days == [False] * 5 + [True] * 2:
        return gettext("Weekends")
    return ", ".join(name for name, on in zip(short, days, strict=True) if on)
