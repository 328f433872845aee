from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from api import pages, views


class OptionalSlashRouter(SimpleRouter):
    """Every collection and item URL answers with and without its trailing slash."""

    def __init__(self) -> None:
        super().__init__()
        self.trailing_slash = "/?"


router = OptionalSlashRouter()
router.register("shows", views.ShowViewSet, basename="show")
router.register("tickets", views.TicketViewSet, basename="ticket")
router.register("holds", views.HoldViewSet, basename="hold")
router.register("bookings", views.BookingViewSet, basename="booking")

api_urls = [
    *router.urls,
    re_path(r"^health/?$", views.health, name="health"),
    re_path(r"^schema/?$", SpectacularAPIView.as_view(), name="schema"),
    re_path(r"^docs/?$", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    re_path(r"^.*$", views.not_found),
]

urlpatterns = [
    path("", pages.home, name="home"),
    path("tickets/<uuid:ticket_id>/", pages.eticket, name="eticket"),
    path("admin/", admin.site.urls),
    path("api/", include(api_urls)),
]
