"""The translation catalogs (rule 18): every marked string is translated in every shipped
language, the extractor really finds our strings, and the compiled catalogs are what
Django reads."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from django.utils.translation import gettext, ngettext

from habitpact import catalogs
from pacts.management.commands.catalogs import describe_gaps


@pytest.fixture(scope="module")
def messages():
    return catalogs.extract_messages()


def test_every_marked_string_has_a_translation_in_every_shipped_language(messages):
    gaps = catalogs.missing(messages)
    assert not gaps, describe_gaps(gaps)


def test_the_extractor_finds_python_template_plural_and_context_strings(messages):
    by_key = {message.key: message for message in messages}
    # Python: gettext and pgettext, each with where it was found.
    assert ("all square", None) in by_key
    assert by_key[("Pending", "status")].locations[0][0] == "pacts/templatetags/hp.py"


def test_templates_are_extracted_as_makemessages_would(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text(
        '{% load i18n %}<h1>{% translate "Settings" %}</h1>\n'
        '{% translate "May" context "month" %}\n'
        "{% blocktranslate count n=days %}{{ n }} day{% plural %}{{ n }} days"
        "{% endblocktranslate %}\n"
        "{% blocktranslate with name=user.name %}Hi {{ name }}!{% endblocktranslate %}",
        encoding="utf-8",
    )
    found = {m.key: m for m in catalogs.extract_messages(tmp_path)}
    assert found[("Settings", None)].locations == (("templates/page.html", 1),)
    assert ("May", "month") in found
    assert found[("%(n)s day", None)].id == ("%(n)s day", "%(n)s days")
    assert ("Hi %(name)s!", None) in found


def test_a_missing_translation_is_reported_by_msgid_and_language(messages, tmp_path, settings):
    settings.LOCALE_PATHS = [tmp_path]  # no catalogs at all
    gaps = catalogs.missing(messages[:2])
    assert set(gaps) == {"ru", "es", "pt-br"}
    report = describe_gaps(gaps)
    assert f"ru (2):\n  {messages[0].key[0]!r}" in report
    with pytest.raises(CommandError, match=f"^{3 * len(messages)} translations are missing"):
        call_command("catalogs", "check")


def test_russian_has_three_plural_forms_and_english_two():
    catalog = catalogs.read_catalog("ru")
    assert catalog.num_plurals == 3

    def hours(n):
        return ngettext("%(hours)s hour", "%(hours)s hours", n) % {"hours": n}

    with translation.override("ru"):
        assert [hours(n) for n in (1, 3, 5, 21, 22, 11)] == [
            "1 час",
            "3 часа",
            "5 часов",
            "21 час",
            "22 часа",
            "11 часов",
        ]
    with translation.override("en"):
        assert [hours(1), hours(5)] == ["1 hour", "5 hours"]


def test_compiled_catalogs_are_what_django_reads():
    assert catalogs.compile_all().keys() == {"ru", "es", "pt-br"}
    with translation.override("ru"):
        assert gettext("all square") == catalogs.read_catalog("ru").get("all square").string
        assert gettext("all square") != "all square"
    with translation.override("pt-br"):
        assert gettext("midnight") == "meia-noite"


def test_update_adds_new_msgids_empty_and_keeps_translations(tmp_path, settings, messages):
    shipped = {
        language: catalogs.po_path(language).read_bytes() for language in catalogs.languages()
    }
    settings.LOCALE_PATHS = [tmp_path]
    for language, content in shipped.items():
        catalogs.po_path(language).parent.mkdir(parents=True)
        catalogs.po_path(language).write_bytes(content)
    new = catalogs.Message("A brand-new string", None, (("pacts/new.py", 1),))
    catalogs.update([*messages, new])
    assert catalogs.missing([*messages, new]) == {
        "ru": ["A brand-new string"],
        "es": ["A brand-new string"],
        "pt-br": ["A brand-new string"],
    }
    assert catalogs.read_catalog("ru").get("all square").string
