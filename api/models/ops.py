"""The service's own records: idempotency keys, the audit trail, webhooks and their outbox."""

from django.db import models


class IdempotencyKey(models.Model):
    """A client's Idempotency-Key and the first answer given to it, replayed on retries."""

    scope = models.CharField(max_length=100)  # whose: user id, client address or a confirm's hold
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    # The answer's JSON as text, its keys in the order answered: PostgreSQL's jsonb orders an
    # object's keys its own way, and a retry got the same JSON in other bytes.
    body = models.TextField()
    location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_unique_scope_key"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.scope})"


class AuditEntry(models.Model):
    """One change made through the service: who, what, when, and which fields changed.

    `changes` names fields and their old and new values, never a person's name or phone
    number (a change of them reads "name": "changed"). Nobody changes or deletes an entry
    through the service; the purge job removes those older than AUDIT_KEEP_DAYS.
    """

    at = models.DateTimeField(db_index=True)
    actor = models.CharField(max_length=200)  # "staff:alice", "client:203.0.113.9", "job:expire_tickets"
    action = models.CharField(max_length=64)  # "ticket.moved", "booking.created", ...
    object_type = models.CharField(max_length=32)  # "ticket", "show", "booking", ...
    object_id = models.CharField(max_length=64)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["object_type", "object_id", "at"], name="audit_object_at")]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.object_type}:{self.object_id}"


class Webhook(models.Model):
    """An endpoint of the theatre's other systems, sent the events it wants (all when
    `events` is empty), signed with its secret (Standard Webhooks v1)."""

    # Judged by services.webhooks.check_url: URLField's validator refused a host of one label.
    url = models.CharField(max_length=500)
    events = models.JSONField(default=list, blank=True)
    secret = models.CharField(max_length=100)  # "whsec_" + base64 of the key's bytes
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.url


class WebhookEvent(models.Model):
    """The transactional outbox: one event for one endpoint, written in the transaction of
    the change it reports, then sent (and retried) by `manage.py deliver_webhooks`."""

    class Status(models.TextChoices):
        PENDING = "pending"  # not tried yet
        DELIVERED = "delivered"
        FAILED = "failed"  # the last attempt failed; next_attempt_at null once given up

    # No index of its own: the (webhook, -created_at) index serves look-ups by webhook.
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries", db_index=False)
    # The webhook-id header; unique by a constraint, as Booking.reference is (no LIKE index).
    message_id = models.CharField(max_length=64)
    type = models.CharField(max_length=64)
    payload = models.JSONField()  # the body as sent: {"type", "timestamp", "data"}
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # Due when <= now; also the lease of an attempt in flight. Null: delivered or given up.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # While an attempt is in flight, the end of its lease: no other worker claims the event
    # before, though staff asked for a retry meanwhile (due at once, next_attempt_at).
    leased_until = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message_id"], name="webhookevent_unique_message_id")]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(next_attempt_at__isnull=False),
                name="webhookevent_due",
            ),
            models.Index(fields=["webhook", "-created_at"], name="webhookevent_log"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.message_id}"
