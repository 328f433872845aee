"""Tickets in the admin: find, fix, check in, cancel, export (customers and bookings:
bookings.py)."""

import csv
import uuid
from collections import Counter
from typing import TYPE_CHECKING, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from .. import selectors
from ..errors import Conflict, TicketMovedMeanwhile, TicketNotFound
from ..forms import PhoneFormField
from ..locking import lock_bookings, lock_tickets
from ..models import Booking, Customer, Show, Ticket, plain_reference
from ..serializers.fields import iso, seat_label
from ..services import door, jobs, sales
from ..wallclock import wall_clock
from .base import (
    AllOrNoneActions,
    ListQueriesChecked,
    ManyRows,
    RuleErrorsAsMessages,
    TicketMoments,
    history_link,
    staff_actor,
)
from .filters import ShowDateFilter

if TYPE_CHECKING:
    pass


class CheckedInFilter(admin.SimpleListFilter):
    title = "checked in"
    parameter_name = "checked_in"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(checked_in_at__isnull=self.value() == "no")
        return queryset


class TicketForm(forms.ModelForm):
    """A ticket's show, seat, name and phone, saved by services.ticket_changes.ticket_update.

    The fields are not the model's, so the ModelForm never writes them to the ticket
    itself: only the service does, with its capacity and seat checks.
    """

    show_choice = forms.ModelChoiceField(queryset=Show.objects.none(), label="Show")
    seat_label = forms.CharField(
        label="Seat",
        required=False,
        help_text="A label like B4. Blank keeps the seat, or takes the best available one at another show.",
    )
    name = forms.CharField(max_length=100)
    phone_number = PhoneFormField()

    class Meta:
        model = Ticket
        fields: list[str] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        ticket = self.instance
        # A ticket can only move to a show that has not started; its own show stays listed.
        show_choice = cast(forms.ModelChoiceField, self.fields["show_choice"])  # declared above
        upcoming_or_own = Q(starts_at__gt=timezone.now()) | Q(pk=ticket.show_id)
        show_choice.queryset = (
            Show.objects.select_related("screen__venue").filter(upcoming_or_own).order_by("starts_at")
        )
        # A number typed without a country code is read in the ticket's venue's country.
        cast(PhoneFormField, self.fields["phone_number"]).region = ticket.show.screen.venue.country
        customer = ticket.holder
        self.initial.update(
            show_choice=ticket.show_id,
            seat_label=ticket.seat,
            name=customer.name,
            phone_number=customer.phone_number.as_e164,
        )
        # The page keeps what it showed: a change is what staff changed on it, not what
        # differs from the ticket now (a move the customer made meanwhile was undone).
        for field in self.fields.values():
            field.show_hidden_initial = True

    def clean(self) -> dict:
        data = super().clean() or {}
        # A move or a new seat typed on a page that showed the ticket elsewhere: applied to
        # where the ticket is now, it chose a seat at a show staff never saw.
        ticket, changed = self.instance, set(self.changed_data)
        shown = (
            self.data.get(self.add_initial_prefix("show_choice")),
            self.data.get(self.add_initial_prefix("seat_label")),
        )
        moved = None not in shown and shown != (str(ticket.show_id), ticket.seat)  # None: a page from before
        if moved and changed & {"show_choice", "seat_label"}:
            raise forms.ValidationError(TicketMovedMeanwhile.message)
        return data

    def clean_seat_label(self) -> str | None:
        given = self.cleaned_data["seat_label"].strip()
        if not given:
            return None
        label = seat_label(given)
        if label is None:
            raise forms.ValidationError(f"{given} is not a seat label like B4.")
        return label

    def ticket_changes(self) -> dict:
        """The keyword arguments of services.ticket_changes.ticket_update for what staff changed."""
        data, changed = self.cleaned_data, set(self.changed_data)
        changes: dict = {}
        if "show_choice" in changed:
            changes["show_id"] = data["show_choice"].pk
        if data["seat_label"] is not None and (changes or "seat_label" in changed):
            changes["seat"] = data["seat_label"]
        if changes:
            # Where the page showed it (clean compared it with the ticket as this POST read
            # it, unlocked): compared again under the ticket's lock.
            changes["seen_at"] = (self.instance.show_id, self.instance.seat)
        changes |= {field: data[field] for field in ("name", "phone_number") if field in changed}
        return changes


