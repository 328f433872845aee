"""Shows: the availability search, one show with its free seats, staff writes."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.exceptions import NotFound
from rest_framework.generics import GenericAPIView, get_object_or_404
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from .. import selectors
from ..callers import actor_of
from ..filters import FilmFilter, ScreenFilter, ShowFilter
from ..models import Film, Screen, Show, TicketType, Venue
from ..permissions import IsStaff, IsStaffOrReadOnly
from ..schema import LOCATION_HEADER, errors
from ..seatmaps import json_schema
from ..serializers.catalog import (
    BlockCreateSerializer,
    BlockSerializer,
    FilmSerializer,
    ScreenSerializer,
    SeatStatusesSerializer,
    ShowDetailSerializer,
    ShowSerializer,
    ShowWriteSerializer,
    TicketTypeSerializer,
    VenueSerializer,
)
from ..services import blocks, catalog, venues
from .base import ById, LocationMixin, ascii_id, kept_for


@extend_schema_view(
    list=extend_schema(summary="Search shows by availability", responses={200: ShowSerializer, **errors(400, 429)}),
    retrieve=extend_schema(
        summary="A show, with its free seats", responses={200: ShowDetailSerializer, **errors(404, 429)}
    ),
    create=extend_schema(
        summary="Schedule a show (staff)",
        request=ShowWriteSerializer,
        parameters=[LOCATION_HEADER],
        responses={201: ShowSerializer, **errors(400, 401, 403)},
    ),
    update=extend_schema(
        summary="Change a show (staff)",
        request=ShowWriteSerializer,
        responses={200: ShowSerializer, **errors(400, 401, 403, 404)},
    ),
    partial_update=extend_schema(
        summary="Change some of a show (staff)",
        request=ShowWriteSerializer,
        responses={200: ShowSerializer, **errors(400, 401, 403, 404)},
    ),
    destroy=extend_schema(
        summary="Delete a show without tickets (staff)", responses={204: None, **errors(401, 403, 404, 409)}
    ),
)
class ShowViewSet(ById, LocationMixin, viewsets.ModelViewSet):
    permission_classes = [IsStaffOrReadOnly]
    filterset_class = ShowFilter
    serializer_class = ShowSerializer

    @cached_property
    def now(self) -> datetime:
        """The request's moment, read once: the list, its filters and each show's answer
        (seats, free seats, expired) are all as of it, however long the answer takes."""
        return timezone.now()

    def get_queryset(self) -> QuerySet[Show]:
        # The id breaks ties: several screens start shows at one moment, and rows that tie
        # could repeat or go missing between pages.
        shows = selectors.shows_with_counts(now=self.now).order_by("starts_at", "pk")
        # A show's own answer lists its free seats, from the map; the search doesn't.
        return shows if self.action == "retrieve" else shows.defer(selectors.SEAT_MAP)

    def get_serializer_class(self) -> type:
        return ShowDetailSerializer if self.action == "retrieve" else ShowSerializer

    # The ignore: a kept answer is a plain HttpResponse, which DRF sends as it is; the
    # stubs' ListModelMixin.list promises a Response.
    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:  # type: ignore[override]
        # A premiere's crowd reloads the same search: anonymous answers are kept for
        # SHOW_SEARCH_CACHE_SECONDS, after the throttle, which still counts each request.
        # No booking reads these counts: each counts the seats again under the show's lock.
        # Staff always get the database's answer.
        if request.user.is_staff:
            return super().list(request, *args, **kwargs)

        def search() -> Response:
            return super(ShowViewSet, self).list(request)

        return kept_for(request, settings.SHOW_SEARCH_CACHE_SECONDS, search, name="show search")

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        show = self.get_object()
        free_seats = selectors.show_free_seats(show, now=self.now)
        return Response(ShowDetailSerializer(show, context={"free_seats": free_seats}).data)

    def perform_destroy(self, instance: Show) -> None:
        catalog.show_delete(show_id=instance.pk, actor=actor_of(self.request), now=self.now)

    def _answer(self, show_id: int, code: int) -> Response:
        show = self.get_queryset().get(pk=show_id)
        data = ShowSerializer(show).data
        headers = self.get_success_headers(data) if code == status.HTTP_201_CREATED else None
        return Response(data, status=code, headers=headers)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ShowWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        show = catalog.show_create(actor=actor_of(request), now=self.now, **data.validated_data)
        return self._answer(show.pk, status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        show = self.get_object()
        data = ShowWriteSerializer(show, data=request.data, partial=kwargs.get("partial", False))
        data.is_valid(raise_exception=True)
        catalog.show_update(show_id=show.pk, now=self.now, actor=actor_of(request), **data.validated_data)
        return self._answer(show.pk, status.HTTP_200_OK)

    @extend_schema(
        summary="The show's seat map, each seat with its status",
        responses={200: SeatStatusesSerializer, **errors(404, 429)},
    )
    @action(detail=True, methods=["get"], permission_classes=[AllowAny], filterset_class=None, pagination_class=None)
    def seats(self, request: Request, pk: str) -> HttpResponse:
        # At a premiere every customer's page loads the same show's map: it is kept for
        # SEAT_MAP_CACHE_SECONDS. Nothing decides by it: a hold or booking reads the seats
        # under the show's lock, and a seat taken meanwhile is a 409 seat_taken. Staff
        # always get the database's answer, as in the search.
        def seat_map() -> Response:
            answer = selectors.show_seat_map(pk, now=timezone.now())
            if answer is None:
                raise Http404("No Show matches the given query.")  # get_object_or_404's words
            return Response(SeatStatusesSerializer(answer).data)

        if request.user.is_staff:
            return seat_map()
        return kept_for(request, settings.SEAT_MAP_CACHE_SECONDS, seat_map, name="seat map")

    @extend_schema(
        summary="Block seats of a show (staff)",
        request=BlockCreateSerializer,
        responses={201: BlockSerializer(many=True), **errors(400, 401, 403, 404, 409)},
    )
    @action(detail=True, methods=["post"], permission_classes=[IsStaff], filterset_class=None, pagination_class=None)
    def blocks(self, request: Request, pk: str) -> Response:
        show = get_object_or_404(Show.objects.all(), pk=ascii_id(pk))
        data = BlockCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        made = blocks.seats_block(show_id=show.pk, now=timezone.now(), actor=actor_of(request), **data.validated_data)
        return Response(BlockSerializer(made, many=True).data, status=status.HTTP_201_CREATED)


class SeatBlockView(GenericAPIView):
    """DELETE /api/shows/{id}/blocks/{label}: the seat is on sale again."""

    permission_classes = [IsStaff]
    serializer_class = BlockSerializer

    @extend_schema(
        summary="Unblock a seat of a show (staff)", request=None, responses={204: None, **errors(401, 403, 404)}
    )
    def delete(self, request: Request, pk: str, seat: str) -> Response:
        show = get_object_or_404(Show.objects.all(), pk=pk)
        if not show.blocks.filter(seat=seat.upper()).exists():
            raise NotFound("This seat is not blocked at this show.")
        blocks.seat_unblock(show_id=show.pk, seat=seat.upper(), actor=actor_of(request), now=timezone.now())
        return Response(status=status.HTTP_204_NO_CONTENT)


class InUseDestroyMixin:
    """DELETE of a venue, screen or film: refused (409 in_use) while shows use it."""

    def perform_destroy(self, instance: Venue | Screen | Film) -> None:
        venues.in_use_delete(instance, now=timezone.now(), actor=actor_of(self.request))  # type: ignore[attr-defined]


class PlainSaveMixin:
    """Venues and films (no rules beyond the serializer's), saved with their audit entry by
    services.venues.plain_save, as the admin saves them."""

    def perform_create(self, serializer: BaseSerializer) -> None:
        model = serializer.Meta.model  # type: ignore[attr-defined]
        self._save(serializer, model())

    def perform_update(self, serializer: BaseSerializer) -> None:
        instance = serializer.instance
        assert isinstance(instance, Venue | Film)  # an update has its instance
        self._save(serializer, instance)

    def _save(self, serializer: BaseSerializer, instance: Venue | Film) -> None:
        serializer.instance = venues.plain_save(
            instance,
            fields=dict(serializer.validated_data),
            actor=actor_of(self.request),  # type: ignore[attr-defined]
            now=timezone.now(),
        )


def _catalog_schema(
    thing: str,
    serializer: type,
    *,
    reads: tuple[str, str],
    list_errors: tuple[int, ...],
    conflicts: tuple[int, ...] = (),
) -> Callable:
    """The summaries and answers of a venue, screen or film viewset: reads for anyone
    (throttled; `list_errors` a bad filter's 400 too), writes for staff; a DELETE refused
    while shows use it (409 in_use), and `conflicts` the other writes' (a venue's time
    zone and a screen's venue: 409 in_use; a screen's seat map: 409 seat_in_use)."""
    return extend_schema_view(
        list=extend_schema(summary=reads[0], responses={200: serializer, **errors(*list_errors)}),
        retrieve=extend_schema(summary=reads[1], responses={200: serializer, **errors(404, 429)}),
        create=extend_schema(
            summary=f"Add a {thing} (staff)",
            parameters=[LOCATION_HEADER],
            responses={201: serializer, **errors(400, 401, 403, *conflicts)},
        ),
        update=extend_schema(
            summary=f"Change a {thing} (staff)",
            responses={200: serializer, **errors(400, 401, 403, 404, *conflicts)},
        ),
        partial_update=extend_schema(
            summary=f"Change some of a {thing} (staff)",
            responses={200: serializer, **errors(400, 401, 403, 404, *conflicts)},
        ),
        destroy=extend_schema(
            summary=f"Delete a {thing} that no show uses (staff)", responses={204: None, **errors(401, 403, 404, 409)}
        ),
    )


@_catalog_schema(
    "venue",
    VenueSerializer,
    reads=("Venues, with their screens", "A venue, with its screens"),
    list_errors=(429,),
    conflicts=(409,),  # in_use: a venue with shows keeps its time zone and currency
)
class VenueViewSet(ById, LocationMixin, InUseDestroyMixin, PlainSaveMixin, viewsets.ModelViewSet):
    permission_classes = [IsStaffOrReadOnly]
    serializer_class = VenueSerializer
    queryset = Venue.objects.prefetch_related("screens").order_by("pk")
    filterset_class = None


@_catalog_schema(
    "screen",
    ScreenSerializer,
    reads=("Screens, with their seat maps", "A screen with its seat map"),
    list_errors=(400, 429),
    conflicts=(409,),
)
class ScreenViewSet(ById, LocationMixin, InUseDestroyMixin, viewsets.ModelViewSet):
    permission_classes = [IsStaffOrReadOnly]
    serializer_class = ScreenSerializer
    queryset = Screen.objects.select_related("venue").order_by("venue_id", "pk")
    filterset_class = ScreenFilter

    def perform_create(self, serializer: BaseSerializer) -> None:
        values = dict(serializer.validated_data)
        screen = Screen(venue=values["venue"], name=values["name"])
        serializer.instance = venues.screen_save(
            screen=screen, seat_map=values["seat_map"], now=timezone.now(), actor=actor_of(self.request)
        )

    def perform_update(self, serializer: BaseSerializer) -> None:
        values, screen = dict(serializer.validated_data), serializer.instance
        assert isinstance(screen, Screen)  # an update has its instance
        screen.venue = values.get("venue", screen.venue)
        screen.name = values.get("name", screen.name)
        serializer.instance = venues.screen_save(
            screen=screen,
            seat_map=values.get("seat_map"),
            now=timezone.now(),
            actor=actor_of(self.request),
            given=[name for name in ("venue", "name") if name in values],
        )


@_catalog_schema("film", FilmSerializer, reads=("Films", "A film"), list_errors=(429,))
class FilmViewSet(ById, LocationMixin, InUseDestroyMixin, PlainSaveMixin, viewsets.ModelViewSet):
    permission_classes = [IsStaffOrReadOnly]
    serializer_class = FilmSerializer
    queryset = Film.objects.order_by("title", "pk")
    filterset_class = FilmFilter


@extend_schema(summary="The JSON Schema of a screen's seat map", responses={200: dict, **errors(429)})
@api_view(["GET", "HEAD"])
@permission_classes([AllowAny])
def seat_map_schema(request: Request) -> Response:
    return Response(json_schema())


@_catalog_schema("ticket type", TicketTypeSerializer, reads=("Ticket types", "A ticket type"), list_errors=(429,))
class TicketTypeViewSet(LocationMixin, viewsets.ModelViewSet):
    """Adult, child, senior...; staff write. One is the default; a type sold or priced
    can't be deleted (409 in_use)."""

    permission_classes = [IsStaffOrReadOnly]
    serializer_class = TicketTypeSerializer
    queryset = TicketType.objects.order_by("-default", "pk")
    lookup_field = "key"
    # A key is a slug: any other path is the JSON 404 of unknown URLs, and never reaches the
    # database (PostgreSQL refuses a NUL in text: a 500).
    lookup_value_regex = "[-a-zA-Z0-9_]+"
    filterset_class = None

    def perform_create(self, serializer: BaseSerializer) -> None:
        serializer.instance = venues.ticket_type_save(
            TicketType(**serializer.validated_data), now=timezone.now(), actor=actor_of(self.request)
        )

    def perform_update(self, serializer: BaseSerializer) -> None:
        ticket_type = serializer.instance
        assert isinstance(ticket_type, TicketType)  # an update has its instance
        for field, value in serializer.validated_data.items():
            setattr(ticket_type, field, value)
        serializer.instance = venues.ticket_type_save(
            ticket_type, now=timezone.now(), actor=actor_of(self.request), given=serializer.validated_data.keys()
        )

    def perform_destroy(self, instance: TicketType) -> None:
        venues.ticket_type_delete(instance, now=timezone.now(), actor=actor_of(self.request))
