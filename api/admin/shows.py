"""The schedule in the admin: shows with seat counts, each show's seats by status, its
blocked seats and tickets."""

from collections import Counter

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import lookup_spawns_duplicates
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from .. import selectors
from ..models import SeatBlock, Show, Ticket, WaitlistEntry
from ..seatmap_svg import STATUSES, seat_map_svg
from ..serializers.fields import seat_label
from ..services import blocks, catalog
from ..wallclock import wall_clock
from .base import (
    AllOrNoneActions,
    DeletedWithIt,
    ListQueriesChecked,
    ModelFieldLimits,
    ReadOnlyInline,
    RuleErrorsAsMessages,
    TicketMoments,
    history_link,
    staff_actor,
)
from .filters import ShowDateFilter, ShowStatusFilter
from .prices import ShowPriceInline
from .show_form import ShowForm
from .waitlist import show_waitlist_url


class ShowTicketInline(TicketMoments, ReadOnlyInline):
    model = Ticket
    fields = ("seat_display", "name", "phone_number", "booking_reference", "checked_in_local")
    readonly_fields = fields
    ordering = ["seat_order"]

    def get_queryset(self, request):
        # The show too: each row is headed by its ticket's name, which names the show.
        tickets = super().get_queryset(request).select_related("booking", "holder", "show__screen__venue")
        return tickets.defer(selectors.SEAT_MAP_OF_SHOW)

    # A row whose ticket was cancelled after the page was loaded comes back empty.

    @admin.display(description="Seat")
    def seat_display(self, ticket: Ticket) -> str:
        return ticket.seat if ticket.pk else ""

    @admin.display(description="Name")
    def name(self, ticket: Ticket) -> str:
        return ticket.holder.name if ticket.pk else ""

    @admin.display(description="Phone")
    def phone_number(self, ticket: Ticket) -> str:
        return str(ticket.holder.phone_number) if ticket.pk else ""

    @admin.display(description="Booking")
    def booking_reference(self, ticket: Ticket) -> str:
        return ticket.booking.reference if ticket.pk else ""


class SeatBlockForm(forms.ModelForm):
    class Meta:
        model = SeatBlock
        fields = ["seat", "reason"]

    def clean_seat(self) -> str:
        given = self.cleaned_data["seat"]
        label = seat_label(given)
        if label is None:
            raise forms.ValidationError(f"{given.strip()} is not a seat label like B4.")
        return label


class SeatBlockInline(admin.TabularInline):
    """The show's blocked seats: added and removed by services.blocks.seats_block and
    seat_unblock (ShowAdmin.save_formset), so that a booked or held seat is never blocked."""

    model = SeatBlock
    form = SeatBlockForm
    fields = ("seat", "reason", "created_at")
    readonly_fields = ("created_at",)
    extra = 0
    verbose_name = "blocked seat"
    verbose_name_plural = "blocked seats (kept off sale: broken, house seats)"

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a block is added or removed, never edited

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("show__screen__venue")  # each row is headed by its name


