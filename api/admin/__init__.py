"""The Django admin for staff, by domain: catalog (venues, screens, films), shows, prices
(ticket types, a show's prices), sales (tickets), bookings (customers, bookings), waiting lists,
webhooks; users, groups and tokens (audited)."""

from django.conf import settings
from django.contrib import admin

from . import accounts, bookings, catalog, prices, sales, shows, waitlist, webhooks  # noqa: F401  (registers the model admins)

admin.site.site_header = f"{settings.THEATRE_NAME} administration"
admin.site.site_title = f"{settings.THEATRE_NAME} admin"
admin.site.index_title = "Box office"
# The app list beside every page took 300 of a 1280 px screen's width and clipped the lists'
# right-hand columns (issue 16); the breadcrumbs and the index lead everywhere it did.
admin.site.enable_nav_sidebar = False
