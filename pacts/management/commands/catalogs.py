"""manage.py catalogs update|compile|check: the translation catalogs without GNU gettext.

- update:  extract the marked strings from our code and templates into
           locale/<lang>/LC_MESSAGES/django.po (new ones empty, translations kept).
- compile: django.po → django.mo (what Django reads); scripts/_env, the Procfile and the
           test suite run it, so a fresh clone speaks every language.
- check:   list each msgid that lacks a translation, per language; exit 1 if any.
See habitpact/catalogs.py for why babel and not makemessages/compilemessages.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from habitpact import catalogs


class Command(BaseCommand):
    help = "Update, compile or check the translation catalogs (locale/*/LC_MESSAGES)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["update", "compile", "check"])

    def handle(self, *args, action: str, **options):
        if action == "update":
            for language, size in catalogs.update().items():
                self.stdout.write(f"{language}: {size} messages")
        elif action == "compile":
            for language, size in catalogs.compile_all().items():
                if options["verbosity"] > 0:
                    self.stdout.write(f"{language}: {size} translated messages compiled")
        else:
            gaps = catalogs.missing()
            if gaps:
                raise CommandError(describe_gaps(gaps))
            self.stdout.write(self.style.SUCCESS("Every message is translated."))


def describe_gaps(gaps: dict[str, list[str]]) -> str:
    """'N messages lack a translation' and then, per language, each msgid."""
    lines = [f"{sum(map(len, gaps.values()))} translations are missing:"]
    for language, msgids in sorted(gaps.items()):
        lines.append(f"{language} ({len(msgids)}):")
        lines.extend(f"  {msgid!r}" for msgid in msgids)
    lines.append(
        "Add them to locale/<lang>/LC_MESSAGES/django.po (manage.py catalogs update adds "
        "the new msgids), then manage.py catalogs compile."
    )
    return "\n".join(lines)
