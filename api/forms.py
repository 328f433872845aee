"""Form fields that the filters and the admin share: show times and phone numbers."""

from django import forms

from .models import parse_phone, validate_on_the_minute


class ShowTimeFormField(forms.TimeField):
    """HH:MM, or HH:MM:SS when the seconds are 00: shows start on the minute."""

    input_formats = ["%H:%M", "%H:%M:%S"]
    default_validators = [validate_on_the_minute]


class PhoneFormField(forms.CharField):
    """A phone number in any format (models.parse_phone), as stored (E.164). One without a
    country code is read in `region` (a venue's country; default PHONENUMBER_DEFAULT_REGION)."""

    region: str | None = None

    def to_python(self, value: str | None) -> str | None:
        text = super().to_python(value)
        if not text:
            return text
        number = parse_phone(text, region=self.region)
        if number is None:
            raise forms.ValidationError("Enter a valid phone number.", code="invalid")
        return number.as_e164
