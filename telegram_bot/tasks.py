"""Jobs django-q2 runs by dotted path (the core never imports the bot)."""

from __future__ import annotations

from .delivery import deliver_outbox as drain_outbox
from .models import ProcessedUpdate


def deliver_outbox() -> dict:
    """Every minute: send what is due, for at most 45 s (the cluster's timeout is 90 s).
    A no-op when the `--loop` sender process is running, which holds the sender lock."""
    report = drain_outbox(max_seconds=45.0)
    ProcessedUpdate.prune()
    return report.as_dict()
