"""Pact cards for any chat: the invite the Mini App shares, and what `@<bot>` lists.

One card per pact, built here and used twice:
- `prepare_invite` stores the invite card with `savePreparedInlineMessage` for the
  initiator; the Mini App passes its id to `Telegram.WebApp.shareMessage(id)`, and
  Telegram lets them pick any chat to post it in.
- `inline_results` answers an inline query (`@HabitPactBot` typed in any chat): the
  user's open invites, then their active pacts as status cards; picking one posts it.

The cards' buttons are `t.me/<bot>?startapp=...` links, since `web_app` buttons work
only in private chats with the bot and these land anywhere.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    LinkPreviewOptions,
    PreparedInlineMessage,
    WebAppInfo,
)

from pacts.actions import balance_of, invite_link, invite_status, pact_stats
from pacts.models import Pact, User, bot_link
from pacts.templatetags.hp import schedule_text

from .client import BotSession
from .messages import PARSE_MODE, clock_time, e, money, short, tab_line

# Inline results Telegram shows at most (answerInlineQuery takes up to 50).
MAX_RESULTS = 50
# Short: the list follows the user's pacts, which change with every check-in.
INLINE_CACHE_SECONDS = 10
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def _open_button(text: str, link: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(text, url=link)]])


def invite_text(pact: Pact) -> str:
    """The invite card: who asks, for what, at what stake, on which days, by when."""
    deadline = clock_time(pact.deadline_on(pact.start_date), pact.tz)
    return _(
        "🤝 <b>%(name)s</b> wants you to keep them honest!\n"
        "<b>%(title)s</b>\n"
        "📅 %(schedule)s, by %(deadline)s (%(tz)s)\n"
        "💸 %(stake)s on the tab for every missed day\n\n"
        "Tap below to see the pact and say yes (or no)."
    ) % {
        "name": e(pact.created_by_user.display_name),
        "title": short(pact.title),
        "schedule": schedule_text(pact.schedule_days),
        "deadline": deadline,
        "tz": e(pact.timezone),
        "stake": money(pact.stake_amount, pact.currency),
    }


def invite_card(pact: Pact) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        id=f"invite_{pact.pk.hex}",
        title=(_("📨 Invite: %(title)s") % {"title": pact.title})[:100],
        description=_("%(stake)s a miss · %(schedule)s")
        % {
            "stake": money(pact.stake_amount, pact.currency),
            "schedule": schedule_text(pact.schedule_days),
        },
        input_message_content=InputTextMessageContent(
            invite_text(pact), parse_mode=PARSE_MODE, link_preview_options=NO_PREVIEW
        ),
        reply_markup=_open_button(_("Open the pact"), invite_link(pact)),
    )


def status_text(pact: Pact, now: datetime) -> str:
    stats = pact_stats(pact, now=now)
    streak = (
        ngettext("🔥 %(count)d day streak", "🔥 %(count)d days streak", stats.current_streak)
        % {"count": stats.current_streak}
        if stats.current_streak
        else ""
    )
    lines = [
        f"📊 <b>{short(pact.title)}</b>: {e(pact.initiator.display_name)} × "
        f"{e(pact.partner.display_name if pact.partner else _('a friend'))}",
        " · ".join(
            part
            for part in (
                _("✅ %(count)d done") % {"count": stats.done_days},
                _("😬 %(count)d missed") % {"count": stats.missed_days},
                streak,
            )
            if part
        ),
        _("Tab: %(owes)s") % {"owes": tab_line(pact, balance_of(pact))},
    ]
    return "\n".join(lines)


def status_card(pact: Pact, now: datetime) -> InlineQueryResultArticle:
    stats = pact_stats(pact, now=now)
    return InlineQueryResultArticle(
        id=f"pact_{pact.pk.hex}",
        title=f"📊 {pact.title}"[:100],
        description=_("%(done)d done · %(missed)d missed")
        % {"done": stats.done_days, "missed": stats.missed_days},
        input_message_content=InputTextMessageContent(
            status_text(pact, now), parse_mode=PARSE_MODE, link_preview_options=NO_PREVIEW
        ),
        reply_markup=_open_button(_("Open the pact"), bot_link(f"pact_{pact.pk}")),
    )


def inline_results(user: User | None, query: str = "", *, now: datetime | None = None) -> list:
    """What `@<bot> <query>` lists for `user`: their open invites first, then their
    active pacts; titles containing `query` (any case) if one is typed."""
    if user is None or user.deleted_at is not None:
        return []
    now = now or timezone.now()
    pacts = Pact.objects.for_user(user).prefetch_related("participants__user")
    if query.strip():
        pacts = pacts.filter(title__icontains=query.strip())
    invites = [
        pact
        for pact in pacts.filter(status=Pact.Status.PENDING_ACCEPT, created_by_user=user)
        .select_related("created_by_user")
        .order_by("-created_at")
        if invite_status(pact, now) == "PENDING_ACCEPT"
    ]
    active = list(pacts.filter(status=Pact.Status.ACTIVE).order_by("-activated_at"))
    results = [invite_card(pact) for pact in invites]
    results += [status_card(pact, now) for pact in active[: MAX_RESULTS - len(results)]]
    return results[:MAX_RESULTS]


def inline_button(has_results: bool) -> InlineQueryResultsButton:
    """The button above the results: opens the Mini App (to make a pact when none)."""
    if has_results:
        return InlineQueryResultsButton(
            _("Open HabitPact"), web_app=WebAppInfo(settings.WEBAPP_URL)
        )
    return InlineQueryResultsButton(
        _("Start a pact"), web_app=WebAppInfo(f"{settings.WEBAPP_URL}/pacts/new")
    )


def prepare_invite(pact: Pact, session: BotSession) -> PreparedInlineMessage:
    """Store the invite card for its initiator to share into any private or group chat
    (`Telegram.WebApp.shareMessage`). Raises telegram.error.TelegramError."""
    return session.call(
        "save_prepared_inline_message",
        user_id=pact.created_by_user.telegram_user_id,
        result=invite_card(pact),
        allow_user_chats=True,
        allow_group_chats=True,
        allow_bot_chats=False,
        allow_channel_chats=False,
    )
