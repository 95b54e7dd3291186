"""Telegram updates in: /start, /start invite_<code>, /help, and the one-tap buttons.

Handlers only parse, authorise and render: every button acts as the user who pressed it
(`upsert_telegram_user(from_user)`) through the same domain functions as the API
(`pact_for`, `day_for(...).check_in`, `.resolve`, `settlement_for`, `settlement_confirm`),
and a refusal is the domain's own DomainError message. A failure anywhere is logged with
the update's context and the user is told "😅 Something went wrong. Please try again."

Each update is handled at most once: `process_update` claims its id in
`ProcessedUpdate` before doing anything (webhook redeliveries and polling restarts are
then no-ops).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from telegram import CallbackQuery, ChatMemberUpdated, InlineQuery, Message, Update
from telegram.constants import ChatMemberStatus

from habitpact.auth import end_of_second, upsert_telegram_user
from habitpact.errors import DomainError
from habitpact.i18n import language_of
from habitpact.ratelimit import RateLimited, limit_user
from ledger.actions import settlement_confirm, settlement_for
from ledger.models import Settlement
from pacts.actions import day_for, invite_for, invite_status, pact_for, parse_day
from pacts.breaks import break_for
from pacts.models import User, bot_link
from pacts.reach import messages_allowed, messages_refused
from pacts.templatetags.hp import skips_text

from . import keyboards as kb
from . import messages as msg
from . import share
from .client import BotSession
from .models import ProcessedUpdate

log = logging.getLogger(__name__)

# Refusals after which the button can never work for anyone: it goes too.
FINAL_REFUSALS = frozenset(
    {
        "ALREADY_CHECKED_IN",
        "INVALID_STATE_TRANSITION",
        "DISPUTE_WINDOW_CLOSED",
        "RESOLUTION_WINDOW_CLOSED",
        "PACT_NOT_ACTIVE",
        "PACT_NOT_FOUND",
        "DAY_NOT_FOUND",
        "NOT_FOUND",
    }
)
OUT_OF_DATE = gettext_lazy("That button is out of date. Open the app to see where things stand.")
START_PARAM = re.compile(r"^[A-Za-z0-9_-]{1,512}$")


def process_update(data: dict, *, session: BotSession | None = None) -> bool:
    """Handle one update (a dict as Telegram sends it) unless it was handled before.
    Returns False for a duplicate. Never raises for a handler error."""
    update_id = int(data["update_id"])
    kind = next((key for key in data if key != "update_id"), "")
    if not ProcessedUpdate.claim(update_id, kind):
        log.info("bot_update_duplicate", extra={"update_id": update_id})
        return False
    own = session is None
    session = session or BotSession()
    try:
        handle_update(data, session)
    finally:
        if own:
            session.close()
    return True


def handle_update(data: dict, session: BotSession) -> None:
    try:
        update = Update.de_json(data, session.bot)
    except Exception:
        log.exception("bot_update_unreadable", extra={"update_id": data.get("update_id")})
        return
    user = update.effective_user
    with translation.override(_language(user)):
        _handle(update, user, session)


def _language(tg_user) -> str:
    """The sender's language (rule 18): their choice in settings if they have one, else
    what this update says Telegram's language is."""
    if tg_user is None:
        return language_of(None)
    chosen = (
        User.objects.filter(telegram_user_id=tg_user.id).values_list("language", flat=True).first()
    )
    return language_of(User(language=chosen, language_code=tg_user.language_code))


def _handle(update: Update, user, session: BotSession) -> None:
    context = {
        "update_id": update.update_id,
        "telegram_user_id": user.id if user else None,
        "chat_id": update.effective_chat.id if update.effective_chat else None,
        "callback_data": update.callback_query.data if update.callback_query else None,
        "text": update.message.text[:100] if update.message and update.message.text else None,
    }
    replier = Replier(session, update)
    try:
        if update.callback_query is not None:
            on_callback(update.callback_query, replier)
        elif update.inline_query is not None:
            on_inline_query(update.inline_query, replier)
        elif update.message is not None and update.message.write_access_allowed is not None:
            on_write_access_allowed(update.message)
        elif update.my_chat_member is not None:
            on_my_chat_member(update.my_chat_member)
        elif update.message is not None and update.message.text:
            on_message(update.message, replier)
    except Exception:
        log.exception("bot_handler_error", extra=context)
        try:
            replier.error(msg.GENERIC_ERROR)
        except Exception:
            log.exception("bot_error_reply_failed", extra=context)


