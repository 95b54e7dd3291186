"""Reading the Mini App's form fields: raw POST strings into values, or a form error.

One place for what every form field has to survive (drills/hostile.py): a NUL byte
(PostgreSQL refuses it in text, which was a 500), text longer than its column, and
numbers that are not finite, not whole in the currency's minor units, or absurdly big
(`Infinity`, `1e999999`). A bad value raises DomainError VALIDATION_ERROR with
{field: message}; the views show it inline like any refusal, and nothing changes.
The API gets the same protection from DRF's fields (habitpact/api.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, DecimalException

from babel.numbers import get_currency_precision
from django.utils.translation import gettext as _

from habitpact.errors import DomainError

# More than any stake, balance or settlement could be (10 000 minor units per miss),
# small enough that no arithmetic on it is slow or overflows a bigint column.
MAX_MINOR_UNITS = 10**12


def invalid(field: str, message: str) -> DomainError:
    return DomainError("VALIDATION_ERROR", message, {field: message})


def clean_text(value: str, field: str) -> str:
    """`value` if it can be stored as text; a form error for a NUL byte."""
    if "\x00" in value:
        raise invalid(field, _("That text has a character we can't keep. Try typing it again."))
    return value


def form_text(data: Mapping[str, str], field: str, *, max_length: int) -> str:
    """A free-text field, stripped and cut to `max_length` (as the inputs' maxlength)."""
    return clean_text(str(data.get(field, "")), field).strip()[:max_length]


def form_key(data: Mapping[str, str], field: str, *, max_length: int = 64) -> str | None:
    """An idempotency key: None when absent; a form error when too long to store
    (a cut key could match someone else's retry, so it is refused, not shortened)."""
    value = clean_text(str(data.get(field, "")), field)
    if len(value) > max_length:
        raise invalid(field, _("That request looked odd. Reload and try again."))
    return value or None


def minor_units(raw: str, currency: str, field: str) -> int:
    """An amount typed in major units ("5", "5.50", "5,50") → minor units (500).

    A form error unless it is a finite number, whole in the currency's minor units and
    at most MAX_MINOR_UNITS (the domain then checks its own range, in its words).
    """
    message = _("Enter an amount, like 5 or 5.50.")
    try:
        amount = Decimal(raw.strip().replace(",", "."))
        if not amount.is_finite() or abs(amount) > MAX_MINOR_UNITS:
            raise invalid(field, message)
        minor = amount.scaleb(get_currency_precision(currency))
    except (DecimalException, ValueError, KeyError):
        raise invalid(field, message) from None
    if minor != minor.to_integral_value() or abs(minor) > MAX_MINOR_UNITS:
        raise invalid(field, message)
    return int(minor)
