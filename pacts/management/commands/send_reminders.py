from pacts import tasks

from ._sweep import SweepCommand


class Command(SweepCommand):
    help = "Queue the reminders that are due (one sweep, now)."
    sweep = staticmethod(tasks.send_reminders)
    done = "{count} reminder(s) queued."