class Replier:
    """Talks back to whoever sent the update, remembering what it already did."""

    def __init__(self, session: BotSession, update: Update):
        self.session = session
        self.update = update
        self.answered = False

    def send(self, text: str, markup=None) -> None:
        self.session.call(
            "send_message",
            chat_id=self.update.effective_chat.id,
            text=str(text),  # a lazy translation, in this update's language
            parse_mode=msg.PARSE_MODE,
            reply_markup=markup,
            disable_web_page_preview=True,
        )

    def answer(self, text: str | None = None, *, alert: bool = False, url: str | None = None):
        query = self.update.callback_query
        self.session.call(
            "answer_callback_query",
            callback_query_id=query.id,
            text=str(text)[:200] if text else None,
            show_alert=alert,
            url=url,
        )
        self.answered = True

    def close_buttons(self, note: str) -> None:
        """Append `note` to the pressed message and drop its action buttons, so nothing
        on it can be pressed twice by mistake. Cosmetic: a failure is only logged."""
        message = self.update.callback_query.message
        if not isinstance(message, Message) or not message.text:
            return  # too old to edit (Telegram hides messages over 48 h from bots)
        try:
            self.session.call(
                "edit_message_text",
                chat_id=message.chat.id,
                message_id=message.message_id,
                text=f"{message.text_html}\n\n<i>{msg.e(note)}</i>",
                parse_mode=msg.PARSE_MODE,
                reply_markup=kb.without_action_buttons(message.reply_markup),
                disable_web_page_preview=True,
            )
        except Exception:
            log.warning(
                "bot_edit_failed", extra={"update_id": self.update.update_id}, exc_info=True
            )

    def error(self, text: str) -> None:
        if self.update.callback_query is not None:
            if not self.answered:
                self.answer(text, alert=True)
        elif self.update.effective_chat is not None:
            self.send(text)


# --- commands ---------------------------------------------------------------------------


def on_message(message: Message, replier: Replier) -> None:
    command, _sep, argument = message.text.strip().partition(" ")
    command = command.split("@", 1)[0].lower()  # "/start@HabitPactBot" in groups
    private = message.chat.type == "private"
    if command not in ("/start", "/help"):
        if private:
            replier.send(msg.UNKNOWN, kb.rows([kb.app_button(_("Open HabitPact →"), "/")]))
        return
    try:
        user, is_new = upsert_telegram_user(message.from_user.to_dict())
    except DomainError as err:
        replier.send(msg.e(err.message))
        return
    log.info(
        "bot_command",
        extra={"command": command, "user_id": str(user.pk), "new_user": is_new},
    )
    if private:
        # Rule 17: whoever writes to the bot in private can be written to.
        messages_allowed(user, source="start", at=end_of_second(message.date))
    if command == "/help":
        replier.send(
            msg.HELP, kb.rows([kb.app_button(_("Open HabitPact →"), "/", private=private)])
        )
        return
    argument = argument.strip()
    if argument.startswith("invite_"):
        start_invite(user, argument.removeprefix("invite_"), private, replier)
    elif argument.startswith("pact_") and START_PARAM.match(argument):
        button = kb.app_button(_("Open Pact →"), kb.path_for(argument), private=private)
        replier.send(msg.WELCOME.format(name=msg.e(user.display_name)), kb.rows([button]))
    else:
        button = kb.app_button(_("Open HabitPact 🚀"), "/", private=private)
        replier.send(msg.WELCOME.format(name=msg.e(user.display_name)), kb.rows([button]))


