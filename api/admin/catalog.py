"""The catalog in the admin: venues, screens with their seat maps drawn, and films (the
schedule of shows: shows.py)."""

import json
from typing import Any

import phonenumbers
from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from ..errors import SeatMapChangedMeanwhile
from ..models import Film, Screen, Venue
from ..models.catalog import default_country, default_time_zone, venue_time_zones
from ..parsers import MAX_DEPTH, depth
from ..seatmap_svg import seat_map_svg
from ..seatmaps import SeatMap, SeatMapError, digest, parse
from ..services import venues
from .base import (
    KeepsWhatItShowed,
    ListQueriesChecked,
    ModelFieldLimits,
    ReadOnlyInline,
    RuleErrorsAsMessages,
    staff_actor,
)


class DeletedThroughService(RuleErrorsAsMessages):
    """Venues, screens and films are deleted by services.venues.in_use_delete, which
    refuses (a message) while shows use them.

    Django's own check would stop first, on a page listing the "protected" shows; the
    confirmation page asks instead, and the service decides. One at a time: the bulk
    delete action would report deletions the service refused.
    """

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, _protected = super().get_deleted_objects(objs, request)  # type: ignore[misc]
        return deleted, counts, perms_needed, []

    def delete_model(self, request, obj: Venue | Screen | Film) -> None:
        venues.in_use_delete(obj, now=timezone.now(), actor=staff_actor(request))

    def get_actions(self, request):
        actions = super().get_actions(request)  # type: ignore[misc]
        actions.pop("delete_selected", None)
        return actions


def _fields_saved(form: forms.ModelForm, change: bool) -> dict[str, Any]:
    """What a venue's or film's audit entry lists, as the API's would for the same change:
    every field for a new one (a POST of them all), the changed fields otherwise (a
    PATCH of them)."""
    names = form.changed_data if change else list(form.cleaned_data)
    return {name: form.cleaned_data[name] for name in names}


# --- venues ------------------------------------------------------------------------------


