"""The create flow's form: its choices, and the Draft it carries between the four steps
(raw values as typed, in hidden inputs) with how they parse into PactTerms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal

from babel.numbers import get_currency_precision
from django.utils.dateformat import format as date_format
from django.utils.translation import gettext, ngettext

from habitpact.errors import DomainError
from habitpact.forms import clean_text, minor_units
from pacts.actions import PactTerms
from pacts.limits import SKIPS_PER_MONTH_DEFAULT, SKIPS_PER_MONTH_MAX, SKIPS_PER_MONTH_MIN
from pacts.models import Pact
from pacts.templatetags.hp import clock_text, format_money, schedule_text, skips_text

EMOJIS = ["🏋️", "📚", "🧘", "🏃", "💻", "🎸", "🥗", "💧"]
CURRENCIES = [
    "GBP",
    "EUR",
    "USD",
    "CAD",
    "AUD",
    "CHF",
    "SEK",
    "NOK",
    "PLN",
    "INR",
    "JPY",
    "BRL",
    "UAH",
    "TRY",
]
# The title, with the emoji appended (" 🏋️"), must fit the model's 255 characters; the
# input stops there and its counter says so, rather than cutting the name silently.
TITLE_MAX = Pact._meta.get_field("title").max_length - max(len(f" {e}") for e in EMOJIS)
WINDOWS = [1, 3, 6, 12, 24, 48, 72]
SKIP_CHOICES = list(range(SKIPS_PER_MONTH_MIN, SKIPS_PER_MONTH_MAX + 1))
QUICK_PICKS = [1, 5, 10, 20]
STEP_FIELDS = {
    1: ("title",),
    2: ("schedule_days", "deadline_time", "start_date", "end_date"),
    3: ("currency", "stake_amount", "dispute_window_hours", "skips_per_month"),
    4: ("partner_username",),
}
# Raw form state, as strings, carried between steps in hidden inputs.
STATE_KEYS = (
    "title",
    "emoji",
    "deadline",
    "start",
    "end",
    "currency",
    "stake",
    "window",
    "skips",
    "partner",
)


@dataclass
class Draft:
    """The create flow's state: raw values as typed, and what they parse to."""

    raw: dict
    days: list[bool]

    @classmethod
    def from_post(cls, data, today: date) -> Draft:
        raw = {
            "title": "",
            "emoji": EMOJIS[0],
            "deadline": "21:00",
            "start": today.isoformat(),
            "end": "",
            "currency": "GBP",
            "stake": "5",
            "window": "12",
            "skips": str(SKIPS_PER_MONTH_DEFAULT),
            "partner": "",
        }
        if data is not None:
            for key in STATE_KEYS:
                if key in data:
                    raw[key] = data.get(key, "").strip()
        if data is not None and "days_sent" in data:
            days = [str(i) in data.getlist("days") for i in range(7)]
        else:
            days = [True] * 5 + [False] * 2
        return cls(raw=raw, days=days)

    def parse(self) -> tuple[PactTerms | None, dict[str, str]]:
        """PactTerms from the raw values, or the fields that didn't parse."""
        raw, errors = self.raw, {}
        try:
            hours, minutes = (int(p) for p in raw["deadline"].split(":")[:2])
            deadline = time(hours, minutes)
        except ValueError:
            errors["deadline_time"] = gettext("Pick a time, like 21:00.")
            deadline = time(21)
        start = end = None
        try:
            start = date.fromisoformat(raw["start"])
        except ValueError:
            errors["start_date"] = gettext("Pick a start date.")
        if raw["end"]:
            try:
                end = date.fromisoformat(raw["end"])
            except ValueError:
                errors["end_date"] = gettext("Pick an end date, or leave it empty.")
        currency = raw["currency"].upper()
        stake = 0
        try:
            stake = minor_units(raw["stake"], currency, "stake_amount")
        except DomainError as error:
            errors.update(error.details)
        try:
            window = int(raw["window"])
        except ValueError:
            window = 0
        try:
            skips = int(raw["skips"])
        except ValueError:
            skips = -1  # PactTerms.errors words the refusal
        title = raw["title"].strip()
        try:
            clean_text(title, "title")
        except DomainError as error:
            errors.update(error.details)
        if title and raw["emoji"] in EMOJIS:
            title = f"{title} {raw['emoji']}"
        terms = PactTerms(
            title=title,
            stake_amount=stake,
            currency=currency,
            schedule_days=self.days,
            deadline_time=deadline,
            start_date=start or date.min,
            end_date=end,
            dispute_window_hours=window,
            skips_per_month=skips,
            partner_username=raw["partner"],
        )
        return terms, errors

    def errors_for(self, steps, today: date) -> dict[str, str]:
        terms, errors = self.parse()
        domain = terms.errors(today=today)
        if "stake_amount" in domain and "stake_amount" not in errors:
            domain["stake_amount"] = gettext("Pick an amount from %(min)s to %(max)s.") % {
                "min": format_money(1, terms.currency),
                "max": format_money(10_000, terms.currency),
            }
        merged = {**domain, **errors}
        fields = {f for step in steps for f in STEP_FIELDS[step]}
        return {k: v for k, v in merged.items() if k in fields}

    def summary(self) -> str:
        terms, _ = self.parse()
        # Times in one style, the |clock filter's ("9:00 PM"; 00:00 is "midnight", rule 12).
        by = clock_text(terms.deadline_time)
        stake = format_money(terms.stake_amount, terms.currency) if terms.stake_amount else "?"
        return gettext("%(title)s • %(schedule)s by %(time)s • %(stake)s/miss") % {
            "title": terms.title or gettext("Your habit"),
            "schedule": schedule_text(self.days),
            "time": by,
            "stake": stake,
        }

    def summary_lines(self, zone: str) -> list[str]:
        """The terms the one-line summary leaves out: when, where, and the dispute window."""
        terms, _ = self.parse()
        lines = []
        if terms.start_date != date.min:
            lines.append(
                gettext("Starts %(date)s") % {"date": date_format(terms.start_date, "D j M Y")}
            )
        if terms.end_date:
            lines.append(
                gettext("Ends %(date)s") % {"date": date_format(terms.end_date, "D j M Y")}
            )
        else:
            lines.append(gettext("No end date"))
        lines.append(gettext("Deadlines in %(zone)s") % {"zone": zone})
        hours = terms.dispute_window_hours
        lines.append(
            ngettext(
                "Your partner has %(count)d hour to dispute a check-in",
                "Your partner has %(count)d hours to dispute a check-in",
                hours,
            )
            % {"count": hours}
        )
        lines.append(skips_text(terms.skips_per_month))
        return lines

    def quick_picks(self) -> list[tuple[str, str]]:
        currency = self.raw["currency"].upper()
        try:
            precision = get_currency_precision(currency)
        except Exception:  # noqa: BLE001 - an unknown code: offer GBP-like picks
            precision = 2
        scale = 100 if precision == 0 else 1
        return [
            (str(n * scale), format_money(int(Decimal(n * scale).scaleb(precision)), currency))
            for n in QUICK_PICKS
        ]
