"""At the door: staff check a ticket in, or undo it."""

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from .. import selectors
from ..callers import actor_of
from ..permissions import IsStaff
from ..schema import errors
from ..serializers.sales import TicketSerializer
from ..services import door


class CheckInView(GenericAPIView):
    """POST /api/tickets/{id}/check-in admits the ticket; DELETE undoes it."""

    permission_classes = [IsStaff]
    serializer_class = TicketSerializer
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return selectors.tickets_with_details()

    def _answer(self, ticket: Any) -> Response:
        return Response(TicketSerializer(ticket, context={"request": self.request}).data)

    @extend_schema(
        summary="Check a ticket in at the door (staff)",
        request=None,
        responses={200: TicketSerializer, **errors(401, 403, 404, 409)},
    )
    def post(self, request: Request, pk: str) -> Response:
        return self._answer(
            door.ticket_check_in(ticket_id=self.get_object().pk, now=timezone.now(), actor=actor_of(request))
        )

    @extend_schema(
        summary="Undo a ticket's check-in (staff)",
        request=None,
        responses={200: TicketSerializer, **errors(401, 403, 404, 409)},
    )
    def delete(self, request: Request, pk: str) -> Response:
        return self._answer(
            door.ticket_check_in_undo(ticket_id=self.get_object().pk, now=timezone.now(), actor=actor_of(request))
        )
