"""Webhook endpoints, their delivery log, and audit entries."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.validators import ProhibitSurrogateCharactersValidator

from ..models import AuditEntry, Webhook, WebhookEvent
from ..services.audit import EVENT_TYPES


@extend_schema_field({"type": "string", "format": "uri", "minLength": 1, "maxLength": 500})
class WebhookUrlField(serializers.CharField):
    """An endpoint's URL, judged by services.webhooks.check_url, which takes a host of one
    label too (DRF's URLField asks for a dot: http://crm:8080/hooks was "Enter a valid URL.")."""


class EventField(serializers.ChoiceField):
    """An event's name. One with a lone surrogate (JSON's "\\ud800") is refused as CharField
    refuses it: ChoiceField's message quotes what was sent, and the answer, which can't
    be written in UTF-8 with it, was a 500."""

    def to_internal_value(self, data: Any) -> Any:
        ProhibitSurrogateCharactersValidator()(data)
        return super().to_internal_value(data)


class WebhookSerializer(serializers.ModelSerializer):
    """An endpoint; its secret is never read back after the answer that made it."""

    url = WebhookUrlField(max_length=500, help_text="http or https.")
    events = serializers.ListField(
        child=EventField(choices=EVENT_TYPES),
        required=False,
        help_text="The events it is sent; empty: every event.",
    )

    class Meta:
        model = Webhook
        fields = ["id", "url", "events", "active", "created_at"]
        read_only_fields = ["id", "created_at"]

    def validate_events(self, events: list[str]) -> list[str]:
        return list(dict.fromkeys(events))  # each once, in the order given

    def validate_url(self, url: str) -> str:
        if not url.lower().startswith(("http://", "https://")):
            raise serializers.ValidationError("The URL must be http or https.")
        return url


class WebhookCreatedSerializer(WebhookSerializer):
    """The answer to POST /api/webhooks: the one answer that shows the secret."""

    secret = serializers.CharField(read_only=True, help_text="whsec_ + base64 of the key: keep it, it is shown once.")

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEvent
        fields = ["id", "message_id", "type", "status", "attempts", "response_status", "next_attempt_at"]
        read_only_fields = fields


class AuditEntrySerializer(serializers.ModelSerializer):
    object = serializers.SerializerMethodField(help_text='"<type>:<id>", like "ticket:5f0c..." or "booking:K7M2QX".')

    class Meta:
        model = AuditEntry
        fields = ["id", "at", "actor", "action", "object", "changes"]
        read_only_fields = fields

    def get_object(self, entry: AuditEntry) -> str:
        return f"{entry.object_type}:{entry.object_id}"