def start_invite(user: User, code: str, private: bool, replier: Replier) -> None:
    home = kb.rows([kb.app_button(_("Open HabitPact →"), "/", private=private)])
    try:
        pact = invite_for(code)
    except DomainError as refusal:
        replier.send(f"🤔 {msg.e(refusal.message)}", home)
        return
    status = invite_status(pact)
    # An answered code tells a stranger its status and nothing else (rule 15).
    if status != "PENDING_ACCEPT":
        if pact.role_of(user) is not None:
            home = kb.rows([kb.app_button(_("Open Pact →"), f"/pacts/{pact.pk}", private=private)])
        replier.send(msg.INVITE_CLOSED[status], home)
        return
    if pact.created_by_user_id == user.pk:
        button = kb.app_button(_("Open Invite →"), f"/invite/{code}", private=private)
        replier.send(
            "📨 That's your own invite — send the link to the friend you want to keep you honest.",
            kb.rows([button]),
        )
        return
    text = msg.INVITE_PREVIEW.format(
        inviter=msg.e(pact.created_by_user.display_name),
        title=msg.short(pact.title),
        stake=msg.money(pact.stake_amount, pact.currency),
        deadline=msg.clock_time(pact.deadline_on(pact.start_date), pact.tz),
        tz=msg.e(pact.timezone),
        skips=skips_text(pact.skips_per_month),
    )
    button = kb.app_button(_("Open Invite →"), f"/invite/{code}", private=private)
    replier.send(text, kb.rows([button]))


# --- who the bot can reach (rule 17) ----------------------------------------------------


def on_write_access_allowed(message: Message) -> None:
    """The service message Telegram sends once the user let the bot write to them
    (`requestWriteAccess()` granted, or an app launched from a link)."""
    if message.from_user is None:
        return
    user, _ = upsert_telegram_user(message.from_user.to_dict())
    messages_allowed(user, source="write_access_allowed", at=end_of_second(message.date))


def on_my_chat_member(change: ChatMemberUpdated) -> None:
    """The user blocked the bot ("kicked") or unblocked / restarted it ("member")."""
    if change.chat.type != "private":
        return
    user = User.objects.filter(telegram_user_id=change.from_user.id).first()
    if user is None or user.deleted_at is not None:
        return
    status = change.new_chat_member.status
    if status == ChatMemberStatus.BANNED:
        messages_refused(user, source="blocked", at=change.date)
    elif status == ChatMemberStatus.MEMBER:
        messages_allowed(user, source="unblocked", at=end_of_second(change.date))


# --- inline mode: `@<bot>` in any chat --------------------------------------------------


def on_inline_query(query: InlineQuery, replier: Replier) -> None:
    """List the user's open invites and active pacts as cards to post (share.py). A
    stranger (or a deleted account) gets no results, only the button into the app."""
    user = User.objects.filter(telegram_user_id=query.from_user.id, deleted_at=None).first()
    results = []
    if user is not None:
        try:
            limit_user(user, "read")
            results = share.inline_results(user, query.query or "")
        except RateLimited:
            log.info("bot_inline_rate_limited", extra={"user_id": str(user.pk)})
    replier.session.call(
        "answer_inline_query",
        inline_query_id=query.id,
        results=results,
        cache_time=share.INLINE_CACHE_SECONDS,
        is_personal=True,
        button=share.inline_button(bool(results)),
    )


# --- buttons ----------------------------------------------------------------------------


class OutOfDate(Exception):
    """Callback data we cannot parse (an old message, or a forged press)."""


def _pact_day(user: User, argument: str):
    try:
        pact_id, day_text = argument.rsplit(":", 1)
        day = parse_day(day_text)
    except (ValueError, DomainError):
        raise OutOfDate(argument) from None
    pact = pact_for(user, pact_id)
    return day_for(pact, day)


def do_checkin(user: User, argument: str) -> str:
    _pact_day(user, argument).check_in(user)
    return _("Checked in ✅")


def do_concede(user: User, argument: str) -> str:
    _pact_day(user, argument).resolve(user, "CONCEDE")
    return _("Conceded 😅 — the day is marked missed.")


def do_reject(user: User, argument: str) -> str:
    _pact_day(user, argument).resolve(user, "REJECT")
    return _("Standing by it 💪 — your check-in stands.")


