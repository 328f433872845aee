"""Ticket types and a show's prices in the admin: both written by services.catalog, so that
the rules (one default type; known types and categories, each price once) and the audit
trail are the API's."""

import hashlib
import json
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.utils import timezone
from django.utils.functional import cached_property

from ..errors import PricesChangedMeanwhile
from ..locking import lock_show
from ..models import Show, ShowPrice, TicketType
from ..services import catalog, venues
from .base import KeepsWhatItShowed, ListQueriesChecked, RuleErrorsAsMessages, staff_actor

# --- a show's prices ---------------------------------------------------------------------

PRICES_CHANGED = PricesChangedMeanwhile.message


def prices_shown(show: Show) -> str:
    """The show's prices as its page shows them, a digest the page carries in a hidden
    field (ShowForm's prices_shown): a save from a page that showed other prices is
    refused, since its rows are saved as the whole list (ShowPriceFormSet.save)."""
    rows = sorted(ShowPrice.objects.filter(show=show).values_list("ticket_type_id", "category", "amount"))
    return hashlib.sha256(json.dumps(rows, default=str).encode()).hexdigest()[:32]


class ShowPriceForm(forms.ModelForm):
    category = forms.ChoiceField(
        choices=lambda: [(category, category) for category in settings.BOOKING_SEAT_CATEGORIES],
        help_text="The seat category (price band) of the screen's seat map.",
    )

    class Meta:
        model = ShowPrice
        fields = ["ticket_type", "category", "amount"]


class ShowPriceFormSet(BaseInlineFormSet):
    """Saves the show's whole price list at once through services.catalog.show_update (under
    the show's lock, audited), never row by row: a hold made before keeps its own prices."""

    actor = "system"

    @cached_property
    def _ticket_types(self) -> list[tuple[Any, str]]:
        return [("", "---------"), *((t.pk, str(t)) for t in TicketType.objects.all())]

    def add_fields(self, form: forms.ModelForm, index: int | None) -> None:
        super().add_fields(form, index)
        form.fields["ticket_type"].choices = self._ticket_types  # type: ignore[attr-defined]  # one query, every row
        # A row of the page whose price is gone since (Django's "Select a valid choice").
        form.fields["id"].error_messages["invalid_choice"] = PRICES_CHANGED

    def save(self, commit: bool = True) -> list[Any]:
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        # The page's rows of the show's prices. A row the formset did not find among them
        # is none: Django makes it a new price, which its rows skip checking for staff who
        # may add prices but not change them (a 500 as it was read).
        rows = [form for form in self.initial_forms if form.instance.pk is not None]
        deleted = [form for form in rows if form in self.deleted_forms]
        changed = [form for form in rows if form not in deleted and form.has_changed()]
        added = [form for form in self.extra_forms if form.has_changed() and form not in self.deleted_forms]
        # A row deleted is a change too: without the right to change prices, Django's rows
        # report no change (has_changed()), and a delete was "saved" with nothing deleted.
        if not (deleted or added or changed):
            return []
        # The page's prices compared again under the show's lock, which show_update takes
        # too and the admin's transaction holds to the commit: a colleague's save between
        # ShowForm.clean's comparison and this one would otherwise be overwritten unseen.
        lock_show(self.instance.pk)
        shown = self.data.get("prices_shown")  # None: a page from before the field
        if shown is not None and shown != prices_shown(self.instance):
            raise PricesChangedMeanwhile()
        # The show's prices as committed, each as the page leaves it: the page lists none to
        # staff who may add prices but not view them, and the list saved as the page's rows
        # deleted every price they could not see.
        prices = {
            price.pk: (price.ticket_type.key, price.category, price.amount)
            for price in ShowPrice.objects.filter(show=self.instance).select_related("ticket_type")
        }
        for form in deleted:
            prices.pop(form.instance.pk, None)
        prices |= {form.instance.pk: _price(form) for form in changed}
        new = [*prices.values(), *(_price(form) for form in added)]
        catalog.show_update(show_id=self.instance.pk, now=timezone.now(), prices=new, actor=self.actor)
        # What the admin's history entry reads (formset.save() would have set them).
        self.new_objects = [form.instance for form in added]
        self.changed_objects = [(form.instance, form.changed_data) for form in changed]
        self.deleted_objects = [form.instance for form in deleted]
        return self.new_objects


