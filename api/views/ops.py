"""The service itself: health, its schema and docs, and a JSON 404 for unknown API URLs."""

from typing import Any

from django.db import DatabaseError, connection
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..sharedcache import cache_status


class JsonErrors(APIView):
    """A view whose answers are not JSON (the schema's YAML, the docs' page) that answers
    its errors in JSON all the same, as every error under /api/ is (API.md): DRF renders
    an error with the renderer the request negotiated, or the view's first when none
    fits, so a 406 for `Accept: application/xml`, a 405 or a 429 came back as YAML.
    OPTIONS, DRF's description of the view, is JSON too: the docs' renderer has one
    template, the page, and rendered it with none (a 500)."""

    def handle_exception(self, exc: Exception) -> Response:
        response = super().handle_exception(exc)
        self._as_json()
        return response

    # The ignore: DRF's options() takes its Request where Django's View takes an HttpRequest
    # (DRF's stubs ignore it there too).
    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        response = super().options(request, *args, **kwargs)
        self._as_json()
        return response

    def _as_json(self) -> None:
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type


class SchemaView(JsonErrors, SpectacularAPIView):
    """Public; a bad token is still a 401 here, as everywhere (API.md), in JSON."""


class DocsView(JsonErrors, SpectacularSwaggerView):
    """Public, as the schema; its errors in JSON."""


def _health(name: str, status: str, database: str) -> serializers.Serializer:
    return inline_serializer(
        name,
        {
            "status": serializers.CharField(help_text=status),
            "database": serializers.CharField(help_text=database),
            "cache": serializers.CharField(help_text="`ok`, or `unavailable` (the shared cache, Redis)."),
        },
    )


@extend_schema(
    summary="Service health",
    description=(
        "200 while the database answers: `status` is `ok`, or `degraded` when the shared cache "
        "(Redis) is unavailable (the service goes on without it). 503 when the database can't be reached."
    ),
    responses={
        200: _health("Health", "`ok`, or `degraded` when the cache is unavailable.", "`ok`."),
        503: _health("HealthDown", "`unavailable`.", "`unavailable`."),
    },
)
@api_view(["GET", "HEAD"])  # HEAD too, as uptime probes ask
@permission_classes([AllowAny])
@throttle_classes([])
def health(request: Request) -> Response:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return Response({"status": "unavailable", "database": "unavailable", "cache": cache_status()}, status=503)
    cache = cache_status()
    return Response({"status": "ok" if cache == "ok" else "degraded", "database": "ok", "cache": cache})


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@permission_classes([AllowAny])
@throttle_classes([])
def not_found(request: Request, *args: object, **kwargs: object) -> Response:
    """Unknown URLs under /api/ answer a JSON 404 like every other API error."""
    raise NotFound()
