from pacts import tasks

from ._sweep import SweepCommand


class Command(SweepCommand):
    help = "Expire invites left unanswered for 7 days (one sweep, now)."
    sweep = staticmethod(tasks.expire_invites)
    done = "{count} invite(s) expired."
