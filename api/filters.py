"""Query filters of the show search and the staff ticket list (API.md)."""

import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import django_filters as filters
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import CharField, Q, QuerySet, Transform
from django.db.models.functions import TruncTime
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.functional import cached_property
from django_filters.rest_framework import DjangoFilterBackend

from .forms import PhoneFormField, ShowTimeFormField
from .models import AuditEntry, Film, Screen, Show, Ticket, Venue, parse_phone, plain_digits
from .selectors import MAX_ID


class ListFilterBackend(DjangoFilterBackend):
    """django-filter's backend, for lists only. DRF filters an item's look-up by the list's
    filters too: /api/shows/7?date=2026-12-07 was a 404 for a show of another day. An
    item's URL answers its item, whatever query it carries."""

    def filter_queryset(self, request: Any, queryset: QuerySet, view: Any) -> QuerySet:
        if getattr(view, "action", "list") != "list":
            return queryset
        return super().filter_queryset(request, queryset, view)


@CharField.register_lookup
class Folded(Transform):
    """A text folded for a match in any case, in every script: UPPER, as PostgreSQL's
    icontains does, with "ß" (which UPPER keeps) as "SS", as str.casefold has it ("STRASSE"
    finds "Straße"); on SQLite, whose UPPER and LIKE fold ASCII letters only ("AMÉLIE"
    found no "Amélie"), Python's str.casefold (CASEFOLD, api/apps.py)."""

    lookup_name = "folded"
    function = "UPPER"
    bilateral = True

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        sql, params = super().as_sql(compiler, connection, **extra_context)
        return f"REPLACE(REPLACE({sql}, 'ß', 'SS'), 'ẞ', 'SS')", params

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return super().as_sql(compiler, connection, function="CASEFOLD", **extra_context)


class ShowTimeFilter(filters.Filter):
    field_class = ShowTimeFormField


class IdFilter(filters.NumberFilter):
    """A row's id. Not a number is a 400 ("Enter a number."); a number no row can have (not
    whole, below 1 or past BigAutoField's range) matches nothing, on every database:
    SQLite's integers would overflow past 64 bits (a 500), and 1.5 would match 1."""

    def filter(self, qs: QuerySet, value: Decimal | None) -> QuerySet:
        if value is None:
            return qs
        if value != value.to_integral_value() or not 1 <= value <= MAX_ID:
            return qs.none()
        return super().filter(qs, int(value))


class CountFilter(filters.NumberFilter):
    """A count of things: a whole number ("1.5 seats" is a 400), up to the ids' range
    (SQLite's integers stop at 64 bits)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, max_value=MAX_ID, **kwargs)


_PHONE_AS_WRITTEN = re.compile(r"[0-9\s+()./-]+")


def phone_matches(field: str, value: str, region: str | None = None) -> Q:
    """The rows whose phone number (`field`, stored as E.164) contains what was typed, or
    its digits ("212 555 0147", "(212) 555-0147"), or is the number it reads as, in `region`
    when it has no country code ("020 7946 0958" at a London venue).

    Only a term written as phone numbers are (digits, spaces, + ( ) - . /) is read by its
    digits: a ticket's short id "01eba3c6" is not the number fragment "0136".
    """
    found = Q(**{f"{field}__contains": value})
    plain = plain_digits(value)
    digits = "".join(c for c in plain if c.isdigit())
    if len(digits) >= 4 and digits != value and _PHONE_AS_WRITTEN.fullmatch(plain):
        found |= Q(**{f"{field}__contains": digits})
    phone = parse_phone(value, region=region)
    if phone is not None:
        found |= Q(**{field: phone.as_e164})
    return found


class PhoneFilter(filters.Filter):
    """A phone number in any format, normalised as stored (E.164); invalid is a 400."""

    field_class = PhoneFormField


def _midnight(day: date, zone: ZoneInfo) -> datetime | None:
    """The start of a day in a zone; None past the last day a datetime can hold."""
    try:
        return timezone.make_aware(datetime.combine(day, time.min), zone)
    except OverflowError:
        return None


def _day_range(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The moments of one day in a zone, as a range an index can use.

    OverflowError when the range leaves the calendar: 9999-12-31 has no next midnight, and
    0001-01-01 east of UTC starts in year 0 in UTC, where the database compares.
    """
    start = timezone.make_aware(datetime.combine(day, time.min), zone)
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


