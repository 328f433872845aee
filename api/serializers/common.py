"""The shapes of error answers, for the schema."""

from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """The shape of 401, 403, 404 and 429 answers."""

    detail = serializers.CharField()


class ConflictSerializer(serializers.Serializer):
    """The shape of 409, 422 and 503 answers."""

    detail = serializers.CharField()
    code = serializers.CharField()
    checked_in_at = serializers.DateTimeField(required=False, help_text="With already_checked_in: when it was.")
