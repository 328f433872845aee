"""Staff API tokens (`Authorization: Token <key>`): DRF's TokenAuthentication, with the
token and its user read by one hand-written statement.

DRF reads them with `Token.objects.select_related("user").get(key=key)`, compiled anew on
every request: for the staff list answered from the cache that compiling was a large share
of the workers' CPU (`make bench-profile --scenario d`, bench/README.md). The same columns,
the same join and the same errors, read through api/rows.py. A token model of one's own
(TokenAuthentication.model) or a user model that extends another concrete model (whose
columns are in two tables) is left to DRF's own read.
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from .rows import Columns

_TOKEN = Columns(Token)
_USER = Columns(get_user_model())
_SIMPLE_USER = not get_user_model()._meta.parents


def _token_sql() -> str:
    q = connection.ops.quote_name
    user: Any = Token._meta.get_field("user")  # the token's user (a OneToOneField)
    key: Any = Token._meta.pk
    return (
        f"SELECT {_TOKEN.select('t')}, {_USER.select('u')} FROM {q(Token._meta.db_table)} t"
        f" JOIN {q(get_user_model()._meta.db_table)} u ON u.{q(user.target_field.column)} = t.{q(user.column)}"
        f" WHERE t.{q(key.column)} = %s"
    )


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        if "\x00" in key:  # no key has one, and PostgreSQL refuses it in a query (a 500)
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        # self.model, not DRF's get_model(), which imports Token on every call.
        if self.model not in (None, Token) or not _SIMPLE_USER:
            return super().authenticate_credentials(key)
        with connection.cursor() as cursor:
            cursor.execute(_token_sql(), [key])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        token, user = _TOKEN.load(row[: len(_TOKEN)]), _USER.load(row[len(_TOKEN) :])
        token.user = user
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return user, token
