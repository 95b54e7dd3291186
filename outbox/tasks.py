"""Jobs django-q2 runs by dotted path (scheduled in `pacts.tasks.JOBS`)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.utils import timezone

from .models import OutboxMessage

log = logging.getLogger(__name__)

# How long a message that has reached its end (sent, refused, given up) is kept: for the
# privacy export, for an admin to queue a FAILED one again, and for the dedupe key to
# stop a doubled write (every writer re-checks state, so a duplicate can only come from
# a rerun within minutes). Longer than any message's shelf life (`pacts.reach`), so an
# UNDELIVERABLE row is kept as long as it could still be sent. Pruning keeps the
# outbox's indexes the size of a month, not of the app's whole history (issue 17).
RETENTION = timedelta(days=30)


def prune_outbox(now: datetime | None = None, *, batch_size: int = 5000) -> int:
    """Daily: delete the messages finished more than RETENTION ago; never a PENDING one.
    In batches, oldest first (ids grow with time, so each batch reads the primary key
    from its start). Returns how many."""
    cutoff = (now or timezone.now()) - RETENTION
    finished = OutboxMessage.objects.exclude(status=OutboxMessage.Status.PENDING).filter(
        updated_at__lt=cutoff
    )
    total = 0
    while True:
        ids = list(finished.order_by("id").values_list("id", flat=True)[:batch_size])
        if not ids:
            break
        total += OutboxMessage.objects.filter(id__in=ids).delete()[0]
    log.info("outbox_pruned", extra={"deleted": total})
    return total
