"""Venues, screens, films and shows: what a client sends, and what it gets back."""

from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import phonenumbers
from django.utils import timezone
from rest_framework import serializers

from ..errors import NoDefaultScreen, TimeDoesNotExist, TimeOutOfRange
from ..models import Film, Screen, SeatBlock, Show, ShowPrice, TicketType, Venue, validate_on_the_minute
from ..models.catalog import venue_time_zones
from ..parsers import MAX_DEPTH, depth
from ..seatmaps import SeatMapError, parse
from ..services.showtimes import moment, moments
from .fields import DayField, IdRelatedField, SeatField, ShowTimeField

if TYPE_CHECKING:
    from ..selectors import SeatMapAnswer


class ScreenSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Screen
        fields = ["id", "name", "capacity"]
        read_only_fields = fields


class VenueSerializer(serializers.ModelSerializer):
    screens = ScreenSummarySerializer(many=True, read_only=True)

    class Meta:
        model = Venue
        fields = ["id", "name", "time_zone", "currency", "country", "screens"]
        read_only_fields = ["id", "screens"]
        extra_kwargs = {
            "time_zone": {"required": False},
            "currency": {"required": False},
            "country": {"required": False},
        }

    def validate_time_zone(self, value: str) -> str:
        if value not in venue_time_zones():
            raise serializers.ValidationError("Not an IANA time zone, like Europe/Istanbul.")
        return value

    def validate_country(self, value: str) -> str:
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise serializers.ValidationError("An ISO 3166 alpha-2 country code, like TR.")
        return value


class SeatMapField(serializers.JSONField):
    """A seat map document (seatmaps.json_schema), validated; the full form is shown."""

    def to_internal_value(self, data: Any) -> Any:
        # A form's field (staff's browsable API, a multipart body) is JSON text that DRF
        # reads itself, past the JSON parser's bound on nesting (api/parsers.py): a few
        # kilobytes of "[[[[..." ran out of stack (a RecursionError, a 500), as the admin's
        # field (admin/catalog.py) is: refused before anything walks it.
        try:
            document = super().to_internal_value(data)
            too_deep = depth(document) > MAX_DEPTH
        except RecursionError:
            too_deep = True
        if too_deep:
            raise serializers.ValidationError(f"Nested deeper than {MAX_DEPTH} levels.", code="too_deep")
        try:
            return parse(document)
        except SeatMapError as exc:
            raise serializers.ValidationError(exc.problems) from exc

    def to_representation(self, value: Any) -> Any:
        return value


class ScreenSerializer(serializers.ModelSerializer):
    serializer_related_field = IdRelatedField
    seat_map = SeatMapField(help_text="The seat map (GET /api/seat-map-schema for its JSON Schema).")

    class Meta:
        model = Screen
        fields = ["id", "venue", "name", "capacity", "seat_map"]
        read_only_fields = ["id", "capacity"]


class FilmSerializer(serializers.ModelSerializer):
    class Meta:
        model = Film
        fields = ["id", "title", "runtime_minutes", "rating", "description"]
        read_only_fields = ["id"]


class PriceSerializer(serializers.Serializer):
    ticket_type = serializers.SlugField(help_text="A ticket type's key.")
    category = serializers.CharField(help_text="A seat category of the screen's map.")
    amount = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=Decimal("0"))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A PATCH's partial reaches nested rows too (DRF skips their missing fields): a price
        # is always given whole, or its row is a 400 as in a POST (it was a KeyError, a 500).
        missing = [name for name in self.fields.keys() if name not in attrs]
        if missing:
            required = {name: [self.fields[name].error_messages["required"]] for name in missing}
            raise serializers.ValidationError(required)
        return attrs


def prices_json(prices: Iterable[ShowPrice]) -> list[dict[str, str]]:
    return [{"ticket_type": p.ticket_type.key, "category": p.category, "amount": str(p.amount)} for p in prices]


def local_fields(moment: datetime, zone: ZoneInfo) -> dict[str, str]:
    local = timezone.localtime(moment, zone)
    return {
        "date": local.date().isoformat(),
        "time": local.strftime("%H:%M"),
        "starts_at": local.isoformat(timespec="seconds"),
    }


class ShowSerializer(serializers.ModelSerializer):
    """A show read through selectors.shows_with_counts(), whose `now` says what has
    expired, as it counted the seats. Times in the venue's zone."""

    venue = serializers.IntegerField(read_only=True)
    date = serializers.DateField(read_only=True)
    time = ShowTimeField(read_only=True)
    tickets_booked = serializers.IntegerField(read_only=True)
    seats_available = serializers.IntegerField(read_only=True)
    expired = serializers.BooleanField(read_only=True)
    prices = PriceSerializer(many=True, read_only=True)
    currency = serializers.CharField(read_only=True)

    class Meta:
        model = Show
        fields = [
            "id",
            "film",
            "title",
            "venue",
            "screen",
            "date",
            "time",
            "starts_at",
            "ends_at",
            "capacity",
            "tickets_booked",
            "seats_available",
            "expired",
            "prices",
            "currency",
        ]
        read_only_fields = fields

    # Written out rather than per field: the search answers many shows a second.
    def to_representation(self, show: Show) -> dict[str, Any]:
        venue = show.screen.venue
        return {
            "id": show.pk,
            "film": show.film_id,
            "title": show.title,
            "venue": venue.pk,
            "screen": show.screen_id,
            **local_fields(show.starts_at, venue.zone),
            "ends_at": timezone.localtime(show.ends_at, venue.zone).isoformat(timespec="seconds"),
            "capacity": show.capacity,
            "tickets_booked": show.tickets_booked,
            "seats_available": show.seats_available,
            "expired": show.expired,
            "prices": prices_json(show.prices.all()),
            "currency": venue.currency,
        }


