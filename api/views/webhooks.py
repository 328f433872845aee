"""Webhook endpoints and their delivery log; the audit trail (staff only, read-only)."""

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from ..callers import actor_of
from ..filters import AuditFilter
from ..models import AuditEntry, Webhook, WebhookEvent
from ..permissions import IsStaff
from ..schema import LOCATION_HEADER, errors
from ..serializers.webhooks import (
    AuditEntrySerializer,
    DeliverySerializer,
    WebhookCreatedSerializer,
    WebhookSerializer,
)
from ..services import webhooks
from .base import ById, LocationMixin, NotStored


@extend_schema_view(
    list=extend_schema(summary="Webhook endpoints (staff)", responses={200: WebhookSerializer, **errors(401, 403)}),
    retrieve=extend_schema(
        summary="A webhook endpoint (staff)", responses={200: WebhookSerializer, **errors(401, 403, 404)}
    ),
    create=extend_schema(
        summary="Register a webhook endpoint (staff); the answer shows its secret, once",
        request=WebhookSerializer,
        parameters=[LOCATION_HEADER],
        responses={201: WebhookCreatedSerializer, **errors(400, 401, 403)},
    ),
    update=extend_schema(
        summary="Change a webhook endpoint (staff)", responses={200: WebhookSerializer, **errors(400, 401, 403, 404)}
    ),
    partial_update=extend_schema(
        summary="Change some of a webhook endpoint (staff)",
        responses={200: WebhookSerializer, **errors(400, 401, 403, 404)},
    ),
    destroy=extend_schema(
        summary="Delete a webhook endpoint and its log (staff)", responses={204: None, **errors(401, 403, 404)}
    ),
)
class WebhookViewSet(NotStored, ById, LocationMixin, viewsets.ModelViewSet):
    # NotStored: an endpoint's URL may carry its receiver's credentials (user:pw@, a ?token=).
    permission_classes = [IsStaff]
    serializer_class = WebhookSerializer
    queryset = Webhook.objects.order_by("pk")
    filterset_class = None

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = WebhookSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        webhook = webhooks.webhook_create(
            url=data.validated_data["url"],
            events=data.validated_data.get("events", []),
            active=data.validated_data.get("active", True),
            actor=actor_of(request),
            now=timezone.now(),
        )
        body = WebhookCreatedSerializer(webhook).data
        return Response(body, status=status.HTTP_201_CREATED, headers=self.get_success_headers(body))

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        webhook = self.get_object()
        data = WebhookSerializer(webhook, data=request.data, partial=kwargs.get("partial", False))
        data.is_valid(raise_exception=True)
        webhook = webhooks.webhook_update(
            webhook_id=webhook.pk, actor=actor_of(request), now=timezone.now(), **data.validated_data
        )
        return Response(WebhookSerializer(webhook).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        webhooks.webhook_delete(webhook_id=self.get_object().pk, actor=actor_of(request), now=timezone.now())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="The endpoint's delivery log, newest first (staff)",
        responses={200: DeliverySerializer(many=True), **errors(401, 403, 404)},
    )
    @action(detail=True, methods=["get"], serializer_class=DeliverySerializer)
    def deliveries(self, request: Request, pk: str) -> Response:
        webhook = self.get_object()
        log = WebhookEvent.objects.filter(webhook=webhook).order_by("-created_at", "-pk")
        page = self.paginate_queryset(log)
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)


class DeliveryRetryView(GenericAPIView):
    """POST /api/webhooks/{id}/deliveries/{delivery}/retry: sent again (same webhook-id)
    by the next run of deliver_webhooks, whatever its status."""

    permission_classes = [IsStaff]
    serializer_class = DeliverySerializer

    @extend_schema(
        summary="Send a delivery again (staff)",
        request=None,
        responses={202: DeliverySerializer, **errors(401, 403, 404, 409)},
    )
    def post(self, request: Request, pk: str, delivery: str) -> Response:
        # The endpoint by its pk first: Django keeps an id past the column's range out of a
        # pk lookup (no row), not out of a foreign key's (SQLite raised OverflowError, a 500).
        webhook = get_object_or_404(Webhook.objects.all(), pk=pk)
        event = get_object_or_404(WebhookEvent.objects.all(), pk=delivery, webhook=webhook)
        event = webhooks.delivery_retry(delivery_id=event.pk, actor=actor_of(request), now=timezone.now())
        return Response(DeliverySerializer(event).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(
        summary="The audit trail, newest first (staff)", responses={200: AuditEntrySerializer, **errors(400, 401, 403)}
    )
)
class AuditViewSet(NotStored, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Read-only: nobody changes or deletes an entry through the service."""

    # NotStored: entries name tickets by their ids (capabilities), bookings by their
    # references, clients by their addresses.
    permission_classes = [IsStaff]
    serializer_class = AuditEntrySerializer
    filterset_class = AuditFilter

    def get_queryset(self) -> QuerySet[AuditEntry]:
        return AuditEntry.objects.order_by("-at", "-pk")
