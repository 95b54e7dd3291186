"""gunicorn settings for the Procfile's `web` process (gunicorn reads this file itself).

Metrics: each worker is its own process, so the request-latency histogram uses
prometheus_client's multiprocess mode. The variable must be set before any worker
imports prometheus_client (this file runs first, in the master), the directory must
start empty on every boot (stale files from a previous run would add old samples), and a
dead worker's files are marked so (see habitpact/metrics.py).

The directory belongs to this deployment: `PROMETHEUS_MULTIPROC_DIR` when set, else one
in the temp dir named for this checkout and port. A shared name (it was
/tmp/habitpact-prometheus) let a second server on the machine wipe the first one's
live samples at boot, and mix its own into them.
"""

import glob
import hashlib
import os
import tempfile
from pathlib import Path

port = os.environ.get("PORT", "8000")
bind = f"0.0.0.0:{port}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
accesslog = None  # every request is logged once, as JSON, by habitpact.logging
errorlog = "-"


def deployment_metrics_dir() -> str:
    """A temp directory for this checkout and port: habitpact-prometheus-<hash>."""
    project = Path(__file__).resolve().parent
    tag = hashlib.sha256(f"{project}:{port}".encode()).hexdigest()[:12]
    return os.path.join(tempfile.gettempdir(), f"habitpact-prometheus-{tag}")


os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", deployment_metrics_dir())


def on_starting(server):
    """Start with no samples: remove prometheus_client's own files (`*.db`) only, so a
    directory that also holds anything else keeps it."""
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(path, exist_ok=True)
    for stale in glob.glob(os.path.join(glob.escape(path), "*.db")):
        if os.path.isfile(stale):
            os.remove(stale)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
