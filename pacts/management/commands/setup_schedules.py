from django.core.management.base import BaseCommand

from pacts.tasks import setup_schedules


class Command(BaseCommand):
    help = "Create or update the django-q2 schedules (safe to rerun; run on every deploy)."

    def handle(self, *args, **options):
        for name, created in setup_schedules():
            self.stdout.write(f"{'created' if created else 'updated'} {name}")
