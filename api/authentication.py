import functools

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token


@functools.cache
def _user_by_token_sql() -> str:
    user, token = get_user_model()._meta, Token._meta
    q = connection.ops.quote_name
    user_id, key = q(token.get_field("user").column), q(token.get_field("key").column)
    # On PostgreSQL the query also reads the database's snapshot, which the staff list's
    # cache compares with the one its kept answer was read after (api/listcache.py).
    snapshot = ", pg_current_snapshot()::text AS db_snapshot" if connection.vendor == "postgresql" else ""
    return (
        f"SELECT u.*{snapshot} FROM {q(user.db_table)} u"
        f" JOIN {q(token.db_table)} t ON t.{user_id} = u.{q(user.pk.column)} WHERE t.{key} = %s"
    )


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication, with the token's user read by a written-out query.

    Every staff request (the door list, check-ins) reads it: DRF's select_related("user").get()
    spent twice as long compiling its SQL as the query took to run.
    """

    def authenticate_credentials(self, key):
        user = next(iter(get_user_model().objects.raw(_user_by_token_sql(), [key])), None)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        token = Token(key=key, user=user)
        token.db_snapshot = getattr(user, "db_snapshot", None)
        return user, token
