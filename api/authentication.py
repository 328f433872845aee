"""Staff API tokens (`Authorization: Token <key>`): DRF's TokenAuthentication, with the
token and its user read by one hand-written statement.

DRF reads them with `Token.objects.select_related("user").get(key=key)`, compiled anew on
every request: for the staff list answered from the cache that compiling was some 35 % of
the workers' CPU (`make bench-profile --scenario d`, bench/README.md). The same columns,
the same join and the same errors, read through api/rows.py.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token

from .rows import Columns

_TOKEN = Columns(Token)
_USER = Columns(get_user_model())


def _token_sql() -> str:
    q = connection.ops.quote_name
    return (
        f"SELECT {_TOKEN.select('t')}, {_USER.select('u')} FROM {q(Token._meta.db_table)} t"
        f" JOIN {q(get_user_model()._meta.db_table)} u ON u.{q('id')} = t.{q('user_id')} WHERE t.{q('key')} = %s"
    )


class TokenAuthentication(authentication.TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[AbstractBaseUser, Token]:
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