class VenueForm(KeepsWhatItShowed, forms.ModelForm):
    # Declared fields take no default from the model: a new venue's page starts at the API's.
    time_zone = forms.ChoiceField(
        choices=lambda: [(zone, zone) for zone in venue_time_zones()], initial=default_time_zone
    )
    country = forms.ChoiceField(
        choices=lambda: [(region, region) for region in sorted(phonenumbers.SUPPORTED_REGIONS)],
        initial=default_country,
        help_text="ISO 3166 alpha-2: how a phone number without a country code is read at this venue.",
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
class VenueAdmin(DeletedThroughService, ListQueriesChecked, admin.ModelAdmin):
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

    def save_model(self, request, obj: Venue, form: VenueForm, change: bool) -> None:
        venues.plain_save(obj, fields=_fields_saved(form, change), actor=staff_actor(request), now=timezone.now())

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

    # Python reads JSON recursively: a few kilobytes of "[[[[..." run out of stack (a
    # RecursionError, a 500) as they are read, or later as they are written back to the
    # page. Deeper than the API takes (api/parsers.py) is refused before anything walks it.

    def to_python(self, value: Any) -> Any:
        try:
            document = super().to_python(value)
        except RecursionError:
            document = None
        else:
            if depth(document) <= MAX_DEPTH:
                return document
        raise forms.ValidationError(f"Nested deeper than {MAX_DEPTH} levels.", code="too_deep")

    def bound_data(self, data: Any, initial: Any) -> Any:
        # What the form shows again: a document too deep as the text typed, unread.
        try:
            document = super().bound_data(data, initial)
        except RecursionError:
            return forms.fields.InvalidJSONInput(data)
        return forms.fields.InvalidJSONInput(data) if depth(document) > MAX_DEPTH else document

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


class ScreenForm(KeepsWhatItShowed, forms.ModelForm):
    # Not the model's field: services.venues.screen_save writes the map, after checking
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
    # What the page showed of the map, as its digest: the map is changed when staff changed
    # its text, not when it differs from the map now (one a colleague saved meanwhile was
    # written back over, dropping their seats). KeepsWhatItShowed's hidden copy of the map
    # itself sent a large hall's map twice, over the body limit.
    seat_map_shown = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Screen
        fields = ["venue", "name"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["seat_map_text"].show_hidden_initial = False
        self.fields["seat_map_shown"].show_hidden_initial = False
        if self.instance.pk is not None:
            self.initial["seat_map_text"] = short_document(self.instance.seat_map)
            self.initial["seat_map_shown"] = digest(self.initial["seat_map_text"])
            rows = len(self.instance.seat_map["rows"])
            self.fields["seat_map_text"].widget.attrs["rows"] = min(max(rows + 3, 12), 40)
        else:
            self.initial["seat_map_text"] = {"grid": {"rows": 8, "seats_per_row": 12}}

    def is_multipart(self) -> bool:
        # Sent as multipart/form-data, the map's text goes as it is; url-encoded, each of its
        # braces, quotes, colons and commas took three bytes.
        return True

    @property
    def changed_data(self) -> list[str]:
        changed = super().changed_data
        if self.instance.pk is None:
            return changed
        changed = [name for name in changed if name not in ("seat_map_text", "seat_map_shown")]
        return changed + ["seat_map_text"] if self._map_typed() else changed

    def _shown(self) -> str | None:
        """The digest of the map the page showed: its seat_map_shown or, from a page from
        before that field, the digest of the copy it carried then (initial-seat_map_text);
        None from a page with neither."""
        shown = self.data.get(self.add_prefix("seat_map_shown"))
        if shown:
            return shown
        copy = self.data.get(self.add_initial_prefix("seat_map_text"))
        if copy is None:
            return None
        try:
            return digest(json.loads(copy))
        except (ValueError, RecursionError):  # not what a page shows: a forged one
            return ""

    def _map_typed(self) -> bool:
        """Whether the map's text says another map than the page showed (a page that says
        nothing of it: than the map now)."""
        shown = self._shown()
        if shown is None:
            shown = digest(self.initial["seat_map_text"])
        try:
            return digest(json.loads(self.data.get(self.add_prefix("seat_map_text"), ""))) != shown
        except (ValueError, RecursionError):  # not JSON: clean() says what is wrong
            return True

    def clean_seat_map_text(self) -> SeatMap:
        # A map typed on a page that showed another: saved, it undid a colleague's change
        # that staff never saw.
        shown = self._shown()
        if self.instance.pk is not None and shown is not None and "seat_map_text" in self.changed_data:
            if shown != digest(self.initial["seat_map_text"]):
                raise forms.ValidationError(SeatMapChangedMeanwhile.message)
        return self.cleaned_data["seat_map_text"]


@admin.register(Screen)
class ScreenAdmin(DeletedThroughService, ListQueriesChecked, admin.ModelAdmin):
    form = ScreenForm
    list_display = ["name", "venue", "capacity"]
    list_display_links = ["name"]
    list_select_related = ["venue"]
    list_filter = ["venue"]
    search_fields = ["name", "venue__name"]
    fieldsets = [
        (None, {"fields": ["venue", "name", "capacity"]}),
        ("Seat map", {"fields": [("seat_map_text", "seat_map_picture"), "seat_map_shown"]}),
    ]
    readonly_fields = ["capacity", "seat_map_picture"]

    @admin.display(description="Picture")
    def seat_map_picture(self, screen: Screen) -> SafeString | str:
        if screen.pk is None:
            return "Drawn here once saved."
        return seat_map_svg(screen.seats)

    def save_model(self, request, obj: Screen, form: ScreenForm, change: bool) -> None:
        # A map left as shown is not sent: screen_save keeps the one committed.
        typed = not change or "seat_map_text" in form.changed_data
        seat_map = form.cleaned_data["seat_map_text"] if typed else None
        venues.screen_save(
            screen=obj,
            seat_map=seat_map,
            actor=staff_actor(request),
            now=timezone.now(),
            given=[name for name in ("venue", "name") if not change or name in form.changed_data],
            # The map the form found the page had shown (clean_seat_map_text), as this POST
            # read it unlocked: compared again under the screen's lock.
            seat_map_over=digest(obj.seat_map) if change and typed else None,
        )


# --- films -------------------------------------------------------------------------------


class FilmForm(KeepsWhatItShowed, forms.ModelForm):
    class Meta:
        model = Film
        fields = ["title", "runtime_minutes", "rating", "description"]


@admin.register(Film)
class FilmAdmin(ModelFieldLimits, DeletedThroughService, ListQueriesChecked, admin.ModelAdmin):
    form = FilmForm
    list_display = ["title", "runtime", "rating"]
    search_fields = ["title"]
    fields = ["title", "runtime_minutes", "rating", "description"]

    def save_model(self, request, obj: Film, form: forms.ModelForm, change: bool) -> None:
        venues.plain_save(obj, fields=_fields_saved(form, change), actor=staff_actor(request), now=timezone.now())

    @admin.display(description="Runtime", ordering="runtime_minutes")
    def runtime(self, film: Film) -> str:
        hours, minutes = divmod(film.runtime_minutes, 60)
        return f"{film.runtime_minutes} min ({hours} h {minutes:02d})"
