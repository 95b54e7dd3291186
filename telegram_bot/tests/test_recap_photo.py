"""The Sunday summary arrives as a picture (issue 14 item 4): sendPhoto, a multipart
upload from python-telegram-bot to the Bot API stand-in over real HTTP, with the text
as its caption, or after it when the text is too long for a caption."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime

import pytest
from PIL import Image

from conftest import make_active_pact
from outbox.models import OutboxMessage
from pacts import recap
from pacts.sweeps import send_weekly_summaries
from telegram_bot import delivery
from telegram_bot.messages import MAX_CAPTION_LENGTH, MAX_TEXT_LENGTH

from .fake_bot_api import Fault
from .test_delivery import drain
from .test_weekly_summary_length import long_title

pytestmark = pytest.mark.usefixtures("fake_api")

SUNDAY_18 = datetime(2025, 1, 26, 18, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_follow_up_wait(monkeypatch):
    monkeypatch.setattr(delivery, "FOLLOW_UP_DELAY", 0)


def sunday(clock, fake_api) -> None:
    """Send what is already due (the pact_accepted notices), forget it, go to Sunday
    18:00 and queue the summaries."""
    drain()
    fake_api.calls.clear()
    clock.move_to(SUNDAY_18)
    assert send_weekly_summaries() == 2


def png_of(call) -> Image.Image:
    upload = call.files["photo"]
    image = Image.open(io.BytesIO(upload.data))
    image.load()
    return image


def test_the_sunday_summary_is_a_png_with_the_text_as_its_caption(
    clock, fake_api, pact, initiator, partner
):
    sunday(clock, fake_api)

    assert drain().sent == 2

    calls = {call.chat_id: call for call in fake_api.calls_to("sendPhoto")}
    assert set(calls) == {initiator.telegram_user_id, partner.telegram_user_id}
    assert fake_api.calls_to("sendMessage") == []
    for user, other in ((initiator, "Sam"), (partner, "Alex")):
        call = calls[user.telegram_user_id]
        assert call.content_type.startswith("multipart/form-data")  # what PTB uploads
        assert call.files["photo"].filename == "recap.png"
        image = png_of(call)
        assert image.format == "PNG"
        assert image.width == recap.WIDTH and image.height > 600
        assert len(call.files["photo"].data) < 80 * 1024
        assert call.params["parse_mode"] == "HTML"
        caption = call.params["caption"]
        assert caption.startswith("📊 <b>Your week</b> (Jan 20 – Jan 26)")
        assert f"<b>Gym 🏋️</b> with {other}" in caption
        assert len(caption) <= MAX_CAPTION_LENGTH
        [[button]] = call.params["reply_markup"]["inline_keyboard"]
        assert button["text"] == "Open HabitPact →"
    assert {m.status for m in OutboxMessage.objects.filter(kind="weekly_summary")} == {"SENT"}


def test_a_summary_too_long_for_a_caption_follows_the_photo_with_the_keyboard(
    clock, fake_api, initiator, partner
):
    for i in range(12):
        make_active_pact(initiator, partner, title=long_title(i)[:255])
    sunday(clock, fake_api)

    assert drain().sent == 2

    photo = next(
        c for c in fake_api.calls_to("sendPhoto") if c.chat_id == initiator.telegram_user_id
    )
    text = next(
        c for c in fake_api.calls_to("sendMessage") if c.chat_id == initiator.telegram_user_id
    )
    assert photo.params["caption"] == "📊 <b>Your week</b> (Jan 20 – Jan 26) 👇"
    assert "reply_markup" not in photo.params  # the buttons go under the text
    assert png_of(photo).height > 1500  # three pacts drawn, the rest counted
    assert text.at >= photo.at
    assert text.params["text"].count("with Sam") == 12
    assert len(text.params["text"]) <= MAX_TEXT_LENGTH
    assert text.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "Open HabitPact →"


def test_a_failed_follow_up_does_not_send_the_photo_again(
    clock, fake_api, initiator, partner, caplog
):
    for i in range(12):
        make_active_pact(initiator, partner, title=long_title(i)[:255])
    sunday(clock, fake_api)
    fake_api.fail_next("sendMessage", Fault.server_error(), times=2)

    with caplog.at_level(logging.WARNING, logger="telegram_bot.delivery"):
        assert drain().sent == 2
    assert drain().sent == 0

    assert len(fake_api.calls_to("sendPhoto")) == 2
    assert [r.message for r in caplog.records].count("outbox_follow_up_failed") == 2


def test_a_blocked_chat_is_undeliverable_for_photos_too(clock, fake_api, pact, initiator):
    fake_api.block_chat(initiator.telegram_user_id)
    sunday(clock, fake_api)

    drain()

    row = OutboxMessage.objects.get(kind="weekly_summary", user=initiator)
    assert row.status == "UNDELIVERABLE"
    assert "blocked" in row.last_error


def test_if_the_picture_cannot_be_drawn_the_summary_goes_as_text(
    clock, fake_api, pact, initiator, monkeypatch
):
    def broken(*args, **kwargs):
        raise OSError("no fonts today")

    monkeypatch.setattr(recap, "render_for", broken)
    sunday(clock, fake_api)

    assert drain().sent == 2

    assert fake_api.calls_to("sendPhoto") == []
    texts = [c.params["text"] for c in fake_api.calls_to("sendMessage")]
    assert len(texts) == 2 and all(t.startswith("📊 <b>Your week</b>") for t in texts)


def test_the_stand_in_refuses_what_telegram_refuses(fake_api):
    """A caption over 1024 characters and an upload that is not a picture: 400, as
    Telegram answers, so a test of ours cannot pass where Telegram would refuse."""
    from telegram.error import BadRequest

    from telegram_bot.client import BotSession

    png = recap.render_png(
        recap.RecapCard(
            week_start=datetime(2025, 1, 20).date(), today=datetime(2025, 1, 20).date(), pacts=()
        )
    )
    with BotSession() as session:
        with pytest.raises(BadRequest, match="caption is too long"):
            session.call("send_photo", chat_id=1, photo=png, caption="x" * 1025)
        with pytest.raises(BadRequest, match="(?i)image_process_failed"):
            session.call("send_photo", chat_id=1, photo=b"not a picture")
        message = session.call("send_photo", chat_id=1, photo=png, caption="ok")
    assert message.caption == "ok"
    assert (message.photo[-1].width, message.photo[-1].height) == Image.open(io.BytesIO(png)).size
