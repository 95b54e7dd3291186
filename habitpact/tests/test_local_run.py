"""The local run: `scripts/run` starts Procfile.dev's web, worker and sender under honcho,
installs only what running needs, reads .env (the environment wins) and logs for a
person under DEBUG; `scripts/test` installs the dev extras."""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tomllib
import urllib.request
from pathlib import Path

from honcho.environ import expand_processes, parse_procfile

from habitpact.logging import QuietTaskChatter, TextFormatter

ROOT = Path(__file__).resolve().parents[2]


def procfile(name: str) -> dict[str, str]:
    return dict(parse_procfile((ROOT / name).read_text()).processes)


def test_procfile_dev_runs_the_procfiles_three_processes_for_honcho():
    dev = procfile("Procfile.dev")

    assert set(dev) == set(procfile("Procfile")) - {"release"} == {"web", "worker", "sender"}
    assert "manage.py runserver" in dev["web"] and "$PORT" in dev["web"]
    assert "manage.py qcluster" in dev["worker"]
    assert "manage.py deliver_outbox --loop" in dev["sender"]
    # honcho hands the web process the port scripts/run passes with -p.
    (web, *_) = expand_processes(dev, port=8123)
    assert (web.name, web.env["PORT"]) == ("web.1", "8123")


# --- the install step (scripts/_env), with a stand-in .venv that records its calls -----


def stand_in_checkout(tmp_path: Path) -> Path:
    """A copy of the scripts and pyproject.toml whose .venv/bin/python and honcho only
    write their arguments to `calls`, so the scripts' steps can be read back."""
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    for name in ("_env", "run", "test"):
        shutil.copy(ROOT / "scripts" / name, root / "scripts" / name)
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for tool in ("python", "honcho"):
        (bin_dir / tool).write_text(
            f'#!/bin/sh\necho "{tool} $*" >> "$(dirname "$0")/../../calls"\n'
        )
        (bin_dir / tool).chmod(0o755)
    return root


def run_script(root: Path, script: str) -> list[str]:
    calls = root / "calls"
    before = calls.read_text().splitlines() if calls.exists() else []
    env = {"PATH": os.environ["PATH"], "PORT": "8123", "HOME": str(root)}
    result = subprocess.run(
        ["bash", f"scripts/{script}"], cwd=root, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return calls.read_text().splitlines()[len(before) :]


def installs(calls: list[str]) -> list[str]:
    return [c for c in calls if c.startswith("python -m pip install -q -e")]


def test_run_installs_only_what_running_needs_and_test_adds_the_dev_extras(tmp_path):
    root = stand_in_checkout(tmp_path)

    calls = run_script(root, "run")
    assert installs(calls) == ["python -m pip install -q -e ."]
    assert calls[-1] == "honcho -f Procfile.dev -e /dev/null start -p 8123"
    assert any("manage.py setup_schedules" in c for c in calls)  # the sweeps run locally
    assert installs(run_script(root, "run")) == []  # the stamp holds

    calls = run_script(root, "test")
    assert installs(calls) == ["python -m pip install -q -e .[dev]"]
    assert calls[-1] == "python -m pytest"
    assert installs(run_script(root, "test")) == []
    assert installs(run_script(root, "run")) == []  # a dev install serves running too

    with (root / "pyproject.toml").open("a") as f:
        f.write("\n# changed\n")
    assert installs(run_script(root, "run")) == ["python -m pip install -q -e ."]
    assert [p.name for p in (root / ".venv").glob(".installed-*")] == [
        p.name for p in (root / ".venv").glob(".installed-*-base")
    ]  # the old version's stamps are gone


def test_the_tests_tools_are_dev_extras_not_running_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    running = " ".join(project["dependencies"])

    for tool in ("pytest", "ruff", "playwright", "schemathesis", "time-machine"):
        assert tool not in running
        assert any(dep.startswith(tool) for dep in project["optional-dependencies"]["dev"])
    assert "honcho" in running and "python-dotenv" in running


# --- settings: .env and the console ----------------------------------------------------


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO", "DATABASE", "LOG_", "ENV_FILE", "WEBAPP", "TELEGRAM"))
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


SHOW = (
    "from django.conf import settings as s; "
    "print(s.TELEGRAM_BOT_USERNAME, s.WEBAPP_URL, s.DEBUG, s.LOG_FORMAT)"
)


def test_settings_read_the_env_file_and_the_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# a comment\nTELEGRAM_BOT_USERNAME=FromFileBot\n"
        "WEBAPP_URL=http://file.example\nDJANGO_DEBUG=1\n"
    )

    result = manage(
        "shell",
        "-v",
        "0",
        "-c",
        SHOW,
        env={"ENV_FILE": str(env_file), "WEBAPP_URL": "http://env.example"},
    )

    assert result.returncode == 0, result.stderr
    # From the file; the environment's WEBAPP_URL over the file's; debug logs are text.
    assert result.stdout.split() == ["FromFileBot", "http://env.example", "True", "text"]


