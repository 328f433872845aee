"""Customers and bookings in the admin: who booked what, and cancelling a whole booking."""

from typing import TYPE_CHECKING, Any, TypedDict

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from .. import selectors
from ..locking import lock_bookings, lock_tickets
from ..models import Booking, Customer, Ticket, plain_reference
from ..services import sales
from .base import (
    AllOrNoneActions,
    ListQueriesChecked,
    ManyRows,
    PhoneSearch,
    ReadOnlyInline,
    RuleErrorsAsMessages,
    TicketMoments,
    history_link,
    staff_actor,
)

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class TicketCount(TypedDict):
    """Bookings read by the admin's get_queryset: annotated with their ticket count."""

    ticket_count: int


class CustomerCounts(TypedDict):
    """Customers read by CustomerAdmin.get_queryset: annotated with their counts."""

    booking_count: int
    ticket_count: int


class CustomerBookingInline(ReadOnlyInline):
    model = Booking
    fields = ("reference", "created_at", "ticket_count")
    readonly_fields = fields
    ordering = ["-created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(ticket_count=Count("tickets"))

    @admin.display(description="Tickets")
    def ticket_count(self, booking: "WithAnnotations[Booking, TicketCount]") -> int:
        return booking.ticket_count


@admin.register(Customer)
class CustomerAdmin(PhoneSearch, ManyRows, ListQueriesChecked, admin.ModelAdmin):
    list_display = ["name", "phone_number", "bookings_count", "tickets_link"]
    search_fields = ["name", "phone_number"]
    phone_field = "phone_number"
    ordering = ["name"]
    inlines = [CustomerBookingInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                booking_count=selectors.related_count(Booking.objects.all(), link="customer"),
                ticket_count=selectors.related_count(Ticket.objects.all(), link="holder"),
            )
        )

    def has_add_permission(self, request) -> bool:
        return False  # customers are made by booking

    def has_change_permission(self, request, obj=None) -> bool:
        # Shown, not changed: the API changes a ticket's person (the ticket then names
        # another record, services.ticket_changes.ticket_update, audited), never a person's record,
        # which would rename every booking and ticket of theirs at once, unrecorded.
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # The purge deletes a person once no booking is left.
        return False

    @admin.display(description="Bookings", ordering="booking_count")
    def bookings_count(self, customer: "WithAnnotations[Customer, CustomerCounts]") -> int:
        return customer.booking_count

    @admin.display(description="Tickets", ordering="ticket_count")
    def tickets_link(self, customer: "WithAnnotations[Customer, CustomerCounts]") -> str:
        url = reverse("admin:api_ticket_changelist") + f"?holder__id__exact={customer.pk}"
        return format_html('<a href="{}">{}</a>', url, customer.ticket_count)


class BookingTicketInline(TicketMoments, ReadOnlyInline):
    model = Ticket
    fields = ("show", "seat_display", "expired", "checked_in_local")
    readonly_fields = fields
    ordering = ["show__starts_at", "seat_order"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("show__screen__venue")

    @admin.display(description="Seat")
    def seat_display(self, ticket: Ticket) -> str:
        return ticket.seat if ticket.pk else ""


@admin.register(Booking)
class BookingAdmin(AllOrNoneActions, RuleErrorsAsMessages, ManyRows, ListQueriesChecked, admin.ModelAdmin):
    list_display = ["reference", "customer_name", "customer_phone", "tickets_link", "created_at"]
    list_select_related = ["customer"]
    list_filter = ["created_at"]
    # Searched by get_search_results: the people first, as the people's list finds them.
    search_fields = ["customer__name", "customer__phone_number"]
    # Newest first by id, the order they were made in: the primary key's index serves it,
    # where -created_at (no index: every sale would write one) sorted every booking.
    ordering = ["-pk"]
    fields = ("reference", "customer", "created_at", "history")
    readonly_fields = fields
    inlines = [BookingTicketInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(ticket_count=selectors.related_count(Ticket.objects.all(), link="booking"))
        )

    def get_search_results(self, request, queryset, search_term):
        """The bookings of the people the people's list finds for the term (a name, or a
        phone number as people write it), or the booking whose whole reference it is (any
        case, spaces anywhere: plain_reference), each by its own index: the words matched
        against every booking joined to its person took 2.8 s a search with 1,000,000
        bookings (the tickets' search: sales.py)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        people, _ = self.admin_site.get_model_admin(Customer).get_search_results(request, Customer.objects.all(), term)
        bookings = Booking.objects.values("pk")
        by_reference = bookings.filter(reference=plain_reference(term))
        found = bookings.filter(customer__in=people.values("pk")).union(by_reference)
        return queryset.filter(pk__in=found), False

    def has_add_permission(self, request) -> bool:
        return False  # bookings are made through the API, with their tickets

    @admin.display(description="Name", ordering="customer__name")
    def customer_name(self, booking: Booking) -> str:
        return booking.customer.name

    @admin.display(description="Phone")
    def customer_phone(self, booking: Booking) -> str:
        return str(booking.customer.phone_number)

    @admin.display(description="Tickets", ordering="ticket_count")
    def tickets_link(self, booking: "WithAnnotations[Booking, TicketCount]") -> str:
        url = reverse("admin:api_ticket_changelist") + f"?booking__id__exact={booking.pk}"
        return format_html('<a href="{}">{}</a>', url, booking.ticket_count)

    @admin.display(description="History")
    def history(self, booking: Booking) -> str:
        return history_link("booking", booking.reference)

    def get_deleted_objects(self, objs, request):
        # A booking deleted is cancelled, its tickets with it (services.sales.booking_cancel):
        # the confirmation names them, and asks for the right to delete tickets too. Their
        # link to the booking (DO_NOTHING, a constraint in the database) is not one Django
        # follows: the page named the booking alone, to staff who may delete bookings only.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        listed: list[Any] = list(deleted)
        tickets = Ticket.objects.filter(booking__in=objs).select_related("show").order_by("booking_id", "pk")
        going = [f"Ticket (cancelled): {ticket}" for ticket in tickets]
        if going:
            listed.append(going)
            counts = {**counts, str(Ticket._meta.verbose_name_plural): len(going)}
            if not request.user.has_perm("api.delete_ticket"):
                perms_needed = {*perms_needed, str(Ticket._meta.verbose_name)}
        return listed, counts, perms_needed, protected

    def save_model(self, request, obj: Booking, form, change: bool) -> None:
        # Nothing on the page is staff's to change (its fields are read-only; a booking
        # changes through its tickets): Django's save wrote the whole row back as the POST
        # read it, unlocked, and put back the total of a ticket cancelled meanwhile, or made
        # a booking cancelled meanwhile again.
        return

    def delete_model(self, request, obj: Booking) -> None:
        sales.booking_cancel(booking_id=obj.pk, actor=staff_actor(request), staff=True, now=timezone.now())

    def delete_queryset(self, request, queryset: QuerySet) -> None:
        # Locked in primary-key order, as two staff may delete overlapping selections at once:
        # every booking, then all their tickets by id (locking.py's order), before the first
        # cancel. Cancelled one by one alone, each booking's tickets after it, two bookings'
        # tickets were taken against their ids, and deadlocked with the expire job.
        ids = lock_bookings(queryset.values_list("pk", flat=True))
        lock_tickets(Ticket.objects.filter(booking__in=ids))
        for booking_id in ids:
            sales.booking_cancel(booking_id=booking_id, actor=staff_actor(request), staff=True, now=timezone.now())
