"""The catalog in the admin: venues, screens with their seat maps drawn, films, and the
schedule with seat counts, each show's seats by status, its blocked seats and tickets."""

import json
from collections import Counter
from typing import Any
from zoneinfo import available_timezones

import phonenumbers
from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from .. import selectors
from ..models import Film, Screen, SeatBlock, Show, Ticket, Venue, expiry_cutoff
from ..seatmap_svg import STATUSES, seat_map_svg
from ..seatmaps import SeatMapError, parse
from ..serializers.fields import SEAT_LABEL
from ..services import catalog
from .base import ReadOnlyInline, RuleErrorsAsMessages, history_link, staff_actor


class DeletedThroughService(RuleErrorsAsMessages):
    """Venues, screens and films are deleted by services.catalog.in_use_delete, which
    refuses (a message) while shows use them.

    Django's own check would stop first, on a page listing the "protected" shows; the
    confirmation page asks instead, and the service decides. One at a time: the bulk
    delete action would report deletions the service refused.
    """

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, _protected = super().get_deleted_objects(objs, request)  # type: ignore[misc]
        return deleted, counts, perms_needed, []

    def delete_model(self, request, obj: Venue | Screen | Film) -> None:
        catalog.in_use_delete(obj)

    def get_actions(self, request):
        actions = super().get_actions(request)  # type: ignore[misc]
        actions.pop("delete_selected", None)
        return actions


# --- venues ------------------------------------------------------------------------------


class VenueForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=lambda: [(zone, zone) for zone in sorted(available_timezones())])
    country = forms.ChoiceField(
        choices=lambda: [(region, region) for region in sorted(phonenumbers.SUPPORTED_REGIONS)],
        help_text="ISO 3166 alpha-2: how a phone number without a country code is read at this venue.",
    )
    currency = forms.RegexField(
        regex=r"^[A-Z]{3}$",
        max_length=3,
        help_text="ISO 4217, like EUR.",
        error_messages={"invalid": "An ISO 4217 code of three capital letters, like EUR."},
    )

    class Meta:
        model = Venue
        fields = ["name", "time_zone", "currency", "country"]


class VenueScreenInline(ReadOnlyInline):
    model = Screen
    fields = ("name", "capacity")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("venue")  # each row is headed by its name


