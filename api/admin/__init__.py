"""The Django admin for staff, by domain: catalog (venues, screens, films), shows, prices
(ticket types, a show's prices), sales (tickets), bookings (customers, bookings), waiting lists,
webhooks; users, groups and tokens (audited). The site they are registered on:
api/admin_site.py."""

from . import accounts, bookings, catalog, prices, sales, shows, waitlist, webhooks  # noqa: F401  (registers the model admins)