class YesNoFormField(forms.NullBooleanField):
    """true or false (also True/False, 1/0); anything else is a 400, where Django's field
    reads it as "not given" and the filter would answer every row."""

    default_error_messages = {"invalid": "Give true or false."}
    widget = forms.TextInput  # the value as sent (Django's select reads any other as unknown)

    # The ignore: NullBooleanField's to_python gives None too; the stubs give it BooleanField's.
    def to_python(self, value: Any) -> bool | None:  # type: ignore[override]
        if value in (None, ""):
            return None
        known = super().to_python(value)
        if known is None:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return known


class YesNoFilter(filters.BooleanFilter):
    field_class = YesNoFormField


class DayFormField(forms.DateField):
    """A date whose day the filters can search: out of the calendar's range is a 400."""

    default_error_messages = {"out_of_range": "This date is out of range."}
    # The venues' zones the filters search in, read when a date is given (StartsAtFilters.form).
    zones_of: Callable[[], list[str]] | None = None

    def validate(self, value: date | None) -> None:
        super().validate(value)
        if value is not None:
            # Read in the zone of every venue, as the filters read it (and TIME_ZONE's, the
            # default venue's): a day inside the calendar in UTC may leave it in Tokyo.
            zones = self.zones_of() if self.zones_of is not None else Venue.objects.time_zones()
            try:
                for zone in {settings.TIME_ZONE, *zones}:
                    _day_range(value, ZoneInfo(zone))
            except OverflowError:
                raise ValidationError(self.error_messages["out_of_range"], code="out_of_range") from None


# A day, as YYYY-MM-DD only: Django's other default formats would read "01/02/2026" as
# 2 January.
ISO_DAY_FORMATS = ["%Y-%m-%d"]


class DayFilter(filters.DateFilter):
    """A day of shows (ISO_DAY_FORMATS), in the calendar in every venue's zone."""

    field_class = DayFormField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("input_formats", ISO_DAY_FORMATS)
        super().__init__(*args, **kwargs)


class StartsAtFilters(filters.FilterSet):
    """date / time / date_after / date_before on shows' start times, each read in the
    zone of the show's venue; `show_path` is the path to the show ("" or "show__")."""

    show_path = ""

    date = DayFilter(method="filter_date", help_text="Shows on this date (YYYY-MM-DD).")
    time = ShowTimeFilter(method="filter_time", help_text="Shows at this time (HH:MM), any date.")
    date_after = DayFilter(method="filter_date_after", help_text="On or after this date.")
    date_before = DayFilter(method="filter_date_before", help_text="On or before this date.")

    @cached_property
    def zones(self) -> list[str]:
        """The venues' zones, read once a request: the dates are checked in the zones the
        filters then search (a venue saved in a new zone meanwhile waits for the next)."""
        return Venue.objects.time_zones()

    @property
    def form(self) -> forms.Form:
        form = super().form
        for field in form.fields.values():
            if isinstance(field, DayFormField):
                field.zones_of = lambda: self.zones  # read only when a date is given
        return form

    def _in_each_zone(self, queryset: QuerySet, condition: Callable[[ZoneInfo, str], Q]) -> QuerySet:
        """The rows whose show matches condition(zone, starts_at path) in its venue's zone."""
        return queryset.filter(self._each_zone(condition))

    def _each_zone(self, condition: Callable[[ZoneInfo, str], Q]) -> Q:
        matches = Q(pk__in=[])
        for name in self.zones:
            in_zone = Q(**{f"{self.show_path}screen__venue__time_zone": name})
            matches |= in_zone & condition(ZoneInfo(name), f"{self.show_path}starts_at")
        return matches

    # The `date` and `date_after` filters' days as conditions, for a page that counts the
    # shows of several days in one query (the home page's day links).
    def on_day(self, day: date) -> Q:  # type: ignore[valid-type]
        """Shows on `day` in their venue's zone, as the `date` filter reads it."""
        return self._each_zone(lambda zone, at: _from(at, day, zone) & _before(at, day, zone))

    def from_day(self, day: date) -> Q:  # type: ignore[valid-type]
        """Shows on `day` or later in their venue's zone, as the `date_after` filter reads it."""
        return self._each_zone(lambda zone, at: _from(at, day, zone))

    # In the class body `date` and `time` are the filters above, so at run time these hints
    # are filter objects, which drf-spectacular reads as plain strings: the served schema
    # depends on it (dt.date would add `format: date`), hence the ignores, not dt.date.
    def filter_date(self, queryset: QuerySet, name: str, value: date) -> QuerySet:  # type: ignore[valid-type]
        return queryset.filter(self.on_day(value))

    def filter_time(self, queryset: QuerySet, name: str, value: time) -> QuerySet:  # type: ignore[valid-type]
        return self._in_each_zone(queryset, lambda zone, at: Q(Exact(TruncTime(at, tzinfo=zone), value)))

    def filter_date_after(self, queryset: QuerySet, name: str, value: date) -> QuerySet:  # type: ignore[valid-type]
        return queryset.filter(self.from_day(value))

    def filter_date_before(self, queryset: QuerySet, name: str, value: date) -> QuerySet:  # type: ignore[valid-type]
        return self._in_each_zone(queryset, lambda zone, at: _before(at, value, zone))


