from pacts import tasks

from ._sweep import SweepCommand


class Command(SweepCommand):
    help = "Close disputes whose resolution window has run out (one sweep, now)."
    sweep = staticmethod(tasks.resolve_expired_disputes)
    done = "{count} expired dispute(s) closed; the check-ins stand."