@admin.register(Show)
class ShowAdmin(
    ModelFieldLimits, AllOrNoneActions, RuleErrorsAsMessages, DeletedWithIt, ListQueriesChecked, admin.ModelAdmin
):
    form = ShowForm
    # services.catalog.show_delete, as the API's DELETE, takes the show's waiting list with
    # it (an entry is removed from the line, never deleted alone).
    deleted_with_it = (WaitlistEntry,)
    list_display = [
        "title_display",
        "starts_local",
        "screen",
        "capacity",
        "tickets_booked_link",
        "seats_free",
        "occupancy",
        "history",
    ]
    list_select_related = ["screen__venue", "film"]
    list_filter = [ShowStatusFilter, ShowDateFilter, "screen__venue"]
    search_fields = ["title"]
    readonly_fields = ["venue", "seat_map_picture", "waiting_list"]

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        # A lookup through the show's tickets, holds, prices, blocks or waiting list
        # (?blocks=1, no link or filter's) makes Django's list DISTINCT, which PostgreSQL
        # can't order by get_ordering's expressions: a 500. A 400, as every list's lookup
        # the database would fail on.
        if lookup_spawns_duplicates(self.opts, lookup):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_ordering(self, request):
        # Soonest first: the shows to come, the next one at the top; then those that
        # started, the latest first (they were the first page, furthest future on top).
        # Started by this host's clock, as the status filter and the services read it (the
        # database server's NOW() may disagree).
        started = Q(starts_at__lte=timezone.now())
        return [
            Case(When(started, then=Value(1)), default=Value(0)).asc(),
            Case(When(started, then=F("starts_at"))).desc(nulls_last=True),
            "starts_at",
            "pk",  # shows starting at one moment (other screens, other venues): a fixed order
        ]

    def get_fieldsets(self, request, obj=None):
        fields = ["screen", "film", "title", "starts_at", "capacity"]
        if obj is None:
            return [(None, {"fields": fields})]
        if not self.has_change_permission(request, obj):
            # Read-only: the start in the venue's local time, as the form shows it (the
            # model's value would read in TIME_ZONE).
            fields[fields.index("starts_at")] = "starts_local"
        if "starts_at" in fields:
            at = fields.index("starts_at") + 1
            fields[at:at] = ["starts_at_shown", "prices_shown"]
        return [
            (None, {"fields": ["venue", *fields]}),
            ("Seats", {"fields": ["seat_map_picture"]}),
            ("Waiting list", {"fields": ["waiting_list"]}),
        ]

    def get_inlines(self, request, obj):
        return [ShowPriceInline, SeatBlockInline, ShowTicketInline] if obj is not None else [ShowPriceInline]

    def get_queryset(self, request):
        # tickets_booked and seats_available come from subqueries in the same SELECT,
        # so the list costs the same few queries however many shows and tickets. The
        # list shows no prices: no prefetch of them (a query per page for nothing).
        return selectors.shows_with_counts(now=timezone.now()).prefetch_related(None)

    @admin.display(description="Title", ordering="title")
    def title_display(self, show: Show) -> str:
        return show.title or "(untitled)"

    @admin.display(description="Starts (local)", ordering="starts_at")
    def starts_local(self, show: Show) -> str:
        return wall_clock(show.starts_at, show.zone)

    @admin.display(description="Booked", ordering="tickets_booked")
    def tickets_booked_link(self, show: Show) -> str:
        url = reverse("admin:api_ticket_changelist") + f"?show__id__exact={show.pk}"
        return format_html('<a href="{}">{}</a>', url, show.tickets_booked)

    @admin.display(description="History")
    def history(self, show: Show) -> str:
        return history_link("show", show.pk)

    @admin.display(description="Free", ordering="seats_available")
    def seats_free(self, show: Show) -> int:
        return show.seats_available

    @admin.display(description="Occupancy")
    def occupancy(self, show: Show) -> str:
        taken = show.tickets_booked + show.seats_held  # a started show sells none, but is as full as it was
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

    @admin.display(description="Venue")
    def venue(self, show: Show) -> str:
        venue = show.screen.venue
        url = reverse("admin:api_venue_change", args=[venue.pk])
        return format_html('<a href="{}">{}</a> ({})', url, venue.name, venue.time_zone)

    @admin.display(description="Seat map")
    def seat_map_picture(self, show: Show) -> SafeString:
        statuses = {
            seat.seat.label: seat.status
            for row in selectors.show_seat_statuses(show, now=timezone.now())
            for seat in row.seats
        }
        counts = Counter(statuses.values())
        summary = ", ".join(f"{counts[status]} {status}" for status in STATUSES)
        return format_html(
            "<div>{}</div><p>{} places: {}. Capacity for sale: {}.</p>",
            seat_map_svg(show.screen.seats, statuses),
            len(statuses),
            summary,
            show.capacity,
        )

    @admin.display(description="Waiting list")
    def waiting_list(self, show: Show) -> str:
        statuses = Counter(
            selectors.waitlist_entries(now=timezone.now()).filter(show=show).values_list("current_status", flat=True)
        )
        summary = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items())) or "nobody"
        return format_html('<a href="{}">In joining order</a>: {}.', show_waitlist_url(show.pk), summary)

    def save_formset(self, request, form, formset, change: bool) -> None:
        if formset.model is not SeatBlock:
            super().save_formset(request, form, formset, change)
            return
        show, now, actor = form.instance, timezone.now(), staff_actor(request)
        removed = [row.instance for row in formset.deleted_forms if row.instance.pk is not None]
        for block in removed:
            blocks.seat_unblock(show_id=show.pk, seat=block.seat, actor=actor, now=now, shown_block=block.pk)
        added: dict[str, list[str]] = {}  # seats by reason
        for row in formset.extra_forms:
            if row.has_changed() and row not in formset.deleted_forms:
                added.setdefault(row.cleaned_data["reason"], []).append(row.cleaned_data["seat"])
        made = [
            block
            for reason, seats in added.items()
            for block in blocks.seats_block(show_id=show.pk, seats=seats, reason=reason, now=now, actor=actor)
        ]
        # What the admin's history entry reads (formset.save() would have set them).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = made, [], removed

    def save_model(self, request, obj: Show, form, change: bool) -> None:
        # Through the services, as the API's writes: the overlap and capacity rules, the
        # show's lock for a change.
        film_id = obj.film_id if not change or "film" in form.changed_data else None
        # A film's show takes the film's title: the field's is sent only when staff typed one
        # (the service refuses another; the form already said so), not the old film's.
        title = obj.title if (obj.film_id is None and not change) or "title" in form.changed_data else None
        if change:
            # The capacity only when staff changed it: sent as shown, it made a cap of what a
            # smaller map had brought it down to. Blank is every place of the map, as the
            # service reads it under the show's lock (the size this form read, unlocked, left a
            # larger map saved meanwhile with a cap at the old size).
            capacity, every_place = None, False
            if "capacity" in form.changed_data:
                capacity, every_place = obj.capacity, obj.capacity is None
            saved = catalog.show_update(
                show_id=obj.pk,
                now=timezone.now(),
                title=title,
                # Only when staff typed one: the start the form read, unlocked, moved back a
                # colleague's move committed before this save's lock.
                starts_at=obj.starts_at if form.start_typed else None,
                capacity=capacity,
                every_place=every_place,
                film_id=film_id,
                actor=staff_actor(request),
            )
        else:
            saved = catalog.show_create(
                starts_at=obj.starts_at,
                now=timezone.now(),
                local=form.local,  # the zone as it stands under the screen's lock (catalog.show_create)
                screen_id=obj.screen_id,
                film_id=film_id,
                title=title or "",
                capacity=obj.capacity,
                actor=staff_actor(request),
            )
        obj.pk, obj.title, obj.ends_at, obj.busy_until = saved.pk, saved.title, saved.ends_at, saved.busy_until

    def delete_model(self, request, obj: Show) -> None:
        catalog.show_delete(show_id=obj.pk, actor=staff_actor(request), now=timezone.now())

    def delete_queryset(self, request, queryset) -> None:
        # The bulk action too goes through the service (Django's would run
        # queryset.delete(): no audit entry, no show.cancelled). All or none: a show the
        # service refuses (a ticket booked since the confirmation page) keeps the others,
        # and staff get its message. Locked in primary-key order, as two staff may
        # delete overlapping selections at once.
        with transaction.atomic():
            for show_id in queryset.order_by("pk").values_list("pk", flat=True):
                catalog.show_delete(show_id=show_id, actor=staff_actor(request), now=timezone.now())
