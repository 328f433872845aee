from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _watch_writes(sender, connection, **kwargs) -> None:
    from api.listcache import watch_writes

    # First in the list: execute_wrapper() blocks pop the last wrapper when they end, and a
    # connection can be opened inside one.
    if watch_writes not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, watch_writes)


class ApiConfig(AppConfig):
    name = "api"

    def ready(self) -> None:
        connection_created.connect(_watch_writes, dispatch_uid="api.listcache.watch_writes")
