"""The views layout stays readable: no view module over 500 lines, templates name their
URLs (`{% url %}`) instead of spelling paths, and the bot's Mini App links are reversed."""

import re
import uuid
from pathlib import Path

import pytest

from telegram_bot.keyboards import path_for, start_param_for

ROOT = Path(__file__).resolve().parents[2]
VIEW_MODULES = sorted((ROOT / "pacts" / "views").glob("*.py")) + [ROOT / "ledger" / "views.py"]
MAX_LINES = 500
PACT_ID = "0f0e8d6c-1b2a-4c3d-9e8f-7a6b5c4d3e2f"

# An app path spelled in a template attribute: href="/pacts/...", hx-post="/settings", ...
LITERAL_PATH = re.compile(r'\b(?:href|action|hx-get|hx-post|hx-put|hx-delete|data-[\w-]+)="/')
# Paths a name can't serve (none today); each one listed with its reason.
ALLOWED_LITERAL_PATHS: dict[str, int] = {}


def literal_paths() -> dict[str, int]:
    counts = {}
    for template in sorted((ROOT / "templates").rglob("*.html")):
        found = len(LITERAL_PATH.findall(template.read_text()))
        if found:
            counts[str(template.relative_to(ROOT))] = found
    return counts


def test_the_view_modules_exist_and_none_is_over_500_lines():
    assert len(VIEW_MODULES) > 5  # the package is found, so the check below checks something
    long = {
        str(module.relative_to(ROOT)): lines
        for module in VIEW_MODULES
        if (lines := len(module.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}, f"split these by screen: {long}"


def test_templates_name_their_urls_instead_of_spelling_paths():
    assert literal_paths() == ALLOWED_LITERAL_PATHS


def test_the_literal_path_check_sees_a_spelled_path():
    # Guards the regex above: it must catch the shapes templates used to spell.
    spelled = '<a href="/pacts/{{ pact.pk }}"> <form hx-post="/settings"> data-back="/"'
    assert len(LITERAL_PATH.findall(spelled)) == 3
    assert LITERAL_PATH.findall("<a href=\"{% url 'home' %}\">") == []


def test_the_named_urls_reverse_to_the_paths_the_app_serves():
    from django.urls import reverse

    pact_id = uuid.uuid4()
    assert reverse("pact_detail", kwargs={"pact_id": pact_id}) == f"/pacts/{pact_id}"
    assert reverse("day_action", args=[pact_id, "2026-01-05", "check-in"]) == (
        f"/pacts/{pact_id}/days/2026-01-05/check-in"
    )


@pytest.mark.parametrize(
    ("start_param", "path"),
    [
        ("invite_Ab3x9", "/invite/Ab3x9"),
        (f"pact_{PACT_ID}", f"/pacts/{PACT_ID}"),
        # Telegram's own start parameters may drop the dashes; the path is canonical.
        (f"pact_{PACT_ID.replace('-', '').upper()}", f"/pacts/{PACT_ID}"),
        ("pact_not-an-id", "/"),
        ("home", "/"),
    ],
)
def test_the_bots_start_parameters_open_the_reversed_path(start_param, path):
    assert path_for(start_param) == path
    if path != "/":
        assert path_for(start_param_for(path)) == path
