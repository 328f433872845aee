"""The Django admin for staff: shows, tickets, customers and bookings.

Every write that has booking rules goes through api/services.py, as the API's do: a
show's capacity and time (show_update), a ticket's show, seat, name and phone
(ticket_update), check-in, cancelling. A rule the service refuses comes back to staff as
an error message, never a 500, and nothing is saved.
"""

import csv
from collections import Counter
from datetime import datetime, timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from phonenumber_field.formfields import PhoneNumberField
from rest_framework.exceptions import APIException, NotFound
from rest_framework.exceptions import ValidationError as RuleError

from . import services
from .exceptions import Conflict
from .models import Booking, Customer, Show, Ticket, expiry_cutoff, seat_label, seat_number
from .views import shows_with_counts

admin.site.site_header = f"{settings.THEATRE_NAME} administration"
admin.site.site_title = f"{settings.THEATRE_NAME} admin"
admin.site.index_title = "Box office"


def _local(moment: datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def _rule_message(exc: APIException) -> str:
    """The text of a service's error: {"field": ["message"]}, ["message"] or "message"."""
    detail = exc.detail
    if isinstance(detail, dict):
        detail = [message for value in detail.values() for message in (value if isinstance(value, list) else [value])]
    if isinstance(detail, list):
        return " ".join(str(message) for message in detail)
    return str(detail)


class RuleErrorsAsMessages:
    """A service refusing a save (400- or 409-style) shows as an error message.

    The admin saves inside transaction.atomic(), so when the error leaves it everything
    the request wrote is rolled back; staff get the form again, unchanged.
    """

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except APIException as exc:
            self.message_user(request, _rule_message(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except APIException as exc:
            self.message_user(request, _rule_message(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- shows ---------------------------------------------------------------------------


class ShowStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [
            ("upcoming", "Upcoming"),
            ("started", "Started"),
            ("expired", f"Expired ({settings.BOOKING_EXPIRE_AFTER_HOURS} h after the start)"),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "upcoming":
            return queryset.filter(starts_at__gt=now)
        if self.value() == "started":
            return queryset.filter(starts_at__lte=now, starts_at__gt=expiry_cutoff(now))
        if self.value() == "expired":
            return queryset.filter(starts_at__lte=expiry_cutoff(now))
        return queryset


class ShowForm(forms.ModelForm):
    class Meta:
        model = Show
        fields = ["title", "starts_at", "capacity"]

    def clean_starts_at(self) -> datetime:
        starts_at = self.cleaned_data["starts_at"]
        if starts_at.second or starts_at.microsecond:
            raise forms.ValidationError("Shows start on the minute: leave the seconds at 00.")
        return starts_at

    def clean_capacity(self) -> int:
        capacity = self.cleaned_data["capacity"]
        if self.instance.pk is not None:
            # The rule of services.show_update, checked here to show it on the form;
            # show_update checks it again under the show's lock when saving.
            taken = len(services.taken_seats(self.instance, timezone.now()))
            if capacity < taken:
                raise forms.ValidationError(f"Capacity can't be lower than the {taken} seats booked or held.")
        return capacity


class ShowTicketInline(ReadOnlyInline):
    model = Ticket
    fields = ["seat_display", "name", "phone_number", "booking_reference", "checked_in_at"]
    readonly_fields = fields
    ordering = ["seat"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("booking__customer")

    # A row whose ticket was cancelled after the page was loaded comes back empty.

    @admin.display(description="Seat")
    def seat_display(self, ticket: Ticket) -> str:
        return ticket.seat_label if ticket.pk else ""

    @admin.display(description="Name")
    def name(self, ticket: Ticket) -> str:
        return ticket.booking.customer.name if ticket.pk else ""

    @admin.display(description="Phone")
    def phone_number(self, ticket: Ticket) -> str:
        return str(ticket.booking.customer.phone_number) if ticket.pk else ""

    @admin.display(description="Booking")
    def booking_reference(self, ticket: Ticket) -> str:
        return ticket.booking.reference if ticket.pk else ""


@admin.register(Show)
class ShowAdmin(RuleErrorsAsMessages, admin.ModelAdmin):
    form = ShowForm
    list_display = ["title_display", "starts_local", "capacity", "tickets_booked_link", "seats_free", "occupancy"]
    date_hierarchy = "starts_at"
    list_filter = [ShowStatusFilter]
    search_fields = ["title"]
    ordering = ["-starts_at"]
    inlines = [ShowTicketInline]

    def get_queryset(self, request):
        # tickets_booked and seats_available come from subqueries in the same SELECT,
        # so the list costs the same few queries however many shows and tickets.
        return shows_with_counts()

    @admin.display(description="Title", ordering="title")
    def title_display(self, show: Show) -> str:
        return show.title or "(untitled)"

    @admin.display(description="Starts (local time)", ordering="starts_at")
    def starts_local(self, show: Show) -> str:
        return _local(show.starts_at)

    @admin.display(description="Tickets booked", ordering="tickets_booked")
    def tickets_booked_link(self, show: Show) -> str:
        url = reverse("admin:api_ticket_changelist") + f"?show__id__exact={show.pk}"
        return format_html('<a href="{}">{}</a>', url, show.tickets_booked)

    @admin.display(description="Seats free", ordering="seats_available")
    def seats_free(self, show: Show) -> int:
        return max(show.seats_available, 0)

    @admin.display(description="Occupancy")
    def occupancy(self, show: Show) -> str:
        taken = show.capacity - show.seats_available  # tickets and live holds
        percent = min(100, round(100 * taken / show.capacity)) if show.capacity else 100
        colour = "#ba2121" if percent >= 100 else "#e6a100" if percent >= 75 else "#417690"
        return format_html(
            '<div title="{}% taken" style="display:flex;align-items:center;gap:6px">'
            '<div style="width:100px;height:10px;background:#e8e8e8;border-radius:2px">'
            '<div style="width:{}px;height:10px;background:{};border-radius:2px"></div></div>'
            "<span>{}%</span></div>",
            percent,
            percent,
            colour,
            percent,
        )

    def save_model(self, request, obj: Show, form, change: bool) -> None:
        if change:
            # Under the show's lock: no booking can slip in between the count and the save.
            services.show_update(show_id=obj.pk, title=obj.title, starts_at=obj.starts_at, capacity=obj.capacity)
            return
        try:
            with transaction.atomic():
                obj.save()
        except IntegrityError as exc:  # another show was saved at this moment meanwhile
            raise RuleError({"starts_at": ["Another show starts at this moment."]}) from exc

    def delete_model(self, request, obj: Show) -> None:
        services.show_delete(show_id=obj.pk)


# --- tickets -------------------------------------------------------------------------


class CheckedInFilter(admin.SimpleListFilter):
    title = "checked in"
    parameter_name = "checked_in"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(checked_in_at__isnull=self.value() == "no")
        return queryset


class ShowDateFilter(admin.SimpleListFilter):
    """The show's day in the theatre's time zone."""

    title = "show date"
    parameter_name = "show_date"

    def lookups(self, request, model_admin):
        return [("today", "Today"), ("tomorrow", "Tomorrow"), ("week", "Next 7 days"), ("past", "Before today")]

    def queryset(self, request, queryset):
        today = timezone.localdate()

        def midnight(days: int) -> datetime:
            return timezone.make_aware(datetime.combine(today + timedelta(days=days), datetime.min.time()))

        ranges = {"today": (0, 1), "tomorrow": (1, 2), "week": (0, 7)}
        if self.value() in ranges:
            start, end = ranges[self.value()]
            return queryset.filter(show__starts_at__gte=midnight(start), show__starts_at__lt=midnight(end))
        if self.value() == "past":
            return queryset.filter(show__starts_at__lt=midnight(0))
        return queryset


class TicketForm(forms.ModelForm):
    """A ticket's show, seat, name and phone, saved by services.ticket_update.

    The fields are not the model's, so the ModelForm never writes them to the ticket
    itself: only the service does, with its capacity and seat checks.
    """

    show_choice = forms.ModelChoiceField(queryset=Show.objects.none(), label="Show")
    seat_label = forms.CharField(
        label="Seat",
        required=False,
        help_text="A label like B4. Blank keeps the seat, or takes the lowest free seat when moving to another show.",
    )
    name = forms.CharField(max_length=100)
    phone_number = PhoneNumberField()

    class Meta:
        model = Ticket
        fields: list[str] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        ticket = self.instance
        # A ticket can only move to a show that has not started; its own show stays listed.
        self.fields["show_choice"].queryset = Show.objects.filter(
            Q(starts_at__gt=timezone.now()) | Q(pk=ticket.show_id)
        ).order_by("starts_at")
        customer = ticket.booking.customer
        self.initial.update(
            show_choice=ticket.show_id,
            seat_label=ticket.seat_label,
            name=customer.name,
            phone_number=customer.phone_number,
        )

    def clean_seat_label(self) -> int | None:
        label = self.cleaned_data["seat_label"].strip()
        if not label:
            return None
        seat = seat_number(label)
        if seat is None:
            raise forms.ValidationError(f"{label} is not a seat label like B4.")
        return seat

    def ticket_changes(self) -> dict:
        """The keyword arguments of services.ticket_update for what staff changed."""
        ticket, data = self.instance, self.cleaned_data
        changes: dict = {}
        if data["show_choice"].pk != ticket.show_id:
            changes["choice"] = services.ShowChoice(show_id=data["show_choice"].pk)
        if data["seat_label"] is not None and (changes or data["seat_label"] != ticket.seat):
            changes["seat"] = data["seat_label"]
        customer = ticket.booking.customer
        if data["name"] != customer.name:
            changes["name"] = data["name"]
        if data["phone_number"] != customer.phone_number:
            changes["phone_number"] = data["phone_number"].as_e164
        return changes


@admin.register(Ticket)
class TicketAdmin(RuleErrorsAsMessages, admin.ModelAdmin):
    form = TicketForm
    list_display = [
        "short_id",
        "name",
        "phone_number",
        "show_time",
        "seat_display",
        "booking_link",
        "expired",
        "checked_in",
    ]
    list_select_related = ["show", "booking__customer"]
    list_filter = ["expired", CheckedInFilter, ShowDateFilter]
    date_hierarchy = "show__starts_at"
    # "id" matches the start of an id too: on PostgreSQL a UUID is searched as its hex text.
    search_fields = ["booking__customer__name", "booking__customer__phone_number", "booking__reference", "id"]
    ordering = ["-show__starts_at", "seat"]
    fieldsets = [
        (None, {"fields": ["show_choice", "seat_label", "name", "phone_number"]}),
        ("Record", {"fields": ["id", "booking_link", "expired", "checked_in_at", "booked_at"]}),
    ]
    readonly_fields = ["id", "booking_link", "expired", "checked_in_at", "booked_at"]
    actions = ["check_in", "undo_check_in", "mark_expired", "export_csv"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("show", "booking__customer")

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        # The "tickets" links of the customer and booking pages filter by these.
        return lookup == "booking__customer__id__exact" or super().lookup_allowed(lookup, value, request)

    def has_add_permission(self, request) -> bool:
        # Tickets are booked through the API (POST /api/tickets), where the rules and the
        # booking reference are made; the admin only finds and fixes them.
        return False

    @admin.display(description="Id", ordering="id")
    def short_id(self, ticket: Ticket) -> str:
        return str(ticket.id)[:8]

    @admin.display(description="Name", ordering="booking__customer__name")
    def name(self, ticket: Ticket) -> str:
        return ticket.booking.customer.name

    @admin.display(description="Phone")
    def phone_number(self, ticket: Ticket) -> str:
        return str(ticket.booking.customer.phone_number)

    @admin.display(description="Show (local time)", ordering="show__starts_at")
    def show_time(self, ticket: Ticket) -> str:
        return _local(ticket.show.starts_at)

    @admin.display(description="Seat", ordering="seat")
    def seat_display(self, ticket: Ticket) -> str:
        return ticket.seat_label

    @admin.display(description="Booking", ordering="booking__reference")
    def booking_link(self, ticket: Ticket) -> str:
        url = reverse("admin:api_booking_change", args=[ticket.booking_id])
        return format_html('<a href="{}">{}</a>', url, ticket.booking.reference)

    @admin.display(description="Checked in", boolean=True, ordering="checked_in_at")
    def checked_in(self, ticket: Ticket) -> bool:
        return ticket.checked_in_at is not None

    def save_model(self, request, obj: Ticket, form: TicketForm, change: bool) -> None:
        changes = form.ticket_changes()
        if not changes:
            return
        ticket = services.ticket_update(ticket_id=str(obj.pk), **changes)
        # For the admin's "changed" message and history entry.
        obj.show, obj.seat = ticket.show, ticket.seat

    def delete_model(self, request, obj: Ticket) -> None:
        services.ticket_cancel(ticket=obj)

    def delete_queryset(self, request, queryset: QuerySet) -> None:
        for ticket in queryset:
            services.ticket_cancel(ticket=ticket)

    def _report(self, request: HttpRequest, done: str, count: int, refused: Counter) -> None:
        """done holds {} for "N ticket(s)"."""
        self.message_user(request, done.format(f"{count} ticket{'s' if count != 1 else ''}"), messages.SUCCESS)
        if refused:
            reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(refused.items()))
            self.message_user(request, f"Left unchanged: {reasons}.", messages.WARNING)

    @admin.action(description="Check in the selected tickets")
    def check_in(self, request: HttpRequest, queryset: QuerySet) -> None:
        count, refused = 0, Counter()
        for ticket_id in queryset.values_list("pk", flat=True):
            try:
                services.ticket_check_in(ticket_id=ticket_id)
                count += 1
            except Conflict as exc:
                refused[{"already_checked_in": "checked in already"}.get(exc.code, "expired")] += 1
            except NotFound:
                refused["cancelled meanwhile"] += 1
        self._report(request, "Checked in {}.", count, refused)

    @admin.action(description="Undo the check-in of the selected tickets")
    def undo_check_in(self, request: HttpRequest, queryset: QuerySet) -> None:
        count, refused = 0, Counter()
        for ticket_id in queryset.filter(checked_in_at__isnull=False).values_list("pk", flat=True):
            try:
                services.ticket_check_in_undo(ticket_id=ticket_id)
                count += 1
            except Conflict:
                refused["expired"] += 1
            except NotFound:
                refused["cancelled meanwhile"] += 1
        self._report(request, "Undid the check-in of {}.", count, refused)

    @admin.action(description="Mark the selected tickets expired now (the purge job deletes them)")
    def mark_expired(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = queryset.filter(expired=False).update(expired=True)
        self._report(request, "Marked {} expired.", count, Counter())

    @admin.action(description="Export the selected tickets as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="tickets-{timezone.localtime():%Y%m%d-%H%M}.csv"'
        writer = csv.writer(response)
        writer.writerow(CSV_HEADER)
        tickets = queryset.select_related("show", "booking__customer").order_by("show__starts_at", "seat")
        for ticket in tickets.iterator(chunk_size=2000):
            writer.writerow(
                [
                    ticket.id,
                    _spreadsheet_safe(ticket.booking.customer.name),
                    ticket.booking.customer.phone_number,
                    _spreadsheet_safe(ticket.show.title),
                    timezone.localtime(ticket.show.starts_at).isoformat(timespec="minutes"),
                    ticket.seat_label,
                    ticket.booking.reference,
                    "yes" if ticket.expired else "no",
                    timezone.localtime(ticket.checked_in_at).isoformat(timespec="seconds")
                    if ticket.checked_in_at
                    else "",
                    timezone.localtime(ticket.booked_at).isoformat(timespec="seconds"),
                ]
            )
        return response


CSV_HEADER = [
    "id",
    "name",
    "phone_number",
    "title",
    "starts_at",
    "seat",
    "booking",
    "expired",
    "checked_in_at",
    "booked_at",
]


def _spreadsheet_safe(text: str) -> str:
    """Customers type their names: one starting like a formula must not run in a spreadsheet."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# --- customers and bookings ------------------------------------------------------------


class CustomerBookingInline(ReadOnlyInline):
    model = Booking
    fields = ["reference", "created_at", "ticket_count"]
    readonly_fields = fields
    ordering = ["-created_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(ticket_count=Count("tickets"))

    @admin.display(description="Tickets")
    def ticket_count(self, booking: Booking) -> int:
        return booking.ticket_count


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "phone_number", "bookings_count", "tickets_link"]
    search_fields = ["name", "phone_number"]
    ordering = ["name"]
    inlines = [CustomerBookingInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(booking_count=Count("bookings", distinct=True), ticket_count=Count("bookings__tickets"))
        )

    def has_add_permission(self, request) -> bool:
        return False  # customers are made by booking

    def has_delete_permission(self, request, obj=None) -> bool:
        # The purge deletes a person once no booking is left, guarded against a booking
        # that reuses them meanwhile (Booking.customer has no database constraint).
        return False

    @admin.display(description="Bookings", ordering="booking_count")
    def bookings_count(self, customer: Customer) -> int:
        return customer.booking_count

    @admin.display(description="Tickets", ordering="ticket_count")
    def tickets_link(self, customer: Customer) -> str:
        url = reverse("admin:api_ticket_changelist") + f"?booking__customer__id__exact={customer.pk}"
        return format_html('<a href="{}">{}</a>', url, customer.ticket_count)


class BookingTicketInline(ReadOnlyInline):
    model = Ticket
    fields = ["show", "seat_display", "expired", "checked_in_at"]
    readonly_fields = fields
    ordering = ["show__starts_at", "seat"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("show")

    @admin.display(description="Seat")
    def seat_display(self, ticket: Ticket) -> str:
        return seat_label(ticket.seat) if ticket.pk else ""


@admin.register(Booking)
class BookingAdmin(admin.ModelAdmin):
    list_display = ["reference", "customer_name", "customer_phone", "tickets_link", "created_at"]
    list_select_related = ["customer"]
    list_filter = ["created_at"]
    search_fields = ["reference", "customer__name", "customer__phone_number"]
    ordering = ["-created_at"]
    fields = ["reference", "customer", "created_at"]
    readonly_fields = fields
    inlines = [BookingTicketInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(ticket_count=Count("tickets"))

    def has_add_permission(self, request) -> bool:
        return False  # bookings are made through the API, with their tickets

    @admin.display(description="Name", ordering="customer__name")
    def customer_name(self, booking: Booking) -> str:
        return booking.customer.name

    @admin.display(description="Phone")
    def customer_phone(self, booking: Booking) -> str:
        return str(booking.customer.phone_number)

    @admin.display(description="Tickets", ordering="ticket_count")
    def tickets_link(self, booking: Booking) -> str:
        url = reverse("admin:api_ticket_changelist") + f"?booking__id__exact={booking.pk}"
        return format_html('<a href="{}">{}</a>', url, booking.ticket_count)

    def delete_model(self, request, obj: Booking) -> None:
        services.booking_cancel(booking=obj)

    def delete_queryset(self, request, queryset: QuerySet) -> None:
        for booking in queryset:
            services.booking_cancel(booking=booking)