class ShowDetailSerializer(ShowSerializer):
    """A show and its free seats; `free_seats` (labels) in the context."""

    free_seats = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta(ShowSerializer.Meta):
        fields = [*ShowSerializer.Meta.fields, "free_seats"]
        read_only_fields = fields

    def to_representation(self, show: Show) -> dict[str, Any]:
        return {**super().to_representation(show), "free_seats": self.context["free_seats"]}


class LocalOrAwareDateTimeField(serializers.DateTimeField):
    """An ISO 8601 moment; one without an offset stays naive (DRF would read it in
    TIME_ZONE), for the show's venue to read it in its own zone."""

    def enforce_timezone(self, value: datetime) -> datetime:
        return value if timezone.is_naive(value) else super().enforce_timezone(value)


def _at_venue(starts_at: datetime, venue: Venue) -> datetime:
    """A show's start as given: with no offset, a time at the venue, as date and time are
    (TIME_ZONE's reading put an Istanbul show at New York's 10:00)."""
    if timezone.is_naive(starts_at):
        try:
            return moment(starts_at.date(), starts_at.time(), venue)
        except (TimeDoesNotExist, TimeOutOfRange) as exc:  # told on the field sent, not on time or date
            raise type(exc)(subject="starts_at") from None
    return starts_at


class ShowWriteSerializer(serializers.Serializer):
    """A show from its screen (default: the named venue's only screen, else the default
    venue's first screen), film or title, date and time in the venue's zone (or
    starts_at), and capacity."""

    screen = IdRelatedField(queryset=Screen.objects.select_related("venue"), required=False)
    venue = IdRelatedField(
        queryset=Venue.objects.all(),
        required=False,
        help_text="The screen's venue, as the show reads: without a screen, the venue's only screen.",
    )
    film = IdRelatedField(queryset=Film.objects.all(), required=False, allow_null=True)
    title = serializers.CharField(max_length=200, allow_blank=True, required=False)
    date = DayField(required=False)
    time = ShowTimeField(required=False)
    starts_at = LocalOrAwareDateTimeField(
        required=False, validators=[validate_on_the_minute], help_text="Without an offset: in the venue's zone."
    )
    capacity = serializers.IntegerField(min_value=1, max_value=10_000, required=False)
    prices = PriceSerializer(many=True, required=False, help_text="Replaces the show's prices.")

    def _screen(self, attrs: dict[str, Any]) -> Screen:
        """The show's screen: the one named, else the show's own, else (a new show) the
        named venue's only one, else the default screen. A show reads its screen's venue
        as `venue`: a request that names one means that venue's screen, never another
        (it was ignored, and a show made at the default venue's: the wrong theatre)."""
        venue = attrs.pop("venue", None)
        screen = attrs.get("screen") or (self.instance.screen if self.instance else None)
        if screen is None and venue is not None:
            screens = list(Screen.objects.filter(venue=venue).select_related("venue")[:2])
            if len(screens) != 1:
                problem = f"Venue {venue.pk} has several screens: name one." if screens else "This venue has no screen."
                raise serializers.ValidationError({"screen" if screens else "venue": [problem]})
            (screen,) = screens
        screen = screen or Screen.objects.find_default()
        if screen is None:  # staff deleted the default venue's screens: a request makes none
            raise NoDefaultScreen()
        if venue is not None and screen.venue_id != venue.pk:
            if "screen" not in attrs:  # a show's own screen
                raise serializers.ValidationError(
                    {"venue": ["A show can't move to another venue; schedule a new one."]}
                )
            raise serializers.ValidationError({"venue": [f"Screen {screen.pk} is not in venue {venue.pk}."]})
        return screen

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        day, at = attrs.pop("date", None), attrs.pop("time", None)
        screen = self._screen(attrs)
        given = None
        if "starts_at" in attrs:
            given = attrs["starts_at"] = _at_venue(attrs["starts_at"], screen.venue)
        local: tuple[date | None, time | None] | None = None
        if (day is None) != (at is None):
            if given is not None:  # the other half is starts_at's, which the one given must agree with
                try:
                    there = timezone.localtime(given, screen.venue.zone)
                except OverflowError:  # past the calendar in the venue's zone: as starts_at alone is told
                    raise TimeOutOfRange(subject="starts_at") from None
                day, at = day or there.date(), at or there.time()
            elif self.instance is not None and self.partial:
                # A PATCH of the date alone keeps the show's local time (of the time alone,
                # its date) as the show stands under its lock: show_update makes the moment.
                local, day, at = (day, at), None, None
        if day is not None or at is not None:
            if day is None or at is None:
                raise serializers.ValidationError({"date" if day is None else "time": ["Give both date and time."]})
            # Checked in UTC too, where it is stored: 9999-12-31 23:00 in New York is in 10000.
            named = moments(day, at, screen.venue)  # the first of two where the clocks go back
            # Both, as a show's own answer has them (a GET's body sent back with a PUT): one
            # moment (starts_at tells which of two), or which is meant can't be told. In UTC:
            # two datetimes of different zones never compare equal in an hour gone through twice.
            if given is not None and given.astimezone(UTC) not in [m.astimezone(UTC) for m in named]:
                raise serializers.ValidationError(
                    {"starts_at": ["starts_at and date and time name different moments: give one of them."]}
                )
            if given is not None:
                attrs["starts_at"] = given
            elif self.instance is not None:
                # A moment made under the show's lock, its own where they name it (show_update).
                local, day, at = (day, at), None, None
            else:
                attrs["starts_at"] = named[0]
        elif "starts_at" not in attrs and not self.partial:
            raise serializers.ValidationError({"non_field_errors": ["Give date and time, or starts_at."]})
        if self.instance is not None and "film" in attrs and attrs["film"] is None and self.instance.film_id:
            # The service keeps a show's film when given none: say so rather than answer 200.
            raise serializers.ValidationError({"film": ["A show's film can't be removed; give another film."]})
        if self.instance is not None and "screen" in attrs and attrs["screen"] != self.instance.screen:
            raise serializers.ValidationError({"screen": ["A show can't move to another screen; schedule a new one."]})
        values: dict[str, Any] = {key: attrs[key] for key in ("title", "starts_at", "capacity") if key in attrs}
        if "prices" in attrs:
            values["prices"] = [(p["ticket_type"], p["category"], p["amount"]) for p in attrs["prices"]]
        if "film" in attrs:
            values["film_id"] = attrs["film"].pk if attrs["film"] else None
        if self.instance is None:
            values["screen_id"] = screen.pk
            values.setdefault("title", "")
            if day is not None and at is not None and given is None:
                values["local"] = (day, at)  # read again in the venue's zone once the screen is locked
        elif local is not None:
            values["local"] = local
        return values


