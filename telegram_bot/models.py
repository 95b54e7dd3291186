"""The bot's own table: Telegram updates already taken, so none is handled twice.

Telegram redelivers an update whenever the webhook does not answer 2xx in time, and long
polling may hand one out again after a restart. Each handler first inserts the update's
id here (a primary key, so a second insert fails) and only then acts.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, models, transaction
from django.utils import timezone

KEEP_PROCESSED_UPDATES = timedelta(days=7)


class ProcessedUpdate(models.Model):
    update_id = models.BigIntegerField(primary_key=True)
    kind = models.CharField(max_length=40, blank=True, default="")
    received_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        db_table = "telegram_processed_updates"

    def __str__(self) -> str:
        return f"update {self.update_id} ({self.kind})"

    @classmethod
    def claim(cls, update_id: int, kind: str = "") -> bool:
        """True if this process is the first to take `update_id` (then it must handle it)."""
        try:
            with transaction.atomic():
                cls.objects.create(update_id=update_id, kind=kind[:40])
        except IntegrityError:
            return False
        return True

    @classmethod
    def prune(cls, now: datetime | None = None) -> int:
        """Forget updates older than a week: Telegram never redelivers that late."""
        cutoff = (now or timezone.now()) - KEEP_PROCESSED_UPDATES
        deleted, _ = cls.objects.filter(received_at__lt=cutoff).delete()
        return deleted
