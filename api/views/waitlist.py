"""Waiting lists: join a sold-out show's list, read and leave an entry; staff read a show's list."""

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from .. import selectors
from ..callers import actor_of, capped_client
from ..errors import DeletedMeanwhile
from ..models import Show, WaitlistEntry
from ..permissions import IsStaff
from ..schema import LOCATION_HEADER, errors
from ..serializers.waitlist import (
    WaitlistEntrySerializer,
    WaitlistJoinSerializer,
    WaitlistPlaceSerializer,
    WaitlistStaffEntrySerializer,
)
from ..services import waitlist
from .base import NotStored


class ShowWaitlistView(NotStored, GenericAPIView):
    """POST /api/shows/{id}/waitlist: anyone joins; GET: staff read the list, in joining order."""

    serializer_class = WaitlistStaffEntrySerializer
    queryset = WaitlistEntry.objects.none()  # for the schema: each method reads its own
    filterset_class = None

    def get_permissions(self) -> list[BasePermission]:
        # Anyone joins (and asks what the URL allows); reading, GET and the HEAD Django
        # answers as GET, is staff's.
        return [AllowAny()] if self.request.method in ("POST", "OPTIONS") else [IsStaff()]

    @extend_schema(
        summary="A show's waiting list, in joining order, with each entry's status (staff)",
        responses={200: WaitlistStaffEntrySerializer(many=True), **errors(401, 403, 404)},
    )
    def get(self, request: Request, pk: str) -> Response:
        show = get_object_or_404(Show.objects.all(), pk=pk)
        entries = selectors.waitlist_entries(now=timezone.now()).filter(show=show).in_line_order()
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(WaitlistStaffEntrySerializer(page, many=True).data)

    @extend_schema(
        summary="Join a show's waiting list; the same phone number again reads its place (200)",
        request=WaitlistJoinSerializer,
        parameters=[LOCATION_HEADER],
        responses={
            201: WaitlistEntrySerializer,
            200: WaitlistPlaceSerializer,
            **errors(400, 404, 409, 429),
        },
    )
    def post(self, request: Request, pk: str) -> Response:
        show = get_object_or_404(Show.objects.all(), pk=pk)
        data = WaitlistJoinSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        now = timezone.now()
        entry, made = waitlist.waitlist_join(
            show_id=show.pk, now=now, client=capped_client(request), actor=actor_of(request), **data.validated_data
        )
        # Read again for its status and position: gone when staff deleted the show (and its
        # list) since the join committed, which is then answered as a join after it.
        found = selectors.waitlist_entries(now=now).filter(pk=entry.pk).first()
        if found is None:
            raise DeletedMeanwhile("Show")  # as the unknown show above
        if not made:
            # The place, without the entry's capabilities, but to staff (who read the list).
            shape = WaitlistEntrySerializer if request.user.is_staff else WaitlistPlaceSerializer
            return Response(shape(found).data, status=status.HTTP_200_OK)
        body = WaitlistEntrySerializer(found).data
        location = reverse("waitlist-detail", args=[entry.pk])
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})


@extend_schema_view(
    retrieve=extend_schema(
        summary="A waiting-list entry: waiting (its position), offered (the hold), booked, expired or left",
        responses={200: WaitlistEntrySerializer, **errors(404, 429)},
    ),
    destroy=extend_schema(
        summary="Leave the waiting list; a live offer's seats go back on sale",
        responses={204: None, **errors(404, 429)},
    ),
)
class WaitlistEntryViewSet(NotStored, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Whoever holds an entry's id may read it and leave the list, like a ticket's holder."""

    permission_classes = [AllowAny]
    serializer_class = WaitlistEntrySerializer
    lookup_value_regex = "[^/]+"

    def get_queryset(self) -> QuerySet[WaitlistEntry]:
        return selectors.waitlist_entries(now=timezone.now())

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        waitlist.waitlist_leave(entry_id=self.get_object().pk, now=timezone.now(), actor=actor_of(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
