"""Shows in the admin: the schedule with seat counts, and each show's tickets."""

from django import forms
from django.conf import settings
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from .. import selectors
from ..models import Show, Ticket, expiry_cutoff
from ..services import catalog
from .base import ReadOnlyInline, RuleErrorsAsMessages, history_link, staff_actor


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

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["screen"].disabled = True  # a show stays on its screen
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
        return super().get_queryset(request).select_related("booking__customer")

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
    inlines = [ShowTicketInline]

    def get_queryset(self, request):
        # tickets_booked and seats_available come from subqueries in the same SELECT,
        # so the list costs the same few queries however many shows and tickets.
        return selectors.shows_with_counts(now=timezone.now())

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

    def save_model(self, request, obj: Show, form, change: bool) -> None:  # type: ignore[no-untyped-def]
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
