"""A pact's history: a month calendar of day states and the month's days as a list."""

from __future__ import annotations

import uuid
from calendar import Calendar
from datetime import date, timedelta

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from habitpact.miniapp import acting_user
from habitpact.screens import render_screen, screen
from pacts.actions import pact_for
from pacts.templatetags.hp import first_weekday, weekday_names


def _month(value: str | None, fallback: date) -> date:
    """The first of `?month=YYYY-MM`, or of `fallback`'s month when it isn't one. Years
    stop short of date's limits, so the previous and next month always exist."""
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        if 1 < year < 9999:
            return date(year, month, 1)
    except ValueError:
        pass
    return fallback.replace(day=1)


def _add_months(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@screen("GET")
def pact_history(request: HttpRequest, pact_id: uuid.UUID) -> HttpResponse:
    """A month calendar of day states, and the month's days as a list."""
    user = acting_user(request)
    pact = pact_for(user, pact_id)
    now = timezone.now()
    today = pact.local_today(now)
    month = _month(request.GET.get("month"), today)
    following = _add_months(month, 1)
    days = {d.date: d for d in pact.days.filter(date__gte=month, date__lt=following)}
    # Break days the job has not created yet still show as days off (rule 10).
    planned = pact.breaks.day_dates(month, following - timedelta(days=1))
    weeks = [
        [
            {
                "date": d,
                "day": days.get(d),
                "in_month": d.month == month.month,
                "is_today": d == today,
                "on_break": d in planned and pact.is_scheduled_on(d),
            }
            for d in week
        ]
        for week in Calendar(firstweekday=first_weekday()).monthdatescalendar(
            month.year, month.month
        )
    ]
    first_month = pact.start_date.replace(day=1)
    context = {
        "pact": pact,
        "month": month,
        "weeks": weeks,
        "day_list": sorted(days.values(), key=lambda d: d.date, reverse=True),
        "previous": _add_months(month, -1) if month > first_month else None,
        "next": following if following <= today.replace(day=1) else None,
        "weekday_letters": [weekday_names("narrow")[(first_weekday() + i) % 7] for i in range(7)],
        "today": today,
    }
    fragment = "month" if request.htmx and request.GET.get("month") else None
    return render_screen(request, "pacts/history.html", context, fragment=fragment)