def do_approve_skip(user: User, argument: str) -> str:
    _pact_day(user, argument).approve_skip(user)
    return _("Skip approved 👍 — no check-in needed that day.")


def do_decline_skip(user: User, argument: str) -> str:
    _pact_day(user, argument).decline_skip(user)
    return _("Declined 🙅 — the day stands.")


def do_confirm_settlement(user: User, argument: str) -> str:
    settlement = settlement_confirm(settlement_for(user, argument), user)
    if settlement.status == Settlement.Status.CONFIRMED:
        return _("Settled up 🎉")
    return _("Confirmed ✅ — waiting for the other side.")


def do_later(user: User, argument: str) -> str:
    settlement_for(user, argument)  # participants only, like every other button
    return _("No rush — tap Confirm once it's sorted. ⏳")


# --- rules 10 and 11: breaks and the partner's review ----------------------------------


def do_looks_good(user: User, argument: str) -> str:
    day = _pact_day(user, argument).approve(user)
    return _("👍 Approved — %(name)s's check-in stands.") % {
        "name": day.pact.initiator.display_name
    }


def do_approve_break(user: User, argument: str) -> str:
    brk = break_for(user, argument).approve(user)
    return _("Break approved ✅ — no check-ins %(start)s–%(end)s.") % {
        "start": msg.short_date(brk.start_date),
        "end": msg.short_date(brk.end_date),
    }


def do_decline_break(user: User, argument: str) -> str:
    break_for(user, argument).decline(user)
    return _("Break declined — the schedule stays as it is.")


CALLBACKS: dict[str, Callable[[User, str], str]] = {
    "later": do_later,
    "checkin": do_checkin,
    "concede": do_concede,
    "reject": do_reject,
    "confirm_settlement": do_confirm_settlement,
    "looks_good": do_looks_good,
    "approve_break": do_approve_break,
    "decline_break": do_decline_break,
    "skip_ok": do_approve_skip,
    "skip_no": do_decline_skip,
}


# Rule 16: each press counts against the presser's spec §13 budget for the same action
# in the API and the Mini App (check-in its own; "later" only reads; the rest write).
CALLBACK_SCOPES = {"checkin": "checkin", "later": "read"}
SLOW_DOWN = gettext_lazy("🐢 Slow down! Try again in %(seconds)d s.")

# Buttons whose press settles the message: their action buttons go once used.
CLOSING_ACTIONS = frozenset(
    {
        "checkin",
        "concede",
        "reject",
        "confirm_settlement",
        "looks_good",
        "approve_break",
        "decline_break",
        "skip_ok",
        "skip_no",
    }
)


def on_callback(query: CallbackQuery, replier: Replier) -> None:
    action, _sep, argument = (query.data or "").partition(":")
    extra = {"action": action, "telegram_user_id": query.from_user.id}
    if action == "open_app":
        if not START_PARAM.match(argument):
            replier.answer(OUT_OF_DATE, alert=True)
            return
        replier.answer(url=bot_link(argument))
        return
    handler = CALLBACKS.get(action)
    if handler is None:
        replier.answer(OUT_OF_DATE, alert=True)
        return
    try:
        user, _new = upsert_telegram_user(query.from_user.to_dict())
        limit_user(user, CALLBACK_SCOPES.get(action, "write"))
        result = handler(user, argument)
    except RateLimited as refusal:
        log.info("bot_callback_rate_limited", extra=extra)
        replier.answer(SLOW_DOWN % {"seconds": refusal.retry_after})
        return
    except OutOfDate:
        log.info("bot_callback_out_of_date", extra=extra)
        replier.answer(OUT_OF_DATE, alert=True)
        return
    except DomainError as refusal:
        log.info("bot_callback_refused", extra={**extra, "code": refusal.code})
        replier.answer(refusal.message, alert=True)
        if refusal.code in FINAL_REFUSALS:
            replier.close_buttons(refusal.message)
        return
    log.info("bot_callback_done", extra={**extra, "user_id": str(user.pk)})
    replier.answer(result)
    if action in CLOSING_ACTIONS:
        replier.close_buttons(result)
