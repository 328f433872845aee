"""The admin's accounts: every change of a user, a group or an API token in the admin is in
the audit trail, never a key; and a save changes what staff changed on its page, keeping a
colleague's change committed meanwhile. The login itself: test_admin_login.py."""

import importlib
import re
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from django.utils import timezone
from rest_framework.authtoken.models import Token, TokenProxy

from api.admin.accounts import GroupAdmin, TokenAdmin, UserAdmin
from api.models import AuditEntry
from api.tests.admin_catalog_helpers import _form
from api.tests.conftest import STAFF_PASSWORD as PASSWORD

pytestmark = pytest.mark.django_db

GUESSER = "198.51.100.23"
LOGIN = "/admin/login/?next=/admin/"


def trail() -> list[tuple[str, str, str, dict]]:
    rows = AuditEntry.objects.order_by("id").values_list("actor", "action", "object_type", "object_id", "changes")
    return [(actor, action, f"{kind}:{key}", changes) for actor, action, kind, key, changes in rows]


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


def test_a_save_of_a_tokens_page_brings_back_no_token_deleted_meanwhile(client, manager, monkeypatch):
    """Its page has nothing to change (its user is read-only), yet a save wrote the token
    back as the POST had read it, unlocked: a token a colleague deleted meanwhile (an API
    key revoked) was made again, with its key, unrecorded."""
    client.force_login(manager)
    scanner = get_user_model().objects.create_user("scanner", is_staff=True)
    Token.objects.create(user=scanner)
    url = f"/admin/authtoken/tokenproxy/{scanner.pk}/change/"
    read = TokenAdmin.get_object

    def deleted_meanwhile(self, request, object_id, from_field=None):
        token = read(self, request, object_id, from_field)
        Token.objects.filter(user=scanner).delete()
        return token

    monkeypatch.setattr(TokenAdmin, "get_object", deleted_meanwhile)

    assert client.post(url, {"_save": "Save"}).status_code == 302
    assert not Token.objects.exists()


def _user_page(client, user) -> dict:
    """A user's change page as loaded, as a browser sends it back: its inputs, its ticked
    boxes, and its groups (a list, as the selects send them)."""
    url = f"/admin/auth/user/{user.pk}/change/"
    form = _form(client, url)
    boxes = {name: "on" for name in ("is_active", "is_staff", "is_superuser") if getattr(user, name)}
    groups = [str(pk) for pk in user.groups.values_list("pk", flat=True)]
    return {**form, **boxes, "groups": groups, "initial-groups": groups}


def test_a_users_save_keeps_what_a_colleague_changed_since_the_page_was_opened(client, manager):
    """The page sent back every field as it showed it, and Django saved them all: a staff
    member a colleague had switched off meanwhile (is_active) was switched on again by a
    save of their email, and a group a colleague had given them was taken away by one of
    another group."""
    client.force_login(manager)
    usher = get_user_model().objects.create_user("usher", is_staff=True)
    ushers, doors, bar = (Group.objects.create(name=name) for name in ("Ushers", "Doors", "Bar"))
    usher.groups.set([ushers, bar])
    url = f"/admin/auth/user/{usher.pk}/change/"
    page = _user_page(client, usher)
    assert "initial-password" not in page  # the page keeps no copy of the password's hash
    get_user_model().objects.filter(pk=usher.pk).update(is_active=False)  # a colleague's, since
    usher.groups.add(doors)
    usher.groups.remove(bar)

    response = client.post(url, {**page, "email": "usher@example.com", "groups": [str(ushers.pk)]})

    assert response.status_code == 302, response.content[:2000]
    usher.refresh_from_db()
    assert (usher.email, usher.is_active) == ("usher@example.com", False)
    assert sorted(usher.groups.values_list("name", flat=True)) == ["Doors", "Ushers"]
    assert trail() == [
        ("staff:manager", "user.changed", f"user:{usher.pk}", {"email": "changed"}),
    ]


def test_a_users_save_keeps_a_password_set_before_its_lock(client, manager, monkeypatch):
    """The POST read the user unlocked and saved every column as read: a password set by a
    colleague before this save's lock (a leaked one replaced) was put back."""
    client.force_login(manager)
    usher = get_user_model().objects.create_user("usher", password=PASSWORD, is_staff=True)
    page = _user_page(client, usher)
    read = UserAdmin.get_object

    def password_set_meanwhile(self, request, object_id, from_field=None):
        user = read(self, request, object_id, from_field)
        other = get_user_model().objects.get(pk=usher.pk)
        other.set_password(PASSWORD + "-new")
        other.save()
        return user

    monkeypatch.setattr(UserAdmin, "get_object", password_set_meanwhile)

    response = client.post(f"/admin/auth/user/{usher.pk}/change/", {**page, "email": "usher@example.com"})

    assert response.status_code == 302, response.content[:2000]
    usher.refresh_from_db()
    assert usher.email == "usher@example.com"
    assert usher.check_password(PASSWORD + "-new")