def _from(starts_at: str, day: date, zone: ZoneInfo) -> Q:
    """Starts on `day` or later, in `zone`."""
    start = _midnight(day, zone)
    return Q(**{f"{starts_at}__gte": start}) if start is not None else Q(pk__in=[])


def _before(starts_at: str, day: date, zone: ZoneInfo) -> Q:
    """Starts on `day` or earlier, in `zone`."""
    end = _midnight(day + timedelta(days=1), zone) if day < date.max else None
    return Q(**{f"{starts_at}__lt": end}) if end is not None else Q()


class ShowFilter(StartsAtFilters):
    title = filters.CharFilter(lookup_expr="folded__contains", help_text="Title contains (any case).")
    seats = CountFilter(
        field_name="seats_available", lookup_expr="gte", min_value=1, help_text="At least this many seats free."
    )
    expired = YesNoFilter(method="filter_expired", help_text="Started 8 hours ago or more.")
    venue = IdFilter(field_name="screen__venue_id", help_text="A venue's id.")
    screen = IdFilter(field_name="screen_id", help_text="A screen's id.")
    film = IdFilter(field_name="film_id", help_text="A film's id.")

    class Meta:
        model = Show
        fields = ["date", "time", "date_after", "date_before", "title", "seats", "expired", "venue", "screen", "film"]

    def filter_expired(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        # As selectors.shows_with_counts read it, at the list's `now`: the clock read here
        # again, the filter and the shows' answers disagreed on a show passing its hours.
        return queryset.filter(expired=value)


class ScreenFilter(filters.FilterSet):
    venue = IdFilter(field_name="venue_id", help_text="A venue's id.")

    class Meta:
        model = Screen
        fields = ["venue"]


class FilmFilter(filters.FilterSet):
    title = filters.CharFilter(lookup_expr="folded__contains", help_text="Title contains (any case).")

    class Meta:
        model = Film
        fields = ["title"]


class TicketFilter(StartsAtFilters):
    show_path = "show__"

    show = IdFilter(field_name="show_id", help_text="A show's id.")
    venue = IdFilter(field_name="show__screen__venue_id", help_text="A venue's id.")
    screen = IdFilter(field_name="show__screen_id", help_text="A screen's id.")
    expired = YesNoFilter(help_text="Marked expired by the expire job.")
    checked_in = YesNoFilter(
        field_name="checked_in_at", lookup_expr="isnull", exclude=True, help_text="Checked in at the door."
    )
    phone_number = PhoneFilter(field_name="holder__phone_number", help_text="The person's phone number, in any format.")
    search = filters.CharFilter(method="filter_search", help_text="Name or phone number contains.")
    ordering = filters.OrderingFilter(
        fields=(("show__starts_at", "starts_at"), ("booked_at", "booked_at"), ("holder__name", "name")),
        help_text="starts_at, booked_at or name; a leading - reverses.",
    )

    class Meta:
        model = Ticket
        fields = ["date", "time", "show", "venue", "screen", "expired", "checked_in", "phone_number", "search"]

    @property
    def form(self) -> forms.Form:
        # A number without a country code is read in the country of the venue (or screen, or
        # show) the list is of, as a booking reads it there: the Istanbul door finds 0532 111 2233.
        form = super().form
        phone = form.fields.get("phone_number")
        if isinstance(phone, PhoneFormField):
            phone.region = self._country()
        return form

    def _country(self) -> str | None:
        """The country of the venue, screen or show filtered on (the first that is an id)."""
        for key, rows, field in (
            ("venue", Venue.objects, "country"),
            ("screen", Screen.objects, "venue__country"),
            ("show", Show.objects, "screen__venue__country"),
        ):
            value = self.data.get(key, "")
            if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) <= MAX_ID:
                return rows.filter(pk=int(value)).values_list(field, flat=True).first()
        return None

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """Name or phone contains; a phone number typed as people say it ("212 555 0147",
        "(212) 555-0147", "020 7946 0958") by its digits, or whole in the list's country."""
        found = Q(holder__name__icontains=value) | phone_matches("holder__phone_number", value, self._country())
        return queryset.filter(found)

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("ordering"):
            return queryset.order_by("show__starts_at", "show_id", "seat_order")
        # The id last: a booking's tickets share booked_at, people share names, and rows
        # that tie in the order could repeat or go missing from one page to the next.
        return queryset.order_by(*queryset.query.order_by, "pk")


