from pacts import tasks

from ._sweep import SweepCommand


class Command(SweepCommand):
    help = (
        "Create the scheduled days of active pacts through tomorrow, local time (one sweep, now)."
    )
    sweep = staticmethod(tasks.materialize_days)
    done = "{count} day(s) created."
