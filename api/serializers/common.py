"""What the shapes share: the base of a request body's shape, and the shapes of error
answers (for the schema)."""

import copy
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar

from rest_framework import serializers
from rest_framework.fields import Field


class RequestSerializer(serializers.Serializer):
    # No docstring: the schema would describe every request shape with it.

    # Fields of a neighbouring endpoint's body, and why each is refused here: DRF passes over
    # a field it doesn't declare, so {"seats": ["B7"]} sent to POST /api/tickets booked the
    # best seat with a 201, not B7 nor a 400.
    refused: ClassVar[Mapping[str, str]] = MappingProxyType({})

    def to_internal_value(self, data: Any) -> Any:
        given = data if isinstance(data, Mapping) else {}
        refused = {name: [why] for name, why in self.refused.items() if name in given}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if refused and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **refused}) from None
            raise
        if refused:
            raise serializers.ValidationError(refused)
        return value

    def get_fields(self) -> dict[str, Field]:
        # A request body's shape: validated once per request, its fields never changed.
        # DRF gives each serializer instance a deep copy of the declared fields, so that
        # one may change its own without touching the others': each field is built again
        # from its arguments, deep-copied too. Here each field is copied shallowly, with
        # its own validators list and error messages, and a list's or dict's child is
        # built again and bound to the copy: as much this instance's own (bound to it,
        # with its own name and parent), at a fraction of the cost (bench/README.md has
        # the profile and the A/B). What the copies still share (each validator, a
        # related field's queryset, which is cloned on each use) is only read.
        return {name: _own_copy(field) for name, field in self._declared_fields.items()}


def _own_copy(declared: Field) -> Field:
    # What copy.copy() does for such an object, without its trip through __reduce_ex__,
    # which took most of copy.copy()'s time (bench/README.md).
    field = object.__new__(type(declared))
    field.__dict__.update(declared.__dict__)
    field.validators = list(field.validators)
    field.error_messages = dict(field.error_messages)
    if isinstance(field, serializers.ListField | serializers.DictField):
        field.child = copy.deepcopy(field.child)  # built again, unbound: a field binds once
        # As ListField.__init__ binds it; the stubs expect a serializer for a parent.
        field.child.bind(field_name="", parent=field)  # type: ignore[arg-type]
    return field


class ErrorSerializer(serializers.Serializer):
    """The shape of 401, 403, 404 and 429 answers."""

    detail = serializers.CharField()
    code = serializers.CharField(required=False, help_text="With a 429 of the hourly seat cap: seats_per_hour.")


class ConflictSerializer(serializers.Serializer):
    """The shape of 409, 422 and 503 answers."""

    detail = serializers.CharField()
    code = serializers.CharField()
    checked_in_at = serializers.DateTimeField(required=False, help_text="With already_checked_in: when it was.")
    seat = serializers.CharField(required=False, help_text="With single_seat_gap: the seat it would leave alone.")
    seats = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="With seat_in_use: the seats the map must keep."
    )
    waitlist = serializers.CharField(required=False, help_text="With sold_out: the show's waiting list, to join.")
