import os

from django.core.wsgi import get_wsgi_application

from habitpact.security import refuse_public_jwt_secret

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "habitpact.settings")
application = get_wsgi_application()

# Before the first request: never sign tokens with the public dev key.
refuse_public_jwt_secret()
