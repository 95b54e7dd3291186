"""Deployment: production settings pass `check --deploy`, the Procfile's processes are
there, the release step copes without a bot token, and the security headers hold."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from habitpact.security import DEFAULT_POLICY, merge_policy

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DATABASE_URL": "postgres://habitpact:pw@db.invalid:5432/habitpact",
    "DJANGO_SECRET_KEY": "k3Y-" + "x7Qp9ZrT2mW8vL4nB6cF1hJ5sD0gA3eR" * 2,
    "DJANGO_DEBUG": "0",
    "ALLOWED_HOSTS": "habitpact.example.com",
    "WEBAPP_URL": "https://habitpact.example.com",
    "JWT_SECRET": "another-long-random-string-for-tokens-0123456789",
    "TELEGRAM_BOT_TOKEN": "123456:ABC-example",
    "TELEGRAM_WEBHOOK_SECRET": "webhook-secret",
    "METRICS_TOKEN": "metrics-token",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_production_settings():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}

    result = run_manage("check", env=env)

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_the_procfile_runs_web_worker_and_release():
    lines = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )

    assert "gunicorn habitpact.wsgi" in lines["web"]
    assert "collectstatic" in lines["web"]
    assert "qcluster" in lines["worker"]
    # Every process that renders text compiles the translations first (rule 18).
    for process in ("web", "worker", "sender"):
        assert "manage.py catalogs compile" in lines[process], process
    assert lines["release"].strip() == "scripts/release"
    release = (ROOT / "scripts/release").read_text()
    assert "migrate" in release and "setup_schedules" in release and "set_webhook" in release


def test_the_release_step_succeeds_without_a_bot_token(tmp_path):
    env = {
        **PRODUCTION_ENV,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'release.sqlite3'}",
        "PYTHON": sys.executable,
    }
    del env["TELEGRAM_BOT_TOKEN"]
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE"))}

    result = subprocess.run(
        [str(ROOT / "scripts/release")],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "skipping webhook registration" in result.stdout
    assert "process_deadlines" in result.stdout  # the schedules were set up


def test_production_uses_whitenoise_compressed_manifest_storage():
    code = "from django.conf import settings; print(settings.STORAGES['staticfiles']['BACKEND'])"
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**os.environ, **PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "habitpact.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.stdout.strip() == "whitenoise.storage.CompressedManifestStaticFilesStorage"


@pytest.fixture
def production_security(settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 31_536_000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_HSTS_PRELOAD = True


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https_except_the_health_check(client, production_security):
    redirected = client.get("/admin/login/")
    health = client.get("/health")

    assert redirected.status_code == 301
    assert redirected["Location"].startswith("https://")
    assert health.status_code == 200


@pytest.mark.django_db
def test_https_answers_carry_hsts_and_the_csp(client, production_security):
    response = client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="https")

    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == ("max-age=31536000; includeSubDomains; preload")
    assert "script-src 'self' https://telegram.org" in response["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_mini_app_pages_stay_frameable_by_telegram_and_get_the_site_policy(client):
    response = client.get("/")

    policy = response["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://web.telegram.org" in policy
    assert "frame-ancestors 'self';" not in policy + ";"
    assert "script-src 'self' https://telegram.org" in policy
    assert "X-Frame-Options" not in response


def test_a_views_own_directives_win_over_the_site_policy():
    merged = merge_policy("frame-ancestors https://web.telegram.org", DEFAULT_POLICY)

    assert merged.startswith("frame-ancestors https://web.telegram.org; default-src 'self'")
    assert merged.count("frame-ancestors") == 1
