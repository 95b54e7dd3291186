"""The four-step create flow (the draft it carries between steps is pacts.forms.Draft)."""

from __future__ import annotations

import logging
from datetime import date
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from habitpact.errors import DomainError
from habitpact.miniapp import acting_user
from habitpact.screens import render_screen, screen
from pacts.actions import invite_link, pact_create, user_update_settings
from pacts.forms import (
    CURRENCIES,
    EMOJIS,
    SKIP_CHOICES,
    STEP_FIELDS,
    TITLE_MAX,
    WINDOWS,
    Draft,
)
from pacts.models import User
from pacts.templatetags.hp import first_weekday, weekday_names
from pacts.views.common import zone_choices

log = logging.getLogger(__name__)


def _create_context(draft: Draft, step: int, errors: dict, user: User, today: date) -> dict:
    return {
        "step": step,
        "draft": draft,
        "raw": draft.raw,
        # ISO indexes (schedule_days is Monday first), shown from the locale's first day.
        "days": [
            (i, weekday_names()[i], draft.days[i])
            for i in ((first_weekday() + k) % 7 for k in range(7))
        ],
        "errors": errors,
        "emojis": EMOJIS,
        "title_max": TITLE_MAX,
        "currencies": CURRENCIES,
        "windows": WINDOWS,
        "skip_choices": SKIP_CHOICES,
        "quick_picks": draft.quick_picks(),
        "summary": draft.summary() if step == 4 else "",
        "summary_lines": draft.summary_lines(user.timezone) if step == 4 else [],
        "today": today,
        "zone": user.timezone,
        "carry": [(k, v) for k, v in draft.raw.items() if k not in STEP_STATE_FIELDS.get(step, ())],
        "carry_days": step != 2,
    }


STEP_STATE_FIELDS = {
    1: ("title", "emoji"),
    2: ("deadline", "start", "end"),
    3: ("currency", "stake", "window", "skips"),
    4: ("partner",),
}


@screen("GET", "POST")
def pact_new(request: HttpRequest) -> HttpResponse:
    """The four-step create flow. Each step posts every value so far (hidden inputs);
    the server validates the step through PactTerms.errors() and shows the next step,
    or the same one with its errors inline. The last step creates the pact."""
    user = acting_user(request)
    now = timezone.now()
    today = now.astimezone(user.tz).date()
    if request.method == "GET":
        draft = Draft.from_post(None, today)
        return render_screen(request, "pacts/new.html", _create_context(draft, 1, {}, user, today))
    draft = Draft.from_post(request.POST, today)
    try:
        step = min(max(int(request.POST.get("step", "1")), 1), 4)
    except ValueError:
        step = 1
    go = request.POST.get("go", "next")
    errors: dict[str, str] = {}
    picking_zone = False
    if go == "zone":
        # "Change" the time zone inside the flow, so the draft (this form) survives.
        picking_zone, step = True, 2
    elif go == "set_zone":
        step = 2
        try:
            user_update_settings(user, timezone=request.POST.get("new_zone", "").strip())
            today = now.astimezone(user.tz).date()
        except DomainError as refusal:
            errors, picking_zone = dict(refusal.details), True
            user.refresh_from_db()
    elif go == "back":
        step = max(step - 1, 1)
    elif go == "next":
        errors = draft.errors_for([step], today)
        if not errors:
            step = min(step + 1, 4)
    elif go == "create":
        errors = draft.errors_for([1, 2, 3, 4], today)
        if errors:
            step = min(s for s, fields in STEP_FIELDS.items() if set(fields) & set(errors))
        else:
            terms, _errors = draft.parse()
            try:
                pact = pact_create(initiator=user, terms=terms, now=now)
            except DomainError as refusal:
                context = _create_context(draft, 4, refusal.details or {}, user, today)
                return render_screen(
                    request, "pacts/new.html", context, fragment="step", error=refusal
                )
            link = invite_link(pact)
            share = (
                "https://t.me/share/url?url="
                + quote(link, safe="")
                + "&text="
                + quote(
                    _("Hold me to it: %(title)s. Accept my HabitPact?") % {"title": pact.title},
                    safe="",
                )
            )
            log.info("miniapp_pact_created", extra={"pact_id": str(pact.pk)})
            return render_screen(
                request,
                "pacts/new.html",
                {"pact": pact, "invite_link": link, "share_link": share, "created": True},
                fragment="created",
                success=_("Pact created! 🚀"),
            )
    context = _create_context(draft, step, errors, user, today)
    if picking_zone:
        context["picking_zone"] = True
        context["zones"] = zone_choices(request.headers.get("X-Timezone"), user.timezone)
    return render_screen(request, "pacts/new.html", context, fragment="step")
