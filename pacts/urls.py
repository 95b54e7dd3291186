"""Mini App pages (spec §9), at the site root."""

from django.urls import path, re_path

from habitpact import miniapp

from . import recap_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("pacts/new", views.pact_new, name="pact_new"),
    path("pacts/<uuid:pact_id>", views.pact_detail, name="pact_detail"),
    path("pacts/<uuid:pact_id>/cancel", views.pact_withdraw, name="pact_withdraw"),
    path("pacts/<uuid:pact_id>/history", views.pact_history, name="pact_history"),
    path("pacts/<uuid:pact_id>/recap.png", recap_views.recap_png, name="pact_recap"),
    path("pacts/<uuid:pact_id>/recap-link", recap_views.recap_link, name="pact_recap_link"),
    path("pacts/<uuid:pact_id>/settings", views.pact_settings, name="pact_settings"),
    path("pacts/<uuid:pact_id>/days/<str:day>", views.day_detail, name="day_detail"),
    re_path(
        r"^pacts/(?P<pact_id>[0-9a-f-]{36})/days/(?P<day>[^/]+)/"
        r"(?P<action>check-in|skip|miss|dispute|resolve|waive)$",
        views.day_action,
        name="day_action",
    ),
    path("invite/<str:code>", views.invite, name="invite"),
    re_path(
        r"^invite/(?P<code>[^/]+)/(?P<answer>accept|decline)$",
        views.invite,
        name="invite_answer",
    ),
    path("settings", views.user_settings, name="user_settings"),
    path("settings/delete", views.account_delete, name="account_delete"),
    path("settings/export", views.account_export, name="account_export"),
    path("dev/login", miniapp.dev_login, name="dev_login"),
]
