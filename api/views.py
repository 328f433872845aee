"""DRF views: parse with a serializer, call one service, serialise the result."""

import functools
import hashlib
import json

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import (
    Count,
    DateTimeField,
    Expression,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes, throttle_classes
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from . import listcache, services
from .filters import ShowFilter, TicketFilter
from .models import Booking, Hold, JSONArrayLength, Show, Ticket
from .pagination import CountedRows
from .permissions import IsStaff, IsStaffOrReadOnly
from .serializers import (
    BookingCreateSerializer,
    BookingSerializer,
    ConflictSerializer,
    ErrorSerializer,
    HoldCreateSerializer,
    HoldSerializer,
    ShowDetailSerializer,
    ShowSerializer,
    ShowWriteSerializer,
    TicketCreateSerializer,
    TicketSerializer,
    TicketUpdateSerializer,
)
from .throttling import AnonThrottle

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="1 to 255 printable characters. A retry with the same key and body gets the first answer again.",
)


def _errors(*codes: int, **extra: OpenApiResponse) -> dict:
    """The error answers of an operation, for the schema."""
    shapes = {
        400: OpenApiResponse(description="Invalid input: {field: [messages]}."),
        401: OpenApiResponse(ErrorSerializer, description="No or bad credentials."),
        403: OpenApiResponse(ErrorSerializer, description="Staff only."),
        404: OpenApiResponse(ErrorSerializer, description="Not found."),
        409: OpenApiResponse(ConflictSerializer, description="Conflict with the current state; see code."),
        422: OpenApiResponse(ConflictSerializer, description="Idempotency-Key reused with another body."),
        429: OpenApiResponse(ErrorSerializer, description="Throttled; see Retry-After."),
    }
    return {code: shapes[code] for code in codes} | extra


def _client_scope(request: Request) -> str:
    """Who is calling, for idempotency keys and the per-client hold limit."""
    if request.user and request.user.is_authenticated:
        return f"user:{request.user.pk}"
    return f"addr:{AnonThrottle().get_ident(request)}"