def _price(form: forms.ModelForm) -> tuple[str, str, Any]:
    """A changed or added row's price as typed. (Only those: without the right to change
    prices, Django gives a row the row's values as read, the type an id: read as typed, a
    500.)"""
    typed = form.cleaned_data
    return typed["ticket_type"].key, typed["category"], typed["amount"]


class ShowPriceInline(admin.TabularInline):
    """The show's prices by ticket type and seat category, in its venue's currency. A show
    without prices sells every seat at 0.00 as the default type."""

    model = ShowPrice
    form = ShowPriceForm
    formset = ShowPriceFormSet
    fields = ("ticket_type", "category", "amount")
    extra = 0
    verbose_name = "price"
    verbose_name_plural = "prices (a show with none sells every seat at 0.00 as the default type)"

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        return type(formset.__name__, (formset,), {"actor": staff_actor(request)})

    def get_queryset(self, request):
        # Each row is headed by its name, which names the type; the type select is one query.
        return super().get_queryset(request).select_related("ticket_type")


# --- ticket types ------------------------------------------------------------------------


class TicketTypeForm(KeepsWhatItShowed, forms.ModelForm):
    # Not the model's field: its "one default" constraint would refuse a new default
    # before services.venues.ticket_type_save moves the default over to it.
    is_default = forms.BooleanField(
        label="Default",
        required=False,
        help_text="Sold when a request names no type; making this one the default unmakes the old one.",
    )

    class Meta:
        model = TicketType
        fields = ["key", "name"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # The page keeps the box and the name as it showed them (KeepsWhatItShowed): the
        # default moves when staff ticked or unticked it, the name when they typed another,
        # not when either differs from the type now (a colleague's new default or rename
        # since the page was opened was undone by this save).
        self.fields["is_default"].initial = self.instance.default


@admin.register(TicketType)
class TicketTypeAdmin(RuleErrorsAsMessages, ListQueriesChecked, admin.ModelAdmin):
    """Adult, child, senior...: saved and deleted by services.catalog (a new default takes
    the old one's place; the default, and a type sold or priced, can't be deleted)."""

    form = TicketTypeForm
    list_display = ["name", "key", "default"]
    list_display_links = ["name"]
    fields = ["key", "name", "is_default"]
    ordering = ["-default", "pk"]
    search_fields = ["key", "name"]

    def get_readonly_fields(self, request, obj=None):
        # Prices and tickets name a type by its key in the API: it stays once made.
        return ["key"] if obj is not None else []

    def save_model(self, request, obj: TicketType, form, change: bool) -> None:
        if not change or "is_default" in form.changed_data:
            obj.default = form.cleaned_data["is_default"]
        # What the page changed; the rest as committed (a colleague's rename or new default
        # since the page was opened is kept).
        given = (
            [{"is_default": "default"}.get(name, name) for name in form.changed_data] if change else ("name", "default")
        )
        venues.ticket_type_save(obj, now=timezone.now(), actor=staff_actor(request), given=given)

    def delete_model(self, request, obj: TicketType) -> None:
        venues.ticket_type_delete(obj, now=timezone.now(), actor=staff_actor(request))

    def get_deleted_objects(self, objs, request):
        # Django's check would stop at the prices and tickets that protect a type, on a page
        # listing them; the confirmation asks instead, and the service decides.
        deleted, counts, perms_needed, _protected = super().get_deleted_objects(objs, request)
        return deleted, counts, perms_needed, []

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one at a time, through the service
        return actions
