import gc
import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from habitpact.security import refuse_public_jwt_secret

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "habitpact.settings")
application = get_wsgi_application()

# Before the first request: never sign tokens with the public dev key.
refuse_public_jwt_secret()

# Import every view now (Django would on the first request), then hide all that is
# loaded from the garbage collector: it lives as long as the worker, and every full
# collection walked it, about 126 000 objects, 0.1-0.2 ms of each API request here
# (bench/api_overhead.py). Objects made later are collected as before.
get_resolver().url_patterns  # noqa: B018
gc.freeze()
