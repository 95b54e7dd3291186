"""Every bot message stays inside Telegram's limits with the longest inputs the app
allows (issue 14 item 5): 4096 characters of text, 1024 of a photo's caption, 64 bytes
of callback data per button.

Telegram counts a text after parsing its HTML (tags gone, entities one character each),
in UTF-16 code units (an emoji is two). The worst inputs here: titles and display names
of the longest the database and the sign-in accept (255 characters), notes and reasons
of the longest the API accepts, all of them emoji-heavy (two units a character) and full
of characters that need escaping.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from conftest import make_active_pact, make_terms, make_user
from ledger.actions import settlement_confirm, settlement_propose
from outbox.models import OutboxMessage, notify
from pacts.actions import day_for, pact_cancel, pact_create, pact_decline, pact_end
from pacts.breaks import BREAK_REASON_MAX_LENGTH, break_propose
from pacts.limits import SKIP_REASON_MAX_LENGTH, TITLE_MAX_LENGTH
from pacts.models import User
from pacts.sweeps import (
    expire_disputes,
    expire_invites,
    materialize_days,
    process_deadlines,
    send_weekly_summaries,
)
from pacts.templatetags.hp import skips_text
from telegram_bot import handlers
from telegram_bot import messages as msg
from telegram_bot.delivery import plain_text
from telegram_bot.keyboards import CALLBACK_DATA_MAX_BYTES

MONDAY = date(2025, 1, 20)
NAME_MAX_LENGTH = User._meta.get_field("display_name").max_length


def api_max_length(serializer: str, field: str) -> int:
    """The longest text the API accepts for a field (the Mini App's forms take less)."""
    import habitpact.urls  # noqa: F401 - the API loads as the site does, URLconf first
    from pacts import api

    return getattr(api, serializer)().fields[field].max_length


def worst(length: int, unit: str = "🏋️&<b>Ё ") -> str:
    """`length` characters, most of them two UTF-16 units or in need of escaping."""
    return (unit * (length // len(unit) + 1))[:length]


def telegram_count(telegram_html: str) -> int:
    """What Telegram checks against its limits: the parsed text's UTF-16 length."""
    return len(plain_text(telegram_html).encode("utf-16-le")) // 2


def callback_data(rendered: msg.Rendered) -> list[str]:
    rows = rendered.reply_markup.inline_keyboard if rendered.reply_markup else ()
    return [button.callback_data for row in rows for button in row if button.callback_data]


# The longest note a pressed button adds to its message (Replier.close_buttons): a
# callback's result or a refusal, cut to a callback answer's 200 characters.
CLOSING_NOTE = 200


def assert_within_limits(kind: str, rendered: msg.Rendered) -> None:
    text = telegram_count(rendered.text)
    assert text <= msg.MAX_TEXT_LENGTH, (kind, text)
    if rendered.photo is not None:
        caption = rendered.text if rendered.caption is None else rendered.caption
        assert telegram_count(caption) <= msg.MAX_CAPTION_LENGTH, (kind, telegram_count(caption))
    for data in callback_data(rendered):
        assert len(data.encode()) <= CALLBACK_DATA_MAX_BYTES, (kind, data)
    if callback_data(rendered):
        # After a press the message is edited to carry the outcome below it.
        assert text + 2 + CLOSING_NOTE <= msg.MAX_TEXT_LENGTH, (kind, text)


class Renderer:
    """Renders each outbox row once, at the moment it would be sent (the clock's now)."""

    def __init__(self):
        self.done: set = set()
        self.kinds: dict[str, int] = {}

    def __call__(self) -> None:
        for row in OutboxMessage.objects.exclude(pk__in=self.done).select_related("user"):
            self.done.add(row.pk)
            rendered = msg.render(row)
            assert_within_limits(row.kind, rendered)
            self.kinds[row.kind] = max(self.kinds.get(row.kind, 0), telegram_count(rendered.text))


def longest_named(short: str, display_name: str) -> User:
    user = make_user(short)
    user.display_name = display_name
    user.save(update_fields=["display_name"])
    return user


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), UTC)


@pytest.fixture(autouse=True)
def _bot(settings):
    settings.WEBAPP_URL = "https://app.example.com"
    settings.TELEGRAM_BOT_USERNAME = "HabitPactBot"


def test_every_message_kind_fits_with_the_longest_inputs(clock, db):
    title = worst(TITLE_MAX_LENGTH)
    note_max = api_max_length("CheckInRequest", "note")
    note = worst(note_max, "💪&")
    reason = worst(api_max_length("DisputeRequest", "reason"), "🤨<")
    alex = longest_named("Alex", worst(NAME_MAX_LENGTH))
    sam = longest_named("Sam", worst(NAME_MAX_LENGTH, "Ж🦔>"))  # username sam_tg
    render = Renderer()

    pact = make_active_pact(alex, sam, title=title)  # pact_accepted
    materialize_days()
    monday = day_for(pact, MONDAY)
    notify(alex, "reminder", "r1", day=monday)
    render()
    monday.check_in(alex, note=note)  # checkin_confirmed, checkin_partner
    render()
    monday.dispute(sam, reason=reason)  # dispute_opened_initiator, dispute_opened_partner
    render()
    monday.resolve(alex, "CONCEDE")  # dispute_resolved
    monday.waive(sam)  # day_waived
    render()

    clock.move_to(at(MONDAY + timedelta(days=1), 10))
    materialize_days()
    day_for(pact, MONDAY + timedelta(days=1)).skip(sam)  # day_skipped
    clock.move_to(at(MONDAY + timedelta(days=2), 10))
    materialize_days()
    clock.move_to(at(MONDAY + timedelta(days=2), 22))
    process_deadlines()  # missed (Tuesday's skip stands, Wednesday's deadline passed)
    render()

    thursday = MONDAY + timedelta(days=3)
    clock.move_to(at(thursday, 10))
    materialize_days()
    process_deadlines()
    day_for(pact, thursday).check_in(alex, note=note)
    day_for(pact, thursday).dispute(sam, reason=reason)
    clock.move_to(at(thursday, 23))
    expire_disputes()  # dispute_expired
    render()

    settlement = settlement_propose(pact, alex, amount=500)  # settlement_proposed
    render()
    settlement_confirm(settlement, sam)  # settlement_confirmed
    render()

    # Fair play (rules 9-11): Looks good, a skip request and its answer, breaks.
    friday = MONDAY + timedelta(days=4)
    clock.move_to(at(friday, 10))
    materialize_days()
    day_for(pact, friday).check_in(alex, note=note)
    day_for(pact, friday).approve(sam)  # checkin_approved
    saturday = day_for(pact, friday + timedelta(days=1))
    saturday.request_skip(alex, reason=worst(SKIP_REASON_MAX_LENGTH, "🤒&"))  # skip_requested
    render()
    saturday.approve_skip(sam)  # skip_request_answered
    render()
    span = {"start_date": friday + timedelta(days=10), "end_date": friday + timedelta(days=39)}
    why = worst(BREAK_REASON_MAX_LENGTH, "🏖️<")
    asked, _ = break_propose(pact, alex, reason=why, **span)  # break_proposed
    render()
    asked.decline(sam)  # break_declined
    asked, _ = break_propose(pact, alex, reason=why, **span)
    render()
    asked.approve(sam)  # break_approved
    render()
    asked.end(alex)  # break_ended
    given, _ = break_propose(pact, sam, reason=why, **span)  # break_started
    render()
    given.end(sam)
    render()

    # The weekly summary with more pacts than fit: titles shortened, "…and N more".
    sunday = MONDAY + timedelta(days=6)
    clock.move_to(at(sunday, 17))
    for i in range(40):
        make_active_pact(alex, sam, title=f"{i:02d}{title}"[:TITLE_MAX_LENGTH], start_date=sunday)
    clock.move_to(at(sunday, 18))
    materialize_days()
    process_deadlines()
    send_weekly_summaries()  # weekly_summary, with its picture
    render()

    pact_end(pact, alex)  # pact_ended, with a day still open to dispute
    render()

    later = {"title": title, "start_date": sunday + timedelta(days=1)}
    declined = pact_create(initiator=alex, terms=make_terms(**later))
    pact_decline(declined, sam)  # pact_declined
    withdrawn = pact_create(initiator=alex, terms=make_terms(**later, partner_username="sam_tg"))
    pact_cancel(withdrawn, alex)  # pact_cancelled, invite_cancelled
    pact_create(initiator=alex, terms=make_terms(**later))
    clock.shift(timedelta(days=8))
    expire_invites()  # invite_expired
    render()

    assert set(render.kinds) == set(msg.RENDERERS), set(msg.RENDERERS) - set(render.kinds)
    # The inputs really were long: the longest messages come near the limit's scale.
    assert note_max == 1000
    assert render.kinds["checkin_partner"] > note_max * 1.5
    assert render.kinds["weekly_summary"] > msg.MAX_TEXT_LENGTH // 2


def test_the_summary_with_names_of_emoji_still_fits_as_telegram_counts(clock, db):
    """Titles and names of two-unit characters: a count of code points says a summary
    fits while Telegram's UTF-16 count says it does not."""
    alex = longest_named("Alex", "🦔" * NAME_MAX_LENGTH)
    sam = longest_named("Sam", "🐢" * NAME_MAX_LENGTH)
    for _ in range(12):
        make_active_pact(alex, sam, title="🏋" * TITLE_MAX_LENGTH)
    clock.move_to(at(MONDAY + timedelta(days=6), 18))
    materialize_days()
    process_deadlines()
    send_weekly_summaries()
    for row in OutboxMessage.objects.filter(kind="weekly_summary"):
        rendered = msg.render(row)
        assert_within_limits(row.kind, rendered)
        assert rendered.text.count("🏋") >= 24  # at least one pact shown, not just "…more"


def test_the_bots_own_replies_fit(db):
    name = worst(NAME_MAX_LENGTH)
    texts = [
        msg.WELCOME.format(name=msg.e(name)),
        msg.HELP,
        msg.UNKNOWN,
        msg.GENERIC_ERROR,
        *msg.INVITE_CLOSED.values(),
        msg.INVITE_PREVIEW.format(
            inviter=msg.e(name),
            title=msg.short(worst(TITLE_MAX_LENGTH)),
            stake=msg.money(10_000, "JPY"),
            deadline="12:30 AM",
            tz=msg.e("America/Argentina/ComodRivadavia"),
            skips=skips_text(10),
        ),
    ]
    for text in texts:  # some are lazy (translated when used): count the English
        assert telegram_count(str(text)) <= msg.MAX_TEXT_LENGTH
    # Callback answers are cut to Telegram's 200 characters before they are sent.
    answers = [handlers.OUT_OF_DATE, handlers.SLOW_DOWN.format(seconds=3600)]
    assert all(len(answer) <= 200 for answer in answers)


def test_every_callback_button_fits_in_64_bytes_with_the_longest_ids(db):
    from telegram_bot import keyboards as kb

    uuid = "ffffffff-ffff-ffff-ffff-ffffffffffff"
    longest = date(2025, 12, 31)
    buttons = [
        kb.checkin_button(uuid, longest),
        kb.concede_button(uuid, longest),
        kb.reject_button(uuid, longest),
        kb.confirm_settlement_button("Confirm", uuid),
        kb.later_button(uuid),
    ]
    for button in buttons:
        assert len(button.callback_data.encode()) <= CALLBACK_DATA_MAX_BYTES, button.callback_data
    with pytest.raises(AssertionError, match="callback_data is"):
        kb.callback_data("confirm_settlement", uuid, uuid)  # 82 bytes: refused, not sent
