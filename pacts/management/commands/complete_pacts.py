from pacts import tasks

from ._sweep import SweepCommand


class Command(SweepCommand):
    help = "End pacts whose end date has passed and whose days are all decided (one sweep, now)."
    sweep = staticmethod(tasks.complete_pacts)
    done = "{count} pact(s) completed."
