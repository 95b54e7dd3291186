from django.apps import AppConfig


class HabitpactConfig(AppConfig):
    """The project package as an app only for the plumbing's own state (the rate-limit
    counters): the bottom layer, which imports no other app."""

    name = "habitpact"
