"""The texts of spec §8: every outbox kind rendered for its recipient, at delivery time.

The outbox row carries ids and the facts of the moment (dates, amounts, the balance);
everything else (titles, names, the current tab, deadlines and windows in the
RECIPIENT's time zone, stats) is read from the database here, so a message says what is
true when it is sent. Telegram's HTML parse mode: every piece of user-supplied text
(titles, names, notes, reasons) goes through `e()`.

A message that can no longer be rendered (its pact or day is gone) or no longer applies
(a reminder for a day already checked in) raises `Skip`; the drain marks it FAILED with
the reason and moves on. Buttons are offered only when the domain says the action would
succeed right now (`can_*`), so a tap is never a dead end on arrival.
"""

from __future__ import annotations

import html
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from telegram import InlineKeyboardMarkup
from telegram.constants import MessageLimit

from ledger.models import LedgerEntry, Settlement
from outbox.models import Kind, OutboxMessage, receives
from pacts import recap
from pacts.actions import balance_of, open_days, pact_stats
from pacts.breaks import Break
from pacts.models import Pact, PactDay, PactParticipant, SkipRequest, User
from pacts.templatetags.hp import both_clocks, clock_text, date_text, format_money, owes_text

from . import keyboards as kb

log = logging.getLogger(__name__)

PARSE_MODE = "HTML"
# Telegram refuses a longer message text (400 "message is too long").
MAX_TEXT_LENGTH = MessageLimit.MAX_TEXT_LENGTH
# ... and a longer photo caption (400 "message caption is too long").
MAX_CAPTION_LENGTH = MessageLimit.CAPTION_LENGTH
GENERIC_ERROR = gettext_lazy("😅 Something went wrong. Please try again.")


class Skip(Exception):
    """Do not send this message; the reason is recorded on the outbox row."""


@dataclass(frozen=True)
class Rendered:
    text: str
    reply_markup: InlineKeyboardMarkup | None = None
    # A PNG to send with sendPhoto. Its caption is `text` when that fits in a caption
    # (`caption` None); otherwise `caption`, and `text` follows as a message of its own.
    photo: bytes | None = None
    caption: str | None = None


# --- formatting -------------------------------------------------------------------------


def e(text: object) -> str:
    """Escape user-supplied text for Telegram's HTML parse mode."""
    return html.escape(str(text), quote=False)


# Titles may be 255 characters; a message names the pact, it doesn't recite it.
TITLE_LIMIT = 60


def telegram_length(telegram_html: str) -> int:
    """An upper bound of the length Telegram checks against its limits: it counts the
    text after parsing the HTML, in UTF-16 code units (an emoji is two); tags and
    entities only add to the raw text's count."""
    return len(telegram_html.encode("utf-16-le")) // 2


def short(text: object, limit: int = TITLE_LIMIT) -> str:
    """`text` cut to `limit` characters at a word break where one is near, with "…",
    then escaped: a 240-character title would otherwise bury the message."""
    text = str(text)
    if len(text) <= limit:
        return e(text)
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return e(cut.rstrip() + "…")


def money(amount: int, currency: str) -> str:
    """Minor units → "£5", "$5.50" (ru: "5 £"): the screens' format_money, one format."""
    return format_money(amount, currency)


def short_date(day: date) -> str:
    """ "Jan 22" (ru: "22 янв."): the screens' date_text."""
    return date_text(day)


def clock_time(moment: datetime, tz: ZoneInfo) -> str:
    """ "9:00 PM", or "midnight" for 00:00 (the screens' `clock` filter, one wording)."""
    return clock_text(moment.astimezone(tz).time())


def when(moment: datetime, tz: ZoneInfo, now: datetime) -> str:
    """ "9:00 PM" today, "9:00 AM tomorrow", else "9:00 PM, Jan 22": in the reader's zone.

    Midnight belongs to the day it ends (rule 12): 00:00 on the 21st is "midnight" on the
    20th, not "12:00 AM tomorrow"."""
    local = moment.astimezone(tz)
    local_day = local.date()
    if local.hour == 0 and local.minute == 0:
        local_day -= timedelta(days=1)
    today = now.astimezone(tz).date()
    if local_day == today:
        return clock_time(moment, tz)
    if local_day == today + timedelta(days=1):
        return _("%(time)s tomorrow") % {"time": clock_time(moment, tz)}
    return _("%(time)s, %(date)s") % {"time": clock_time(moment, tz), "date": short_date(local_day)}


def deadline(moment: datetime, ctx: Context, pact: Pact) -> str:
    """`when` for the recipient and, when the pact's other participant reads it on a
    different wall clock, for them too: "9:00 PM · 1:00 PM for Sam" (hp.both_clocks, the
    screens' wording). The recipient's part is Telegram's date_time entity (Bot API 9.5,
    `<tg-time>` in HTML; python-telegram-bot 22.8 knows it): shown as written, and the
    reader's client can show the instant in the device's own zone."""
    stamp = int(moment.timestamp())
    return both_clocks(
        moment,
        ctx.tz,
        pact.other_member(ctx.recipient),
        show=lambda at, tz: when(at, tz, ctx.now),
        name=e,
        mine=lambda text: f'<tg-time unix="{stamp}">{text}</tg-time>',
    )


