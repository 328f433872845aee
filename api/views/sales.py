"""Tickets, holds and bookings: book, read, move, cancel; hold, then confirm."""

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from .. import idempotency, selectors
from ..callers import actor_of, capped_client, client_scope
from ..filters import TicketFilter
from ..models import Booking, Hold, Ticket
from ..permissions import IsStaff
from ..schema import IDEMPOTENCY_HEADER, LOCATION_HEADER, PHONE_PARAMETER, errors
from ..serializers.sales import (
    BookingCreateSerializer,
    BookingSerializer,
    HoldCreateSerializer,
    HoldSerializer,
    TicketCreateSerializer,
    TicketSerializer,
    TicketUpdateSerializer,
)
from ..services import sales
from .base import NotStored, kept_for


@extend_schema_view(
    list=extend_schema(
        summary="All tickets, filtered (staff)", responses={200: TicketSerializer, **errors(400, 401, 403)}
    ),
    retrieve=extend_schema(
        summary="A ticket with its person's details", responses={200: TicketSerializer, **errors(404, 429)}
    ),
    create=extend_schema(
        summary="Book a ticket",
        request=TicketCreateSerializer,
        parameters=[IDEMPOTENCY_HEADER, LOCATION_HEADER],
        responses={201: TicketSerializer, **errors(400, 409, 422, 429)},
    ),
    update=extend_schema(
        summary="Change a ticket's show time, seat, name and phone",
        request=TicketUpdateSerializer,
        responses={200: TicketSerializer, **errors(400, 404, 409, 429)},
    ),
    partial_update=extend_schema(
        summary="Change some of a ticket",
        request=TicketUpdateSerializer,
        responses={200: TicketSerializer, **errors(400, 404, 409, 429)},
    ),
    destroy=extend_schema(
        summary="Cancel a ticket; its seat is free at once", responses={204: None, **errors(404, 409, 429)}
    ),
)
class TicketViewSet(NotStored, viewsets.ModelViewSet):
    """Whoever holds a ticket's id may read, change and cancel that ticket; staff list them all."""

    serializer_class = TicketSerializer
    filterset_class = TicketFilter
    lookup_value_regex = "[^/]+"

    @property
    def error_fields(self) -> dict[str, str]:
        """A ticket has one seat, and one type, which a booking names and a move keeps: the
        rules that judge a party's seats and types name the request's one field."""
        return {"seats": "seat", "ticket_types": "ticket_type" if self.action == "create" else "seat"}

    def get_permissions(self) -> list[BasePermission]:
        return [IsStaff()] if self.action == "list" else [AllowAny()]

    def get_queryset(self) -> QuerySet[Ticket]:
        return selectors.tickets_with_details()

    def get_serializer_context(self) -> dict[str, Any]:
        """A ticket read or changed later: its holder sees no booking reference (with the
        booker's phone number it would open the whole booking); staff do. Said here, for
        every serializer the view makes: the browsable API serializes the ticket again, for
        its PUT and PATCH forms, through get_serializer."""
        return {**super().get_serializer_context(), "hide_booking": not self.request.user.is_staff}

    def _answer(self, ticket: Ticket, code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(ticket).data, status=code)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._answer(self.get_object())

    # The ignore: a kept answer is a plain HttpResponse, which DRF sends as it is; the
    # stubs' ListModelMixin.list promises a Response.
    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:  # type: ignore[override]
        # At the door every staff device reloads the same show's list while it checks
        # tickets in: a list is kept for STAFF_LIST_CACHE_SECONDS, after the staff check.
        # Nothing reads it to decide: check-in, moves and sales read their rows under locks.
        def tickets() -> Response:
            return super(TicketViewSet, self).list(request)

        return kept_for(request, settings.STAFF_LIST_CACHE_SECONDS, tickets, name="staff list")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        now = timezone.now()

        def book() -> idempotency.StoredResponse:
            data = TicketCreateSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            ticket = sales.ticket_book(
                now=now,
                staff=request.user.is_staff,
                client=capped_client(request),
                actor=actor_of(request),
                **data.validated_data,
            )
            # The booker's own answer: it names the booking (not get_serializer's context).
            body = TicketSerializer(ticket, context={"request": request}).data
            return idempotency.StoredResponse(status.HTTP_201_CREATED, body, f"/api/tickets/{ticket.pk}")

        return idempotency.respond(request, now=now, make=book)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        ticket = self.get_object()
        data = TicketUpdateSerializer(
            data=request.data, partial=kwargs.get("partial", False), context={"ticket_type": ticket.ticket_type.key}
        )
        data.is_valid(raise_exception=True)
        sales.ticket_update(
            ticket_id=ticket.pk,
            now=timezone.now(),
            staff=request.user.is_staff,
            actor=actor_of(request),
            **data.validated_data,
        )
        # Read again with its details: a 404 if a cancel committed since the change did.
        return self._answer(get_object_or_404(self.get_queryset(), pk=ticket.pk))

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        sales.ticket_cancel(
            now=timezone.now(), ticket_id=self.get_object().pk, actor=actor_of(request), staff=request.user.is_staff
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    create=extend_schema(
        summary="Hold seats while the customer pays",
        request=HoldCreateSerializer,
        parameters=[IDEMPOTENCY_HEADER, LOCATION_HEADER],
        responses={201: HoldSerializer, **errors(400, 409, 422, 429)},
    ),
    retrieve=extend_schema(summary="A live hold", responses={200: HoldSerializer, **errors(404, 429)}),
    destroy=extend_schema(summary="Release a hold", responses={204: None, **errors(404, 429)}),
)
class HoldViewSet(
    NotStored, mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    permission_classes = [AllowAny]
    serializer_class = HoldSerializer
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> QuerySet[Hold]:
        return Hold.objects.live(timezone.now()).select_related("show__screen__venue").defer(selectors.SEAT_MAP_OF_SHOW)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        now = timezone.now()

        def hold() -> idempotency.StoredResponse:
            data = HoldCreateSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            made = sales.hold_create(
                now=now,
                client=client_scope(request),
                staff=request.user.is_staff,
                actor=actor_of(request),
                **data.validated_data,
            )
            body = HoldSerializer(made).data
            return idempotency.StoredResponse(status.HTTP_201_CREATED, body, f"/api/holds/{made.pk}")

        return idempotency.respond(request, now=now, make=hold)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not sales.hold_release(hold_id=self.get_object().pk, now=timezone.now(), actor=actor_of(request)):
            raise Http404("No Hold matches the given query.")  # confirmed or released meanwhile
        return Response(status=status.HTTP_204_NO_CONTENT)


# The one 404 of an anonymous look-up, whether the reference exists or not: it says what to
# give (a look-up without the number was "No Booking matches the given query.").
NO_BOOKING = "No booking has this reference and phone number: give the booker's as ?phone_number=."


@extend_schema_view(
    create=extend_schema(
        summary="Confirm a hold, or hold and confirm in one step",
        request=BookingCreateSerializer,
        parameters=[IDEMPOTENCY_HEADER, LOCATION_HEADER],
        responses={201: BookingSerializer, **errors(400, 409, 422, 429)},
    ),
    retrieve=extend_schema(
        summary="A booking by its reference",
        parameters=[PHONE_PARAMETER],
        responses={200: BookingSerializer, **errors(400, 404, 429)},
    ),
    destroy=extend_schema(
        summary="Cancel every ticket of a booking",
        parameters=[PHONE_PARAMETER],
        responses={204: None, **errors(400, 404, 409, 429)},
    ),
)
class BookingViewSet(
    NotStored, mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """A booking is found by its reference; anyone but staff must also give its phone."""

    permission_classes = [AllowAny]
    serializer_class = BookingSerializer
    lookup_field = "reference"
    # A reference is letters and digits (any case); any other path is the JSON 404 of
    # unknown URLs, and never reaches the database (PostgreSQL refuses a NUL in text).
    lookup_value_regex = "[A-Za-z0-9]+"

    def get_queryset(self) -> QuerySet[Booking]:
        return selectors.bookings_with_tickets()

    def get_object(self) -> Booking:
        """Staff read any booking; anyone else one whose reference and booker's phone number
        they give (selectors.booking_of_booker: an unreadable or wrong number is the same
        404 as an unknown reference, in the same time)."""
        reference = self.kwargs["reference"].upper()
        if self.request.user and self.request.user.is_staff:
            return get_object_or_404(self.get_queryset(), reference=reference)
        booking = selectors.booking_of_booker(reference, self.request.query_params.get("phone_number", ""))
        if booking is None:
            raise Http404(NO_BOOKING)
        return booking

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        now = timezone.now()

        def book() -> idempotency.StoredResponse:
            data = BookingCreateSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            values = dict(data.validated_data)
            if "hold" in values:
                sale = sales.booking_confirm(
                    hold_id=values["hold"],
                    name=values["name"],
                    phone_number=values["phone_number"],
                    now=now,
                    client=capped_client(request),
                    actor=actor_of(request),
                )
            else:
                sale = sales.booking_create(
                    now=now,
                    staff=request.user.is_staff,
                    client=capped_client(request),
                    actor=actor_of(request),
                    **values,
                )
            body = BookingSerializer(sale, context={"request": request}).data
            return idempotency.StoredResponse(status.HTTP_201_CREATED, body, f"/api/bookings/{sale.booking.reference}")

        # A confirm carries its hold's id, which only the holder has: the key is that hold's.
        # (Any JSON may come: null, a list, a string that contains "hold".)
        hold = request.data.get("hold") if isinstance(request.data, Mapping) else None
        return idempotency.respond(request, now=now, make=book, hold=hold)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        booking = self.get_object()
        sale = sales.Sale(booking=booking, tickets=list(booking.tickets.all()))
        context = {"request": request, "booker_reads": not request.user.is_staff}
        return Response(BookingSerializer(sale, context=context).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        sales.booking_cancel(
            now=timezone.now(), booking_id=self.get_object().pk, actor=actor_of(request), staff=request.user.is_staff
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
