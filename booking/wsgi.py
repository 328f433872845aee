"""WSGI entry point: `gunicorn booking.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "booking.settings")
application = get_wsgi_application()
