"""Shows: the search's rows, one show with its free seats, and a staff write."""

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from ..models import Show, validate_on_the_minute
from ..seatmaps import seat_label
from .fields import ShowTimeField, local_moment


class ShowSerializer(serializers.ModelSerializer):
    """A show read through selectors.shows_with_counts(). `now` in the context says what
    has expired (default: the moment of serialising)."""

    date = serializers.DateField(read_only=True)
    time = ShowTimeField(read_only=True)
    tickets_booked = serializers.IntegerField(read_only=True)
    seats_available = serializers.IntegerField(read_only=True)
    expired = serializers.BooleanField(read_only=True)

    class Meta:
        model = Show
        fields = [
            "id",
            "title",
            "date",
            "time",
            "starts_at",
            "capacity",
            "tickets_booked",
            "seats_available",
            "expired",
        ]
        read_only_fields = fields

    # Written out rather than per field: the search answers many shows a second.
    def to_representation(self, show: Show) -> dict[str, Any]:
        local = timezone.localtime(show.starts_at)
        now = self.context.get("now") or timezone.now()
        return {
            "id": show.pk,
            "title": show.title,
            "date": local.date().isoformat(),
            "time": local.strftime("%H:%M"),
            "starts_at": local.isoformat(timespec="seconds"),
            "capacity": show.capacity,
            "tickets_booked": show.tickets_booked,
            "seats_available": show.seats_available,
            "expired": show.is_expired(now),
        }


class ShowDetailSerializer(ShowSerializer):
    """A show and its free seats; `free_seats` (seat numbers) in the context."""

    free_seats = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta(ShowSerializer.Meta):
        fields = [*ShowSerializer.Meta.fields, "free_seats"]
        read_only_fields = fields

    def to_representation(self, show: Show) -> dict[str, Any]:
        free = [seat_label(seat) for seat in self.context["free_seats"]]
        return {**super().to_representation(show), "free_seats": free}


class ShowWriteSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=200, allow_blank=True, required=False)
    date = serializers.DateField(required=False)
    time = ShowTimeField(required=False)
    starts_at = serializers.DateTimeField(required=False, validators=[validate_on_the_minute])
    capacity = serializers.IntegerField(min_value=1, max_value=10_000, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        day, at = attrs.pop("date", None), attrs.pop("time", None)
        if day is not None or at is not None:
            if "starts_at" in attrs:
                raise serializers.ValidationError({"starts_at": ["Give either starts_at or date and time."]})
            if day is None or at is None:
                raise serializers.ValidationError({"date" if day is None else "time": ["Give both date and time."]})
            attrs["starts_at"] = local_moment(day, at)
        elif "starts_at" not in attrs and not self.partial:
            raise serializers.ValidationError({"non_field_errors": ["Give date and time, or starts_at."]})
        if not self.partial:
            attrs.setdefault("title", "")
        return attrs
