"""Mini App pages (spec §9), at the site root. Templates and code name these
(`{% url 'pact_detail' pact.pk %}`, `reverse("pact_detail", ...)`), never spell them."""

from django.urls import path, re_path

from .views import (
    account,
    breaks,
    create,
    day,
    detail,
    dev,
    history,
    home,
    invite,
    recap,
    settings,
)

urlpatterns = [
    path("", home.home, name="home"),
    path("pacts/new", create.pact_new, name="pact_new"),
    path("pacts/<uuid:pact_id>", detail.pact_detail, name="pact_detail"),
    path("pacts/<uuid:pact_id>/cancel", detail.pact_withdraw, name="pact_withdraw"),
    path("pacts/<uuid:pact_id>/history", history.pact_history, name="pact_history"),
    path("pacts/<uuid:pact_id>/recap.png", recap.recap_png, name="pact_recap"),
    path("pacts/<uuid:pact_id>/recap-link", recap.recap_link, name="pact_recap_link"),
    path("pacts/<uuid:pact_id>/settings", settings.pact_settings, name="pact_settings"),
    path("pacts/<uuid:pact_id>/days/<str:day>", day.day_detail, name="day_detail"),
    re_path(
        r"^pacts/(?P<pact_id>[0-9a-f-]{36})/days/(?P<day>[^/]+)/"
        r"(?P<action>check-in|skip|miss|dispute|resolve|waive|approve|ask-skip|approve-skip|decline-skip)$",
        day.day_action,
        name="day_action",
    ),
    # Rule 10: breaks, from the pact screen.
    path("pacts/<uuid:pact_id>/breaks", breaks.break_new, name="break_new"),
    re_path(
        r"^pacts/(?P<pact_id>[0-9a-f-]{36})/breaks/(?P<break_id>[0-9a-f-]{36})/"
        r"(?P<action>approve|decline|end)$",
        breaks.break_action,
        name="break_action",
    ),
    path("invite/<str:code>", invite.invite, name="invite"),
    re_path(
        r"^invite/(?P<code>[^/]+)/(?P<answer>accept|decline)$",
        invite.invite,
        name="invite_answer",
    ),
    path("settings", account.user_settings, name="user_settings"),
    path("settings/delete", account.account_delete, name="account_delete"),
    path("settings/export", account.account_export, name="account_export"),
    path("dev/login", dev.dev_login, name="dev_login"),
]
