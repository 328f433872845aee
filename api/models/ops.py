"""The service's own records: idempotency keys."""

from django.db import models


class IdempotencyKey(models.Model):
    """A client's Idempotency-Key and the first answer given to it, replayed on retries."""

    scope = models.CharField(max_length=100)  # the caller: user id or client address
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField()
    location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_unique_scope_key"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.scope})"
