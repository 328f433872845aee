"""The admin's site: Django's, titled with THEATRE_NAME, whose every model admin (auth's,
DRF's tokens' and axes' too, registered on it by autodiscover) checks a list action's
selection. Outside api/admin/, which it would import: Django reads it when a model admin
is first registered (api.apps.AdminConfig's default_site)."""

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
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


class BoxOfficeSite(admin.AdminSite):
    site_header = f"{settings.THEATRE_NAME} administration"
    site_title = f"{settings.THEATRE_NAME} admin"
    index_title = "Box office"
    # The app list beside every page took 300 of a 1280 px screen's width and clipped the lists'
    # right-hand columns (issue 16); the breadcrumbs and the index lead everywhere it did.
    enable_nav_sidebar = False

    def register(self, model_or_iterable, admin_class=None, **options):
        admin_class = admin_class or admin.ModelAdmin
        checked = type(admin_class.__name__, (SelectionChecked, admin_class), {"__module__": admin_class.__module__})
        super().register(model_or_iterable, checked, **options)