def _idempotently(request: Request, make) -> Response:
    """Answer a POST once per Idempotency-Key; replay that answer on retries."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        stored = make()
    else:
        if not (1 <= len(key) <= 255 and key.isprintable()):
            raise ValidationError({"Idempotency-Key": ["Use 1 to 255 printable characters."]})
        body = json.dumps(request.data, sort_keys=True, default=str)
        # The path without its optional trailing slash: /api/tickets and /api/tickets/ are one URL.
        digest = hashlib.sha256(f"{request.method} {request.path.rstrip('/')}\n{body}".encode()).hexdigest()
        stored = services.idempotent_call(scope=_client_scope(request), key=key, request_hash=digest, action=make)
    headers = {"Location": stored.location} if stored.location else None
    return Response(stored.body, status=stored.status_code, headers=headers)


class CompileTimeNow(Expression):
    """The current time, read when the SQL is compiled, not when the queryset is built."""

    output_field = DateTimeField()

    def as_sql(self, compiler, connection):
        return compiler.compile(Value(timezone.now(), output_field=self.output_field))


def shows_with_counts():
    """Shows with tickets_booked and seats_held (in live holds) annotated; seats_available
    is an alias for filters and orderings, and a property of each show read."""
    # Copies of one queryset: building the annotations and their subqueries took longer
    # than running the search's SQL. CompileTimeNow keeps "live holds" current.
    return _shows_with_counts().all()


@functools.cache
def _shows_with_counts():
    # COUNT(*), not COUNT(id): the (show, seat) unique index alone answers it.
    tickets = Ticket.objects.filter(show=OuterRef("pk")).order_by().values("show").annotate(n=Count("*")).values("n")
    held = (
        Hold.objects.live(CompileTimeNow())
        .filter(show=OuterRef("pk"))
        .order_by()
        .values("show")
        .annotate(n=Sum(JSONArrayLength("seats")))
        .values("n")
    )
    # SQL repeats an expression for each use of it: selecting seats_available as well as
    # tickets_booked ran the count of tickets twice per show. The two counts are selected
    # once each; seats_available is an alias, in SQL only where a filter or an ordering
    # uses it, and otherwise computed from the counts (Show.seats_available).
    return Show.objects.annotate(
        tickets_booked=Coalesce(Subquery(tickets, output_field=IntegerField()), Value(0)),
        seats_held=Coalesce(Subquery(held, output_field=IntegerField()), Value(0)),
    ).alias(seats_available=F("capacity") - F("tickets_booked") - F("seats_held"))


@extend_schema_view(
    list=extend_schema(summary="Search shows by availability", responses={200: ShowSerializer, **_errors(400, 429)}),
    retrieve=extend_schema(
        summary="A show, with its free seats", responses={200: ShowDetailSerializer, **_errors(404, 429)}
    ),
    create=extend_schema(
        summary="Schedule a show (staff)",
        request=ShowWriteSerializer,
        responses={201: ShowSerializer, **_errors(400, 401, 403)},
    ),
    update=extend_schema(
        summary="Change a show (staff)",
        request=ShowWriteSerializer,
        responses={200: ShowSerializer, **_errors(400, 401, 403, 404)},
    ),
    partial_update=extend_schema(
        summary="Change some of a show (staff)",
        request=ShowWriteSerializer,
        responses={200: ShowSerializer, **_errors(400, 401, 403, 404)},
    ),
    destroy=extend_schema(
        summary="Delete a show without tickets (staff)", responses={204: None, **_errors(401, 403, 404, 409)}
    ),
)
class ShowViewSet(viewsets.ModelViewSet):
    permission_classes = [IsStaffOrReadOnly]
    filterset_class = ShowFilter
    serializer_class = ShowSerializer

    def get_queryset(self):
        return shows_with_counts().order_by("starts_at")

    def get_serializer_class(self):
        return ShowDetailSerializer if self.action == "retrieve" else ShowSerializer

    def list(self, request: Request, *args, **kwargs) -> Response:
        # A premiere's crowd reloads the same search: anonymous answers are kept for
        # SHOW_SEARCH_CACHE_SECONDS per URL (host and query included: the page links are
        # absolute), after the throttle, which still counts each request. Counts can lag that
        # long; no booking reads them, each counts the seats again under the show's lock.
        # Staff always get the database's answer.
        if request.user.is_staff:
            return super().list(request, *args, **kwargs)
        return listcache.kept_for(
            request, "show-search-json", settings.SHOW_SEARCH_CACHE_SECONDS, functools.partial(super().list, request)
        )

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        show = self.get_object()
        show.free_seats = services.free_seats(show, timezone.now())
        return Response(ShowDetailSerializer(show).data)

    def _write(self, request: Request, partial: bool, show_id: int | None = None) -> Response:
        data = ShowWriteSerializer(data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        if show_id is None:
            show = services.show_create(**data.validated_data)
        else:
            show = services.show_update(show_id=show_id, **data.validated_data)
        show = self.get_queryset().get(pk=show.pk)
        code = status.HTTP_201_CREATED if show_id is None else status.HTTP_200_OK
        return Response(ShowSerializer(show).data, status=code)

    def create(self, request: Request, *args, **kwargs) -> Response:
        return self._write(request, partial=False)

    def update(self, request: Request, *args, **kwargs) -> Response:
        show = self.get_object()
        return self._write(request, partial=kwargs.get("partial", False), show_id=show.pk)

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        services.show_delete(show_id=self.get_object().pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        summary="All tickets, filtered (staff)", responses={200: TicketSerializer, **_errors(400, 401, 403)}
    ),
    retrieve=extend_schema(
        summary="A ticket with its person's details", responses={200: TicketSerializer, **_errors(404, 429)}
    ),
    create=extend_schema(
        summary="Book a ticket",
        request=TicketCreateSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: TicketSerializer, **_errors(400, 409, 422, 429)},
    ),
    update=extend_schema(
        summary="Change a ticket's show time, seat, name and phone",
        request=TicketUpdateSerializer,
        responses={200: TicketSerializer, **_errors(400, 404, 409, 429)},
    ),
    partial_update=extend_schema(
        summary="Change some of a ticket",
        request=TicketUpdateSerializer,
        responses={200: TicketSerializer, **_errors(400, 404, 409, 429)},
    ),
    destroy=extend_schema(
        summary="Cancel a ticket; its seat is free at once", responses={204: None, **_errors(404, 429)}
    ),
)
class TicketViewSet(viewsets.ModelViewSet):
    """Whoever holds a ticket's id may read, change and cancel that ticket."""

    serializer_class = TicketSerializer
    filterset_class = TicketFilter
    lookup_value_regex = "[^/]+"

    def get_permissions(self):
        if self.action in ("list", "check_in"):
            return [IsStaff()]
        return [AllowAny()]

    def get_queryset(self):
        return Ticket.objects.select_related("show", "booking__customer")

    def list(self, request: Request, *args, **kwargs) -> Response:
        # A door list is read again and again between check-ins: it is kept until the next
        # committed write to the database (api/listcache.py), after the permission check.
        return listcache.kept_until_written(request, "staff-tickets", self._list)

    def _list(self) -> Response:
        request = self.request
        # Rows as dicts of the columns shown (TicketSerializer.ROW_FIELDS), not model objects.
        tickets = self.filter_queryset(Ticket.objects.all())
        rows = tickets.values(*TicketSerializer.ROW_FIELDS, **TicketSerializer.ROW_EXPRESSIONS)
        page = self.paginate_queryset(CountedRows(tickets, rows))
        tickets = TicketSerializer(context={"request": request})
        return self.get_paginated_response([tickets.represent_row(row) for row in page])

    def _answer(self, ticket: Ticket, code: int = status.HTTP_200_OK) -> Response:
        return Response(TicketSerializer(ticket, context={"request": self.request}).data, status=code)

    def create(self, request: Request, *args, **kwargs) -> Response:
        data = TicketCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)

        def book() -> services.StoredResponse:
            ticket = services.ticket_book(**data.validated_data)
            body = TicketSerializer(ticket, context={"request": request}).data
            return services.StoredResponse(status.HTTP_201_CREATED, body, f"/api/tickets/{ticket.pk}")

        return _idempotently(request, book)

    def update(self, request: Request, *args, **kwargs) -> Response:
        ticket = self.get_object()
        data = TicketUpdateSerializer(data=request.data, partial=kwargs.get("partial", False))
        data.is_valid(raise_exception=True)
        ticket = services.ticket_update(ticket_id=ticket.pk, **data.validated_data)
        return self._answer(self.get_queryset().get(pk=ticket.pk))

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        services.ticket_cancel(ticket=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Check a ticket in at the door (staff)",
        request=None,
        responses={200: TicketSerializer, **_errors(401, 403, 404, 409)},
        methods=["POST"],
    )
    @extend_schema(
        summary="Undo a ticket's check-in (staff)",
        request=None,
        responses={200: TicketSerializer, **_errors(401, 403, 404, 409)},
        methods=["DELETE"],
    )
    @action(detail=True, methods=["post", "delete"], url_path="check-in")
    def check_in(self, request: Request, pk: str | None = None) -> Response:
        ticket_id = self.get_object().pk
        if request.method == "POST":
            ticket = services.ticket_check_in(ticket_id=ticket_id)
        else:
            ticket = services.ticket_check_in_undo(ticket_id=ticket_id)
        return self._answer(ticket)


