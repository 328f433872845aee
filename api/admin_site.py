"""The admin's site: Django's, titled with THEATRE_NAME, whose every model admin (auth's,
DRF's tokens' and axes' too, registered on it by autodiscover) checks a list action's
selection, refuses a list's lookup the database would fail on (a 400), and answers a
list's query string it can't read as "?e=1", not a 500. Outside
api/admin/, which it would import: Django reads it when a model admin is first registered
(api.apps.AdminConfig's default_site)."""

from functools import cache
from typing import Any, cast

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models, transaction
from django.db.models.constants import LOOKUP_SEP
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext


class SelectionChecked:
    """A list action's selection (_selected_action) is each a primary key, refused otherwise
    with the admin's message for an empty selection, nothing done. Django filters on it as
    posted, and a value that is not one ("abc", a ticket id that is not a UUID) raised in
    the query: a 500."""

    def response_action(self, request, queryset):
        pk = self.model._meta.pk  # type: ignore[attr-defined]
        try:
            for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
                pk.clean(value, None)  # to_python and the validators: a number out of the column's range too
        except ValidationError:
            message = "Items must be selected in order to perform actions on them. No items have been changed."
            self.message_user(request, gettext(message), messages.WARNING)  # type: ignore[attr-defined]
            return None  # the list again, with the message
        return super().response_action(request, queryset)  # type: ignore[misc]


class LookupsChecked:
    """A list's lookup the database would fail on is refused (a 400), on every list: a
    regular expression, which the database reads ("("); a range, whose "a,b" Django doesn't
    split (each character a parameter); and any on a JSON field (SQLite has no containment
    for ?changes__contains=). So is one comparing the keys of another model's rows by more
    than equality (_compares_related_keys)."""

    def lookup_allowed(self, lookup: str, value: str, request: Any = None) -> bool:
        model = self.model  # type: ignore[attr-defined]
        if lookup.endswith(("__regex", "__iregex", "__range")) or _reaches_json(model, lookup):
            return False
        if _compares_related_keys(model, lookup):
            return False
        return super().lookup_allowed(lookup, value, request)  # type: ignore[misc]


def _compares_related_keys(model: Any, lookup: str) -> bool:
    """Whether the lookup compares the keys of related rows by other than equality (exact,
    in, isnull: the lists' links and filters). Django takes a comparison of the rows one
    relation away by their key, and a list that shows a show for ?tickets__gte=<a uuid>
    and not for another tells the ids of its tickets, halving the range each request, to
    whoever may view shows, bookings or people: a ticket's id (a hold's, a waiting-list
    entry's) is its capability (API.md), which reads, moves and cancels it."""
    parts = lookup.split(LOOKUP_SEP)
    crossed, rest = False, []
    for index, part in enumerate(parts):
        try:
            field = model._meta.pk if part == "pk" else model._meta.get_field(part)
        except FieldDoesNotExist:
            rest = parts[index:]  # the lookup and its transforms
            break
        if field.is_relation:
            crossed, model = True, field.related_model
            continue
        if crossed and not field.primary_key:
            return False  # another field of the related rows: Django's own check judges it
        rest = parts[index + 1 :]
        break
    return crossed and not set(rest) <= {"exact", "in", "isnull"}


def _reaches_json(model: Any, lookup: str) -> bool:
    """Whether the lookup's path of fields ("webhook__events__contains") reaches a JSON field."""
    for part in lookup.split(LOOKUP_SEP):
        try:
            field = model._meta.pk if part == "pk" else model._meta.get_field(part)
        except FieldDoesNotExist:
            return False  # a lookup or a transform of the field before
        if isinstance(field, models.JSONField):
            return True
        if not field.is_relation:
            return False
        model = field.related_model
    return False


class _ReadChecked:
    """A list's ChangeList whose query string it can't read (a year or a number out of
    range) is answered as an unknown field is, "?e=1", not a 500."""

    def get_filters(self, request):
        # The date drill-down's ?at__year=9999 (its year 10000) and ?at__year=99999999999
        # escape Django 5.2's own check (Django ticket #37357).
        try:
            return super().get_filters(request)  # type: ignore[misc]
        except (ValueError, OverflowError) as exc:
            raise IncorrectLookupParameters(exc) from exc

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)  # type: ignore[misc]
        try:  # ?starts_at__year=-5 fails as the lookups compile, only once the list is counted
            queryset.query.get_compiler(queryset.db, elide_empty=False).as_sql()
        except (ValueError, OverflowError) as exc:
            raise IncorrectLookupParameters(exc) from exc
        return queryset

    def get_results(self, request):
        # ?id__in=99999999999999999999999 compiles, and SQLite refuses the number as the
        # list is counted ("Python int too large to convert to SQLite INTEGER").
        try:
            return super().get_results(request)  # type: ignore[misc]
        except OverflowError as exc:
            raise IncorrectLookupParameters(exc) from exc


class ListReadChecked:
    """Every list's ChangeList, Django's or the model admin's own (DRF's tokens'), read
    with _ReadChecked."""

    def get_changelist(self, request, **kwargs) -> Any:
        return _read_checked(super().get_changelist(request, **kwargs))  # type: ignore[misc]


@cache
def _read_checked(changelist: type) -> type:
    """The ChangeList class with _ReadChecked, made once per class."""
    return type(changelist.__name__, (_ReadChecked, changelist), {"__module__": changelist.__module__})


class BoxOfficeSite(admin.AdminSite):
    site_header = f"{settings.THEATRE_NAME} administration"
    site_title = f"{settings.THEATRE_NAME} admin"
    index_title = "Box office"
    # The app list beside every page took 300 of a 1280 px screen's width and clipped the lists'
    # right-hand columns (issue 16); the breadcrumbs and the index lead everywhere it did.
    enable_nav_sidebar = False

    def password_change(self, request: HttpRequest, extra_context: dict | None = None) -> TemplateResponse:
        """A staff member's own new password, recorded as the Users page records one
        ("password": "changed"): this page saved it with no entry."""
        from .admin.base import staff_actor  # at request time: api/admin/ imports this module
        from .services import accounts

        if request.method != "POST":
            return super().password_change(request, extra_context)
        user = cast(models.Model, request.user)  # admin_view lets only a staff member in
        with transaction.atomic():
            # The user as committed, under its row's lock (accounts.state), in the instance
            # the form saves: a colleague's change meanwhile (staff status taken away) is
            # neither written back by the save nor recorded as this one's.
            get_user_model().objects.select_for_update().filter(pk=user.pk).exists()
            user.refresh_from_db()
            before = accounts.state(user)
            response = super().password_change(request, extra_context)
            user.refresh_from_db()
            accounts.record_saved(actor=staff_actor(request), now=timezone.now(), obj=user, before=before)
        return response

    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or admin.ModelAdmin
        mixins = (SelectionChecked, ListReadChecked, LookupsChecked, admin_class)
        checked = type(admin_class.__name__, mixins, {"__module__": admin_class.__module__})
        super().register(model_or_iterable, checked, **options)
