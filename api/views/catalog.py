"""Shows: the availability search, one show with its free seats, staff writes."""

import hashlib
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status, viewsets
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from .. import selectors, sharedcache
from ..filters import ShowFilter
from ..models import ShowQuerySet
from ..permissions import IsStaffOrReadOnly
from ..schema import errors
from ..serializers.catalog import ShowDetailSerializer, ShowSerializer, ShowWriteSerializer
from ..services import catalog


def kept_for(request: Request, seconds: int, answer: Callable[[], Response]) -> HttpResponse | Response:
    """answer(), or its JSON as kept in the cache for at most `seconds` for this URL (host
    and query included: the page links in an answer are absolute). Only plain JSON requests
    are kept. A cache that fails (refused, or timed out) is logged and left alone for a
    while (api/sharedcache.py); meanwhile the answer comes from the database."""
    if seconds <= 0 or request.accepted_media_type != "application/json" or not sharedcache.cache_usable():
        return answer()
    key = f"show-search:{hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()}"
    try:
        kept = cache.get(key)
    except sharedcache.CacheFailure as exc:
        sharedcache.cache_failed(exc, "reading a show search")
        return answer()
    if kept is not None:
        return HttpResponse(kept, content_type="application/json")
    response = answer()  # an invalid filter raises: a 400, not kept
    try:
        cache.set(key, JSONRenderer().render(response.data, "application/json"), seconds)
    except sharedcache.CacheFailure as exc:
        sharedcache.cache_failed(exc, "keeping a show search")
    return response


@extend_schema_view(
    list=extend_schema(summary="Search shows by availability", responses={200: ShowSerializer, **errors(400, 429)}),
    retrieve=extend_schema(
        summary="A show, with its free seats", responses={200: ShowDetailSerializer, **errors(404, 429)}
    ),
    create=extend_schema(
        summary="Schedule a show (staff)",
        request=ShowWriteSerializer,
        responses={201: ShowSerializer, **errors(400, 401, 403)},
    ),
    update=extend_schema(
        summary="Change a show (staff)",
        request=ShowWriteSerializer,
        responses={200: ShowSerializer, **errors(400, 401, 403, 404)},
    ),
    partial_update=extend_schema(
        summary="Change some of a show (staff)",
        request=ShowWriteSerializer,
        responses={200: ShowSerializer, **errors(400, 401, 403, 404)},
    ),
    destroy=extend_schema(
        summary="Delete a show without tickets (staff)", responses={204: None, **errors(401, 403, 404, 409)}
    ),
)
class ShowViewSet(viewsets.ModelViewSet):
    permission_classes = [IsStaffOrReadOnly]
    filterset_class = ShowFilter
    serializer_class = ShowSerializer

    def get_queryset(self) -> ShowQuerySet:
        return selectors.shows_with_counts(now=timezone.now()).order_by("starts_at")

    def get_serializer_class(self) -> type:
        return ShowDetailSerializer if self.action == "retrieve" else ShowSerializer

    # The ignore: a kept answer is a plain HttpResponse, which DRF sends as it is; the
    # stubs' ListModelMixin.list promises a Response.
    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse:  # type: ignore[override]
        # A premiere's crowd reloads the same search: anonymous answers are kept for
        # SHOW_SEARCH_CACHE_SECONDS, after the throttle, which still counts each request.
        # No booking reads these counts: each counts the seats again under the show's lock.
        # Staff always get the database's answer.
        if request.user.is_staff:
            return super().list(request, *args, **kwargs)
        return kept_for(request, settings.SHOW_SEARCH_CACHE_SECONDS, lambda: super(ShowViewSet, self).list(request))

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        show, now = self.get_object(), timezone.now()
        free_seats = selectors.show_free_seats(show, now=now)
        return Response(ShowDetailSerializer(show, context={"now": now, "free_seats": free_seats}).data)

    def _answer(self, show_id: int, code: int) -> Response:
        show = self.get_queryset().get(pk=show_id)
        return Response(ShowSerializer(show).data, status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ShowWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        show = catalog.show_create(**data.validated_data)
        return self._answer(show.pk, status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        show = self.get_object()
        data = ShowWriteSerializer(data=request.data, partial=kwargs.get("partial", False))
        data.is_valid(raise_exception=True)
        catalog.show_update(show_id=show.pk, now=timezone.now(), **data.validated_data)
        return self._answer(show.pk, status.HTTP_200_OK)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        catalog.show_delete(show_id=self.get_object().pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
