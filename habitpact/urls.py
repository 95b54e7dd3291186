from django.contrib import admin
from django.http import HttpRequest, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path

from habitpact.api import health
from habitpact.metrics import metrics_view
from habitpact.ratelimit import AdminLoginForm
from telegram_bot.webhook import telegram_webhook

# The admin's sign-in page counts attempts per IP and per username (habitpact/ratelimit.py).
admin.site.login_form = AdminLoginForm


def favicon(request: HttpRequest) -> HttpResponsePermanentRedirect:
    """/favicon.ico, which browsers ask for before reading any <link rel="icon">: the
    static SVG icon (resolved per request, so the manifest's hashed name is used)."""
    return HttpResponsePermanentRedirect(static("favicon.svg"))


urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    path("admin/", admin.site.urls),
    # JSON API (spec §7) with its OpenAPI schema (/api/v1/schema/) and docs (/api/v1/docs/).
    path("api/v1/", include("habitpact.api_urls")),
    path("health", health, name="health"),
    path("metrics", metrics_view, name="metrics"),
    # Telegram's updates (setWebhook via `manage.py set_webhook`), secret-token guarded.
    path("webhook/tg", telegram_webhook, name="telegram_webhook"),
    # The Mini App's pages (spec §9) at the site root; keep these last.
    path("", include("ledger.urls")),
    path("", include("pacts.urls")),
]

# An address no route matches: the Mini App's own screen (or the API's envelope).
handler404 = "habitpact.screens.page_not_found"
