from pacts import tasks

from ._sweep import SweepCommand


class Command(SweepCommand):
    help = "Queue weekly summaries for users whose Sunday 18:00 has come (one sweep, now)."
    sweep = staticmethod(tasks.send_weekly_summaries)
    done = "{count} weekly summary(ies) queued."