@extend_schema_view(
    create=extend_schema(
        summary="Hold seats while the customer pays",
        request=HoldCreateSerializer,
        responses={201: HoldSerializer, **_errors(400, 409, 429)},
    ),
    retrieve=extend_schema(summary="A live hold", responses={200: HoldSerializer, **_errors(404, 429)}),
    destroy=extend_schema(summary="Release a hold", responses={204: None, **_errors(404, 429)}),
)
class HoldViewSet(
    mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    permission_classes = [AllowAny]
    serializer_class = HoldSerializer
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return Hold.objects.live(timezone.now())

    def create(self, request: Request, *args, **kwargs) -> Response:
        data = HoldCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        hold = services.hold_create(client=_client_scope(request), **data.validated_data)
        return Response(HoldSerializer(hold).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        services.hold_release(hold=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


PHONE_PARAMETER = OpenApiParameter(
    "phone_number", OpenApiTypes.STR, description="The booking's phone number (not needed by staff)."
)


@extend_schema_view(
    create=extend_schema(
        summary="Confirm a hold, or hold and confirm in one step",
        request=BookingCreateSerializer,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: BookingSerializer, **_errors(400, 409, 422, 429)},
    ),
    retrieve=extend_schema(
        summary="A booking by its reference",
        parameters=[PHONE_PARAMETER],
        responses={200: BookingSerializer, **_errors(400, 404, 429)},
    ),
    destroy=extend_schema(
        summary="Cancel every ticket of a booking",
        parameters=[PHONE_PARAMETER],
        responses={204: None, **_errors(400, 404, 429)},
    ),
)
class BookingViewSet(
    mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """A booking is found by its reference; anyone but staff must also give its phone."""

    permission_classes = [AllowAny]
    serializer_class = BookingSerializer
    lookup_field = "reference"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        tickets = Ticket.objects.select_related("show").order_by("show__starts_at", "seat")
        return Booking.objects.select_related("customer").prefetch_related(Prefetch("tickets", queryset=tickets))

    def get_object(self) -> Booking:
        reference = self.kwargs["reference"].upper()
        lookup = {"reference": reference}
        if not (self.request.user and self.request.user.is_staff):
            phone = self.request.query_params.get("phone_number", "")
            try:
                lookup["customer__phone_number"] = PhoneNumberField().to_internal_value(phone)
            except ValidationError:
                # No booking has an unreadable number: the same 404 as a wrong one, so the
                # answer never tells whether the reference exists.
                lookup["customer__phone_number"] = None
        return get_object_or_404(self.get_queryset(), **lookup)

    def create(self, request: Request, *args, **kwargs) -> Response:
        data = BookingCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)

        def book() -> services.StoredResponse:
            if "hold" in values:
                booking = services.booking_confirm(
                    hold_id=values["hold"], name=values["name"], phone_number=values["phone_number"]
                )
            else:
                booking = services.booking_create(**values)
            body = BookingSerializer(booking, context={"request": request}).data
            return services.StoredResponse(status.HTTP_201_CREATED, body, f"/api/bookings/{booking.reference}")

        return _idempotently(request, book)

    def retrieve(self, request: Request, *args, **kwargs) -> Response:
        return Response(BookingSerializer(self.get_object(), context={"request": request}).data)

    def destroy(self, request: Request, *args, **kwargs) -> Response:
        services.booking_cancel(booking=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(
    summary="Service health",
    responses={
        200: inline_serializer("Health", {"status": serializers.CharField(), "database": serializers.CharField()}),
        503: inline_serializer("HealthDown", {"status": serializers.CharField(), "database": serializers.CharField()}),
    },
)
@api_view(["GET"])
@permission_classes([AllowAny])
@throttle_classes([])
def health(request: Request) -> Response:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return Response({"status": "unavailable", "database": "unavailable"}, status=503)
    return Response({"status": "ok", "database": "ok"})


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@permission_classes([AllowAny])
@throttle_classes([])
def not_found(request: Request, *args, **kwargs) -> Response:
    """Unknown URLs under /api/ answer a JSON 404 like every other API error."""
    raise NotFound()
