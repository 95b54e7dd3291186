"""Shared shape of the one-sweep-now commands: run the sweep, say what it did."""

from __future__ import annotations

from collections.abc import Callable

from django.core.management.base import BaseCommand


class SweepCommand(BaseCommand):
    sweep: Callable[[], int]
    done: str  # "{count} days marked missed."

    def handle(self, *args, **options):
        count = type(self).sweep()
        self.stdout.write(self.done.format(count=count))
