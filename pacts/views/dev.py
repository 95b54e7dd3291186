"""DEBUG only: sign in as any user in a plain browser (the Mini App without Telegram)."""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from habitpact.auth import issue_token
from pacts.models import Pact, User


def dev_login(request: HttpRequest) -> HttpResponse:
    """DEBUG only: pick a user and use the Mini App in a normal browser.

    The page stores a bearer token for the chosen user in the tab's sessionStorage; the
    page script sends it as the `Authorization` header, exactly as it sends initData
    inside Telegram. Pending invites are listed with their `/invite/<code>` links and a
    button per other user that signs in and opens the invite (`next`), which is how the
    second person answers an invite in a plain browser. With DEBUG off this view does
    not exist (404).
    """
    if not settings.DEBUG:
        raise Http404("No dev login outside DEBUG.")
    chosen, next_url = None, reverse("home")
    if request.method == "POST":
        chosen = User.objects.filter(pk=request.POST.get("user"), is_active=True).first()
        wanted = request.POST.get("next", "")
        # Only a path on this site: the page navigates there with the token.
        if wanted.startswith("/") and url_has_allowed_host_and_scheme(wanted, allowed_hosts=None):
            next_url = wanted
    users = list(
        User.objects.filter(is_active=True, deleted_at__isnull=True).order_by("telegram_user_id")[
            :50
        ]
    )
    invites = [
        {"pact": pact, "answerers": [u for u in users if u.pk != pact.created_by_user_id]}
        for pact in Pact.objects.filter(
            status=Pact.Status.PENDING_ACCEPT, invite_code__isnull=False
        )
        .select_related("created_by_user")
        .order_by("-created_at")[:20]
    ]
    context = {
        "users": users,
        "invites": invites,
        "chosen": chosen,
        "next_url": next_url,
        "token": issue_token(chosen) if chosen else "",
    }
    return TemplateResponse(request, "dev_login.html", context)
