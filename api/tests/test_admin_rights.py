"""Staff who are not superusers give no right in the admin that they don't have: Django lets
whoever may change users make themselves superusers or give themselves any permission,
whoever may change groups add any permission to their own group, and whoever may add
tokens make (and read) a superuser's. Each of those is refused here, and a grant within
the staff member's own rights still works. And a list tells no key of the rows it does
not show (a ticket's id is its capability)."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.utils import timezone
from rest_framework.authtoken.models import Token

from api.models import WaitlistEntry
from api.tests.admin_catalog_helpers import _form
from api.tests.admin_helpers import clerk
from api.tests.conftest import book_seats, hold_seats, make_show, screen_of

pytestmark = pytest.mark.django_db

User = get_user_model()
PASSWORD = "a-long-new-password-1"


def _perms(*codenames: str) -> list[Permission]:
    return list(Permission.objects.filter(codename__in=codenames))


def _ids(objs) -> list[str]:
    return [str(obj.pk) for obj in objs]


def _user_page(client, user, **changes) -> dict:
    """The user's change page as a browser sends it back, with some fields changed."""
    shown = {
        "groups": _ids(user.groups.all()),
        "user_permissions": _ids(user.user_permissions.all()),
    }
    boxes = {name: "on" for name in ("is_active", "is_staff", "is_superuser") if getattr(user, name)}
    page = _form(client, f"/admin/auth/user/{user.pk}/change/")
    return {**page, **boxes, **shown, **{f"initial-{name}": ids for name, ids in shown.items()}, **changes}


def _rights(user) -> tuple:
    user = User.objects.get(pk=user.pk)
    perms = sorted(Permission.objects.filter(user=user).values_list("codename", flat=True))
    groups = sorted(user.groups.values_list("name", flat=True))
    return user.is_superuser, user.is_active, user.password, perms, groups


def own_superuser(client):
    me = clerk(client, "view_user", "change_user")
    return me, f"/admin/auth/user/{me.pk}/change/", _user_page(client, me, is_superuser="on")


def own_permission(client):
    me = clerk(client, "view_user", "change_user")
    more = [*_ids(me.user_permissions.all()), *_ids(_perms("delete_ticket"))]
    return me, f"/admin/auth/user/{me.pk}/change/", _user_page(client, me, user_permissions=more)


def own_group(client):
    me = clerk(client, "view_user", "change_user")
    cashiers = Group.objects.create(name="Cashiers")
    cashiers.permissions.set(_perms("delete_ticket"))
    return me, f"/admin/auth/user/{me.pk}/change/", _user_page(client, me, groups=[str(cashiers.pk)])


def superusers_password(client):
    root = User.objects.create_superuser("root", "root@example.com", "an-old-password-1")
    clerk(client, "view_user", "change_user")
    data = {"usable_password": "true", "password1": PASSWORD, "password2": PASSWORD}
    return root, f"/admin/auth/user/{root.pk}/password/", data


def superusers_page(client):
    root = User.objects.create_superuser("root", "root@example.com", "an-old-password-1")
    clerk(client, "view_user", "change_user")
    return root, f"/admin/auth/user/{root.pk}/change/", _user_page(client, root, is_active="")


def stronger_switched_off_account(client):
    # Switched off, an account has no rights as Django reads them (get_all_permissions),
    # and gets them all back when switched on.
    manager = User.objects.create_user("manager", is_staff=True, is_active=False)
    manager.user_permissions.set(_perms("delete_ticket"))
    clerk(client, "view_user", "change_user")
    return manager, f"/admin/auth/user/{manager.pk}/change/", _user_page(client, manager, is_active="on")


def superuser_deleted(client):
    root = User.objects.create_superuser("root", "root@example.com", "an-old-password-1")
    clerk(client, "view_user", "delete_user")
    return root, f"/admin/auth/user/{root.pk}/delete/", {"post": "yes"}


def superuser_deleted_in_bulk(client):
    root = User.objects.create_superuser("root", "root@example.com", "an-old-password-1")
    clerk(client, "view_user", "delete_user")
    return root, "/admin/auth/user/", {"action": "delete_selected", "_selected_action": [root.pk], "post": "yes"}


@pytest.mark.parametrize(
    "attempt",
    [
        own_superuser,
        own_permission,
        own_group,
        superusers_password,
        superusers_page,
        stronger_switched_off_account,
        superuser_deleted,
        superuser_deleted_in_bulk,
    ],
)
def test_staff_who_may_change_users_give_no_right_they_lack(client, attempt):
    user, url, data = attempt(client)
    before = _rights(user)

    response = client.post(url, data)

    assert response.status_code in (200, 302, 403)
    assert _rights(user) == before


