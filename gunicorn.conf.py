"""gunicorn settings for the Procfile's `web` process (gunicorn reads this file itself).

Metrics: each worker is its own process, so the request-latency histogram uses
prometheus_client's multiprocess mode. The variable must be set before any worker
imports prometheus_client (this file runs first, in the master), the directory must
start empty on every boot (stale files from a previous run would add old samples), and a
dead worker's files are marked so (see habitpact/metrics.py).
"""

import os
import shutil
import tempfile

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
accesslog = None  # every request is logged once, as JSON, by habitpact.logging
errorlog = "-"

os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), "habitpact-prometheus")
)


def on_starting(server):
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