def test_production_logs_stay_json():
    result = manage(
        "shell", "-v", "0", "-c", SHOW, env={"ENV_FILE": "/nonexistent", "DJANGO_DEBUG": "0"}
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["HabitPactBot", "http://localhost:8000", "False", "json"]


def test_text_logs_keep_each_record_on_one_readable_line():
    record = logging.LogRecord("telegram_bot", logging.INFO, __file__, 1, "sent", None, None)
    record.chat_id = 1001
    record.text = '😬 Missed!\n+£5 "ouch"'
    record.buttons = ["Open Pact →"]

    assert TextFormatter().format(record) == (
        'INFO telegram_bot sent chat_id=1001 text="😬 Missed!\\n+£5 \\"ouch\\"" '
        'buttons=["Open Pact →"]'
    )


def test_the_dev_console_drops_django_q2s_per_task_chatter_only():
    def kept(message: str, level: int = logging.INFO) -> bool:
        record = logging.LogRecord("django-q", level, __file__, 1, message, None, None)
        return QuietTaskChatter().filter(record)

    assert not kept("Enqueued [habitpact] 8")
    assert not kept("Process-ab12 created task cola-july from schedule [deliver_outbox]")
    assert not kept("Process-ab12 processing ten-ack 'pacts.tasks.process_deadlines' [x]")
    assert not kept("Processed 'pacts.tasks.send_reminders' (island-video)")
    assert kept("Q Cluster hot-asparagus starting.")
    assert kept("Process-ab12 ready for work at 18977")
    assert kept("Processed 'x' (y)", logging.WARNING)


# --- the real thing: honcho starts the three, one Ctrl-C stops all -----------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_honcho_runs_web_worker_and_sender_and_one_ctrl_c_stops_them_all(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE", "LOG_"))}
    env.update(
        DJANGO_DEBUG="1",
        DATABASE_URL=f"sqlite:///{tmp_path / 'run.sqlite3'}",
        ENV_FILE="/nonexistent",
        TELEGRAM_BOT_TOKEN="",
        PYTHONUNBUFFERED="1",
        PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    )
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, timeout=180
    )
    assert migrate.returncode == 0
    port = free_port()
    honcho = subprocess.Popen(
        [Path(sys.executable).parent / "honcho", "-f", "Procfile.dev", "-e", "/dev/null"]
        + ["--no-colour", "start", "-p", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in honcho.stdout])
    reader.start()
    seen: list[str] = []

    def wait_for(*markers: str, within: float = 120) -> None:
        """Read honcho's console until every marker has appeared (or fail)."""
        deadline = time.monotonic() + within
        while not all(any(m in line for line in seen) for m in markers):
            remaining = deadline - time.monotonic()
            assert remaining > 0 and honcho.poll() is None, "".join(seen)
            with contextlib.suppress(queue.Empty):
                seen.append(lines.get(timeout=remaining))

    try:
        wait_for("Quit the server with CONTROL-C", "Q Cluster", "sender.1 started")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=30) as response:
            assert response.status == 200
        pids = [
            int(line.split("pid=")[1].rstrip(")\n")) for line in seen if "started (pid=" in line
        ]
        assert len(pids) == 3

        honcho.send_signal(signal.SIGINT)  # what Ctrl-C sends to the foreground process
        honcho.wait(timeout=60)
        reader.join(timeout=10)  # honcho's output ends with its exit
        seen.extend(lines.get() for _ in range(lines.qsize()))
        for name in ("web.1", "worker.1", "sender.1"):
            assert any(f"{name} stopped" in line for line in seen), "".join(seen)
        assert not [pid for pid in pids if alive(pid)]
    finally:
        if honcho.poll() is None:
            honcho.kill()
            honcho.wait()
        reader.join(timeout=10)


def test_the_demo_seeds_history_is_not_sent_again_by_the_local_sender(db):
    from django.core.management import call_command

    from outbox.models import OutboxMessage

    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115

    assert OutboxMessage.objects.filter(status="SENT").count() > 10
    assert not OutboxMessage.objects.filter(status="PENDING").exists()


def test_copying_env_example_changes_nothing_until_a_line_is_uncommented():
    """Settings read .env now: a verbatim copy must not point a checkout at a made-up
    database or turn debug off."""
    from dotenv import dotenv_values

    assert dotenv_values(ROOT / ".env.example") == {}
