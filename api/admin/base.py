"""What the admin's pages share: rule errors shown as messages, read-only inlines, times.

Every write that has booking rules goes through api/services/, as the API's do. A rule
the service refuses comes back to staff as an error message, never a 500, and nothing is
saved.
"""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import NON_FIELD_ERRORS, FieldDoesNotExist
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models.constants import LOOKUP_SEP
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from ..errors import DomainError, Invalid
from ..filters import phone_matches


class AllOrNoneActions:
    """A list action (a bulk delete) runs in one transaction with the "Deleted" entries of
    the admin's history, which Django writes just before delete_queryset: one row the
    service refuses keeps the others, and rolls those entries back too."""

    def response_action(self, request, queryset, *args, **kwargs):
        with transaction.atomic():
            return super().response_action(request, queryset, *args, **kwargs)  # type: ignore[misc]


class DeletedWithIt:
    """The rows the service deletes with the object (a show's waiting list, an endpoint's
    delivery log), which no one may delete alone: Django's confirmation asked for the
    right to delete each of them, which their admins give nobody, so the object could
    not be deleted in the admin once it had any, by a superuser either. The right to
    delete the object itself is still asked for, and the delete goes through the service."""

    deleted_with_it: tuple[type[models.Model], ...] = ()

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)  # type: ignore[misc]
        going = {model._meta.verbose_name for model in self.deleted_with_it}
        return deleted, counts, perms_needed - going, protected


REFUSED = "rule_refused"  # the request's attribute: the domain error its save met


def _form_refused(form: type[forms.BaseForm], refused: DomainError) -> type[forms.BaseForm]:
    """The admin's form, invalid with the refusal: on the field it names, else the form's."""

    class Refused(form):  # type: ignore[valid-type, misc]
        def clean(self):
            cleaned = super().clean()
            subject = refused.subject if isinstance(refused, Invalid) else None
            field = subject if subject in self.fields else None
            if refused.message not in self.errors.get(field or NON_FIELD_ERRORS, []):  # the form's own
                self.add_error(field, refused.message)
            return cleaned

    return Refused


class RuleErrorsAsMessages:
    """A service refusing a save or a delete (a domain error) is told to staff, never a 500.

    The admin saves inside transaction.atomic(), so when the error leaves it everything
    the request wrote is rolled back. A form's save that refuses comes back as the form
    with what staff typed and the refusal on it (redirected, it lost all they had typed).
    A delete, or an action of the list (a bulk delete), that refuses comes back with the
    refusal as a message.
    """

    def changelist_view(self, request, extra_context=None):
        try:
            return super().changelist_view(request, extra_context)  # type: ignore[misc]
        except DomainError as exc:
            self.message_user(request, str(exc), messages.ERROR)  # type: ignore[attr-defined]
            return HttpResponseRedirect(request.get_full_path())

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)  # type: ignore[misc]
        except DomainError as exc:
            if request.method == "POST" and getattr(request, REFUSED, None) is None:
                # Rolled back: the same form again, which get_form makes invalid with the refusal.
                setattr(request, REFUSED, exc)
                return self.changeform_view(request, object_id, form_url, extra_context)
            self.message_user(request, str(exc), messages.ERROR)  # type: ignore[attr-defined]
            return HttpResponseRedirect(request.get_full_path())

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)  # type: ignore[misc]
        refused = getattr(request, REFUSED, None)
        return form if refused is None else _form_refused(form, refused)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)  # type: ignore[misc]
        except DomainError as exc:
            self.message_user(request, str(exc), messages.ERROR)  # type: ignore[attr-defined]
            # Back to the thing that was kept, not to the question asked again.
            opts = self.model._meta  # type: ignore[attr-defined]
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[object_id]))


class ManyRows:
    """A list of a table that grows by the million (tickets, people, bookings, the audit
    trail, the delivery log): a filtered or searched page counts its matches only, not the
    whole table too for "(N total)", a COUNT(*) of every row on each load (Django's
    show_full_result_count)."""

    show_full_result_count = False


class ListQueriesChecked:
    """A lookup on a secret is refused (a 400): Django takes any lookup on a model's own
    fields, and a list that shows a row for one prefix of its secret and not for another
    (?secret__startswith=, ?secret__gte=) tells it a character at a time to whoever may
    view the list. secret_fields are paths from the admin's model ("secret",
    "webhook__secret"); a lookup reaching one of those fields by any relation is refused,
    as is one on a relation compared by it (a user's ?auth_token__gte= compares the key).
    (Lookups the database would fail on, a regular expression, a range: every list's 400,
    api/admin_site.py.)
    """

    secret_fields: tuple[str, ...] = ()

    def lookup_allowed(self, lookup: str, value: str, request: Any = None) -> bool:
        if self._reaches_secret(lookup):
            return False  # a 400
        return super().lookup_allowed(lookup, value, request)  # type: ignore[misc]

    def _reaches_secret(self, lookup: str) -> bool:
        model = self.model  # type: ignore[attr-defined]
        secrets = {_field_at(model, path) for path in self.secret_fields}
        field = None
        for part in lookup.split(LOOKUP_SEP):
            try:
                field = model._meta.pk if part == "pk" else model._meta.get_field(part)
            except FieldDoesNotExist:
                break  # a lookup or a transform of the field before (or a name Django ignores)
            if field in secrets:
                return True
            if not field.is_relation:
                return False
            model = field.related_model
        # Ended on a relation: compared by the field it joins to (a reverse one's, its model's key).
        return field is not None and field.is_relation and not secrets.isdisjoint(field.path_infos[-1].target_fields)


