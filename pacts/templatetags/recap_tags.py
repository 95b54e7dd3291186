"""Template filters for the recap picture (pacts/recap.py)."""

from __future__ import annotations

from datetime import date, timedelta

from django import template

from pacts.recap import week_label

register = template.Library()


@register.filter
def recap_week(day: date | None, weeks_back: int = 0) -> str:
    """The ISO week (`2025-W04`) holding `day`, or the one `weeks_back` weeks before:
    the `week` parameter of /pacts/<id>/recap.png."""
    if day is None:
        return ""
    monday = day - timedelta(days=day.weekday(), weeks=int(weeks_back))
    return week_label(monday)
