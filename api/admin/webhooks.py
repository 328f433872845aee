"""Webhook endpoints with their delivery log, and the audit trail (read-only)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from ..errors import EndpointInactive, WebhookUrlRefused
from ..models import AuditEntry, Webhook, WebhookEvent
from ..services import webhooks
from ..services.audit import EVENT_TYPES
from .base import DeletedWithIt, KeepsWhatItShowed, ListQueriesChecked, ManyRows, RuleErrorsAsMessages, staff_actor


class WebhookURLField(forms.URLField):
    """A URL typed without its scheme is https's, as URLField reads it; its form is judged by
    services.webhooks.check_url (clean_url), which takes a host of one label too."""

    default_validators = []


class WebhookForm(KeepsWhatItShowed, forms.ModelForm):
    url = WebhookURLField(max_length=500, assume_scheme="https", help_text="http or https.")
    events = forms.MultipleChoiceField(
        choices=[(e, e) for e in EVENT_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event.",
    )

    class Meta:
        model = Webhook
        fields = ["url", "events", "active"]

    def events_shown(self) -> list[str]:
        """The events the page showed (its copy of them: KeepsWhatItShowed)."""
        shown = (
            self.fields["events"]
            .hidden_widget()
            .value_from_datadict(self.data, self.files, self.add_initial_prefix("events"))
        )
        return list(shown or ())

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        if self.instance.pk is not None and "url" not in self.changed_data:
            # Checked when it was registered, as the API's PATCH leaves it: an endpoint whose
            # host has gone (or turned private) could not be switched off here.
            return url
        try:
            webhooks.check_url(url)
        except WebhookUrlRefused as exc:
            raise forms.ValidationError(str(exc)) from exc
        return url


@admin.register(Webhook)
class WebhookAdmin(RuleErrorsAsMessages, DeletedWithIt, ListQueriesChecked, admin.ModelAdmin):
    form = WebhookForm
    deleted_with_it = (WebhookEvent,)  # services.webhooks.webhook_delete: its delivery log goes with it
    list_display = ["url", "events_display", "active", "created_at", "log_link"]
    list_filter = ["active"]
    secret_fields = ("secret",)  # shown once, when the endpoint is made

    @admin.display(description="Events")
    def events_display(self, webhook: Webhook) -> str:
        return ", ".join(webhook.events) or "all"

    @admin.display(description="Delivery log")
    def log_link(self, webhook: Webhook) -> str:
        url = reverse("admin:api_webhookevent_changelist") + f"?webhook__id__exact={webhook.pk}"
        return format_html('<a href="{}">Deliveries</a>', url)

    def save_model(self, request: HttpRequest, obj: Webhook, form: Any, change: bool) -> None:
        actor, now = staff_actor(request), timezone.now()
        if change:
            # The fields staff changed on the page (KeepsWhatItShowed), as the API's PATCH names
            # them: a colleague's change of another since the page was opened is kept.
            given = {name: getattr(obj, name) for name in ("url", "events", "active") if name in form.changed_data}
            # The events are saved as the whole list the page sends: ticked over the ones it
            # showed, compared with those committed under the endpoint's lock.
            events_over = form.events_shown() if "events" in given else None
            webhooks.webhook_update(webhook_id=obj.pk, actor=actor, now=now, events_over=events_over, **given)
            return
        created = webhooks.webhook_create(url=obj.url, events=obj.events, actor=actor, now=now, active=obj.active)
        obj.pk, obj.secret = created.pk, created.secret
        # The one time the secret is shown: it is never displayed again.
        self.message_user(request, f"The endpoint's signing secret (shown once, keep it): {created.secret}")

    def delete_model(self, request: HttpRequest, obj: Webhook) -> None:
        webhooks.webhook_delete(webhook_id=obj.pk, actor=staff_actor(request), now=timezone.now())

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for webhook in queryset:
            self.delete_model(request, webhook)


@admin.register(WebhookEvent)
class WebhookEventAdmin(RuleErrorsAsMessages, ManyRows, ListQueriesChecked, admin.ModelAdmin):
    """The delivery log: read-only, with a retry action."""

    list_display = ["created_at", "type", "webhook", "status", "attempts", "response_status", "next_attempt_at"]
    list_filter = ["status", "type", "webhook"]
    list_select_related = ["webhook"]
    search_fields = ["message_id"]
    ordering = ["-created_at", "-pk"]
    actions = ["retry"]
    secret_fields = ("webhook__secret",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        # The log is read-only (no change permission of its own): sending again is a change
        # of the endpoint's deliveries, for staff who may change endpoints.
        return request.user.has_perm("api.change_webhook")

    @admin.action(description="Send the selected deliveries again (same webhook-id)", permissions=["retry"])
    def retry(self, request: HttpRequest, queryset: QuerySet) -> None:
        now = timezone.now()
        ids = list(queryset.values_list("pk", flat=True))
        inactive = 0
        for delivery_id in ids:
            try:
                webhooks.delivery_retry(delivery_id=delivery_id, actor=staff_actor(request), now=now)
            except EndpointInactive:
                inactive += 1
        self.message_user(
            request, f"{len(ids) - inactive} deliveries will be sent again by the next run.", messages.SUCCESS
        )
        if inactive:
            left = f"Not sent again, of inactive endpoints: {inactive}. {EndpointInactive.message}"
            self.message_user(request, left, messages.WARNING)


@admin.register(AuditEntry)
class AuditEntryAdmin(ManyRows, ListQueriesChecked, admin.ModelAdmin):
    """The audit trail: read-only, no add, change or delete."""

    list_display = ["at", "actor", "action", "object_type", "object_id", "changes"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor", "object_id"]
    date_hierarchy = "at"
    ordering = ["-at", "-pk"]

    def get_list_filter(self, request: HttpRequest) -> Any:
        # An object's history (its "Audit history" link) is a few entries: shown without the
        # filters by action and type, whose choices are read from the whole trail (two
        # DISTINCTs of every entry: 1.1 s a click with 3,000,000 entries, for 1 ms of rows).
        return () if "object_id" in request.GET else self.list_filter

    def lookup_allowed(self, lookup: str, value: str, request: Any = None) -> bool:
        # The "History" links of tickets, shows and bookings filter by these.
        return lookup in ("object_type", "object_id") or super().lookup_allowed(lookup, value, request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
