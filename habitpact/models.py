"""The plumbing's own state: the rate-limit counters (`habitpact.ratelimit`)."""

from __future__ import annotations

from django.db import models


class RateLimitCounter(models.Model):
    """Hits per (key, window), incremented by one atomic UPSERT (no Redis here)."""

    key = models.CharField(max_length=200)
    window_start = models.DateTimeField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "rate_limit_counters"
        constraints = [
            models.UniqueConstraint(fields=["key", "window_start"], name="rate_limit_key_window"),
        ]
        indexes = [models.Index(fields=["window_start"], name="idx_rate_limit_window")]

    def __str__(self) -> str:
        return f"{self.key} @ {self.window_start}: {self.hits}"
