"""The translation catalogs, in pure Python: extract, update, compile, check (rule 18).

Django's makemessages/compilemessages need GNU gettext (xgettext, msgmerge, msgfmt), a
system package a fresh machine may not have. babel (already a dependency, for money and
dates) reads and writes the same .po/.mo files, so we use it instead:

- extract: every Python file of ours through babel's Python extractor, and every template
  through Django's own `templatize` (what makemessages feeds xgettext) and then the same
  extractor, with Django's keywords (gettext, gettext_lazy, ngettext, pgettext, ...).
- update: merge the extracted messages into locale/<lang>/LC_MESSAGES/django.po (new
  ones with an empty msgstr, gone ones dropped, translations kept), with each language's
  Plural-Forms from CLDR (Russian: three forms).
- compile: django.po → django.mo beside it (written to a temporary file and renamed, so
  parallel test workers never read half a file).
- missing: (msgid, language) pairs that have no translation, for the CI test.

`manage.py catalogs update|compile|check` runs these.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from django.conf import settings
from django.utils.translation import to_locale

DOMAIN = "django"

# Django's translation functions, as babel keyword specs: which arguments are the
# message, the plural and the context ("c").
KEYWORDS = {
    "_": None,
    "gettext": None,
    "gettext_lazy": None,
    "gettext_noop": None,
    "ngettext": (1, 2),
    "ngettext_lazy": (1, 2),
    "pgettext": ((1, "c"), 2),
    "pgettext_lazy": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "npgettext_lazy": ((1, "c"), 2, 3),
}

# Where our strings live (the project's own apps and templates; not .venv, tests, tools).
SOURCE_DIRS = ("habitpact", "pacts", "ledger", "telegram_bot", "outbox", "templates")
SKIP_PARTS = {"tests", "migrations", "__pycache__"}


@dataclass(frozen=True)
class Message:
    id: str | tuple[str, str]  # (singular, plural) for a plural
    context: str | None
    locations: tuple[tuple[str, int], ...]

    @property
    def key(self) -> tuple[str, str | None]:
        singular = self.id[0] if isinstance(self.id, tuple) else self.id
        return singular, self.context


def source_files(base: Path | None = None) -> Iterator[Path]:
    base = base or Path(settings.BASE_DIR)
    for top in SOURCE_DIRS:
        root = base / top
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if SKIP_PARTS & set(path.relative_to(base).parts):
                continue
            if path.suffix in (".py", ".html", ".txt") and path.is_file():
                yield path


def _python_source(path: Path) -> bytes:
    """A Python file as is; a template turned into Python by Django's templatize."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".py":
        return text.encode("utf-8")
    from django.utils.translation.template import templatize

    # templatize keeps the template's lines (each message a one-line repr) but not valid
    # indentation, which xgettext ignores and Python's tokenizer does not.
    python = templatize(text, origin=str(path))
    return "\n".join(line.lstrip() for line in python.split("\n")).encode("utf-8")


def extract_messages(base: Path | None = None) -> list[Message]:
    """Every message marked for translation in our sources, first location first."""
    base = base or Path(settings.BASE_DIR)
    found: dict[tuple, Message] = {}
    for path in source_files(base):
        relative = str(path.relative_to(base))
        source = io.BytesIO(_python_source(path))
        for lineno, message, _comments, context in extract(
            "python", source, keywords=KEYWORDS, options={"encoding": "utf-8"}
        ):
            key = (message, context)
            if key in found:
                old = found[key]
                found[key] = Message(old.id, context, (*old.locations, (relative, lineno)))
            else:
                found[key] = Message(message, context, ((relative, lineno),))
    return list(found.values())


def languages() -> list[str]:
    """The languages with a catalog: all of settings.LANGUAGES but the source's (English)."""
    return [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]


def po_path(language: str) -> Path:
    return Path(settings.LOCALE_PATHS[0]) / to_locale(language) / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(language: str) -> Catalog:
    path = po_path(language)
    if not path.exists():
        return Catalog(locale=to_locale(language), domain=DOMAIN)
    with path.open("rb") as handle:
        return read_po(handle, locale=to_locale(language), domain=DOMAIN)


def update(messages: list[Message] | None = None) -> dict[str, int]:
    """Merge the sources' messages into each language's .po; returns msgids per language."""
    messages = extract_messages() if messages is None else messages
    template = Catalog(domain=DOMAIN, project="HabitPact")
    for message in messages:
        template.add(message.id, locations=message.locations, context=message.context)
    sizes = {}
    for language in languages():
        catalog = read_catalog(language)
        created = catalog.creation_date  # kept, so an update without changes is no diff
        # No fuzzy guesses: a new msgid starts empty and the check reports it.
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        catalog.creation_date = catalog.revision_date = created
        catalog.project, catalog.version = "HabitPact", "1"
        catalog.copyright_holder = catalog.last_translator = catalog.language_team = "HabitPact"
        catalog.msgid_bugs_address = ""
        catalog.obsolete.clear()
        catalog.fuzzy = False
        path = po_path(language)
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        write_po(buffer, catalog, width=100, omit_header=False, sort_by_file=True)
        path.write_bytes(buffer.getvalue())
        sizes[language] = len([m for m in catalog if m.id])
    return sizes


def compile_all() -> dict[str, int]:
    """Write django.mo beside each django.po; returns the translated messages per language."""
    written = {}
    for language in languages():
        path = po_path(language)
        if not path.exists():
            continue
        catalog = read_catalog(language)
        target = path.with_suffix(".mo")
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        if target.exists() and target.read_bytes() == buffer.getvalue():
            written[language] = len([m for m in catalog if m.id and m.string])
            continue
        handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".mo.tmp")
        with os.fdopen(handle, "wb") as out:
            out.write(buffer.getvalue())
        os.replace(temporary, target)
        written[language] = len([m for m in catalog if m.id and m.string])
    return written


def _translated(string: str | tuple, forms: int) -> bool:
    if isinstance(string, tuple | list):
        return len(string) >= forms and all(part.strip() for part in string)
    return bool(string.strip())


def missing(messages: list[Message] | None = None) -> dict[str, list[str]]:
    """{language: [msgid, ...]} for every source message with no translation (absent
    from the shipped catalog, empty, fuzzy, or a plural with an empty form)."""
    messages = extract_messages() if messages is None else messages
    result: dict[str, list[str]] = {}
    for language in languages():
        catalog = read_catalog(language)
        for message in messages:
            singular, context = message.key
            entry = catalog.get(singular, context=context)
            forms = catalog.num_plurals if isinstance(message.id, tuple) else 1
            if entry is None or entry.fuzzy or not _translated(entry.string, forms):
                label = singular if context is None else f"{context}|{singular}"
                result.setdefault(language, []).append(label)
    return result
