"""What the Mini App's home page costs a phone: HTML + CSS + JS, gzip-compressed as
whitenoise serves them, excluding Telegram's own telegram-web-app.js.

    .venv/bin/python bench/page_weight.py            # prints the table, fails over budget

Opening the home page transfers
1. the shell (the HTML of a full navigation),
2. the stylesheet and scripts it links (our app.js and htmx 2),
3. the home screen's content, loaded by htmx with the initData header,
measured here for the demo user Alex (`seed_demo`: three pacts with history) on a
throwaway in-memory SQLite database, in each language of settings.LANGUAGES.
Budget: 40 KB, for every language.
"""

from __future__ import annotations

import gzip
import os
import re
import sys
from pathlib import Path

BUDGET = 40 * 1024

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DATABASE_URL"] = "sqlite://:memory:"
os.environ.setdefault("TELEGRAM_BOT_TOKEN", "1:bench-token")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "habitpact.settings")
os.environ.setdefault("LOG_FORMAT", "text")
# Production-like (DEBUG off), on a database of its own.
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-not-a-secret")
os.environ["ALLOWED_HOSTS"] = "testserver"
os.environ["SECURE_SSL_REDIRECT"] = "0"
os.environ.pop("DJANGO_DEBUG", None)


def gz(data: bytes) -> int:
    # whitenoise compresses static files with gzip level 9; Django pages would be
    # compressed by the front proxy (or GZipMiddleware) at a similar level.
    return len(gzip.compress(data, compresslevel=9))


def main() -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.staticfiles import finders
    from django.core.management import call_command
    from django.test import Client

    from habitpact.testing import sign_init_data, tg_user
    from pacts.models import User

    # Same bytes as the hashed files whitenoise serves; no collectstatic needed here.
    settings.STORAGES["staticfiles"]["BACKEND"] = (
        "django.contrib.staticfiles.storage.StaticFilesStorage"
    )
    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    alex = User.objects.get(telegram_user_id=1001)

    client = Client()
    worst = 0
    # Rule 18: the same page in every language we ship (Russian runs longest).
    for language, name in settings.LANGUAGES:
        User.objects.filter(pk=alex.pk).update(language=language)
        alex.refresh_from_db()
        shell = client.get("/", headers={"Accept-Language": language}).content
        header = {"Authorization": "tma " + sign_init_data(tg_user(alex)), "HX-Request": "true"}
        screen = client.get("/", headers=header).content
        assert b"pact-card" in screen, "the home screen did not render for the demo user"

        rows = [
            ("shell HTML (GET /)", len(shell), gz(shell)),
            ("home content (htmx)", len(screen), gz(screen)),
        ]
        for src in re.findall(rb'(?:href|src)="/static/([^"]+)"', shell):
            path = finders.find(src.decode())
            data = Path(path).read_bytes()
            rows.append((f"/static/{src.decode()}", len(data), gz(data)))

        total = sum(row[2] for row in rows)
        worst = max(worst, total)
        width = max(len(row[0]) for row in rows)
        print(f"--- {name} ({language})")
        print(f"{'resource':<{width}}  {'raw':>8}  {'gzip':>8}")
        for label, raw, packed in rows:
            print(f"{label:<{width}}  {raw:>8,}  {packed:>8,}")
        print(f"{'total (excl. telegram-web-app.js)':<{width}}  {'':>8}  {total:>8,}")
    verdict = "OK" if worst < BUDGET else "OVER"
    print(f"budget {BUDGET:,} bytes, heaviest language: {verdict} ({worst / 1024:.1f} KB)")
    return 0 if worst < BUDGET else 1


if __name__ == "__main__":
    sys.exit(main())
