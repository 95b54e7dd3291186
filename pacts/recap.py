"""The weekly recap as a picture (issue 14 item 4): a PNG card per recipient and week.

Two halves, so the picture can be drawn without a database (the bench, the tests):

- `recap_card(recipient, pacts, week_start, now)` reads what the card shows for any
  number of pacts in two queries (the stats, the week's days) into a `RecapCard`.
- `render_png(card)` draws it with Pillow and touches nothing else: data in, PNG out.

Every word goes through gettext (the recipient's language is the caller's
`translation.override`), dates are the recipient's (the week is Mon..Sun of their
zone, "today" is marked in it), money is `hp.format_money`/`owes_text`. The fonts are
bundled (`pacts/fonts/`, DejaVu Sans cut down to Latin and Cyrillic) and the layout
engine is pinned to Pillow's BASIC one, so every clone draws the same pixels; a
character the font lacks (emoji, CJK) is left out rather than drawn as an empty box.

Colours are the Mini App's light theme (static/css/app.css: --done, --missed, ...): the
picture is shared outside Telegram, so it does not follow the viewer's theme.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path

from django.db.models import IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import formats
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from PIL import Image, ImageDraw, ImageFont

from ledger.models import LedgerEntry, balance_column

from .models import Pact, PactDay, User
from .stats import current_streak
from .templatetags.hp import format_money, owes_text

FONTS = Path(__file__).resolve().parent / "fonts"
# The picture holds this many pacts; the caption and the app have the rest.
MAX_PACTS = 3
WIDTH = 1080
PALETTE_SIZE = 64

# static/css/app.css, light theme.
BG = (240, 242, 245)  # --bg
CARD = (255, 255, 255)  # --card
TEXT = (20, 23, 26)  # --text
HINT = (95, 107, 118)  # --hint
BRAND = (36, 129, 204)  # --btn
LINK = (31, 111, 197)  # --link
SOFT = (228, 240, 249)  # --soft: --btn at 12% on the card
LINE = (225, 226, 227)  # --line: --text at 12% on the card
STATUS_FILL = {
    "DONE": (23, 128, 74),  # --done
    "MISSED": (194, 54, 43),  # --missed
    "DISPUTED": (176, 87, 10),  # --disputed
    "SKIPPED": (92, 102, 112),  # --skipped
    "WAIVED": (107, 70, 193),  # --waived
    "PENDING": SOFT,  # .s-pending
}

# The code points the bundled fonts were cut to (pacts/fonts/README.md has the command).
COVERED = (
    (0x20, 0x7E),
    (0xA0, 0x24F),
    (0x300, 0x36F),
    (0x400, 0x52F),
    (0x2010, 0x2027),
    (0x2030, 0x205E),
    (0x20A0, 0x20C0),
    (0x2116, 0x2116),
    (0x2122, 0x2122),
    (0x2190, 0x2193),
    (0x2212, 0x2212),
    (0x2713, 0x2713),
    (0x2715, 0x2715),
    (0x25CF, 0x25CF),
)


# --- the data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RecapDay:
    date: date
    status: str | None  # None: not a scheduled day


@dataclass(frozen=True)
class RecapPact:
    title: str
    you: str  # the recipient's name
    other: str  # the other participant's
    days: tuple[RecapDay, ...]  # Mon..Sun
    streak: int
    week_change: int  # minor units the tab moved this week (+ = the initiator owes more)
    currency: str
    balance_text: str  # "Alex owes Sam £15" / "all square"


@dataclass(frozen=True)
class RecapCard:
    week_start: date  # a Monday
    today: date  # the recipient's today: that day is ringed
    pacts: tuple[RecapPact, ...]
    more: int = 0  # pacts left off the picture

    @property
    def week_end(self) -> date:
        return self.week_start + timedelta(days=6)


_WEEK_RE = re.compile(r"(\d{4})-W(\d{2})")


def parse_week(value: object) -> date:
    """`YYYY-Www` (ISO 8601 week) → its Monday. ValueError with the reason otherwise."""
    match = _WEEK_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError("Give the week as YYYY-Www, for example 2025-W04.")
    try:
        return date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError:
        raise ValueError(f"{value} is not a week of the calendar.") from None


def week_label(monday: date) -> str:
    year, week, _day = monday.isocalendar()
    return f"{year}-W{week:02d}"


def _short_name(user: User | None, limit: int = 24) -> str:
    return fit_chars(user.display_name, limit) if user is not None else _("your partner")


def recap_card(
    recipient: User, pacts: Sequence[Pact], week_start: date, now: datetime
) -> RecapCard:
    """The card of `pacts` (loaded with their participants) for `recipient`'s week from
    `week_start`: two queries however many pacts.

    The tab's change is the sum of the ledger entries written in the week, its Monday
    00:00 to the next Monday 00:00 in the recipient's zone; the streak and the balance
    are as of now (the rule in pacts/stats.py).
    """
    tz = recipient.tz
    shown = list(pacts[:MAX_PACTS])
    ids = [pact.pk for pact in shown]
    week_end = week_start + timedelta(days=6)
    opens = datetime.combine(week_start, time(), tzinfo=tz)
    closes = datetime.combine(week_end + timedelta(days=1), time(), tzinfo=tz)
    moved = (
        LedgerEntry.objects.filter(
            pact=OuterRef("pk"), created_at__gte=opens, created_at__lt=closes
        )
        .values("pact")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    stats = {
        pk: (streak, change, balance)
        for pk, streak, change, balance in Pact.objects.filter(pk__in=ids)
        .annotate(
            streak=current_streak(OuterRef("pk")),
            change=Coalesce(Subquery(moved, output_field=IntegerField()), 0),
            balance=balance_column(),
        )
        .values_list("pk", "streak", "change", "balance")
    }
    statuses = {
        (pact_id, day): status
        for pact_id, day, status in PactDay.objects.filter(
            pact_id__in=ids, date__gte=week_start, date__lte=week_end
        ).values_list("pact_id", "date", "status")
    }
    cards = []
    for pact in shown:
        streak, change, balance = stats.get(pact.pk, (0, 0, 0))
        other = pact.partner if pact.initiator == recipient else pact.initiator
        week = tuple(
            RecapDay(day, statuses.get((pact.pk, day)))
            for day in (week_start + timedelta(days=i) for i in range(7))
        )
        cards.append(
            RecapPact(
                title=pact.title,
                you=_short_name(recipient),
                other=_short_name(other),
                days=week,
                streak=streak,
                week_change=change,
                currency=pact.currency,
                balance_text=owes_text(pact, balance, name=_short_name),
            )
        )
    return RecapCard(
        week_start=week_start,
        today=now.astimezone(tz).date(),
        pacts=tuple(cards),
        more=max(0, len(pacts) - len(shown)),
    )


# --- drawing -----------------------------------------------------------------------------


@cache
def font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(FONTS / name), size, layout_engine=ImageFont.Layout.BASIC)


def _covered(char: str) -> bool:
    point = ord(char)
    return any(low <= point <= high for low, high in COVERED)


def drawable(text: object) -> str:
    """`text` with only what the bundled fonts can draw: composed (NFC), emoji and other
    scripts left out, runs of spaces made one."""
    kept = "".join(c for c in unicodedata.normalize("NFC", str(text)) if _covered(c))
    return " ".join(kept.split())


def fit_chars(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def fit_width(text: str, face: ImageFont.FreeTypeFont, width: float) -> str:
    """`text` cut (with "…") to `width` pixels in `face`."""
    text = drawable(text)
    if face.getlength(text) <= width:
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with its ellipsis
        middle = (low + high + 1) // 2
        if face.getlength(text[:middle].rstrip() + "…") <= width:
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + "…"


def _signed_money(amount: int, currency: str) -> str:
    if amount == 0:
        return format_money(0, currency)
    sign = "+" if amount > 0 else "\u2212"
    return sign + format_money(abs(amount), currency)


def _status_label(status: str) -> str:
    return {
        "DONE": _("Done"),
        "MISSED": _("Missed"),
        "DISPUTED": _("Disputed"),
        "SKIPPED": _("Skipped"),
        "WAIVED": _("Waived"),
        "PENDING": _("Pending"),
    }[status]


# Vertical rhythm of one pact's panel (pixels).
MARGIN = 48
PAD = 40
HEADER_H = 200
PANEL_H = 520
LEGEND_H = 110
GAP = 28
CELL_GAP = 16


def _height(card: RecapCard) -> int:
    panels = max(1, len(card.pacts))
    more = 56 if card.more else 0
    return HEADER_H + panels * (PANEL_H + GAP) + more + LEGEND_H


def render_png(card: RecapCard) -> bytes:
    """The card as PNG bytes, WIDTH pixels wide. Pure: draws `card` and nothing else."""
    return encode(draw_card(card))


def draw_card(card: RecapCard) -> Image.Image:
    image = Image.new("RGB", (WIDTH, _height(card)), BG)
    draw = ImageDraw.Draw(image)
    inner = WIDTH - 2 * MARGIN

    draw.text((MARGIN, 52), "HabitPact", font=font(30, bold=True), fill=BRAND)
    kicker = _("Weekly recap")
    draw.text(
        (WIDTH - MARGIN, 52),
        fit_width(kicker, font(30), inner / 2),
        font=font(30),
        fill=HINT,
        anchor="ra",
    )
    span = _("%(start)s – %(end)s") % {
        "start": formats.date_format(card.week_start, "M j"),
        "end": formats.date_format(card.week_end, "M j"),
    }
    draw.text(
        (MARGIN, 96),
        fit_width(span, font(64, bold=True), inner),
        font=font(64, bold=True),
        fill=TEXT,
    )

    y = HEADER_H
    if not card.pacts:
        draw.rounded_rectangle((MARGIN, y, WIDTH - MARGIN, y + PANEL_H), 28, fill=CARD)
        quiet = _("A quiet week: no pacts to show.")
        draw.text(
            (WIDTH / 2, y + PANEL_H / 2),
            fit_width(quiet, font(40), inner - 2 * PAD),
            font=font(40),
            fill=HINT,
            anchor="mm",
        )
        y += PANEL_H + GAP
    for pact in card.pacts:
        _panel(draw, pact, card.today, y)
        y += PANEL_H + GAP
    if card.more:
        more = ngettext(
            "…and %(count)d more pact in the app", "…and %(count)d more pacts in the app", card.more
        ) % {"count": card.more}
        draw.text(
            (WIDTH / 2, y + 14),
            fit_width(more, font(34), inner),
            font=font(34),
            fill=HINT,
            anchor="ma",
        )
        y += 56
    _legend(draw, y + 20)
    return image


def encode(image: Image.Image) -> bytes:
    """PNG on a fixed palette (`_palette`): a card is a few flat colours and the
    antialiased edges of text on them, so the palette loses nothing visible, and the
    file is a third of an RGB one's size and quicker to write (mapping to a known
    palette costs a few ms; deflating 3 bytes a pixel costs more than that saves)."""
    out = io.BytesIO()
    image.quantize(palette=_palette(), dither=Image.Dither.NONE).save(out, format="PNG")
    return out.getvalue()


WHITE = (255, 255, 255)
# Each colour drawn on each background it is drawn on: their antialiased edges blend.
_ON = (
    [(BRAND, BG), (HINT, BG), (LINK, BG), (TEXT, BG), (TEXT, CARD), (HINT, CARD), (LINE, CARD)]
    + [(LINK, SOFT), (LINK, CARD)]
    + [(WHITE, fill) for fill in STATUS_FILL.values()]
)
BLEND_STEPS = 8


@cache
def _palette() -> Image.Image:
    """Every flat colour of the card and BLEND_STEPS - 1 steps between each colour and
    its background (the edges of text): under a hundred of the 256 a palette holds."""

    def mix(top, under, t):
        return tuple(round(a * t + b * (1 - t)) for a, b in zip(top, under, strict=True))

    flat = [BG, CARD, TEXT, HINT, BRAND, LINK, SOFT, LINE, WHITE, *STATUS_FILL.values()]
    steps = [mix(top, under, i / BLEND_STEPS) for top, under in _ON for i in range(1, BLEND_STEPS)]
    colours = list(dict.fromkeys(flat + steps))
    assert len(colours) <= 256
    values = [v for colour in colours for v in colour]
    palette = Image.new("P", (1, 1))
    palette.putpalette(values + values[:3] * (256 - len(colours)))
    return palette


def _panel(draw: ImageDraw.ImageDraw, pact: RecapPact, today: date, top: int) -> None:
    left, right = MARGIN, WIDTH - MARGIN
    draw.rounded_rectangle((left, top, right, top + PANEL_H), 28, fill=CARD)
    x, width = left + PAD, right - left - 2 * PAD
    title = font(48, bold=True)
    draw.text((x, top + 36), fit_width(pact.title, title, width) or "…", font=title, fill=TEXT)
    names = _("%(you)s & %(other)s") % {"you": pact.you, "other": pact.other}
    draw.text((x, top + 100), fit_width(names, font(32), width), font=font(32), fill=HINT)

    # The week's strip: a weekday letter over a square per day, coloured by its state.
    cell = (width - 6 * CELL_GAP) / 7
    strip_top = top + 196
    for i, day in enumerate(pact.days):
        cx = x + i * (cell + CELL_GAP)
        draw.text(
            (cx + cell / 2, strip_top - 12),
            drawable(WEEKDAYS_ABBR[day.date.weekday()]),
            font=font(26),
            fill=HINT,
            anchor="md",
        )
        box = (cx, strip_top, cx + cell, strip_top + cell)
        number_colour = (255, 255, 255)
        if day.status is None:
            draw.rounded_rectangle(box, 20, outline=LINE, width=4)
            number_colour = HINT
        else:
            draw.rounded_rectangle(box, 20, fill=STATUS_FILL.get(day.status, LINE))
            if day.status == "PENDING":
                number_colour = LINK
        if day.date == today:
            ring = (box[0] - 7, box[1] - 7, box[2] + 7, box[3] + 7)
            draw.rounded_rectangle(ring, 26, outline=TEXT, width=4)
        draw.text(
            (cx + cell / 2, strip_top + cell / 2),
            str(day.date.day),
            font=font(40, bold=True),
            fill=number_colour,
            anchor="mm",
        )

    # Two figures side by side, then the tab in words.
    figures_top = strip_top + cell + 44
    half = width / 2
    streak = ngettext("%(count)d day", "%(count)d days", pact.streak) % {"count": pact.streak}
    change = _signed_money(pact.week_change, pact.currency) if pact.week_change else _("No change")
    for column, (value, caption) in enumerate(
        [(streak, _("Streak")), (change, _("The tab this week"))]
    ):
        cx = x + column * half
        draw.text(
            (cx, figures_top), fit_width(caption, font(26), half - 20), font=font(26), fill=HINT
        )
        draw.text(
            (cx, figures_top + 36),
            fit_width(value, font(38, bold=True), half - 20),
            font=font(38, bold=True),
            fill=TEXT,
        )
    balance = _("Balance: %(tab)s") % {"tab": pact.balance_text}
    draw.text((x, figures_top + 104), fit_width(balance, font(34), width), font=font(34), fill=TEXT)


LEGEND = ("DONE", "MISSED", "DISPUTED", "SKIPPED", "WAIVED", "PENDING")


def _legend(draw: ImageDraw.ImageDraw, top: int) -> None:
    """The states' colours in one row, each key sized to its label."""
    face = font(26)
    labels = [drawable(_status_label(status)) for status in LEGEND]
    key, space = 26, 12
    widths = [key + 10 + face.getlength(label) for label in labels]
    total = sum(widths) + space * (len(widths) - 1)
    scale_gap = space if total <= WIDTH - 2 * MARGIN else 4
    x = max(MARGIN, (WIDTH - (sum(widths) + scale_gap * (len(widths) - 1))) / 2)
    for status, label, width in zip(LEGEND, labels, widths, strict=True):
        outline = LINK if status == "PENDING" else None
        draw.rounded_rectangle(
            (x, top, x + key, top + key), 7, fill=STATUS_FILL[status], outline=outline, width=2
        )
        draw.text((x + key + 10, top + key / 2), label, font=face, fill=HINT, anchor="lm")
        x += width + scale_gap


def render_for(recipient: User, pacts: Iterable[Pact], week_start: date, now: datetime) -> bytes:
    """`recap_card` then `render_png`: the bytes of `recipient`'s card."""
    return render_png(recap_card(recipient, list(pacts), week_start, now))
