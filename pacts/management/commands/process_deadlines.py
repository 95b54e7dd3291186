from pacts import tasks

from ._sweep import SweepCommand


class Command(SweepCommand):
    help = "Mark every pending day whose deadline has passed as missed (one sweep, now)."
    sweep = staticmethod(tasks.process_deadlines)
    done = "{count} overdue day(s) marked missed."
