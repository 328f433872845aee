"""Query filters of the show search and the staff ticket list (API.md)."""

from datetime import UTC, date, datetime, time, timedelta

import django_filters as filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone

from .forms import PhoneFormField, ShowTimeFormField
from .models import Show, Ticket, expiry_cutoff


class ShowTimeFilter(filters.Filter):
    field_class = ShowTimeFormField


class PhoneFilter(filters.Filter):
    """A phone number in any format, normalised as stored (E.164); invalid is a 400."""

    field_class = PhoneFormField


def _day_range(day: date) -> tuple[datetime, datetime]:
    """The moments of one day in the theatre's zone, as a range an index can use.

    OverflowError when the range leaves the calendar: 9999-12-31 has no next midnight, and
    0001-01-01 east of UTC starts in year 0 in UTC, where the database compares.
    """
    start = timezone.make_aware(datetime.combine(day, time.min))
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
    return start.astimezone(UTC), end.astimezone(UTC)


class DayFormField(forms.DateField):
    """A date whose day the filters can search: out of the calendar's range is a 400."""

    default_error_messages = {"out_of_range": "This date is out of range."}

    def validate(self, value: date | None) -> None:
        super().validate(value)
        if value is not None:
            try:
                _day_range(value)
            except OverflowError:
                raise ValidationError(self.error_messages["out_of_range"], code="out_of_range") from None


class DayFilter(filters.DateFilter):
    field_class = DayFormField


class StartsAtFilters(filters.FilterSet):
    """date / time / date_after / date_before on a start time at `starts_at_field`."""

    starts_at_field = "starts_at"

    # Only YYYY-MM-DD: Django's other default formats would read "01/02/2026" as 2 January.
    date = DayFilter(method="filter_date", input_formats=["%Y-%m-%d"], help_text="Shows on this date (YYYY-MM-DD).")
    time = ShowTimeFilter(method="filter_time", help_text="Shows at this time (HH:MM), any date.")
    date_after = DayFilter(method="filter_date_after", input_formats=["%Y-%m-%d"], help_text="On or after this date.")
    date_before = DayFilter(
        method="filter_date_before", input_formats=["%Y-%m-%d"], help_text="On or before this date."
    )

    # In the class body `date` and `time` are the filters above, so at run time these hints
    # are filter objects, which drf-spectacular reads as plain strings: the served schema
    # depends on it (dt.date would add `format: date`), hence the ignores, not dt.date.
    def filter_date(self, queryset: QuerySet, name: str, value: date) -> QuerySet:  # type: ignore[valid-type]
        start, end = _day_range(value)
        return queryset.filter(**{f"{self.starts_at_field}__gte": start, f"{self.starts_at_field}__lt": end})

    def filter_time(self, queryset: QuerySet, name: str, value: time) -> QuerySet:  # type: ignore[valid-type]
        return queryset.filter(**{f"{self.starts_at_field}__time": value})

    def filter_date_after(self, queryset: QuerySet, name: str, value: date) -> QuerySet:  # type: ignore[valid-type]
        return queryset.filter(**{f"{self.starts_at_field}__gte": _day_range(value)[0]})

    def filter_date_before(self, queryset: QuerySet, name: str, value: date) -> QuerySet:  # type: ignore[valid-type]
        return queryset.filter(**{f"{self.starts_at_field}__lt": _day_range(value)[1]})

    def filter_expired(self, queryset: QuerySet, name: str, value: bool) -> QuerySet:
        condition = Q(**{f"{self.starts_at_field}__lte": expiry_cutoff(timezone.now())})
        return queryset.filter(condition if value else ~condition)


class ShowFilter(StartsAtFilters):
    title = filters.CharFilter(lookup_expr="icontains", help_text="Title contains (any case).")
    seats = filters.NumberFilter(
        field_name="seats_available", lookup_expr="gte", min_value=1, help_text="At least this many seats free."
    )
    expired = filters.BooleanFilter(method="filter_expired", help_text="Started 8 hours ago or more.")

    class Meta:
        model = Show
        fields = ["date", "time", "date_after", "date_before", "title", "seats", "expired"]


class TicketFilter(StartsAtFilters):
    starts_at_field = "show__starts_at"

    show = filters.NumberFilter(field_name="show_id", help_text="A show's id.")
    expired = filters.BooleanFilter(help_text="Marked expired by the expire job.")
    checked_in = filters.BooleanFilter(
        field_name="checked_in_at", lookup_expr="isnull", exclude=True, help_text="Checked in at the door."
    )
    phone_number = PhoneFilter(
        field_name="booking__customer__phone_number", help_text="The person's phone number, in any format."
    )
    search = filters.CharFilter(method="filter_search", help_text="Name or phone number contains.")
    ordering = filters.OrderingFilter(
        fields=(("show__starts_at", "starts_at"), ("booked_at", "booked_at"), ("booking__customer__name", "name")),
        help_text="starts_at, booked_at or name; a leading - reverses.",
    )

    class Meta:
        model = Ticket
        fields = ["date", "time", "show", "expired", "checked_in", "phone_number", "search"]

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(
            Q(booking__customer__name__icontains=value) | Q(booking__customer__phone_number__contains=value)
        )

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("ordering"):
            queryset = queryset.order_by("show__starts_at", "seat")
        return queryset
