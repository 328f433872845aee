"""The admin's accounts beside a colleague's change: a save of a user's, a group's or a
token's page changes what staff changed on it, keeping what was committed meanwhile (an
account switched off, a password set, a permission taken away), and one whose user or
group was deleted meanwhile is told to staff, not a 500. Their audit entries:
test_admin_accounts.py."""

import re
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpResponse
from rest_framework.authtoken.models import Token

from api.admin.accounts import GroupAdmin, TokenAdmin, UserAdmin
from api.models import AuditEntry
from api.tests.admin_catalog_helpers import _form
from api.tests.admin_helpers import trail
from api.tests.conftest import STAFF_PASSWORD as PASSWORD

pytestmark = pytest.mark.django_db


def _deleted_after_read(monkeypatch, admin_class, model, pk):
    """The change page's POST reads its object, then a colleague deletes it, before the
    save takes its lock."""
    read = admin_class.get_object

    def deleted_meanwhile(self, request, object_id, from_field=None):
        obj = read(self, request, object_id, from_field)
        model.objects.filter(pk=pk).delete()
        return obj

    monkeypatch.setattr(admin_class, "get_object", deleted_meanwhile)


def test_a_save_of_a_tokens_page_brings_back_no_token_deleted_meanwhile(client, manager, monkeypatch):
    """Its page has nothing to change (its user is read-only), yet a save wrote the token
    back as the POST had read it, unlocked: a token a colleague deleted meanwhile (an API
    key revoked) was made again, with its key, unrecorded."""
    client.force_login(manager)
    scanner = get_user_model().objects.create_user("scanner", is_staff=True)
    token = Token.objects.create(user=scanner)
    url = f"/admin/authtoken/tokenproxy/{scanner.pk}/change/"
    _deleted_after_read(monkeypatch, TokenAdmin, Token, token.pk)

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
