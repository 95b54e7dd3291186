"""The weekly recap card (issue 14 item 4): what it reads, and the picture it draws."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from PIL import Image, ImageDraw

from conftest import make_active_pact, make_user
from ledger.actions import settlement_confirm, settlement_propose
from pacts import recap
from pacts.actions import day_for, pact_for
from pacts.sweeps import materialize_days, process_deadlines

pytestmark = pytest.mark.django_db

MONDAY = date(2025, 1, 20)
SUNDAY_18 = datetime(2025, 1, 26, 18, 0, tzinfo=UTC)


def live_the_week(clock, pact, initiator, partner):
    """Mon done, Tue skipped, Wed missed and waived, Thu missed, Fri-Sat done; Sun pending."""
    for offset in range(7):
        day = MONDAY + timedelta(days=offset)
        clock.move_to(datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=10))
        materialize_days()
        process_deadlines()
        if offset == 1:
            day_for(pact, day).skip(partner)
        elif offset in (0, 4, 5):
            day_for(pact, day).check_in(initiator)
        elif offset == 3:
            day_for(pact, MONDAY + timedelta(days=2)).waive(partner)
    clock.move_to(SUNDAY_18)


def test_the_card_reads_the_weeks_days_streak_tab_change_and_balance(
    clock, pact, initiator, partner, django_assert_num_queries
):
    live_the_week(clock, pact, initiator, partner)
    pact = pact_for(initiator, pact.pk)  # with its participants, as every caller has it
    with django_assert_num_queries(2):
        card = recap.recap_card(initiator, [pact], MONDAY, SUNDAY_18)
    [mine] = card.pacts
    assert [d.status for d in mine.days] == [
        "DONE",
        "SKIPPED",
        "WAIVED",
        "MISSED",
        "DONE",
        "DONE",
        "PENDING",
    ]
    assert [d.date for d in mine.days] == [MONDAY + timedelta(days=i) for i in range(7)]
    assert (mine.title, mine.you, mine.other) == ("Gym 🏋️", "Alex", "Sam")
    assert mine.streak == 2  # Fri and Sat since Thursday's miss
    assert mine.week_change == 500  # two misses (+£10), one waived (−£5)
    assert mine.balance_text == "Alex owes Sam £5"
    assert card.today == date(2025, 1, 26) and card.more == 0

    theirs = recap.recap_card(partner, [pact], MONDAY, SUNDAY_18).pacts[0]
    assert (theirs.you, theirs.other) == ("Sam", "Alex")


def test_the_tab_change_counts_only_this_weeks_entries_settlements_included(
    clock, pact, initiator, partner
):
    live_the_week(clock, pact, initiator, partner)
    settlement_confirm(settlement_propose(pact, initiator, amount=500), partner)
    [mine] = recap.recap_card(initiator, [pact], MONDAY, SUNDAY_18).pacts
    assert (mine.week_change, mine.balance_text) == (0, "all square")
    # The following week nothing has moved yet.
    [later] = recap.recap_card(initiator, [pact], MONDAY + timedelta(days=7), SUNDAY_18).pacts
    assert later.week_change == 0
    assert [d.status for d in later.days] == ["PENDING"] + [None] * 6  # tomorrow, made ahead


def test_the_week_is_the_recipients_days_and_their_today(clock, initiator):
    tokyo = make_user("Kenji", tz="Asia/Tokyo")
    pact = make_active_pact(initiator, tokyo)
    # Sunday 18:00 UTC is already Monday 03:00 in Tokyo.
    card = recap.recap_card(tokyo, [pact], MONDAY, SUNDAY_18)
    assert card.today == date(2025, 1, 27)


def test_three_pacts_are_drawn_and_the_rest_counted(clock, initiator, partner):
    pacts = [make_active_pact(initiator, partner, title=f"Habit {i}") for i in range(5)]
    card = recap.recap_card(initiator, pacts, MONDAY, SUNDAY_18)
    assert [p.title for p in card.pacts] == ["Habit 0", "Habit 1", "Habit 2"]
    assert card.more == 2


# --- the picture -------------------------------------------------------------------------


def sample_card(*titles: str, more: int = 0) -> recap.RecapCard:
    states = ["DONE", "MISSED", "DISPUTED", "SKIPPED", "WAIVED", "PENDING", None]
    pacts = tuple(
        recap.RecapPact(
            title=title,
            you="Alex",
            other="Саша",
            days=tuple(recap.RecapDay(MONDAY + timedelta(days=i), s) for i, s in enumerate(states)),
            streak=12,
            week_change=-1050,
            currency="EUR",
            balance_text="Alex owes Саша €3.50",
        )
        for title in titles
    )
    return recap.RecapCard(
        week_start=MONDAY, today=MONDAY + timedelta(days=5), pacts=pacts, more=more
    )


def decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


def test_the_picture_is_a_png_1080_wide_under_80_kb(db):
    for card in (sample_card("Gym"), sample_card("Gym", "Бег по утрам", "Leer", more=4)):
        png = recap.render_png(card)
        image = decode(png)
        assert image.format == "PNG"
        assert image.width == recap.WIDTH
        assert 600 < image.height < 2100
        assert len(png) < 80 * 1024


def test_the_same_card_draws_the_same_bytes(db):
    card = sample_card("Gym", "Бег по утрам")
    assert recap.render_png(card) == recap.render_png(card)


def test_each_days_square_has_its_states_colour_from_the_mini_app(db):
    image = decode(recap.render_png(sample_card("Gym"))).convert("RGB")
    # Sample the top-left inside of each square (clear of the day's number).
    x0, top = recap.MARGIN + recap.PAD, recap.HEADER_H + 196
    cell = (recap.WIDTH - 2 * recap.MARGIN - 2 * recap.PAD - 6 * recap.CELL_GAP) / 7
    seen = [
        image.getpixel((int(x0 + i * (cell + recap.CELL_GAP) + 14), top + 14)) for i in range(6)
    ]
    expected = [recap.STATUS_FILL[s] for s in ("DONE", "MISSED", "DISPUTED", "SKIPPED", "WAIVED")]
    expected.append(recap.SOFT)
    for got, want in zip(seen, expected, strict=True):
        assert max(abs(a - b) for a, b in zip(got, want, strict=True)) <= 8, (got, want)


def test_the_bundled_fonts_draw_latin_and_cyrillic_and_leave_out_what_they_lack(db):
    def glyph(face, char: str) -> bytes:
        image = Image.new("L", (80, 80))
        ImageDraw.Draw(image).text((10, 10), char, font=face, fill=255)
        return image.tobytes()

    for bold in (False, True):
        face = recap.font(40, bold=bold)
        notdef = glyph(face, "\ue000")  # a private-use point: the font has no glyph
        for char in "AzÑñãçéßŁżБбЖжЁёЩщЯя€£₽№":
            assert glyph(face, char) != notdef, char
    assert recap.drawable("Gym 🏋️  every  day ✨") == "Gym every day"
    assert recap.drawable("Бег 🏃 по утрам") == "Бег по утрам"
    assert recap.drawable("Cafe\u0301") == "Café"  # composed, so one glyph


def test_long_titles_and_names_are_cut_to_fit(db):
    face = recap.font(48, bold=True)
    title = "Run a little further than yesterday " * 7
    fitted = recap.fit_width(title, face, 600)
    assert fitted.endswith("…") and face.getlength(fitted) <= 600
    assert recap.fit_width("Gym", face, 600) == "Gym"
    png = recap.render_png(sample_card(title[:255]))
    assert decode(png).width == recap.WIDTH


def test_a_week_is_iso_8601_and_anything_else_says_how_to_write_it():
    assert recap.parse_week("2025-W04") == MONDAY
    assert recap.parse_week("2026-W53") == date(2026, 12, 28)
    assert recap.week_label(MONDAY) == "2025-W04"
    for bad in ("2025-W4", "2025W04", "2025-04", "", None, "2025-W00", "2025-W53", "abcd-W01"):
        with pytest.raises(ValueError):
            recap.parse_week(bad)