def test_a_password_set_in_the_admin_keeps_a_switch_off_made_before_its_save(client, manager, monkeypatch):
    """The password's page saved every column of the user as its POST read it, unlocked: a
    colleague's switch-off of the account committed meanwhile was undone."""
    client.force_login(manager)
    usher = get_user_model().objects.create_user("usher", password=PASSWORD, is_staff=True)

    form: Any = UserAdmin.change_password_form

    class SwitchedOffMeanwhile(form):
        def clean(self):  # after the POST read the user
            get_user_model().objects.filter(pk=usher.pk).update(is_active=False)
            return super().clean()

    monkeypatch.setattr(UserAdmin, "change_password_form", SwitchedOffMeanwhile)
    other = PASSWORD + "-changed"

    response = client.post(
        f"/admin/auth/user/{usher.pk}/password/", {"password1": other, "password2": other, "usable_password": "true"}
    )

    assert response.status_code == 302, response.content[:2000]
    usher.refresh_from_db()
    assert usher.check_password(other)
    assert not usher.is_active


def test_a_groups_save_keeps_a_permission_a_colleague_changed_since_the_page_was_opened(client, manager):
    """The page's permissions were set as it showed them: a permission a colleague took from
    the group meanwhile was given back by a save that added another."""
    client.force_login(manager)
    view, change, delete = (Permission.objects.get(codename=f"{what}_show") for what in ("view", "change", "delete"))
    group = Group.objects.create(name="Programmers")
    group.permissions.set([view, delete])
    url = f"/admin/auth/group/{group.pk}/change/"
    page = _form(client, url)
    shown = [str(view.pk), str(delete.pk)]
    group.permissions.remove(delete)  # a colleague's, since

    response = client.post(url, {**page, "initial-permissions": shown, "permissions": [*shown, str(change.pk)]})

    assert response.status_code == 302, response.content[:2000]
    assert sorted(group.permissions.values_list("codename", flat=True)) == ["change_show", "view_show"]


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


def test_a_new_password_saves_no_right_a_colleague_took_away_meanwhile(rf):
    """The page saves the user it was given: read before a colleague took staff rights away,
    its save gave them back, and the trail said this user did (a review, a helper)."""
    clerk = get_user_model().objects.create_user("clerk", password=PASSWORD, is_staff=True, is_superuser=True)
    as_read = get_user_model().objects.get(pk=clerk.pk)  # the request's user, read first
    get_user_model().objects.filter(pk=clerk.pk).update(is_superuser=False)  # the colleague's change
    other = PASSWORD + "-changed"
    request = rf.post(
        "/admin/password_change/", {"old_password": PASSWORD, "new_password1": other, "new_password2": other}
    )
    request.user, request._dont_enforce_csrf_checks = as_read, True
    SessionMiddleware(lambda r: HttpResponse()).process_request(request)

    response = admin.site.password_change(request)

    assert response.status_code == 302
    clerk.refresh_from_db()
    assert clerk.check_password(other) and not clerk.is_superuser
    assert list(AuditEntry.objects.values_list("changes", flat=True)) == [{"password": "changed"}]


def _hidden_values(html: str, name: str) -> list[str]:
    """The values a page's hidden inputs of this name send (one without a value sends "")."""
    tags = re.findall(rf'<input type="hidden" name="{name}"[^>]*>', html)
    return [found.group(1) if (found := re.search(r'value="([^"]*)"', tag)) else "" for tag in tags]


def test_a_group_ticked_for_a_user_with_none_is_saved_once_the_pages_error_is_put_right(client, manager):
    """A page that showed no groups carried no copy of them (Django writes none for an empty
    list): sent back with an error (a name taken), it carried the group staff had ticked as
    the one it showed, and the save of the corrected page kept the user without it (302)."""
    client.force_login(manager)
    usher = get_user_model().objects.create_user("usher", is_staff=True)
    get_user_model().objects.create_user("taken")
    ushers = Group.objects.create(name="Ushers")
    url = f"/admin/auth/user/{usher.pk}/change/"
    page = {
        **_user_page(client, usher),
        "initial-groups": _hidden_values(client.get(url).content.decode(), "initial-groups"),
    }

    refused = client.post(url, {**page, "username": "taken", "groups": [str(ushers.pk)]})
    assert refused.status_code == 200
    shown = _hidden_values(refused.content.decode(), "initial-groups")
    response = client.post(url, {**page, "username": "usher", "groups": [str(ushers.pk)], "initial-groups": shown})

    assert response.status_code == 302, response.content[:2000]
    assert list(usher.groups.values_list("name", flat=True)) == ["Ushers"]


