"""Find your booking: a page where a customer gives a booking's reference and the booker's
phone number and gets the booking's shows, seats, ticket types, prices, total and a link to
each e-ticket, as GET /api/bookings/{reference}?phone_number= answers them (the same
selector, the same throttle). The show page's booking, made with the script, is gone with a
reload or a closed tab: its reference, which the page says to keep, finds it again here.

A POST form, not a GET one: a reference and its phone number open the booking (its
e-tickets, and the person's name on them), and an address is kept in the browser's history,
shared and sent on (as the show page's booked cookie keeps the reference out of its
address, api/pages.py). CSRF-protected as every page's form.
"""

from django import forms
from django.core.validators import RegexValidator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from . import selectors, showform
from .models import Show, Ticket, plain_reference
from .services.sale_rows import REFERENCE_LENGTH, Sale

# The one answer to a reference and phone number that open nothing, whichever of them was
# wrong, or both (as the API's one 404).
NO_BOOKING = "No booking with this reference and phone number."
NO_BOOKING_HINT = (
    "Check both against your booking: the reference as it was shown when you booked, "
    "the phone number as you gave it then, or with its country code."
)
REFERENCE_TYPED = 4 * REFERENCE_LENGTH  # the field's maxlength: room for spaces
PHONE_MAX_LENGTH = 50  # a phone number written out with spaces and a country code fits well inside


BAD_REFERENCE = f"A booking reference is {REFERENCE_LENGTH} letters and digits, such as K7QX2M."


class ReferenceField(forms.CharField):
    """A reference as people copy it: any case, spaces anywhere ("k7q x2m")."""

    default_validators = [RegexValidator(rf"^[A-Z0-9]{{{REFERENCE_LENGTH}}}$", BAD_REFERENCE)]

    def to_python(self, value: object) -> str:
        return plain_reference(super().to_python(value) or "")


class FindBookingForm(forms.Form):
    """A reference and a phone number in any form, read by selectors.booking_of_booker. A
    reference that can't be one is refused as bad input (which tells nothing of any booking);
    one that could be, with any phone number at all, is a look-up."""

    reference = ReferenceField()
    phone_number = forms.CharField(max_length=PHONE_MAX_LENGTH)


# The page shows a person's booking and a form with a CSRF token: no cache may keep it.
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def find_booking(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: the booking its reference and phone number open, a 404 page with
    the form again when they open none, a 400 page for what can't be a look-up at all."""
    form = FindBookingForm(request.POST if request.method == "POST" else None)
    said: list[str] = []
    status, retry_after = 200, None
    sale: Sale | None = None
    if request.method == "POST":
        # Throttled as the API's look-up, on the same count: guessing references by the
        # page is no faster than by the API.
        refused = showform.throttled(request)
        if refused is not None:
            said, status, retry_after = refused.errors, refused.status, refused.retry_after
        elif not form.is_valid():
            status = 400
        else:
            booking = selectors.booking_of_booker(form.cleaned_data["reference"], form.cleaned_data["phone_number"])
            if booking is None:
                said, status = [NO_BOOKING, NO_BOOKING_HINT], 404
            else:
                sale = Sale(booking=booking, tickets=list(booking.tickets.all()))
    # Its tickets by show (a ticket moved to another time is in another show), each show
    # where its first ticket is in the selector's order, by start, then seat: not a run of
    # them, since a show at the same start on another screen may come between two of them.
    by_show: dict[Show, list[Ticket]] = {}
    for ticket in sale.tickets if sale else []:
        by_show.setdefault(ticket.show, []).append(ticket)
    context = {
        "form": form,
        "said": said,
        "sale": sale,
        "shows": [
            {"show": show, "tickets": [(ticket, reverse("eticket", args=[ticket.pk])) for ticket in tickets]}
            for show, tickets in by_show.items()
        ],
        "reference_length": REFERENCE_LENGTH,
        "reference_maxlength": REFERENCE_TYPED,
        "phone_maxlength": PHONE_MAX_LENGTH,
    }
    response = render(request, "find_booking.html", context, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)  # as the API's 429
    return response
