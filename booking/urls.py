from django.contrib import admin
from django.urls import include, path, re_path
from rest_framework.routers import SimpleRouter

from api import bookingpage, pages, waitlistpage
from api.views import catalog, door, ops, sales, waitlist, webhooks


class OptionalSlashRouter(SimpleRouter):
    """Every collection and item URL answers with and without its trailing slash."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("venues", catalog.VenueViewSet, basename="venue")
router.register("screens", catalog.ScreenViewSet, basename="screen")
router.register("films", catalog.FilmViewSet, basename="film")
router.register("shows", catalog.ShowViewSet, basename="show")
router.register("ticket-types", catalog.TicketTypeViewSet, basename="ticket-type")
router.register("tickets", sales.TicketViewSet, basename="ticket")
router.register("holds", sales.HoldViewSet, basename="hold")
router.register("bookings", sales.BookingViewSet, basename="booking")
router.register("waitlist", waitlist.WaitlistEntryViewSet, basename="waitlist")
router.register("webhooks", webhooks.WebhookViewSet, basename="webhook")
router.register("audit", webhooks.AuditViewSet, basename="audit")

api_urls = [
    *router.urls,
    # A seat's label is letters and digits (a NUL would reach PostgreSQL, which refuses it: a 500).
    re_path(
        r"^shows/(?P<pk>[0-9]+)/blocks/(?P<seat>[A-Za-z0-9]+)/?$", catalog.SeatBlockView.as_view(), name="show-unblock"
    ),
    re_path(r"^shows/(?P<pk>[0-9]+)/waitlist/?$", waitlist.ShowWaitlistView.as_view(), name="show-waitlist"),
    re_path(r"^seat-map-schema/?$", catalog.seat_map_schema, name="seat-map-schema"),
    re_path(r"^tickets/(?P<pk>[^/]+)/check-in/?$", door.CheckInView.as_view(), name="ticket-check-in"),
    re_path(
        r"^webhooks/(?P<pk>[0-9]+)/deliveries/(?P<delivery>[0-9]+)/retry/?$",
        webhooks.DeliveryRetryView.as_view(),
        name="webhook-delivery-retry",
    ),
    re_path(r"^health/?$", ops.health, name="health"),
    re_path(r"^schema/?$", ops.SchemaView.as_view(), name="schema"),
    re_path(r"^docs/?$", ops.DocsView.as_view(url_name="schema"), name="docs"),
    re_path(r"^.*$", ops.not_found),
]

urlpatterns = [
    path("", pages.home, name="home"),
    path("favicon.ico", pages.favicon),
    path("shows/<int:show_id>/", pages.show_page, name="show-page"),
    path("tickets/<uuid:ticket_id>/", pages.eticket, name="eticket"),
    path("waitlist/<uuid:entry_id>/", waitlistpage.waitlist_page, name="waitlist-page"),
    path("bookings/", bookingpage.find_booking, name="find-booking"),
    path("admin/", admin.site.urls),
    path("api/", include(api_urls)),
]

# Errors Django answers itself (a bad Host, an unexpected error): JSON under /api/, the
# HTML pages elsewhere (templates/404.html).
handler400 = "api.views.handlers.bad_request"
handler403 = "api.views.handlers.permission_denied"
handler404 = "api.views.handlers.page_not_found"
handler500 = "api.views.handlers.server_error"
