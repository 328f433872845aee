"""Waiting lists: what a client sends to join one, and what an entry reads."""

from typing import Any

from rest_framework import serializers

from ..models import WaitlistEntry, WaitlistStatus
from .fields import iso, phone_text
from .sales import PersonSerializer


class WaitlistJoinSerializer(PersonSerializer):
    party_size = serializers.IntegerField(min_value=1, max_value=10, help_text="1 to 10 people, offered seats at once.")


class WaitlistOfferSerializer(serializers.Serializer):
    hold = serializers.UUIDField(help_text='The offer\'s hold: confirm it with POST /api/bookings {"hold": ...}.')
    seats = serializers.ListField(child=serializers.CharField())
    total = serializers.DecimalField(max_digits=10, decimal_places=2, help_text="In `currency`.")
    currency = serializers.CharField(help_text="The venue's, ISO 4217.")
    expires_at = serializers.DateTimeField(help_text="Never past the show's start.")


class WaitlistEntrySerializer(serializers.Serializer):
    """A waiting-list entry. `position` comes with waiting, `offer` with offered, `booking`
    with booked."""

    # Entries are read through selectors.waitlist_entries(): status and position at a moment.

    id = serializers.UUIDField(help_text="The entry's capability, like a ticket's id.")
    show = serializers.IntegerField()
    party_size = serializers.IntegerField()
    status = serializers.ChoiceField(choices=WaitlistStatus.choices)
    position = serializers.IntegerField(required=False, help_text="With waiting: 1 is next in line.")
    offer = WaitlistOfferSerializer(required=False, help_text="With offered.")
    booking = serializers.CharField(required=False, help_text="With booked: the booking's reference.")

    def to_representation(self, entry: WaitlistEntry) -> dict[str, Any]:
        status = entry.current_status
        body: dict[str, Any] = {"id": str(entry.pk), "show": entry.show_id, "party_size": entry.party_size}
        if status == WaitlistStatus.WAITING:
            body["position"] = entry.position
        body["status"] = status
        if status == WaitlistStatus.OFFERED:
            hold = entry.offer
            body["offer"] = {
                "hold": str(hold.pk),
                "seats": hold.seats,
                "total": str(hold.total),
                "currency": entry.show.screen.venue.currency,
                "expires_at": iso(hold.expires_at, entry.show.zone),
            }
        elif status == WaitlistStatus.BOOKED:
            body["booking"] = entry.booking
        return body


class WaitlistPlaceSerializer(WaitlistEntrySerializer):
    """A place in line as a second join by the same phone number reads it (200): the entry
    without its capabilities (its id, its offer's hold, its booking's reference). A phone
    number is no secret; whoever joined has them from the 201."""

    id = None  # type: ignore[assignment]
    offer = None  # type: ignore[assignment]
    booking = None  # type: ignore[assignment]

    def to_representation(self, entry: WaitlistEntry) -> dict[str, Any]:
        body = super().to_representation(entry)
        for capability in ("id", "offer", "booking"):
            body.pop(capability, None)
        return body


class WaitlistStaffEntrySerializer(WaitlistEntrySerializer):
    """An entry in a show's waiting list as staff read it: with its person and when they joined."""

    name = serializers.CharField()
    phone_number = serializers.CharField(help_text="E.164")
    joined_at = serializers.DateTimeField()

    def to_representation(self, entry: WaitlistEntry) -> dict[str, Any]:
        return {
            **super().to_representation(entry),
            "name": entry.name,
            "phone_number": phone_text(entry.phone_number),
            "joined_at": iso(entry.joined_at, entry.show.zone),
        }
