"""Inline buttons: Mini App openers and the one-tap actions of spec §8.

Callback data formats (every one is checked against Telegram's 64-byte limit, which
python-telegram-bot does not enforce and Telegram rejects):

    checkin:{pact_id}:{date}            concede:{pact_id}:{date}
    reject:{pact_id}:{date}             confirm_settlement:{settlement_id}
    later:{settlement_id}               open_app:{start_param}
    looks_good:{pact_id}:{date}         approve_break:{break_id}
    decline_break:{break_id}
    skip_ok:{pact_id}:{date}            skip_no:{pact_id}:{date}

Buttons that open the Mini App are `web_app` buttons in private chats (so the app gets
signed initData) and `https://t.me/<bot>?startapp=...` links elsewhere (Telegram allows
`web_app` buttons only in private chats).
"""

from __future__ import annotations

import re
import uuid
from datetime import date

from django.conf import settings
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from pacts.actions import INVITE_CODE_RE
from pacts.models import bot_link

CALLBACK_DATA_MAX_BYTES = 64

_PACT_PATH = re.compile(r"^/pacts/(?P<id>[0-9a-fA-F-]{32,36})(?:/.*)?$")
_INVITE_PATH = re.compile(rf"^/invite/(?P<code>{INVITE_CODE_RE.pattern})$")


def callback_data(*parts: object) -> str:
    data = ":".join(str(part) for part in parts)
    size = len(data.encode())
    assert size <= CALLBACK_DATA_MAX_BYTES, f"callback_data is {size} bytes: {data!r}"
    return data


def start_param_for(path: str) -> str:
    """The `startapp` parameter that makes the Mini App open `path` (spec §8 deeplinks)."""
    if match := _INVITE_PATH.match(path):
        return f"invite_{match['code']}"
    if match := _PACT_PATH.match(path):
        return f"pact_{match['id']}"
    return "home"


def path_for(start_param: str) -> str:
    """The Mini App path a `startapp` parameter stands for (the inverse of the above)."""
    try:
        if start_param.startswith("invite_"):
            return reverse("invite", kwargs={"code": start_param.removeprefix("invite_")})
        if start_param.startswith("pact_"):
            pact_id = uuid.UUID(start_param.removeprefix("pact_"))
            return reverse("pact_detail", kwargs={"pact_id": pact_id})
    except (ValueError, NoReverseMatch):
        pass  # not a pact id or an invite code: the home screen
    return reverse("home")


def app_button(text: str, path: str = "/", *, private: bool = True) -> InlineKeyboardButton:
    """Open the Mini App at `path`: a web_app button in a private chat, else a t.me link."""
    if private:
        return InlineKeyboardButton(text, web_app=WebAppInfo(url=f"{settings.WEBAPP_URL}{path}"))
    return InlineKeyboardButton(text, url=bot_link(start_param_for(path)))


def action_button(text: str, *parts: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=callback_data(*parts))


def checkin_button(pact_id, day: date) -> InlineKeyboardButton:
    return action_button(_("Done ✅"), "checkin", pact_id, day.isoformat())


def concede_button(pact_id, day: date) -> InlineKeyboardButton:
    return action_button(_("Concede 😅"), "concede", pact_id, day.isoformat())


def reject_button(pact_id, day: date) -> InlineKeyboardButton:
    return action_button(_("Stand By It 💪"), "reject", pact_id, day.isoformat())


def approve_skip_button(pact_id, day: date) -> InlineKeyboardButton:
    return action_button(_("Approve skip 👍"), "skip_ok", pact_id, day.isoformat())


def decline_skip_button(pact_id, day: date) -> InlineKeyboardButton:
    return action_button(_("Decline 🙅"), "skip_no", pact_id, day.isoformat())


def confirm_settlement_button(text: str, settlement_id) -> InlineKeyboardButton:
    return action_button(text, "confirm_settlement", settlement_id)


def later_button(settlement_id) -> InlineKeyboardButton:
    return action_button(_("Not Yet ⏳"), "later", settlement_id)


# --- rules 10 and 11: breaks and the partner's review ----------------------------------


def looks_good_button(pact_id, day: date) -> InlineKeyboardButton:
    return action_button("👍 Looks good", "looks_good", pact_id, day.isoformat())


def approve_break_button(break_id) -> InlineKeyboardButton:
    return action_button(_("Approve break ✅"), "approve_break", break_id)


def decline_break_button(break_id) -> InlineKeyboardButton:
    return action_button(_("Decline"), "decline_break", break_id)


def rows(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup | None:
    kept = [list(row) for row in rows if row]
    return InlineKeyboardMarkup(kept) if kept else None


def without_action_buttons(markup: InlineKeyboardMarkup | None) -> InlineKeyboardMarkup | None:
    """The same keyboard minus its callback buttons: once one action of a message has been
    taken (or can no longer be), none of its actions should be tappable again. App
    buttons stay. None when nothing is left (an edit without a keyboard removes it)."""
    kept: list[list[InlineKeyboardButton]] = []
    for row in markup.inline_keyboard if markup else ():
        buttons = [b for b in row if b.callback_data is None]
        if buttons:
            kept.append(buttons)
    return InlineKeyboardMarkup(kept) if kept else None