@admin.register(Ticket)
class TicketAdmin(
    TicketMoments, AllOrNoneActions, RuleErrorsAsMessages, ManyRows, ListQueriesChecked, admin.ModelAdmin
):
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
    list_select_related = ["show__screen__venue", "booking", "holder"]
    list_filter = ["expired", CheckedInFilter, ShowDateFilter]
    # Searched by get_search_results: the people first, as the people's list finds them.
    search_fields = ["holder__name", "holder__phone_number"]
    ordering = ["-show__starts_at", "seat_order"]
    fieldsets = [
        (None, {"fields": ["show_choice", "seat_label", "name", "phone_number"]}),
        ("Record", {"fields": ["id", "booking_link", "expired", "checked_in_local", "booked_local", "history"]}),
    ]
    readonly_fields = ["id", "booking_link", "expired", "checked_in_local", "booked_local", "history"]
    actions = ["check_in", "undo_check_in", "mark_expired", "export_csv"]

    def get_queryset(self, request):
        tickets = super().get_queryset(request).select_related("show__screen__venue", "booking", "holder")
        return tickets.defer(selectors.SEAT_MAP_OF_SHOW)

    def get_search_results(self, request, queryset, search_term):
        """The tickets of the people the people's list finds for the term (a name, or a
        phone number as people write it), of the booking whose reference it is, or whose id
        starts with it (the first 8 characters are enough). People and bookings are looked
        up first, then their tickets: a search that joined every ticket to its person and
        booking to match each word there read them all (6.6 to 15.8 s a search with
        2,000,000 tickets and 1,000,000 people)."""
        term = search_term.strip()
        if not term:
            return queryset, False
        people, _ = self.admin_site.get_model_admin(Customer).get_search_results(request, Customer.objects.all(), term)
        tickets = Ticket.objects.values("pk")
        found = tickets.filter(holder__in=people.values("pk")).union(
            tickets.filter(booking__in=Booking.objects.filter(reference=plain_reference(term)).values("pk"))
        )
        start = term.replace("-", "").lower()
        if 0 < len(start) <= 32 and all(c in "0123456789abcdef" for c in start):
            found = found.union(
                tickets.filter(pk__range=(uuid.UUID(start.ljust(32, "0")), uuid.UUID(start.ljust(32, "f"))))
            )
        return queryset.filter(pk__in=found), False

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        # The "tickets" link of a customer's page filters by its holder (the booking's, by booking).
        return lookup == "holder__id__exact" or super().lookup_allowed(lookup, value, request)

    def has_add_permission(self, request) -> bool:
        # Tickets are booked through the API (POST /api/tickets), where the rules and the
        # booking reference are made; the admin only finds and fixes them.
        return False

    @admin.display(description="Id", ordering="id")
    def short_id(self, ticket: Ticket) -> str:
        return str(ticket.id)[:8]

    @admin.display(description="Name", ordering="holder__name")
    def name(self, ticket: Ticket) -> str:
        return ticket.holder.name

    @admin.display(description="Phone")
    def phone_number(self, ticket: Ticket) -> str:
        return str(ticket.holder.phone_number)

    @admin.display(description="Show (local time)", ordering="show__starts_at")
    def show_time(self, ticket: Ticket) -> str:
        # Which show, not only when: two screens may start at one time.
        show = ticket.show
        return f"{wall_clock(show.starts_at, show.zone)} {show.title or '(untitled)'} · {show.screen.name}"

    @admin.display(description="Seat", ordering="seat_order")
    def seat_display(self, ticket: Ticket) -> str:
        return ticket.seat

    # The form's show and seat fields, as staff who may only view the ticket see them (the
    # read-only page shows an admin attribute of a field's name, and showed "None").
    @admin.display(description="Show")
    def show_choice(self, ticket: Ticket) -> str:
        return self.show_time(ticket)

    @admin.display(description="Seat label")
    def seat_label(self, ticket: Ticket) -> str:
        return ticket.seat

    @admin.display(description="Booking", ordering="booking__reference")
    def booking_link(self, ticket: Ticket) -> str:
        url = reverse("admin:api_booking_change", args=[ticket.booking_id])
        return format_html('<a href="{}">{}</a>', url, ticket.booking.reference)

    @admin.display(description="History")
    def history(self, ticket: Ticket) -> str:
        return history_link("ticket", ticket.pk)

    @admin.display(description="Checked in", boolean=True, ordering="checked_in_at")
    def checked_in(self, ticket: Ticket) -> bool:
        return ticket.checked_in_at is not None

    def save_model(self, request, obj: Ticket, form: TicketForm, change: bool) -> None:
        changes = form.ticket_changes()
        if not changes:
            return
        ticket = sales.ticket_update(
            ticket_id=obj.pk, now=timezone.now(), staff=True, actor=staff_actor(request), **changes
        )
        # For the admin's "changed" message and history entry.
        obj.show, obj.seat = ticket.show, ticket.seat

    def delete_model(self, request, obj: Ticket) -> None:
        sales.ticket_cancel(ticket_id=obj.pk, actor=staff_actor(request), staff=True, now=timezone.now())

    def delete_queryset(self, request, queryset: QuerySet) -> None:
        # All or none (AllOrNoneActions): a ticket checked in cancelled the ones before it
        # and said nothing was done. Their bookings locked first, then the tickets by id
        # (locking.py's order): booking by booking alone, each ticket after its booking's
        # lock, two bookings' tickets were taken against their ids, and deadlocked with the
        # expire job, which takes them by id.
        selected = Ticket.objects.filter(pk__in=list(queryset.values_list("pk", flat=True)))
        lock_bookings(selected.values_list("booking_id", flat=True))
        lock_tickets(selected)
        for ticket_id in selected.order_by("booking_id", "pk").values_list("pk", flat=True):
            try:
                sales.ticket_cancel(ticket_id=ticket_id, actor=staff_actor(request), staff=True, now=timezone.now())
            except TicketNotFound:
                continue  # cancelled since the list was read: as asked

    def _report(self, request: HttpRequest, done: str, count: int, refused: Counter) -> None:
        """done holds {} for "N ticket(s)"."""
        self.message_user(request, done.format(f"{count} ticket{'s' if count != 1 else ''}"), messages.SUCCESS)
        if refused:
            reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(refused.items()))
            self.message_user(request, f"Left unchanged: {reasons}.", messages.WARNING)

    @admin.action(description="Check in the selected tickets", permissions=["change"])
    def check_in(self, request: HttpRequest, queryset: QuerySet) -> None:
        count, refused = 0, Counter[str]()
        # In id order, as every write of several tickets takes them (locking.py): in the
        # list's order (seat order) the action's one transaction deadlocked with a cancel
        # of their booking, which takes them by id.
        for ticket_id in queryset.order_by("pk").values_list("pk", flat=True):
            try:
                door.ticket_check_in(ticket_id=ticket_id, now=timezone.now(), actor=staff_actor(request))
                count += 1
            except Conflict as exc:
                reason = {"already_checked_in": "checked in already", "too_early": "too early"}.get(exc.code, "expired")
                refused[reason] += 1
            except TicketNotFound:
                refused["cancelled meanwhile"] += 1
        self._report(request, "Checked in {}.", count, refused)

    @admin.action(description="Undo the check-in of the selected tickets", permissions=["change"])
    def undo_check_in(self, request: HttpRequest, queryset: QuerySet) -> None:
        count, refused = 0, Counter[str]()
        checked_in = queryset.filter(checked_in_at__isnull=False).order_by("pk")  # in id order, as check_in
        for ticket_id in checked_in.values_list("pk", flat=True):
            try:
                door.ticket_check_in_undo(ticket_id=ticket_id, now=timezone.now(), actor=staff_actor(request))
                count += 1
            except Conflict:
                refused["expired"] += 1
            except TicketNotFound:
                refused["cancelled meanwhile"] += 1
        self._report(request, "Undid the check-in of {}.", count, refused)

    @admin.action(
        description="Mark the selected tickets of started shows expired now (purged once their show's hours are over)",
        permissions=["change"],
    )
    def mark_expired(self, request: HttpRequest, queryset: QuerySet) -> None:
        ids = [str(pk) for pk in queryset.values_list("pk", flat=True)]
        count, waiting = jobs.tickets_mark_expired(ticket_ids=ids, now=timezone.now(), actor=staff_actor(request))
        refused = Counter({"of a show not started yet": waiting} if waiting else {})
        self._report(request, "Marked {} expired.", count, refused)

    @admin.action(description="Export the selected tickets as CSV")
    def export_csv(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="tickets-{timezone.localtime():%Y%m%d-%H%M}.csv"'
        writer = csv.writer(response)
        writer.writerow(CSV_HEADER)
        tickets = (
            queryset.select_related("show__screen__venue", "booking", "holder")
            .defer(selectors.SEAT_MAP_OF_SHOW)
            .order_by("show__starts_at", "seat_order")
        )
        for ticket in tickets.iterator(chunk_size=2000):
            writer.writerow(
                [
                    ticket.id,
                    _spreadsheet_safe(ticket.holder.name),
                    ticket.holder.phone_number,
                    _spreadsheet_safe(ticket.show.title),
                    ticket.show.local_start.isoformat(timespec="minutes"),
                    ticket.seat,
                    ticket.booking.reference,
                    "yes" if ticket.expired else "no",
                    # Every time of a ticket in its venue's zone, as its start and the API's answer.
                    iso(ticket.checked_in_at, ticket.show.zone) or "",
                    iso(ticket.booked_at, ticket.show.zone),
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