class BlockCreateSerializer(serializers.Serializer):
    seats = serializers.ListField(child=SeatField(), min_length=1, max_length=100)
    reason = serializers.CharField(max_length=100, allow_blank=True, required=False, default="")

    def validate_seats(self, seats: list[str]) -> list[str]:
        # As for holds; twice in one request was a 500 (UNIQUE (show, seat)).
        if len(set(seats)) != len(seats):
            raise serializers.ValidationError("A seat is named twice.")
        return seats


class BlockSerializer(serializers.ModelSerializer):
    class Meta:
        model = SeatBlock
        fields = ["show", "seat", "reason"]
        read_only_fields = fields


class SeatStatusSerializer(serializers.Serializer):
    label = serializers.CharField()  # type: ignore[assignment]  # a seat's label, not the field's
    x = serializers.IntegerField()
    category = serializers.CharField()
    kind = serializers.ChoiceField(choices=["seat", "wheelchair", "companion"])
    status = serializers.ChoiceField(choices=["free", "held", "booked", "blocked"])


class SeatRowSerializer(serializers.Serializer):
    label = serializers.CharField()  # type: ignore[assignment]  # a row's label, not the field's
    seats = SeatStatusSerializer(many=True)


class SeatStatusesSerializer(serializers.Serializer):
    """A show's seat map with each seat's status and the show's prices: {"show", "screen",
    "rows", "prices", "currency", "seats_available"}. Built from a selectors.SeatMapAnswer;
    nobody's details."""

    show = serializers.IntegerField()
    screen = serializers.IntegerField()
    rows = SeatRowSerializer(many=True)
    prices = PriceSerializer(many=True)
    currency = serializers.CharField()
    seats_available = serializers.IntegerField(
        help_text="How many more seats can be sold now: the free ones, and no more than the show's capacity allows."
    )

    def to_representation(self, value: "SeatMapAnswer") -> dict[str, Any]:
        show = value.show
        return {
            "show": show.pk,
            "screen": show.screen_id,
            "rows": [
                {
                    "label": row.label,
                    "seats": [
                        {
                            "label": s.seat.label,
                            "x": s.seat.x,
                            "category": s.seat.category,
                            "kind": s.seat.kind,
                            "status": s.status,
                        }
                        for s in row.seats
                    ],
                }
                for row in value.rows
            ],
            "prices": prices_json(value.prices),
            "currency": show.screen.venue.currency,
            "seats_available": value.seats_available,
        }


class TicketTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = TicketType
        fields = ["key", "name", "default"]
        # "One default" is kept by services.venues.ticket_type_save, which moves the
        # default to the type saved with default true; DRF's check would refuse that.
        validators: list = []
        extra_kwargs: dict[str, dict[str, list]] = {"default": {"validators": []}}
