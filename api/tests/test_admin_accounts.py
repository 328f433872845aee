"""The admin's accounts: every change of a user, a group or an API token in the admin is in
the audit trail, never a key. A save beside a colleague's change:
test_admin_accounts_meanwhile.py; the login itself: test_admin_login.py."""

import importlib

import pytest
from django.apps import apps
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from rest_framework.authtoken.models import Token, TokenProxy

from api.models import AuditEntry
from api.tests.admin_helpers import trail
from api.tests.conftest import STAFF_PASSWORD as PASSWORD

pytestmark = pytest.mark.django_db

GUESSER = "198.51.100.23"
LOGIN = "/admin/login/?next=/admin/"


def test_making_a_user_staff_in_the_admin_writes_an_audit_entry(client, manager):
    """API.md: every change made through the admin writes audit entries. A superuser making
    another user staff (so giving it the API's every right) left nothing in the trail."""
    client.force_login(manager)
    mallory = get_user_model().objects.create_user("mallory", password="pw-123456-y")
    joined = timezone.localtime(mallory.date_joined)
    assert client.get(f"/admin/auth/user/{mallory.pk}/change/").status_code == 200
    form = {
        "username": "mallory",
        "is_active": "on",
        "is_staff": "on",
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": joined.date().isoformat(),
        "date_joined_1": f"{joined:%H:%M:%S}",
    }

    response = client.post(f"/admin/auth/user/{mallory.pk}/change/", form)

    assert response.status_code == 302, response.content[:2000]
    mallory.refresh_from_db()
    assert mallory.is_staff
    # What changed alone: the form's date_joined, to the second, is not a change.
    assert trail() == [("staff:manager", "user.changed", f"user:{mallory.pk}", {"is_staff": [False, True]})]


def test_a_user_made_its_password_changed_and_deleted_in_the_admin_is_recorded(client, manager):
    """Never the password itself, nor its hash: "password": "changed". A deleted user's
    token goes with it, and is recorded so."""
    client.force_login(manager)
    made = client.post(
        "/admin/auth/user/add/",
        {"username": "usher", "usable_password": "true", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert made.status_code == 302, made.content[:2000]
    usher = get_user_model().objects.get(username="usher")
    entry = trail()[0]
    assert entry[:3] == ("staff:manager", "user.created", f"user:{usher.pk}")
    assert entry[3]["username"] == "usher" and entry[3]["is_staff"] is False and entry[3]["groups"] == []
    assert "password" not in entry[3]
    AuditEntry.objects.all().delete()

    other = PASSWORD + "-changed"
    changed = client.post(
        f"/admin/auth/user/{usher.pk}/password/", {"password1": other, "password2": other, "usable_password": "true"}
    )
    assert changed.status_code == 302, changed.content[:2000]
    Token.objects.create(user=usher)
    deleted = client.post(f"/admin/auth/user/{usher.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302

    assert trail() == [
        ("staff:manager", "user.changed", f"user:{usher.pk}", {"password": "changed"}),
        ("staff:manager", "user.deleted", f"user:{usher.pk}", {"username": "usher"}),
        ("staff:manager", "token.deleted", f"user:{usher.pk}", {}),
    ]
    assert PASSWORD not in str(AuditEntry.objects.values_list("changes", flat=True))


def test_users_deleted_in_bulk_in_the_admin_are_recorded_each(client, manager):
    client.force_login(manager)
    users = [get_user_model().objects.create_user(name) for name in ("usher-1", "usher-2")]

    response = client.post(
        "/admin/auth/user/",
        {"action": "delete_selected", "_selected_action": [u.pk for u in users], "post": "yes"},
    )

    assert response.status_code == 302
    assert sorted(trail()) == [
        ("staff:manager", "user.deleted", f"user:{u.pk}", {"username": u.username}) for u in users
    ]


def test_a_group_made_in_the_admin_is_recorded_with_its_permissions(client, manager):
    client.force_login(manager)
    permission = Permission.objects.get(codename="change_show")

    response = client.post("/admin/auth/group/add/", {"name": "Programmers", "permissions": [permission.pk]})

    assert response.status_code == 302, response.content[:2000]
    group = Group.objects.get()
    changes = {"name": "Programmers", "permissions": ["api.change_show"]}
    assert trail() == [("staff:manager", "group.created", f"group:{group.pk}", changes)]


def test_a_token_made_and_deleted_in_the_admin_is_recorded_on_its_user_never_its_key(client, manager):
    """A token's user can't be changed: that moved its key, and its rights, to another user."""
    client.force_login(manager)
    scanner = get_user_model().objects.create_user("scanner", is_staff=True)

    made = client.post("/admin/authtoken/tokenproxy/add/", {"user": scanner.pk})
    assert made.status_code == 302, made.content[:2000]
    key = Token.objects.get(user=scanner).key
    page = client.get(f"/admin/authtoken/tokenproxy/{scanner.pk}/change/").content.decode()
    assert 'name="user"' not in page  # read-only
    deleted = client.post(f"/admin/authtoken/tokenproxy/{scanner.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302

    assert not Token.objects.exists()
    assert trail() == [
        ("staff:manager", "token.created", f"user:{scanner.pk}", {}),
        ("staff:manager", "token.deleted", f"user:{scanner.pk}", {}),
    ]
    assert key not in str(AuditEntry.objects.values_list("changes", flat=True))


def test_the_admin_log_forgets_the_keys_it_named_tokens_by():
    """Django's log named each token it recorded by its key (object_repr), and by it alone
    (object_id too) before DRF's Tokens page went by user."""
    user = get_user_model().objects.create_user("scanner", is_staff=True)
    key = Token.objects.create(user=user).key
    for model, object_id in ((TokenProxy, str(user.pk)), (Token, key)):
        kind = ContentType.objects.get_for_model(model, for_concrete_model=False)
        LogEntry.objects.create(
            user=user, content_type=kind, object_id=object_id, object_repr=key, action_flag=ADDITION
        )

    importlib.import_module("api.migrations.0020_admin_log_forgets_token_keys").forget_token_keys(apps, None)

    entries = sorted(LogEntry.objects.values_list("object_repr", "object_id"))
    assert entries == [("API token", None), (f"API token of user #{user.pk}", str(user.pk))]


def test_a_staff_members_own_new_password_is_recorded_and_a_refused_one_is_not(client):
    """The admin's "Change password" (every staff member's, no "change user" needed) saved
    the new password with no entry, which the Users page records (a review, a helper)."""
    clerk = get_user_model().objects.create_user("clerk", password=PASSWORD, is_staff=True)
    client.force_login(clerk)
    other = PASSWORD + "-changed"

    refused = client.post(
        "/admin/password_change/", {"old_password": "wrong", "new_password1": other, "new_password2": other}
    )
    changed = client.post(
        "/admin/password_change/", {"old_password": PASSWORD, "new_password1": other, "new_password2": other}
    )

    assert (refused.status_code, changed.status_code) == (200, 302)
    clerk.refresh_from_db()
    assert clerk.check_password(other)
    rows = AuditEntry.objects.values_list("actor", "action", "object_type", "object_id", "changes")
    assert list(rows) == [("staff:clerk", "user.changed", "user", str(clerk.pk), {"password": "changed"})]