def test_staff_who_may_change_groups_add_no_permission_they_lack_to_a_group(client):
    me = clerk(client, "view_group", "change_group")
    ushers = Group.objects.create(name="Ushers")
    ushers.permissions.set(_perms("view_ticket"))
    me.groups.add(ushers)
    url = f"/admin/auth/group/{ushers.pk}/change/"
    page = {**_form(client, url), "initial-permissions": _ids(ushers.permissions.all())}

    response = client.post(url, {**page, "permissions": _ids(_perms("view_ticket", "change_user"))})

    assert response.status_code == 200  # the page again, with the refusal
    refusal = "Only a superuser gives rights they don&#x27;t have themselves: auth.change_user."
    assert refusal in response.content.decode()
    assert sorted(ushers.permissions.values_list("codename", flat=True)) == ["view_ticket"]


def test_staff_who_may_add_tokens_make_none_for_a_superuser(client):
    """The key is shown to whoever made the token, and acts in the API as its user."""
    root = User.objects.create_superuser("root", "root@example.com", "an-old-password-1")
    clerk(client, "add_tokenproxy")

    page = client.get("/admin/authtoken/tokenproxy/add/").content.decode()
    response = client.post("/admin/authtoken/tokenproxy/add/", {"user": root.pk})

    assert ">root<" not in page
    assert response.status_code == 200  # the form again: not a choice
    assert not Token.objects.filter(user=root).exists()


def test_staff_give_rights_they_have_themselves(client):
    me = clerk(client, "view_user", "change_user", "change_ticket")
    ushers = Group.objects.create(name="Ushers")
    ushers.permissions.set(_perms("change_ticket"))
    usher = User.objects.create_user("usher", is_staff=True)
    url = f"/admin/auth/user/{usher.pk}/change/"

    data = _user_page(client, usher, user_permissions=_ids(_perms("change_ticket")), groups=[str(ushers.pk)])
    response = client.post(url, data)

    assert response.status_code == 302
    assert _rights(usher)[3:] == (["change_ticket"], ["Ushers"])
    assert client.post("/admin/authtoken/tokenproxy/add/", {"user": usher.pk}).status_code == 403  # no right to
    me.user_permissions.add(*_perms("add_tokenproxy"))
    assert client.post("/admin/authtoken/tokenproxy/add/", {"user": usher.pk}).status_code == 302
    assert Token.objects.filter(user=usher).exists()


# --- the keys of rows a list doesn't show ------------------------------------------------


@pytest.mark.parametrize(
    ("perm", "query"),
    [
        ("view_show", "/admin/api/show/?tickets__gte={ticket}"),
        ("view_show", "/admin/api/show/?tickets__pk__lt={ticket}"),
        ("view_show", "/admin/api/show/?tickets__id__startswith={ticket}"),
        ("view_show", "/admin/api/show/?waitlist__gte={entry}"),
        ("view_show", "/admin/api/show/?holds__gte={hold}"),
        ("view_booking", "/admin/api/booking/?tickets__gte={ticket}"),
        ("view_customer", "/admin/api/customer/?tickets__gte={ticket}"),
        ("view_tickettype", "/admin/api/tickettype/?tickets__gte={ticket}"),
    ],
)
def test_a_list_tells_no_key_of_the_tickets_holds_or_entries_it_does_not_show(client, perm, query):
    """A ticket's id is its capability (API.md): it reads its person's name and phone, and
    moves and cancels it. Django compared a show's tickets by their ids for whoever may
    view shows: the show listed for ?tickets__gte=<a uuid> and not for another told each
    id, halving the range a request."""
    show = make_show(capacity=4, screen=screen_of(4))
    ticket = book_seats(show.pk, quantity=1).tickets[0]
    hold = hold_seats(show.pk, quantity=1)
    entry = WaitlistEntry.objects.create(
        show=show, name="Ada", phone_number="+914155550123", party_size=1, joined_at=timezone.now()
    )
    clerk(client, perm)
    ids = {"ticket": ticket.pk, "hold": hold.pk, "entry": entry.pk}

    assert client.get(query.format(**ids)).status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        "/admin/api/ticket/?show__id__exact={show}",  # the links of a show's, a booking's, a person's tickets
        "/admin/api/ticket/?booking__id__exact={booking}",
        "/admin/api/ticket/?holder__id__exact={holder}",
        "/admin/api/show/?screen__venue__id__exact={venue}",  # the list's filter
        "/admin/api/booking/?tickets={ticket}",  # equality tells nothing new
    ],
)
def test_the_lists_links_and_filters_by_related_rows_still_work(client, query):
    show = make_show(capacity=4, screen=screen_of(4))
    ticket = book_seats(show.pk, quantity=1).tickets[0]
    clerk(client, "view_show", "view_ticket", "view_booking")
    ids = {
        "show": show.pk,
        "booking": ticket.booking_id,
        "holder": ticket.holder_id,
        "venue": show.screen.venue_id,
        "ticket": ticket.pk,
    }

    response = client.get(query.format(**ids))

    assert response.status_code == 200
    assert response.context["cl"].result_count == 1