def test_a_users_page_from_before_its_copies_saves_an_account_switched_off_and_a_name_cleared(client, manager):
    """A page opened before the pages carried what they showed (no initial- inputs) has no
    changes to tell: its groups were saved as sent, but its fields as committed unless sent
    other than empty or unticked, so an account switched off on it stayed on (302)."""
    client.force_login(manager)
    usher = get_user_model().objects.create_user("usher", first_name="Ada", is_staff=True)
    page = {name: value for name, value in _user_page(client, usher).items() if not name.startswith("initial-")}
    del page["is_active"]
    other = get_user_model().objects.get(pk=usher.pk)
    other.set_password(PASSWORD)  # a colleague's, since: the page never carries the password
    other.save()

    response = client.post(f"/admin/auth/user/{usher.pk}/change/", {**page, "first_name": ""})

    assert response.status_code == 302, response.content[:2000]
    usher.refresh_from_db()
    assert (usher.is_active, usher.first_name, usher.is_staff) == (False, "", True)
    assert usher.check_password(PASSWORD)


def _deleted_after_read(monkeypatch, admin_class, model, pk):
    """The change page's POST reads its object, then a colleague deletes it, before the
    save takes its lock."""
    read = admin_class.get_object

    def deleted_meanwhile(self, request, object_id, from_field=None):
        obj = read(self, request, object_id, from_field)
        model.objects.filter(pk=pk).delete()
        return obj

    monkeypatch.setattr(admin_class, "get_object", deleted_meanwhile)


def test_a_users_save_after_a_colleague_deleted_the_user_is_told_not_a_500(client, manager, monkeypatch):
    """The save's lock read the user again and found none: DoesNotExist, a 500, and the
    staff member never learnt that the account was gone."""
    client.force_login(manager)
    usher = get_user_model().objects.create_user("usher", is_staff=True)
    page = _user_page(client, usher)
    _deleted_after_read(monkeypatch, UserAdmin, get_user_model(), usher.pk)

    response = client.post(f"/admin/auth/user/{usher.pk}/change/", {**page, "email": "usher@example.com"}, follow=True)

    assert response.status_code == 200
    assert "No User matches the given query." in response.content.decode()
    assert not get_user_model().objects.filter(username="usher").exists()  # not made again
    assert trail() == []


def test_a_groups_save_after_a_colleague_deleted_the_group_is_told_not_a_500(client, manager, monkeypatch):
    client.force_login(manager)
    group = Group.objects.create(name="Programmers")
    url = f"/admin/auth/group/{group.pk}/change/"
    page = _form(client, url)
    _deleted_after_read(monkeypatch, GroupAdmin, Group, group.pk)

    response = client.post(url, {**page, "name": "Programme"}, follow=True)

    assert response.status_code == 200
    assert "No Group matches the given query." in response.content.decode()
    assert not Group.objects.exists()
    assert trail() == []


def test_a_password_set_for_a_user_a_colleague_deleted_meanwhile_is_told_not_a_500(client, manager, monkeypatch):
    """The password's page saves the password alone (update_fields): with the user gone it
    updated no row, and Django's "did not affect any rows" was a 500."""
    client.force_login(manager)
    usher = get_user_model().objects.create_user("usher", password=PASSWORD, is_staff=True)
    form: Any = UserAdmin.change_password_form

    class DeletedMeanwhile(form):
        def clean(self):  # after the POST read the user
            get_user_model().objects.filter(pk=usher.pk).delete()
            return super().clean()

    monkeypatch.setattr(UserAdmin, "change_password_form", DeletedMeanwhile)
    other = PASSWORD + "-changed"

    response = client.post(
        f"/admin/auth/user/{usher.pk}/password/",
        {"password1": other, "password2": other, "usable_password": "true"},
        follow=True,
    )

    assert response.status_code == 200
    assert "No User matches the given query." in response.content.decode()
    # (The delete, made in the request's transaction here, is rolled back with it.)
    assert get_user_model().objects.get(username="usher").check_password(PASSWORD)
    assert trail() == []
