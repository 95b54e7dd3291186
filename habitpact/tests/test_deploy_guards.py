"""Issue 11's operations guards, run as the real processes would: a server refuses the
public dev key for JWTs, and gunicorn's metrics directory belongs to its deployment."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from habitpact.tests.test_deploy import ROOT

GUNICORN = str(ROOT / ".venv/bin/gunicorn") if (ROOT / ".venv/bin/gunicorn").exists() else None


def clean_env(**extra: str) -> dict[str, str]:
    """This machine's environment without any of our settings, plus `extra`."""
    ours = ("DJANGO", "DATABASE", "JWT", "PROMETHEUS", "TELEGRAM", "PYTEST")
    base = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    return {**base, **extra}


def check_gunicorn(env: dict[str, str]) -> subprocess.CompletedProcess:
    """`gunicorn --check-config`: loads the WSGI application as `web` would, then exits."""
    return subprocess.run(
        [GUNICORN or "gunicorn", "--check-config", "-c", "gunicorn.conf.py", "habitpact.wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_server_without_debug_refuses_to_sign_tokens_with_the_dev_key():
    result = check_gunicorn(clean_env(DJANGO_DEBUG="0"))

    assert result.returncode != 0
    assert "public dev key" in result.stderr and "JWT_SECRET" in result.stderr


@pytest.mark.parametrize(
    "env",
    [
        {"DJANGO_DEBUG": "0", "JWT_SECRET": "a-real-secret-0123456789abcdef0123456789abcdef"},
        {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "a-real-django-secret-0123456789abcdef012345"},
        {"DJANGO_DEBUG": "1"},
    ],
    ids=["jwt-secret", "django-secret", "debug"],
)
def test_a_server_starts_with_a_real_secret_or_in_debug(env):
    result = check_gunicorn(clean_env(**env))

    assert result.returncode == 0, result.stdout + result.stderr


def test_offline_commands_still_run_without_secrets():
    """CI's `makemigrations --check` runs with no DEBUG and no secrets: only serving
    is refused."""
    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr


# --- gunicorn's prometheus directory -----------------------------------------------------


def gunicorn_config(env: dict[str, str], code: str) -> str:
    """Run gunicorn.conf.py as gunicorn does (plain exec), then `code`; its stdout."""
    script = f"import runpy, types\nconf = runpy.run_path('gunicorn.conf.py')\nimport os\n{code}\n"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_metrics_directory_defaults_to_one_for_this_deployment_not_a_shared_one():
    path = gunicorn_config(clean_env(), "print(os.environ['PROMETHEUS_MULTIPROC_DIR'])")
    other_port = gunicorn_config(
        clean_env(PORT="8123"), "print(os.environ['PROMETHEUS_MULTIPROC_DIR'])"
    )

    assert path != "/tmp/habitpact-prometheus"
    assert os.path.basename(path).startswith("habitpact-prometheus-")
    assert other_port != path  # two servers from one checkout keep their own samples


def test_the_metrics_directory_comes_from_the_environment(tmp_path):
    chosen = tmp_path / "metrics"
    path = gunicorn_config(
        clean_env(PROMETHEUS_MULTIPROC_DIR=str(chosen)),
        "print(os.environ['PROMETHEUS_MULTIPROC_DIR'])",
    )

    assert path == str(chosen)


def test_booting_clears_only_prometheus_files_from_the_directory(tmp_path):
    (tmp_path / "counter_123.db").write_text("stale")
    (tmp_path / "histogram_456.db").write_text("stale")
    (tmp_path / "someone-elses-file.txt").write_text("keep me")
    (tmp_path / "a-directory").mkdir()

    gunicorn_config(clean_env(PROMETHEUS_MULTIPROC_DIR=str(tmp_path)), "conf['on_starting'](None)")

    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-directory", "someone-elses-file.txt"]


# --- a worker's start-up ------------------------------------------------------------------


def test_a_worker_loads_every_view_at_start_and_hides_them_from_the_collector():
    """habitpact.wsgi (what gunicorn loads in each worker) imports the URLconf and so
    every view before the first request, then freezes what it loaded: full collections
    no longer walk the worker's modules on each request."""
    code = (
        "import gc, sys\n"
        "assert gc.get_freeze_count() == 0\n"
        "import habitpact.wsgi\n"
        "print(gc.get_freeze_count(), 'pacts.api' in sys.modules, 'ledger.views' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean_env(DJANGO_DEBUG="1"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    frozen, api_loaded, pages_loaded = result.stdout.split()
    assert (api_loaded, pages_loaded) == ("True", "True")
    assert int(frozen) > 50_000
