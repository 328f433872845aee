"""Waiting lists in the admin: a show's list in joining order, each entry with its status
as the API reads it; staff remove entries through services.waitlist.waitlist_leave (a live
offer's seats go back on sale, and the entry reads left)."""

import uuid
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from .. import selectors
from ..errors import WaitlistEntryNotFound
from ..models import WaitlistEntry, WaitlistStatus
from ..services import waitlist
from .base import ListQueriesChecked, PhoneSearch, RuleErrorsAsMessages, history_link, staff_actor


def show_waitlist_url(show_id: int) -> str:
    """The changelist of one show's waiting list (the show's page links to it)."""
    return reverse("admin:api_waitlistentry_changelist") + f"?show__id__exact={show_id}"


class StatusFilter(admin.SimpleListFilter):
    """The status an entry reads now (an offer that ran out reads expired at once)."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return WaitlistStatus.choices

    def queryset(self, request, queryset):
        return queryset.filter(current_status=self.value()) if self.value() else queryset


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(RuleErrorsAsMessages, PhoneSearch, ListQueriesChecked, admin.ModelAdmin):
    list_display = [
        "show_link",
        "position",
        "joined_local",
        "name",
        "phone_number",
        "party_size",
        "status_display",
        "outcome",
        "history",
    ]
    list_filter = [StatusFilter]
    search_fields = ["name", "phone_number", "show__title"]
    phone_field = "phone_number"
    # A show's list in the order people joined.
    ordering = ["show__starts_at", "show_id", "joined_at", "id"]
    fields = readonly_fields = (
        "id",
        "show",
        "name",
        "phone_number",
        "party_size",
        "joined_local",
        "status_display",
        "outcome",
    )
    actions = ["remove"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[WaitlistEntry]:
        return selectors.waitlist_entries(now=timezone.now())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # people join through the API (POST /api/shows/{id}/waitlist)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The list's "remove" action asks for it; an entry's own page is read-only.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # removed with the action, which releases an offer and keeps the record

    @admin.display(description="Show", ordering="show__starts_at")
    def show_link(self, entry: WaitlistEntry) -> str:
        show = entry.show
        return format_html('<a href="{}">{}</a>', show_waitlist_url(show.pk), show)

    @admin.display(description="Position")
    def position(self, entry: WaitlistEntry) -> int | str:
        return entry.position or ""

    @admin.display(description="Joined (local time)", ordering="joined_at")
    def joined_local(self, entry: WaitlistEntry) -> str:
        return f"{timezone.localtime(entry.joined_at, entry.show.zone):%Y-%m-%d %H:%M:%S}"

    @admin.display(description="Status")
    def status_display(self, entry: WaitlistEntry) -> str:
        return entry.current_status

    @admin.display(description="Offer or booking")
    def outcome(self, entry: WaitlistEntry) -> str:
        if entry.current_status == WaitlistStatus.OFFERED:
            offer = entry.offer
            until = timezone.localtime(offer.expires_at, entry.show.zone)
            return f"{', '.join(offer.seats)} held until {until:%H:%M}"
        if entry.current_status == WaitlistStatus.BOOKED:
            return format_html('<a href="{}">{}</a>', self._booking_url(entry.booking), entry.booking)
        return ""

    @staticmethod
    def _booking_url(reference: str) -> str:
        return reverse("admin:api_booking_changelist") + f"?q={reference}"

    @admin.display(description="History")
    def history(self, entry: WaitlistEntry) -> str:
        return history_link("waitlist", entry.pk)

    @admin.action(description="Remove the selected entries from the waiting list", permissions=["change"])
    def remove(self, request: HttpRequest, queryset: QuerySet[WaitlistEntry]) -> None:
        now, actor = timezone.now(), staff_actor(request)
        ids = list(queryset.values_list("pk", flat=True))

        def removed_from_line(entry_id: uuid.UUID) -> bool:
            try:
                return waitlist.waitlist_leave(entry_id=entry_id, now=now, actor=actor)
            except WaitlistEntryNotFound:  # gone since the list was read: its show cancelled, or purged
                return False

        removed = sum(removed_from_line(entry_id) for entry_id in ids)
        ended = f" ({len(ids) - removed} had left the line already)" if removed < len(ids) else ""
        entries = "entry" if removed == 1 else "entries"
        self.message_user(request, f"{removed} {entries} removed from the waiting list{ended}.", messages.SUCCESS)
