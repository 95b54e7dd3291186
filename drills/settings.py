"""Settings for the load drill's baseline server only: the product's settings, plus the
bare views of drills/urls.py, with no middleware. Never used by the product."""

from habitpact.settings import *  # noqa: F403

ROOT_URLCONF = "drills.urls"
MIDDLEWARE: list[str] = []
