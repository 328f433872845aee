"""The filters of the lists of shows and of tickets by their show's time: its status
(upcoming, started, expired) and its day where it plays."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import admin
from django.db.models import Q
from django.utils import timezone

from ..models import Show, Venue, expiry_cutoff


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


def _midnight(today: date, days: int, zone: ZoneInfo) -> datetime:
    return timezone.make_aware(datetime.combine(today + timedelta(days=days), time.min), zone)


class ShowDateFilter(admin.SimpleListFilter):
    """The show's day where it plays, on the list of shows and of tickets: "today" is each
    venue's own today, in its zone (it was the server's day in TIME_ZONE, so a 01:30 show
    in Istanbul was "today" the day before). Django's date drill-down (date_hierarchy)
    reads days in TIME_ZONE too, so these lists have this filter instead."""

    title = "show date"
    parameter_name = "show_date"

    def lookups(self, request, model_admin):
        return [("today", "Today"), ("tomorrow", "Tomorrow"), ("week", "Next 7 days"), ("past", "Before today")]

    def queryset(self, request, queryset):
        ranges = {"today": (0, 1), "tomorrow": (1, 2), "week": (0, 7), "past": (None, 0)}
        value = self.value()
        if value not in ranges:
            return queryset
        first, last = ranges[value]
        now, matches = timezone.now(), Q(pk__in=[])
        show = "" if queryset.model is Show else "show__"  # a ticket's show
        for name in Venue.objects.time_zones():
            zone = ZoneInfo(name)
            today = timezone.localdate(now, zone)
            in_range = Q(**{f"{show}starts_at__lt": _midnight(today, last, zone)})
            if first is not None:
                in_range &= Q(**{f"{show}starts_at__gte": _midnight(today, first, zone)})
            matches |= Q(**{f"{show}screen__venue__time_zone": name}) & in_range
        return queryset.filter(matches)
