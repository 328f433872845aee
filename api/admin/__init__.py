"""The Django admin for staff, by domain: catalog (venues, screens, films), shows, prices
(ticket types, a show's prices), sales (tickets, customers, bookings), waiting lists, webhooks."""

from django.conf import settings
from django.contrib import admin

from . import catalog, prices, sales, shows, waitlist, webhooks  # noqa: F401  (registers the model admins)

admin.site.site_header = f"{settings.THEATRE_NAME} administration"
admin.site.site_title = f"{settings.THEATRE_NAME} admin"
admin.site.index_title = "Box office"
