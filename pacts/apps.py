from django.apps import AppConfig


class PactsConfig(AppConfig):
    name = "pacts"
    verbose_name = "Pacts"

    def ready(self) -> None:
        # Break lives in its own module (pacts/breaks.py, beside its rules); importing it
        # registers the model. reach connects its receiver of initData's write access.
        from . import breaks, reach  # noqa: F401
