from django.apps import AppConfig


class PactsConfig(AppConfig):
    name = "pacts"
    verbose_name = "Pacts"

    def ready(self) -> None:
        from . import reach  # noqa: F401  (connects its receiver of initData's write access)