def _field_at(model: Any, path: str) -> Any:
    """The field a path of the model's fields ends on: "webhook__secret" is Webhook.secret."""
    *relations, name = path.split(LOOKUP_SEP)
    for relation in relations:
        model = model._meta.get_field(relation).related_model
    return model._meta.get_field(name)


class PhoneSearch:
    """The list's search finds a person by a phone number as people write it ("(415)
    555-0123", "415 555 0123"), which the stored E.164 (+914155550123) doesn't contain as
    typed: as the API's filters read one (filters.phone_matches). phone_field is the path
    from the admin's model to the number."""

    phone_field: str

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)  # type: ignore[misc]
        if search_term.strip():
            found |= queryset.filter(phone_matches(self.phone_field, search_term.strip()))
        return found, may_have_duplicates


class ShownList(forms.MultipleHiddenInput):
    """The copy of a list the page showed, sent even when it showed none: an empty input
    first, dropped when read. Django's copy of an empty list is no input at all, and a page
    sent back with an error (a name taken) then carried what staff had ticked as what it
    showed: a group ticked for a user who had none was not a change on the corrected page,
    and was not saved."""

    def format_value(self, value: Any) -> list[Any]:
        return ["", *super().format_value(value)]

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        values = super().value_from_datadict(data, files, name)
        if values is None or isinstance(values, str):
            values = [values]
        return [value for value in values if value not in (None, "")]


class KeepsWhatItShowed:
    """A change page's form whose changes (changed_data) are what staff changed on the page,
    judged against the values it showed (carried in hidden inputs), not against the row as
    it is now: a colleague's change of another field since the page was opened is kept, not
    written back with the value the page showed. A disabled field is never changed by the
    page, and carries no copy (a user's password hash)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:  # type: ignore[attr-defined]
            for field in self.fields.values():  # type: ignore[attr-defined]
                field.show_hidden_initial = not field.disabled
                if issubclass(field.hidden_widget, forms.MultipleHiddenInput):
                    field.hidden_widget = ShownList


class ModelFieldLimits:
    """A whole number's form field takes the limits of its model field's validators.

    Django gives a PositiveIntegerField's form field a minimum of 0 of its own: the input
    took 0 and -1 was told "greater than or equal to 0", before the model's minimum (1)
    was ever asked.
    """

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.IntegerField):
            lows = [v.limit_value for v in db_field.validators if isinstance(v, MinValueValidator)]
            highs = [v.limit_value for v in db_field.validators if isinstance(v, MaxValueValidator)]
            kwargs = {
                **({"min_value": max(lows)} if lows else {}),
                **({"max_value": min(highs)} if highs else {}),
                **kwargs,
            }
        return super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]


class TicketMoments:
    """A ticket's moments as staff at its venue read them: in the venue's zone, with its
    offset. The model's own fields would show them in TIME_ZONE, without saying so."""

    @admin.display(description="Checked in (venue time)", ordering="checked_in_at")
    def checked_in_local(self, ticket: Any) -> str:
        return _at_venue(ticket, ticket.checked_in_at)

    @admin.display(description="Booked (venue time)", ordering="booked_at")
    def booked_local(self, ticket: Any) -> str:
        return _at_venue(ticket, ticket.booked_at)


def _at_venue(ticket: Any, moment: Any) -> str:
    # "-" as the admin shows an empty value (a read-only field would show None as "None"):
    # no such moment, or a ticket cancelled after the page was loaded (an inline's row then
    # comes back empty).
    if moment is None or ticket.pk is None:
        return "-"
    return f"{timezone.localtime(moment, ticket.show.zone):%Y-%m-%d %H:%M:%S %z}"


def staff_actor(request: HttpRequest) -> str:
    """The audit trail's name for the staff member using the admin."""
    return f"staff:{request.user.get_username()}"


def history_link(obj_type: str, obj_id: object) -> str:
    """A link to the object's entries in the audit trail."""
    url = reverse("admin:api_auditentry_changelist") + f"?object_type={obj_type}&object_id={obj_id}"
    return format_html('<a href="{}">Audit history</a>', url)


class _ReadOnlyFormSet(BaseInlineFormSet):
    """A read-only inline never shows its empty (add) row, yet Django builds it a few
    times a page (media, multipart, headers): on an instance whose callable defaults are
    not run, as a ticket's default type is a query each time."""

    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        kwargs = super().get_form_kwargs(index)
        if index is None:
            model = self.model
            assert model is not None  # an inline always has its model
            unset = {f.attname: None for f in model._meta.concrete_fields if callable(f.default)}
            kwargs["instance"] = model(**unset)
        return kwargs


class ReadOnlyInline(admin.TabularInline):
    formset = _ReadOnlyFormSet
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
