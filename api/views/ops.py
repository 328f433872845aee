"""The service itself: health, and a JSON 404 for unknown API URLs."""

from django.db import DatabaseError, connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response


def _health(name: str) -> serializers.Serializer:
    return inline_serializer(name, {"status": serializers.CharField(), "database": serializers.CharField()})


@extend_schema(summary="Service health", responses={200: _health("Health"), 503: _health("HealthDown")})
@api_view(["GET"])
@permission_classes([AllowAny])
@throttle_classes([])
def health(request: Request) -> Response:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return Response({"status": "unavailable", "database": "unavailable"}, status=503)
    return Response({"status": "ok", "database": "ok"})


@extend_schema(exclude=True)
@api_view(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@permission_classes([AllowAny])
@throttle_classes([])
def not_found(request: Request, *args: object, **kwargs: object) -> Response:
    """Unknown URLs under /api/ answer a JSON 404 like every other API error."""
    raise NotFound()
