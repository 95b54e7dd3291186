import os

from django.core.asgi import get_asgi_application

from habitpact.security import refuse_public_jwt_secret

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "habitpact.settings")
application = get_asgi_application()

# Before the first request: never sign tokens with the public dev key.
refuse_public_jwt_secret()
