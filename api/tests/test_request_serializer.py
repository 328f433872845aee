"""Request shapes (serializers.common.RequestSerializer) give each instance shallow copies
of the declared fields instead of DRF's deep copies: each instance must still own its
fields, and validating one body must leave nothing behind for the next."""

from typing import Any

import pytest
from rest_framework import serializers

from api.serializers.sales import BookingCreateSerializer, HoldCreateSerializer, TicketCreateSerializer


def test_each_instance_owns_its_fields_bound_to_itself():
    first, second = TicketCreateSerializer(data={}), TicketCreateSerializer(data={})

    assert set(first.fields) == set(TicketCreateSerializer._declared_fields)
    for name, field in first.fields.items():
        declared = TicketCreateSerializer._declared_fields[name]
        assert field is not second.fields[name] and field is not declared
        assert (field.parent, field.field_name) == (first, name)
        assert (second.fields[name].parent, declared.parent) == (second, None)


def test_a_list_child_is_its_own_and_reaches_its_serializer():
    first, second = HoldCreateSerializer(data={}, context={"who": 1}), HoldCreateSerializer(data={})

    seats: Any = first.fields["seats"]  # a ListField
    declared: Any = HoldCreateSerializer._declared_fields["seats"]
    child = seats.child
    assert child is not second.fields["seats"].child  # type: ignore[attr-defined]
    assert child is not declared.child
    assert child.parent is seats and child.root is first
    assert child.context == {"who": 1}
    assert first.fields["ticket_types"].child.root is first


def test_a_validator_or_message_changed_on_one_instance_stays_there():
    def no_row_z(label: str) -> None:
        if label.startswith("Z"):
            raise serializers.ValidationError("Row Z is closed tonight.")

    first = HoldCreateSerializer(data={"show": 1, "seats": ["Z1", "??"]})
    seats: Any = first.fields["seats"]  # a ListField
    seats.child.validators.append(no_row_z)
    seats.child.error_messages["label"] = "Not a seat."

    assert not first.is_valid()
    assert first.errors == {"seats": {0: ["Row Z is closed tonight."], 1: ["Not a seat."]}}
    second = HoldCreateSerializer(data={"show": 1, "seats": ["Z1", "??"]})
    assert not second.is_valid()
    assert second.errors == {"seats": {1: ["Not a seat label: use a row letter and a seat number, like B4."]}}


def test_changing_one_instance_field_leaves_the_others():
    first = TicketCreateSerializer(data={"show": 1, "phone_number": "+14155550123"})
    first.fields["name"].required = False

    assert first.is_valid(), first.errors
    second = TicketCreateSerializer(data={"show": 1, "phone_number": "+14155550123"})
    assert not second.is_valid()
    assert second.errors == {"name": ["This field is required."]}


def test_a_body_validated_after_a_bad_one_is_judged_on_its_own():
    bad = HoldCreateSerializer(data={"show": 1, "seats": ["A1", "??", "B2"], "wheelchair": -1})
    assert not bad.is_valid()
    assert bad.errors == {
        "seats": {1: ["Not a seat label: use a row letter and a seat number, like B4."]},
        "wheelchair": ["Ensure this value is greater than or equal to 0."],
    }

    good = HoldCreateSerializer(data={"show": 1, "seats": ["a1", "B2"]})
    assert good.is_valid(), good.errors
    assert good.validated_data == {"show_id": 1, "seats": ["A1", "B2"]}
    booking = BookingCreateSerializer(
        data={"show": 1, "ticket_types": {"adult": 2}, "name": "Ada", "phone_number": "+14155550123"}
    )
    assert booking.is_valid(), booking.errors
    assert booking.validated_data["ticket_types"] == {"adult": 2}
    assert booking.validated_data["quantity"] == 2


@pytest.mark.parametrize("given", ["ß1", "ﬀ1", "Ａ1", "b٤"])
def test_a_seat_label_is_ascii_before_it_is_upper_cased(given):
    # "ß1".upper() is "SS1", and "ﬀ1".upper() "FF1": both were read as those seats' labels.
    serializer = HoldCreateSerializer(data={"show": 1, "seats": [given]})

    assert not serializer.is_valid()
    assert serializer.errors == {"seats": {0: ["Not a seat label: use a row letter and a seat number, like B4."]}}


def test_a_seat_label_is_read_in_any_case_with_spaces_around():
    serializer = HoldCreateSerializer(data={"show": 1, "seats": [" b12 "]})

    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["seats"] == ["B12"]
