from django.core.management.base import BaseCommand, CommandError

from ledger.invariants import CHECKS, check_ledger


class Command(BaseCommand):
    help = "Verify the ledger's invariants (read-only; safe to run in production)."

    def handle(self, *args, **options):
        violations = check_ledger()
        for v in violations:
            self.stderr.write(f"VIOLATION {v.rule}: row {v.row_id} (pact {v.pact_id})")
        if violations:
            raise CommandError(f"{len(violations)} ledger invariant violation(s).")
        self.stdout.write(self.style.SUCCESS(f"Ledger OK: {len(CHECKS)} invariants hold."))