def duration(delta: timedelta) -> str:
    """Whole hours (rounded down, as the spec's "closes in 11 hours"), minutes under one."""
    minutes = max(0, int(delta.total_seconds() // 60))
    if minutes >= 60:
        return hours_text(minutes // 60)
    count = max(minutes, 1)
    return ngettext("%(count)d minute", "%(count)d minutes", count) % {"count": count}


def hours_text(count: int) -> str:
    return ngettext("%(count)d hour", "%(count)d hours", count) % {"count": count}


def days_text(count: int) -> str:
    return ngettext("%(count)d day", "%(count)d days", count) % {"count": count}


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def name(user: User | None) -> str:
    return e(user.display_name) if user is not None else _("your partner")


def tab_line(pact: Pact, balance: int, *, bold: bool = True) -> str:
    """The tab in the Mini App's words (hp.owes_text), names escaped, amount bold."""
    return owes_text(
        pact,
        balance,
        name=lambda user: e(user.display_name),
        amount=(lambda text: f"<b>{text}</b>") if bold else (lambda text: text),
    )


# --- loading what a message is about ----------------------------------------------------


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


class Preload:
    """What a batch of outbox rows is about (pacts with their people, days, the users
    named in payloads), read in a few queries for the whole batch instead of a few per
    row. A renderer asks its `Context`, which falls back to a query for anything the
    batch did not cover."""

    def __init__(self, messages: Iterable[OutboxMessage]):
        payloads = [message.payload for message in messages]

        def ids(key: str) -> set[uuid.UUID]:
            return {i for p in payloads if (i := _uuid(p.get(key))) is not None}

        self.pacts = Pact.objects.prefetch_related("participants__user").in_bulk(ids("pact_id"))
        self.days = PactDay.objects.in_bulk(ids("day_id"))
        self.users = User.objects.in_bulk(ids("by_id"))


_EMPTY: dict = {}


def _pact(payload: dict, preload: Preload | None = None) -> Pact:
    pact = (preload.pacts if preload else _EMPTY).get(_uuid(payload.get("pact_id")))
    if pact is not None:
        return pact
    try:
        return Pact.objects.prefetch_related("participants__user").get(pk=payload["pact_id"])
    except (KeyError, ValueError, ValidationError, Pact.DoesNotExist):
        raise Skip(f"gone: pact {payload.get('pact_id')}") from None


def _day(payload: dict, pact: Pact, preload: Preload | None = None) -> PactDay:
    day = (preload.days if preload else _EMPTY).get(_uuid(payload.get("day_id")))
    if day is None or day.pact_id != pact.pk:
        day = PactDay.objects.filter(pk=payload.get("day_id"), pact=pact).first()
    if day is None:
        raise Skip(f"gone: day {payload.get('day_id')}")
    day.pact = pact
    return day


def _user(user_id: str | None, preload: Preload | None = None) -> User | None:
    if not user_id:
        return None
    user = (preload.users if preload else _EMPTY).get(_uuid(user_id))
    return user if user is not None else User.objects.filter(pk=user_id).first()


def _day_path(pact: Pact, day: date) -> str:
    return f"/pacts/{pact.pk}/days/{day.isoformat()}"


@dataclass
class Context:
    message: OutboxMessage
    recipient: User
    now: datetime
    preload: Preload | None = None

    @property
    def payload(self) -> dict[str, Any]:
        return self.message.payload

    @property
    def tz(self) -> ZoneInfo:
        return self.recipient.tz

    def pact(self) -> Pact:
        """The pact the message is about (Skip if it is gone)."""
        return _pact(self.payload, self.preload)

    def day(self, pact: Pact) -> PactDay:
        """The pact day the message is about (Skip if it is gone)."""
        return _day(self.payload, pact, self.preload)

    def user(self, key: str = "by_id") -> User | None:
        """The user a payload names (who acted), if they still exist."""
        return _user(self.payload.get(key), self.preload)


# --- one function per kind --------------------------------------------------------------


def reminder(ctx: Context) -> Rendered:
    pact = ctx.pact()
    day = ctx.day(pact)
    if day.status != PactDay.Status.PENDING or day.awaiting_sweep(ctx.now):
        # Past its deadline a reminder would promise a check-in that can't happen.
        raise Skip(f"obsolete: day is {day.status}, deadline {day.deadline_at.isoformat()}")
    text = _(
        "🕒 Habit check! Time for <b>%(title)s</b>.\n"
        "Hit Done before <b>%(deadline)s</b> or the Tab Goblin "
        "adds <b>%(stake)s</b> to your bill. 👺"
    ) % {
        "title": short(pact.title),
        "deadline": deadline(day.deadline_at, ctx, pact),
        "stake": money(pact.stake_amount, pact.currency),
    }
    buttons = [kb.app_button(_("Open Pact →"), f"/pacts/{pact.pk}")]
    if day.can_check_in(ctx.recipient, ctx.now):
        buttons.append(kb.checkin_button(pact.pk, day.date))
    return Rendered(text, kb.rows(buttons))


def _on_day(pact: Pact, day: PactDay, now: datetime) -> str:
    if day.date == pact.local_today(now):
        return _("today")
    return _("on %(date)s") % {"date": short_date(day.date)}


def checkin_confirmed(ctx: Context) -> Rendered:
    pact = ctx.pact()
    day = ctx.day(pact)
    text = _(
        "✅ Logged <b>DONE</b> for %(title)s %(when)s!\n"
        "%(name)s can dispute within %(hours)s "
        "(but only if they're feeling spicy 🌶️)."
    ) % {
        "title": short(pact.title),
        "when": _on_day(pact, day, ctx.now),
        "name": name(pact.partner),
        "hours": hours_text(pact.dispute_window_hours),
    }
    return Rendered(text, kb.rows([kb.app_button(_("Open Pact →"), f"/pacts/{pact.pk}")]))


def checkin_partner(ctx: Context) -> Rendered:
    pact = ctx.pact()
    day = ctx.day(pact)
    lines = [
        _("🙌 <b>%(name)s</b> checked in for <b>%(title)s</b> %(when)s.")
        % {
            "name": name(pact.initiator),
            "title": short(pact.title),
            "when": _on_day(pact, day, ctx.now),
        }
    ]
    if day.checkin_note:
        lines.append(_('Note: "%(note)s"') % {"note": e(day.checkin_note)})
    if day.dispute_window_open(ctx.now):
        lines.append(
            _("Not convinced? You can dispute until <b>%(deadline)s</b>.")
            % {"deadline": deadline(day.dispute_open_until, ctx, pact)}
        )
    # Rule 11: the partner's two answers beside the evidence. Dispute opens the day in
    # the app (a reason is typed there); Looks good acts in place.
    review = []
    if day.can_dispute(ctx.recipient, ctx.now):
        review.append(kb.app_button(_("🤨 Dispute"), _day_path(pact, day.date)))
    if day.can_approve(ctx.recipient, ctx.now):
        review.append(kb.looks_good_button(pact.pk, day.date))
    if not review:
        review.append(kb.app_button(_("View day →"), _day_path(pact, day.date)))
    return Rendered("\n".join(lines), kb.rows(review))


def checkin_approved(ctx: Context) -> Rendered:
    """To the initiator, when the partner says "Looks good" (rule 11)."""
    pact = _pact(ctx.payload)
    day = _day(ctx.payload, pact)
    by = _user(ctx.payload.get("by_id")) or pact.partner
    text = _(
        "✅ <b>%(name)s</b> approved your check-in for <b>%(title)s</b> "
        "%(when)s. No disputes now — it stands. 🙌"
    ) % {"name": name(by), "title": short(pact.title), "when": _on_day(pact, day, ctx.now)}
    return Rendered(text, kb.rows([kb.app_button(_("Open Pact →"), f"/pacts/{pact.pk}")]))


def day_skipped(ctx: Context) -> Rendered:
    pact = ctx.pact()
    day = ctx.day(pact)
    by = ctx.user("by_id")
    text = _(
        "⏭️ <b>%(name)s</b> skipped <b>%(title)s</b> for %(date)s.\n"
        "No check-in needed that day, and nothing goes on the tab."
    ) % {"name": name(by), "title": short(pact.title), "date": short_date(day.date)}
    return Rendered(text, kb.rows([kb.app_button(_("Open Pact →"), f"/pacts/{pact.pk}")]))


# --- skip requests (rule 9) ---------------------------------------------------------------


def _skip_request(payload: dict, day: PactDay) -> SkipRequest:
    found = SkipRequest.objects.filter(pk=payload.get("request_id"), day=day).first()
    if found is None:
        raise Skip(f"gone: skip request {payload.get('request_id')}")
    return found


def skip_requested(ctx: Context) -> Rendered:
    """To the partner: "Alex asks to skip Gym today: <reason>" with [Approve skip]
    [Decline] while the request can still be answered."""
    pact = _pact(ctx.payload)
    day = _day(ctx.payload, pact)
    request = _skip_request(ctx.payload, day)
    if request.status != SkipRequest.Status.OPEN:
        raise Skip(f"obsolete: skip request is {request.status}")
    facts = {
        "name": name(pact.initiator),
        "title": short(pact.title),
        "when": _on_day(pact, day, ctx.now),
        "reason": e(request.reason),
    }
    lines = [
        (
            _("🙏 <b>%(name)s</b> asks to skip <b>%(title)s</b> %(when)s: %(reason)s")
            if request.reason
            else _("🙏 <b>%(name)s</b> asks to skip <b>%(title)s</b> %(when)s.")
        )
        % facts,
        _("Answer before <b>%(deadline)s</b> — after that the day is decided as usual.")
        % {"deadline": deadline(day.deadline_at, ctx, pact)},
    ]
    actions = []
    if day.can_answer_skip(ctx.recipient, ctx.now):
        actions = [
            kb.approve_skip_button(pact.pk, day.date),
            kb.decline_skip_button(pact.pk, day.date),
        ]
    buttons = [kb.app_button(_("Open Pact →"), f"/pacts/{pact.pk}")]
    return Rendered("\n".join(lines), kb.rows(actions, buttons))


def skip_request_answered(ctx: Context) -> Rendered:
    """To the initiator, once per request: approved, declined, or lapsed at the deadline."""
    pact = _pact(ctx.payload)
    day = _day(ctx.payload, pact)
    outcome = ctx.payload.get("outcome")
    partner = name(pact.partner)
    on = _on_day(pact, day, ctx.now)
    title = short(pact.title)
    buttons = [kb.app_button(_("Open Pact →"), f"/pacts/{pact.pk}")]
    facts = {"name": partner, "title": title, "when": on}
    if outcome == SkipRequest.Status.APPROVED:
        text = (
            _(
                "👍 <b>%(name)s</b> approved your skip for <b>%(title)s</b> %(when)s.\n"
                "No check-in needed, and nothing goes on the tab. Rest up! 😌"
            )
            % facts
        )
        return Rendered(text, kb.rows(buttons))
    if outcome == SkipRequest.Status.DECLINED:
        lines = [_("🙅 <b>%(name)s</b> said no to skipping <b>%(title)s</b> %(when)s.") % facts]
        if day.status == PactDay.Status.PENDING and not day.awaiting_sweep(ctx.now):
            lines.append(
                _("Check in before <b>%(deadline)s</b> or <b>%(stake)s</b> goes on the tab. 💪")
                % {
                    "deadline": deadline(day.deadline_at, ctx, pact),
                    "stake": money(pact.stake_amount, pact.currency),
                }
            )
            if day.can_check_in(ctx.recipient, ctx.now):
                buttons.append(kb.checkin_button(pact.pk, day.date))
        return Rendered("\n".join(lines), kb.rows(buttons))
    if outcome == SkipRequest.Status.LAPSED:
        result = {
            PactDay.Status.MISSED: _("missed, and the stake went on the tab"),
            PactDay.Status.DONE: _("done"),
            PactDay.Status.SKIPPED: _("skipped"),
        }.get(day.status, day.status.lower())
        text = _(
            "⌛ <b>%(name)s</b> didn't answer your skip request for <b>%(title)s</b> "
            "(%(date)s) before the deadline.\n"
            "The day was decided as usual: %(result)s."
        ) % {"name": partner, "title": title, "date": short_date(day.date), "result": result}
        return Rendered(text, kb.rows(buttons))
    raise Skip(f"bad payload: outcome {outcome!r}")


# --- breaks (rule 10) --------------------------------------------------------------------


def _break(payload: dict, pact: Pact) -> Break:
    brk = Break.objects.filter(pk=payload.get("break_id"), pact=pact).first()
    if brk is None:
        raise Skip(f"gone: break {payload.get('break_id')}")
    brk.pact = pact
    return brk


def _span(brk: Break) -> str:
    """ "Dec 10 – Dec 14 (5 days)"."""
    return _("%(start)s – %(end)s (%(days)s)") % {
        "start": short_date(brk.start_date),
        "end": short_date(brk.end_date),
        "days": days_text(brk.days),
    }


def break_proposed(ctx: Context) -> Rendered:
    """To the partner: the initiator asks for a break, with the buttons to answer."""
    pact = _pact(ctx.payload)
    brk = _break(ctx.payload, pact)
    if brk.status != brk.Status.PROPOSED:
        raise Skip(f"obsolete: break is {brk.status}")
    lines = [
        _("🏖️ <b>%(name)s</b> asks for a break from <b>%(title)s</b>: %(span)s.")
        % {"name": name(brk.proposed_by_user), "title": short(pact.title), "span": _span(brk)}
    ]
    if brk.reason:
        lines.append(_('Reason: "%(reason)s"') % {"reason": e(brk.reason)})
    lines.append(_("No check-ins and nothing on the tab those days — if you agree."))
    actions = []
    if brk.can_approve(ctx.recipient, ctx.now):
        actions.append(kb.approve_break_button(brk.pk))
    if brk.can_decline(ctx.recipient, ctx.now):
        actions.append(kb.decline_break_button(brk.pk))
    open_pact = [kb.app_button(_("Open Pact →"), f"/pacts/{pact.pk}")]
    return Rendered("\n".join(lines), kb.rows(actions, open_pact))


def break_started(ctx: Context) -> Rendered:
    """To the initiator: the partner put the pact on a break (approved at once)."""
    pact = _pact(ctx.payload)
    brk = _break(ctx.payload, pact)
    by = _user(ctx.payload.get("by_id")) or pact.partner
    text = _(
        "🏖️ <b>%(name)s</b> put <b>%(title)s</b> on a break: %(span)s.\n"
        "No check-ins needed those days, and nothing goes on the tab. Enjoy!"
    ) % {"name": name(by), "title": short(pact.title), "span": _span(brk)}
    return Rendered(text, kb.rows([kb.app_button(_("Open Pact →"), f"/pacts/{pact.pk}")]))


def break_approved(ctx: Context) -> Rendered:
    pact = _pact(ctx.payload)
    brk = _break(ctx.payload, pact)
    by = _user(ctx.payload.get("by_id")) or pact.partner
    text = _(
        "✅ <b>%(name)s</b> approved your break from <b>%(title)s</b>: "
        "%(span)s.\nNo check-ins those days. Rest up! 🏖️"
    ) % {"name": name(by), "title": short(pact.title), "span": _span(brk)}
    return Rendered(text, kb.rows([kb.app_button(_("Open Pact →"), f"/pacts/{pact.pk}")]))


def break_declined(ctx: Context) -> Rendered:
    pact = _pact(ctx.payload)
    brk = _break(ctx.payload, pact)
    by = _user(ctx.payload.get("by_id")) or pact.partner
    text = _(
        "🙅 <b>%(name)s</b> declined your break from <b>%(title)s</b> "
        "(%(start)s – %(end)s).\n"
        "The schedule stays as it is."
    ) % {
        "name": name(by),
        "title": short(pact.title),
        "start": short_date(brk.start_date),
        "end": short_date(brk.end_date),
    }
    return Rendered(text, kb.rows([kb.app_button(_("Open Pact →"), f"/pacts/{pact.pk}")]))


def break_ended(ctx: Context) -> Rendered:
    pact = _pact(ctx.payload)
    brk = _break(ctx.payload, pact)
    by = _user(ctx.payload.get("by_id"))
    if brk.status == brk.Status.CANCELLED:
        headline = _(
            "↩️ <b>%(name)s</b> called off the break from <b>%(title)s</b> (%(start)s – %(end)s)."
        ) % {
            "name": name(by),
            "title": short(pact.title),
            "start": short_date(brk.start_date),
            "end": short_date(brk.end_date),
        }
    else:
        headline = _("▶️ <b>%(name)s</b> ended the break from <b>%(title)s</b> early.") % {
            "name": name(by),
            "title": short(pact.title),
        }
    text = headline + "\n" + _("Check-ins are back on schedule.")
    return Rendered(text, kb.rows([kb.app_button(_("Open Pact →"), f"/pacts/{pact.pk}")]))


def missed(ctx: Context) -> Rendered:
    pact = ctx.pact()
    day = ctx.day(pact)
    amount = ctx.payload.get("amount", pact.stake_amount)
    if day.miss_cause == "OWNED_UP":
        # Marked missed by hand, before the deadline: no deadline passed.
        facts = {"title": short(pact.title), "date": short_date(day.date)}
        if ctx.recipient.pk == pact.initiator.pk:
            headline = _("🙋 You owned up: no <b>%(title)s</b> on %(date)s.") % facts
        else:
            headline = _("🙋 %(name)s owned up: no <b>%(title)s</b> on %(date)s.") % {
                **facts,
                "name": name(pact.initiator),
            }
    else:
        headline = _("😬 Deadline passed for <b>%(title)s</b>!") % {"title": short(pact.title)}
    text = _("%(headline)s\n<b>+%(amount)s</b> added to the tab.\nRunning total: %(tab)s.") % {
        "headline": headline,
        "amount": money(amount, pact.currency),
        "tab": tab_line(pact, balance_of(pact)),
    }
    button = kb.app_button(_("View Details →"), _day_path(pact, day.date))
    return Rendered(text, kb.rows([button]))


def dispute_opened_initiator(ctx: Context) -> Rendered:
    pact = ctx.pact()
    day = ctx.day(pact)
    lines = [
        _("🤨 <b>%(name)s</b> disputed your check-in for <b>%(title)s</b> (%(date)s).")
        % {
            "name": name(day.disputed_by_user or pact.partner),
            "title": short(pact.title),
            "date": short_date(day.date),
        }
    ]
    if day.dispute_reason:
        lines.append(_('Reason: "%(reason)s"') % {"reason": e(day.dispute_reason)})
    lines.append(_("Was it legit?"))
    if day.status == PactDay.Status.DISPUTED and day.dispute_resolve_until:
        lines.append(
            _("<i>Answer by %(deadline)s, or your check-in stands.</i>")
            % {"deadline": deadline(day.dispute_resolve_until, ctx, pact)}
        )
    buttons = [kb.app_button(_("View Dispute →"), _day_path(pact, day.date))]
    actions = []
    if day.can_resolve(ctx.recipient, "CONCEDE", ctx.now):
        actions.append(kb.concede_button(pact.pk, day.date))
    if day.can_resolve(ctx.recipient, "REJECT", ctx.now):
        actions.append(kb.reject_button(pact.pk, day.date))
    return Rendered("\n".join(lines), kb.rows(buttons, actions))


def dispute_opened_partner(ctx: Context) -> Rendered:
    pact = ctx.pact()
    day = ctx.day(pact)
    lines = [
        _("⚖️ You disputed %(name)s's check-in for <b>%(title)s</b> (%(date)s).")
        % {"name": name(pact.initiator), "title": short(pact.title), "date": short_date(day.date)}
    ]
    if day.status == PactDay.Status.DISPUTED and day.dispute_resolve_until:
        lines.append(
            _(
                "Waiting for their response. The dispute window closes in "
                "%(duration)s (%(deadline)s)."
            )
            % {
                "duration": duration(day.dispute_resolve_until - ctx.now),
                "deadline": deadline(day.dispute_resolve_until, ctx, pact),
            }
        )
    button = kb.app_button(_("View Dispute →"), _day_path(pact, day.date))
    return Rendered("\n".join(lines), kb.rows([button]))


def dispute_resolved(ctx: Context) -> Rendered:
    pact = ctx.pact()
    day = ctx.day(pact)
    by = ctx.user("by_id") or day.resolution_by_user
    # The outcome as it was (the day may be disputed again by the time this is sent).
    resolution = ctx.payload.get("resolution") or day.resolution
    lines = [
        _("✅ Dispute resolved for <b>%(title)s</b> (%(date)s).")
        % {"title": short(pact.title), "date": short_date(day.date)}
    ]
    if resolution == PactDay.Resolution.CONCEDED:
        forfeit = LedgerEntry.objects.filter(pact_day=day, type=LedgerEntry.Type.FORFEIT).first()
        amount = forfeit.amount if forfeit else pact.stake_amount
        lines += [
            _("Result: %(name)s conceded — day marked as <b>MISSED</b>.") % {"name": name(by)},
            _("<b>+%(amount)s</b> added to the tab.") % {"amount": money(amount, pact.currency)},
        ]
    elif resolution == PactDay.Resolution.WITHDRAWN:
        lines.append(
            _("Result: %(name)s withdrew the dispute — check-in stands as <b>DONE</b>.")
            % {"name": name(by)}
        )
    else:
        lines.append(
            _("Result: %(name)s stood by it — check-in stands as <b>DONE</b>.") % {"name": name(by)}
        )
    button = kb.app_button(_("View Details →"), _day_path(pact, day.date))
    return Rendered("\n".join(lines), kb.rows([button]))


def dispute_expired(ctx: Context) -> Rendered:
    pact = ctx.pact()
    day = ctx.day(pact)
    text = _(
        "⏰ Dispute window closed for <b>%(title)s</b> (%(date)s).\n"
        "No resolution submitted — check-in stands as <b>DONE</b>."
    ) % {"title": short(pact.title), "date": short_date(day.date)}
    return Rendered(text)


def day_waived(ctx: Context) -> Rendered:
    pact = ctx.pact()
    day = ctx.day(pact)
    by = ctx.user("by_id") or pact.partner
    waiver = LedgerEntry.objects.filter(pact_day=day, type=LedgerEntry.Type.WAIVER).first()
    amount = abs(waiver.amount) if waiver else pact.stake_amount
    text = _(
        "🕊️ <b>%(name)s</b> waived your miss on <b>%(title)s</b> (%(date)s).\n"
        "<b>−%(amount)s</b> off the tab.\n"
        "Running total: %(tab)s."
    ) % {
        "name": name(by),
        "title": short(pact.title),
        "date": short_date(day.date),
        "amount": money(amount, pact.currency),
        "tab": tab_line(pact, balance_of(pact)),
    }
    return Rendered(text, kb.rows([kb.app_button(_("Open Pact →"), f"/pacts/{pact.pk}")]))


def pact_accepted(ctx: Context) -> Rendered:
    pact = ctx.pact()
    by = ctx.user("by_id") or pact.partner
    text = _(
        "🤝 <b>%(name)s</b> accepted your pact <b>%(title)s</b>!\n"
        "It's on: %(stake)s on the tab for every missed day. Good luck! 💪"
    ) % {
        "name": name(by),
        "title": short(pact.title),
        "stake": money(pact.stake_amount, pact.currency),
    }
    return Rendered(text, kb.rows([kb.app_button(_("Open Pact →"), f"/pacts/{pact.pk}")]))


def pact_declined(ctx: Context) -> Rendered:
    pact = ctx.pact()
    by = ctx.user("by_id")
    text = _(
        "🙅 <b>%(name)s</b> declined your pact <b>%(title)s</b>.\n"
        "No hard feelings — try another habit or another friend."
    ) % {"name": name(by), "title": short(pact.title)}
    return Rendered(text, kb.rows([kb.app_button(_("Start New Pact →"), "/pacts/new")]))


def _still_open(day: PactDay, tz: ZoneInfo, now: datetime) -> str:
    """ "Jan 20 can be disputed until 9:00 PM" / "Jan 21 is in dispute until 8:00 PM"."""
    if day.status == PactDay.Status.DISPUTED:
        return _("%(date)s is in dispute until %(when)s") % {
            "date": short_date(day.date),
            "when": when(day.dispute_resolve_until, tz, now),
        }
    return _("%(date)s can be disputed until %(when)s") % {
        "date": short_date(day.date),
        "when": when(day.dispute_open_until, tz, now),
    }


def pact_ended(ctx: Context) -> Rendered:
    """Final stats, and a balance that says "final" only when it is: a day still open to
    dispute or in dispute survives the end (rule 13) and can still move the tab."""
    pact = ctx.pact()
    stats = pact_stats(pact, now=ctx.now)
    last_day = (pact.ended_at or ctx.now).astimezone(pact.tz).date()
    days = max(0, (last_day - pact.start_date).days + 1)
    still_open = open_days(pact, now=ctx.now)
    balance = tab_line(pact, balance_of(pact), bold=False)
    lines = [
        _("🏁 <b>%(title)s</b> has ended!") % {"title": short(pact.title)},
        _("Final stats:"),
        _("• Duration: %(days)s") % {"days": days_text(days)},
        _("• Completed: %(days)s") % {"days": days_text(stats.done_days)},
        _("• Missed: %(days)s") % {"days": days_text(stats.missed_days)},
    ]
    if still_open:
        lines += [
            _("• Balance so far: %(tab)s") % {"tab": balance},
            _("⏳ Not quite final: %(days)s. The tab follows whatever happens there.")
            % {"days": "; ".join(_still_open(day, ctx.tz, ctx.now) for day in still_open)},
        ]
    else:
        lines.append(_("• Final balance: %(tab)s") % {"tab": balance})
    lines.append(_("Thanks for playing!"))
    buttons = [kb.app_button(_("Start New Pact →"), "/pacts/new")]
    if still_open:
        buttons.insert(0, kb.app_button(_("Open Pact →"), f"/pacts/{pact.pk}"))
    return Rendered("\n".join(lines), kb.rows(buttons))


def invite_expired(ctx: Context) -> Rendered:
    pact = ctx.pact()
    text = _(
        "⌛ Your invite for <b>%(title)s</b> expired — "
        "nobody accepted it within 7 days.\n"
        "Want to try again?"
    ) % {"title": short(pact.title)}
    return Rendered(text, kb.rows([kb.app_button(_("Start New Pact →"), "/pacts/new")]))


def pact_cancelled(ctx: Context) -> Rendered:
    """To the initiator who withdrew their invite (rule 15)."""
    pact = ctx.pact()
    text = _(
        "🗑️ You withdrew your invite for <b>%(title)s</b>.\n"
        "The link won't work any more. Ready for another go?"
    ) % {"title": e(pact.title)}
    return Rendered(text, kb.rows([kb.app_button(_("Start New Pact →"), "/pacts/new")]))


def invite_cancelled(ctx: Context) -> Rendered:
    """To the person the initiator named as partner, when they use HabitPact."""
    pact = ctx.pact()
    by = ctx.user("by_id") or pact.created_by_user
    text = _(
        "🗑️ <b>%(name)s</b> withdrew their invite to <b>%(title)s</b>.\n"
        "Nothing to answer — the link is closed."
    ) % {"name": name(by), "title": e(pact.title)}
    return Rendered(text, kb.rows([kb.app_button(_("Open HabitPact →"), "/")]))


def _settlement(payload: dict) -> Settlement:
    settlement = (
        Settlement.objects.select_related("pact").filter(pk=payload.get("settlement_id")).first()
    )
    if settlement is None:
        raise Skip(f"gone: settlement {payload.get('settlement_id')}")
    return settlement


def settlement_proposed(ctx: Context) -> Rendered:
    settlement = _settlement(ctx.payload)
    if settlement.status != Settlement.Status.PENDING:
        raise Skip(f"obsolete: settlement is {settlement.status}")
    pact = ctx.pact()
    by = ctx.user("by_id") or settlement.proposed_by_user
    amount = ctx.payload.get("amount", settlement.amount)
    text = _(
        "💸 <b>%(name)s</b> wants to settle up!\n"
        "Amount: <b>%(amount)s</b>\n"
        "(Settle however you like — bank transfer, cash, or interpretive dance)"
    ) % {"name": name(by), "amount": money(amount, pact.currency)}
    # The partner is the one being paid; the initiator confirms they have paid.
    receives = pact.role_of(ctx.recipient) == PactParticipant.Role.PARTNER
    label = _("Confirm Payment Received ✅") if receives else _("Confirm I've Paid ✅")
    buttons = [kb.confirm_settlement_button(label, settlement.pk), kb.later_button(settlement.pk)]
    return Rendered(text, kb.rows(buttons, [kb.app_button(_("View Tab →"), f"/pacts/{pact.pk}")]))


def settlement_confirmed(ctx: Context) -> Rendered:
    pact = ctx.pact()
    amount = ctx.payload.get("amount", 0)
    balance = ctx.payload.get("balance", balance_of(pact))
    text = _(
        "🎉 Settlement complete!\n"
        "<b>%(amount)s</b> marked as settled between %(initiator)s and %(partner)s.\n"
        "New balance: <b>%(balance)s</b>"
    ) % {
        "amount": money(amount, pact.currency),
        "initiator": name(pact.initiator),
        "partner": name(pact.partner),
        "balance": money(balance, pact.currency),
    }
    return Rendered(text)


# Shorter and shorter titles until the summary fits in one Telegram message.
SUMMARY_TITLE_LIMITS = (TITLE_LIMIT, 40, 24)


def weekly_summary(ctx: Context) -> Rendered:
    """One message for all the user's pacts, always within Telegram's 4096 characters
    (a longer one is refused, so the summary was lost): titles are shortened step by
    step, and if even the shortest don't fit, the last pacts give way to "…and N more"."""
    payload = ctx.payload
    start, end = (date.fromisoformat(payload[k]) for k in ("week_start", "week_end"))
    heading = _("📊 <b>Your week</b> (%(start)s – %(end)s)") % {
        "start": short_date(start),
        "end": short_date(end),
    }
    entries = payload.get("pacts") or []
    ids = {str(entry["pact_id"]) for entry in entries}
    pacts = {
        str(pact.pk): pact
        for pact in Pact.objects.prefetch_related("participants__user").filter(pk__in=ids)
    }
    found = [
        (entry, pacts[str(entry["pact_id"])]) for entry in entries if str(entry["pact_id"]) in pacts
    ]
    if not found:
        raise Skip("obsolete: no pacts left to summarise")

    def block(entry: dict, pact: Pact, title_limit: int) -> str:
        other = pact.partner if entry.get("role") == "INITIATOR" else pact.initiator
        streak = entry.get("streak", 0)
        stats = _("✅ %(done)d done · 😬 %(missed)d missed · ⏭️ %(skipped)d skipped") % {
            "done": entry.get("done", 0),
            "missed": entry.get("missed", 0),
            "skipped": entry.get("skipped", 0),
        }
        if streak:
            stats += _(" · 🔥 %(days)s streak") % {"days": days_text(streak)}
        title = short(entry.get("title") or pact.title, title_limit)
        return "\n".join(
            [
                _("<b>%(title)s</b> with %(name)s") % {"title": title, "name": name(other)},
                stats,
                _("Tab: %(owes)s") % {"owes": tab_line(pact, entry.get("balance", 0))},
            ]
        )

    for limit in SUMMARY_TITLE_LIMITS:
        text = "\n\n".join([heading, *(block(entry, pact, limit) for entry, pact in found)])
        if telegram_length(text) <= MAX_TEXT_LENGTH:
            break
    else:
        blocks = [block(entry, pact, SUMMARY_TITLE_LIMITS[-1]) for entry, pact in found]
        while True:
            left = len(found) - len(blocks)
            more = ngettext(
                "…and %(count)d more pact in the app 👇",
                "…and %(count)d more pacts in the app 👇",
                left,
            ) % {"count": left}
            text = "\n\n".join([heading, *blocks, more])
            if telegram_length(text) <= MAX_TEXT_LENGTH or len(blocks) == 1:
                break
            blocks.pop()
    keyboard = kb.rows([kb.app_button(_("Open HabitPact →"), "/")])
    photo = _recap_photo(ctx, [pact for _entry, pact in found], start)
    if photo is None:
        return Rendered(text, keyboard)
    caption = (
        None
        if telegram_length(text) <= MAX_CAPTION_LENGTH
        else _("%(heading)s 👇") % {"heading": heading}
    )
    return Rendered(text, keyboard, photo=photo, caption=caption)


def _recap_photo(ctx: Context, pacts: list[Pact], week_start: date) -> bytes | None:
    """The week as a picture (pacts/recap.py); None, and the summary goes as text alone,
    if drawing it fails: a broken picture must not cost the summary."""
    try:
        return recap.render_for(ctx.recipient, pacts, week_start, ctx.now)
    except Exception:  # noqa: BLE001 - any drawing error: send the text
        log.exception("recap_render_failed", extra={"outbox_id": ctx.message.pk})
        return None


RENDERERS: dict[Kind, Callable[[Context], Rendered]] = {
    Kind.REMINDER: reminder,
    Kind.CHECKIN_CONFIRMED: checkin_confirmed,
    Kind.CHECKIN_PARTNER: checkin_partner,
    Kind.CHECKIN_APPROVED: checkin_approved,
    Kind.BREAK_PROPOSED: break_proposed,
    Kind.BREAK_STARTED: break_started,
    Kind.BREAK_APPROVED: break_approved,
    Kind.BREAK_DECLINED: break_declined,
    Kind.BREAK_ENDED: break_ended,
    Kind.DAY_SKIPPED: day_skipped,
    Kind.SKIP_REQUESTED: skip_requested,
    Kind.SKIP_REQUEST_ANSWERED: skip_request_answered,
    Kind.MISSED: missed,
    Kind.DISPUTE_OPENED_INITIATOR: dispute_opened_initiator,
    Kind.DISPUTE_OPENED_PARTNER: dispute_opened_partner,
    Kind.DISPUTE_RESOLVED: dispute_resolved,
    Kind.DISPUTE_EXPIRED: dispute_expired,
    Kind.DAY_WAIVED: day_waived,
    Kind.PACT_ACCEPTED: pact_accepted,
    Kind.PACT_DECLINED: pact_declined,
    Kind.PACT_ENDED: pact_ended,
    Kind.INVITE_EXPIRED: invite_expired,
    Kind.PACT_CANCELLED: pact_cancelled,
    Kind.INVITE_CANCELLED: invite_cancelled,
    Kind.SETTLEMENT_PROPOSED: settlement_proposed,
    Kind.SETTLEMENT_CONFIRMED: settlement_confirmed,
    Kind.WEEKLY_SUMMARY: weekly_summary,
}


def render(
    message: OutboxMessage, *, now: datetime | None = None, preload: Preload | None = None
) -> Rendered:
    """The text and keyboard of one outbox message for its recipient. Raises Skip.
    `preload`: the batch's objects, read at once (`Preload(messages)`)."""
    renderer = RENDERERS.get(message.kind)
    if renderer is None:
        raise Skip(f"unknown kind: {message.kind}")
    recipient = message.user
    if recipient.deleted_at is not None:
        raise Skip("gone: the recipient deleted their account")
    if not receives(recipient, message.kind):
        raise Skip(f"opted out: the recipient turned {message.kind} messages off")
    try:
        return renderer(Context(message, recipient, now or timezone.now(), preload))
    except (KeyError, ValueError, TypeError, ValidationError) as exc:
        raise Skip(f"bad payload: {exc!r}") from exc


# --- the bot's own replies (commands) ---------------------------------------------------

WELCOME = gettext_lazy(
    "👋 Welcome to <b>HabitPact</b>, {name}!\n\n"
    "Make a playful pact with a friend: pick a habit, a schedule and a stake. "
    "Check in before the daily deadline — miss it, and the Tab Goblin 👺 adds the stake "
    "to what you owe. Your friend keeps you honest (and can dispute a dodgy check-in).\n\n"
    "No money moves here: you settle up however you like, and HabitPact keeps the tab."
)

HELP = gettext_lazy(
    "<b>How HabitPact works</b>\n\n"
    "1. <b>Make a pact</b> in the app: a habit, the days it's due, a deadline and a stake "
    "(say £5).\n"
    "2. <b>Invite a friend</b> with the link the app gives you. Once they accept, it's on.\n"
    "3. <b>Check in</b> before each deadline — from the app or the <b>Done ✅</b> button on "
    "my reminder.\n"
    "4. <b>Miss it</b> and the stake goes on the tab. Your friend can dispute a check-in "
    "or waive a miss; either of you can skip a day before its deadline.\n"
    "5. <b>Settle up</b> off-app, then confirm it here so the tab goes back to zero.\n\n"
    "Commands: /start — open the app · /help — this message"
)

UNKNOWN = gettext_lazy("I only understand /start and /help — everything else lives in the app. 👇")

INVITE_PREVIEW = gettext_lazy(
    "📨 <b>{inviter}</b> invited you to a habit pact: <b>{title}</b>\n"
    "{stake} on the tab for every missed day, deadline {deadline} ({tz}), {skips}.\n\n"
    "Open the invite to see the details and accept or decline."
)
INVITE_CLOSED = {
    "EXPIRED": gettext_lazy(
        "⌛ That invite has expired or was declined. Ask your friend for a new one."
    ),
    "DECLINED": gettext_lazy(
        "⌛ That invite has expired or was declined. Ask your friend for a new one."
    ),
    "CANCELLED": gettext_lazy("🗑️ That invite was withdrawn by the person who sent it."),
    "ALREADY_ACCEPTED": gettext_lazy("✅ That invite has already been accepted."),
}
