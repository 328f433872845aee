"""The audit entries of the service's accounts: a user's, a group's or an API token's change
made outside the API (the admin's Users, Groups and Tokens pages, manage.py staff_token).
Staff status is the API's one right, and a token the key to it: who gave them, and when,
is in the trail as every other change is, written in the change's transaction.

A user's entries are on `user:<id>`: user.created (what it was made with), user.changed
(each field changed, [old, new]), user.deleted; and its token's, which a user has at most
one of: token.created, token.deleted (never the key, a password). A group's on
`group:<id>`. A password, and the person's name and email, read "changed", never their
values, as a customer's name does.
"""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from django.contrib.auth.models import Permission
from django.db.models import Model, QuerySet
from rest_framework.authtoken.models import Token

from . import audit

# Recorded as "changed", never their values: a secret, and the person's details.
PRIVATE = ("password", "first_name", "last_name", "email")


def _names(related: QuerySet) -> list[str]:
    """A many-to-many field's value as an entry gives it: a permission as has_perm names
    it ("api.change_show"), anything else as it reads (a group's name)."""
    if related.model is Permission:
        return sorted(f"{app}.{code}" for app, code in related.values_list("content_type__app_label", "codename"))
    return sorted(str(obj) for obj in related)


def state(obj: Model) -> dict[str, Any]:
    """A user's or group's fields as stored (its groups and permissions too), to compare
    with what a save leaves: read it before the save, under the row's lock."""
    values: dict[str, Any] = {}
    for f in obj._meta.concrete_fields:
        if not f.primary_key:
            value = getattr(obj, f.attname)
            # A moment to the second, as the admin's form edits it: a save of the form
            # drops a date_joined's microseconds, and that is no change of the user's.
            values[f.name] = audit.utc(value.replace(microsecond=0)) if isinstance(value, datetime) else value
    for m2m in obj._meta.many_to_many:
        values[m2m.name] = _names(getattr(obj, m2m.name).all())
    return values


def record_saved(*, actor: str, now: datetime, obj: Model, before: dict[str, Any] | None) -> None:
    """The entry of a user's or group's save, `before` its state (state()) if it existed:
    created with what it was made with (its private fields left out), or changed with what
    changed. A save that changed nothing records nothing."""
    kind, after = obj._meta.model_name, state(obj)
    if before is None:
        action, changes = "created", {f: v for f, v in after.items() if f not in PRIVATE}
    else:
        action = "changed"
        changes = {
            f: audit.CHANGED if f in PRIVATE else old_new for f, old_new in audit.what_changed(before, after).items()
        }
        if not changes:
            return
    entry = audit.Entry(f"{kind}.{action}", str(kind), str(obj.pk), changes)
    audit.record_many(actor=actor, now=now, entries=[entry])


def record_deleted(*, actor: str, now: datetime, objs: Sequence[Model]) -> None:
    """The entries of users or groups about to be deleted, named by what they were called
    (nothing else will); a user's token, which goes with it, too. Call before the delete."""
    entries = []
    for obj in objs:
        kind, named = str(obj._meta.model_name), getattr(obj, "USERNAME_FIELD", "name")  # a group's name
        entries.append(audit.Entry(f"{kind}.deleted", kind, str(obj.pk), {named: getattr(obj, named)}))
    users = [obj.pk for obj in objs if obj._meta.model_name == "user"]
    tokens = Token.objects.filter(user_id__in=users).values_list("user_id", flat=True) if users else []
    audit.record_many(actor=actor, now=now, entries=[*entries, *_token_entries("token.deleted", tokens)])


def record_tokens(*, actor: str, now: datetime, action: str, user_ids: Iterable[int]) -> None:
    """token.created or token.deleted for the tokens of these users."""
    audit.record_many(actor=actor, now=now, entries=_token_entries(action, user_ids))


def _token_entries(action: str, user_ids: Iterable[int]) -> list[audit.Entry]:
    return [audit.Entry(action, "user", str(user_id)) for user_id in user_ids]
