from typing import Any

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.backends.signals import connection_created


def casefold(text: str | None) -> str | None:
    return None if text is None else text.casefold()


def add_sqlite_functions(sender: Any, connection: Any, **kwargs: Any) -> None:
    """CASEFOLD(text), str.casefold, on each SQLite connection: filters.Folded's."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("CASEFOLD", 1, casefold, deterministic=True)


class ApiConfig(AppConfig):
    name = "api"
    # The admin's section heading: what staff call this part of the theatre.
    verbose_name = "Box office"

    def ready(self) -> None:
        connection_created.connect(add_sqlite_functions, dispatch_uid="api.add_sqlite_functions")
        from . import checks  # noqa: F401 (registers the deploy checks)


class AdminConfig(admin_apps.AdminConfig):
    """Django's admin, on the box office's site (INSTALLED_APPS names it: not this module's default)."""

    default = False
    default_site = "api.admin_site.BoxOfficeSite"
