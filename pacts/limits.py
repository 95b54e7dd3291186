"""The spec's bounds on what a pact and a user can say (§4, §12), named once.

The model constraints, the domain's validation, the API's schema text and the screens'
input attributes read these, so a bound changes in one place. Changing a value changes
the CheckConstraints too: that needs a migration (makemigrations --check says so).
"""

STAKE_MIN = 1  # minor units
STAKE_MAX = 10_000
DISPUTE_WINDOW_MIN_HOURS = 1
DISPUTE_WINDOW_MAX_HOURS = 72
# "No reminder" is notify_reminders=False, never 0 minutes (issue 15 B7).
REMINDER_MIN_MINUTES = 1
REMINDER_MAX_MINUTES = 1440
TITLE_MAX_LENGTH = 255
# Rule 8: the initiator's own skips per calendar month (pact zone).
SKIPS_PER_MONTH_MIN = 0
SKIPS_PER_MONTH_MAX = 10
SKIPS_PER_MONTH_DEFAULT = 2
# Rule 9: the reason on a skip request (optional).
SKIP_REASON_MAX_LENGTH = 500