@admin.register(Venue)
class VenueAdmin(DeletedThroughService, admin.ModelAdmin):
    form = VenueForm
    list_display = ["name", "zone", "currency", "country", "screens_count"]
    search_fields = ["name"]
    inlines = [VenueScreenInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(screen_count=Count("screens"))

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Its screens go with it (in_use_delete); Django's collector stops at them (Screen.venue
        # is PROTECT), so they are named here.
        screens = [f"Screen: {screen}" for screen in Screen.objects.filter(venue__in=objs).select_related("venue")]
        if screens:
            deleted, counts = [*deleted, screens], {**counts, "screens": len(screens)}
        return deleted, counts, perms_needed, protected

    @admin.display(description="Zone", ordering="time_zone")
    def zone(self, venue: Venue) -> str:
        return venue.time_zone

    @admin.display(description="Screens", ordering="screen_count")
    def screens_count(self, venue: Venue) -> str:
        url = reverse("admin:api_screen_changelist") + f"?venue__id__exact={venue.pk}"
        return format_html('<a href="{}">{}</a>', url, venue.screen_count)  # type: ignore[attr-defined]


# --- screens -----------------------------------------------------------------------------


class SeatMapJSONField(forms.JSONField):
    """A seat map as JSON text, one row a line, each seat with only what differs from the
    defaults (x its number, category standard, kind seat); cleaned into a SeatMap."""

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        rows = value.get("rows") if isinstance(value, dict) and set(value) == {"rows"} else None
        if not isinstance(rows, list):
            return json.dumps(value, ensure_ascii=False, indent=2)
        lines = ",\n".join("  " + json.dumps(row, ensure_ascii=False) for row in rows)
        return '{"rows": [\n' + lines + "\n]}"

    def clean(self, value: Any) -> Any:
        document = super().clean(value)
        try:
            return parse(document)
        except SeatMapError as exc:
            raise forms.ValidationError(exc.problems) from exc


def short_document(document: dict) -> dict:
    """A full seat map document with each seat's defaults left out."""
    return {
        "rows": [
            {
                "label": row["label"],
                "seats": [
                    {"number": seat["number"]}
                    | ({"x": seat["x"]} if seat["x"] != seat["number"] else {})
                    | ({"category": seat["category"]} if seat["category"] != "standard" else {})
                    | ({"kind": seat["kind"]} if seat["kind"] != "seat" else {})
                    for seat in row["seats"]
                ],
            }
            for row in document["rows"]
        ]
    }


class ScreenForm(forms.ModelForm):
    # Not the model's field: services.catalog.screen_save writes the map, after checking
    # that no seat in use is dropped from it (the ModelForm would write it first).
    seat_map_text = SeatMapJSONField(
        label="Seat map",
        widget=forms.Textarea(attrs={"rows": 12, "cols": 72, "wrap": "off", "style": "font-family:monospace"}),
        help_text=format_html(
            "Rows front (nearest the screen) to back; a seat has a <code>number</code> and may have an <code>x</code> "
            "(its place in the row: a step over 1 is an aisle), a <code>category</code> ({}) and a <code>kind</code> "
            '(seat, wheelchair, companion). Or <code>{{"grid": {{"rows": 5, "seats_per_row": 12}}}}</code>. '
            'The JSON Schema: <a href="/api/seat-map-schema">/api/seat-map-schema</a>.',
            ", ".join(settings.BOOKING_SEAT_CATEGORIES),
        ),
    )

    class Meta:
        model = Screen
        fields = ["venue", "name"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.initial["seat_map_text"] = short_document(self.instance.seat_map)
            rows = len(self.instance.seat_map["rows"])
            self.fields["seat_map_text"].widget.attrs["rows"] = min(max(rows + 3, 12), 40)
        else:
            self.initial["seat_map_text"] = {"grid": {"rows": 8, "seats_per_row": 12}}


@admin.register(Screen)
class ScreenAdmin(DeletedThroughService, admin.ModelAdmin):
    form = ScreenForm
    list_display = ["name", "venue", "capacity"]
    list_display_links = ["name"]
    list_select_related = ["venue"]
    list_filter = ["venue"]
    search_fields = ["name", "venue__name"]
    fieldsets = [
        (None, {"fields": ["venue", "name", "capacity"]}),
        ("Seat map", {"fields": [("seat_map_text", "seat_map_picture")]}),
    ]
    readonly_fields = ["capacity", "seat_map_picture"]

    @admin.display(description="Picture")
    def seat_map_picture(self, screen: Screen) -> SafeString | str:
        if screen.pk is None:
            return "Drawn here once saved."
        return seat_map_svg(screen.seats)

    def save_model(self, request, obj: Screen, form: ScreenForm, change: bool) -> None:
        catalog.screen_save(screen=obj, seat_map=form.cleaned_data["seat_map_text"], now=timezone.now())


# --- films -------------------------------------------------------------------------------


@admin.register(Film)
class FilmAdmin(DeletedThroughService, admin.ModelAdmin):
    list_display = ["title", "runtime", "rating"]
    search_fields = ["title"]
    fields = ["title", "runtime_minutes", "rating", "description"]

    @admin.display(description="Runtime", ordering="runtime_minutes")
    def runtime(self, film: Film) -> str:
        hours, minutes = divmod(film.runtime_minutes, 60)
        return f"{film.runtime_minutes} min ({hours} h {minutes:02d})"


# --- shows -------------------------------------------------------------------------------


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
        fields = ["screen", "film", "title", "starts_at", "capacity"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        screen = self.fields["screen"]
        screen.queryset = Screen.objects.select_related("venue")  # type: ignore[attr-defined]
        if self.instance.pk is not None:
            screen.disabled = True  # a show stays on its screen
        self.fields["capacity"].required = False
        self.fields["capacity"].help_text = "Blank: every place of the screen's seat map."

    def clean_capacity(self) -> int | None:
        capacity = self.cleaned_data["capacity"]
        if capacity is not None and self.instance.pk is not None:
            # The rule of services.catalog.show_update, checked here to show it on the
            # form; show_update checks it again under the show's lock when saving.
            taken = selectors.show_taken_count(self.instance, now=timezone.now())
            if capacity < taken:
                raise forms.ValidationError(f"Capacity can't be lower than the {taken} seats booked or held.")
        return capacity


class ShowTicketInline(ReadOnlyInline):
    model = Ticket
    fields = ("seat_display", "name", "phone_number", "booking_reference", "checked_in_at")
    readonly_fields = fields
    ordering = ["seat_order"]

    def get_queryset(self, request):
        # The show too: each row is headed by its ticket's name, which names the show.
        return super().get_queryset(request).select_related("booking__customer", "show__screen__venue")

    # A row whose ticket was cancelled after the page was loaded comes back empty.

    @admin.display(description="Seat")
    def seat_display(self, ticket: Ticket) -> str:
        return ticket.seat if ticket.pk else ""

    @admin.display(description="Name")
    def name(self, ticket: Ticket) -> str:
        return ticket.booking.customer.name if ticket.pk else ""

    @admin.display(description="Phone")
    def phone_number(self, ticket: Ticket) -> str:
        return str(ticket.booking.customer.phone_number) if ticket.pk else ""

    @admin.display(description="Booking")
    def booking_reference(self, ticket: Ticket) -> str:
        return ticket.booking.reference if ticket.pk else ""


class SeatBlockForm(forms.ModelForm):
    class Meta:
        model = SeatBlock
        fields = ["seat", "reason"]

    def clean_seat(self) -> str:
        label = self.cleaned_data["seat"].strip().upper()
        if not SEAT_LABEL.match(label):
            raise forms.ValidationError(f"{label} is not a seat label like B4.")
        return label


class SeatBlockInline(admin.TabularInline):
    """The show's blocked seats: added and removed by services.catalog.seats_block and
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
class ShowAdmin(RuleErrorsAsMessages, admin.ModelAdmin):
    form = ShowForm
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
    date_hierarchy = "starts_at"
    list_filter = [ShowStatusFilter, "screen__venue"]
    search_fields = ["title"]
    ordering = ["-starts_at"]
    readonly_fields = ["venue", "seat_map_picture"]

    def get_fieldsets(self, request, obj=None):
        fields = ["screen", "film", "title", "starts_at", "capacity"]
        if obj is None:
            return [(None, {"fields": fields})]
        return [(None, {"fields": ["venue", *fields]}), ("Seats", {"fields": ["seat_map_picture"]})]

    def get_inlines(self, request, obj):
        return [SeatBlockInline, ShowTicketInline] if obj is not None else []

    def get_queryset(self, request):
        # tickets_booked and seats_available come from subqueries in the same SELECT,
        # so the list costs the same few queries however many shows and tickets. The
        # list shows no prices: no prefetch of them (a query per page for nothing).
        return selectors.shows_with_counts(now=timezone.now()).prefetch_related(None)

    @admin.display(description="Title", ordering="title")
    def title_display(self, show: Show) -> str:
        return show.title or "(untitled)"

    @admin.display(description="Starts (local time)", ordering="starts_at")
    def starts_local(self, show: Show) -> str:
        return f"{show.local_start:%Y-%m-%d %H:%M}"

    @admin.display(description="Tickets booked", ordering="tickets_booked")
    def tickets_booked_link(self, show: Show) -> str:
        url = reverse("admin:api_ticket_changelist") + f"?show__id__exact={show.pk}"
        return format_html('<a href="{}">{}</a>', url, show.tickets_booked)

    @admin.display(description="History")
    def history(self, show: Show) -> str:
        return history_link("show", show.pk)

    @admin.display(description="Seats free", ordering="seats_available")
    def seats_free(self, show: Show) -> int:
        return show.seats_available

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

    def save_formset(self, request, form, formset, change: bool) -> None:
        if formset.model is not SeatBlock:
            super().save_formset(request, form, formset, change)
            return
        show, now = form.instance, timezone.now()
        removed = [row.instance for row in formset.deleted_forms if row.instance.pk is not None]
        for block in removed:
            catalog.seat_unblock(show_id=show.pk, seat=block.seat)
        added: dict[str, list[str]] = {}  # seats by reason
        for row in formset.extra_forms:
            if row.has_changed() and row not in formset.deleted_forms:
                added.setdefault(row.cleaned_data["reason"], []).append(row.cleaned_data["seat"])
        blocks = [
            block
            for reason, seats in added.items()
            for block in catalog.seats_block(show_id=show.pk, seats=seats, reason=reason, now=now)
        ]
        # What the admin's history entry reads (formset.save() would have set them).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = blocks, [], removed

    def save_model(self, request, obj: Show, form, change: bool) -> None:
        # Through the services, as the API's writes: the overlap and capacity rules, the
        # show's lock for a change.
        film_id = obj.film_id
        if change:
            saved = catalog.show_update(
                show_id=obj.pk,
                now=timezone.now(),
                title=obj.title,
                starts_at=obj.starts_at,
                capacity=obj.capacity,
                film_id=film_id,
                actor=staff_actor(request),
            )
        else:
            saved = catalog.show_create(
                starts_at=obj.starts_at,
                screen_id=obj.screen_id,
                film_id=film_id,
                title=obj.title,
                capacity=obj.capacity,
                actor=staff_actor(request),
            )
        obj.pk, obj.title, obj.ends_at, obj.busy_until = saved.pk, saved.title, saved.ends_at, saved.busy_until

    def delete_model(self, request, obj: Show) -> None:
        catalog.show_delete(show_id=obj.pk, actor=staff_actor(request))
