"""The HTML pages: the home page and the printable e-ticket."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from .models import Ticket


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {})


def eticket(request: HttpRequest, ticket_id) -> HttpResponse:
    ticket = get_object_or_404(Ticket.objects.select_related("show", "booking__customer"), pk=ticket_id)
    return render(request, "eticket.html", {"ticket": ticket})