class AuditDayFilter(filters.DateFilter):
    """Entries on or after a day (on or before it, `until`) in TIME_ZONE, as a range of
    moments: the index of `at` serves it, where at__date cast every entry of the trail."""

    def __init__(self, *args: Any, until: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.until = until

    def filter(self, qs: QuerySet, value: date | None) -> QuerySet:
        if value is None:
            return qs
        bound = _before if self.until else _from
        return qs.filter(bound(self.field_name, value, ZoneInfo(settings.TIME_ZONE)))


# The objects of the audit trail whose ids are UUIDs.
UUID_KINDS = ("ticket", "hold", "waitlist")


class AuditFilter(filters.FilterSet):
    """GET /api/audit: by object ("ticket:<id>", "show:<id>", "booking:<ref>"), actor,
    action, and the days (in TIME_ZONE) of the change."""

    object = filters.CharFilter(
        method="filter_object", help_text='"<type>:<id>": ticket:<id>, show:<id>, booking:<ref>.'
    )
    actor = filters.CharFilter(help_text='"staff:alice", "client:203.0.113.9", "job:expire_tickets".')
    action = filters.CharFilter(help_text='"ticket.moved", "booking.created", ...')
    # Days in TIME_ZONE, where entries are read: not a show's day in its venue's (DayFilter).
    date_after = AuditDayFilter(
        field_name="at", input_formats=ISO_DAY_FORMATS, help_text="On or after this day (YYYY-MM-DD)."
    )
    date_before = AuditDayFilter(
        field_name="at", input_formats=ISO_DAY_FORMATS, help_text="On or before this day (YYYY-MM-DD).", until=True
    )

    class Meta:
        model = AuditEntry
        fields = ["object", "actor", "action", "date_after", "date_before"]

    def filter_object(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """A key in any form its object's own URL takes finds the entries, stored in one:
        a booking's reference in capitals, the id of a ticket, hold or waiting-list entry
        as str(uuid) (their URLs take it in capitals, without hyphens). A key no object
        can have finds nothing, as an unknown one does."""
        kind, _, key = value.partition(":")
        if kind == "booking":
            key = key.upper()  # references are read case-blind, as by GET /api/bookings/{ref}
        elif kind in UUID_KINDS:
            try:
                key = str(uuid.UUID(key))  # as their UUIDField reads it
            except ValueError:
                return queryset.none()
        return queryset.filter(object_type=kind, object_id=key)
