"""The admin's Users, Groups and Tokens pages, Django's and DRF's own, each change audited
(services/accounts.py): making a user staff gives it every right of the API, and a token
is the key to them, so the trail says who did it and when, as for every other change. A
token's key is shown once, when it is made, never again.

Staff who are not superusers give no right they don't have (WithinRights): Django lets
whoever may change users tick "Superuser status" on their own account, or any permission,
whoever may change groups add any permission to their own group, and whoever may add
tokens make one for a superuser, its key shown to them."""

from typing import Any

from axes import admin as axes_admin
from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import admin as auth_admin
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken import admin as token_admin
from rest_framework.authtoken.models import Token, TokenProxy

from ..errors import DeletedMeanwhile, DomainError
from ..services import accounts
from .base import AllOrNoneActions, KeepsWhatItShowed, ListQueriesChecked, RuleErrorsAsMessages, staff_actor

User = get_user_model()
BEFORE = "account_before"  # the request's attribute: the state of the user or group it saves, before


class SavesRecorded(AllOrNoneActions):
    """A save or delete of a user or group writes its audit entries, in the admin's
    transaction (a bulk delete's too: AllOrNoneActions). The state before a save is read
    under the row's lock in save_model, compared once the groups and permissions are
    saved too (save_related).

    A change saves what staff changed on the page (KeepsWhatItShowed), the rest as
    committed under that lock: Django saved every column as the POST read it, unlocked,
    and every field as the page showed it, so an account a colleague switched off
    meanwhile was switched on again by a save of its email, a password set meanwhile was
    put back, and a group or permission given or taken meanwhile was taken or given back."""

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)  # type: ignore[misc]
        return form if obj is None else type(form.__name__, (KeepsWhatItShowed, form), {})

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        committed = None
        if change:
            committed = type(obj)._default_manager.select_for_update().filter(pk=obj.pk).first()
            if committed is None:  # a colleague deleted it after the POST read it
                raise DeletedMeanwhile(type(obj).__name__)
        setattr(request, BEFORE, None if committed is None else accounts.state(committed))
        if committed is not None:
            # A page from before KeepsWhatItShowed has no changes to tell: its fields as
            # sent (a disabled one, the password's hash, is never the page's).
            sent = [name for name, field in form.fields.items() if not field.disabled]
            changed = form.changed_data if _carries_copies(form) else sent
            for field in obj._meta.concrete_fields:
                if not field.primary_key and field.name not in changed:
                    setattr(obj, field.attname, getattr(committed, field.attname))
        super().save_model(request, obj, form, change)  # type: ignore[misc]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        if change:
            _save_m2m_changed(form)
            for formset in formsets:
                self.save_formset(request, form, formset, change=change)  # type: ignore[attr-defined]
        else:
            super().save_related(request, form, formsets, change)  # type: ignore[misc]
        before = getattr(request, BEFORE)
        accounts.record_saved(actor=staff_actor(request), now=timezone.now(), obj=form.instance, before=before)

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        accounts.record_deleted(actor=staff_actor(request), now=timezone.now(), objs=[obj])
        super().delete_model(request, obj)  # type: ignore[misc]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        accounts.record_deleted(actor=staff_actor(request), now=timezone.now(), objs=list(queryset))
        super().delete_queryset(request, queryset)  # type: ignore[misc]


def _save_m2m_changed(form: Any) -> None:
    """A change page's groups and permissions, as staff changed them on it: those ticked
    since the page showed them added, those unticked removed, the others as committed (set
    as the page showed them, a colleague's grant or removal since was undone). A page that
    carries no copy of what it showed (from before KeepsWhatItShowed): set as sent."""
    instance = form.instance
    if not _carries_copies(form):
        form.save_m2m()
        return
    for relation in instance._meta.many_to_many:
        name = relation.name
        if name not in form.fields or name not in form.changed_data:
            continue
        field = form.fields[name]
        shown = field.hidden_widget().value_from_datadict(form.data, form.files, form.add_initial_prefix(name))
        shown = {str(pk) for pk in shown or ()}
        sent = list(form.cleaned_data[name])
        related = getattr(instance, name)
        related.add(*(obj for obj in sent if str(obj.pk) not in shown))
        unticked = shown - {str(obj.pk) for obj in sent}
        related.remove(*(obj for obj in related.all() if str(obj.pk) in unticked))


def _carries_copies(form: Any) -> bool:
    """Whether the page sent the copies of what it showed (KeepsWhatItShowed): one from
    before them sends none, and its changed_data reads a field cleared or unticked on it
    (an account switched off) as unchanged."""
    return any(form.add_initial_prefix(name) in form.data for name in form.fields)


class PasswordSaved(AdminPasswordChangeForm):
    """The password's page saves the password alone: the user as its POST read it,
    unlocked, saved whole, undid a colleague's change committed meanwhile (an account
    switched off was switched on again)."""

    def save(self, commit: bool = True) -> Any:
        user = super().save(commit=False)
        if commit and not type(user)._default_manager.filter(pk=user.pk).update(password=user.password):
            raise DeletedMeanwhile(type(user).__name__)  # a colleague's delete, after the POST read it
        return user


def _beyond(editor: Any) -> QuerySet[Permission]:
    """The permissions the staff member has neither of their own nor through a group."""
    theirs = Permission.objects.filter(Q(user=editor) | Q(group__user=editor)).values("pk")
    return Permission.objects.exclude(pk__in=theirs)


def accounts_within(editor: Any) -> QuerySet:
    """The users whose account a staff member may act on (change, set the password of,
    delete, make a token for): every one for a superuser; for anyone else, those who are
    no superuser and have no permission, of their own or through a group, that the staff
    member lacks (active or not: an account switched off keeps its rights, given back
    when it is switched on). Acting on another's, they could log in as it, or use its
    token, with its rights."""
    if editor.is_superuser:
        return User._default_manager.all()
    beyond = _beyond(editor)
    within = User._default_manager.filter(is_superuser=False)
    return within.exclude(user_permissions__in=beyond).exclude(groups__permissions__in=beyond)


def groups_within(editor: Any) -> QuerySet[Group]:
    """The groups a staff member may change or delete: those with no permission they lack."""
    return Group.objects.all() if editor.is_superuser else Group.objects.exclude(permissions__in=_beyond(editor))


class _GrantsChecked:
    """A user's or group's form refusing permissions and groups beyond its editor's rights
    (as sent: those the page showed are within them, or it was read-only)."""

    editor: Any = None

    def clean(self) -> Any:
        cleaned = super().clean()  # type: ignore[misc]
        beyond = _beyond(self.editor)
        for name in ("user_permissions", "permissions", "groups"):
            chosen = cleaned.get(name)
            if chosen is None:
                continue
            ids = [obj.pk for obj in chosen]
            over = beyond.filter(group__in=ids) if name == "groups" else beyond.filter(pk__in=ids)
            named = {f"{app}.{code}" for app, code in over.values_list("content_type__app_label", "codename")}
            if named:
                refusal = f"Only a superuser gives rights they don't have themselves: {', '.join(sorted(named))}."
                self.add_error(name, refusal)  # type: ignore[attr-defined]
        return cleaned


class WithinRights:
    """A staff member who is no superuser acts only on accounts and groups within their
    own rights (accounts_within, groups_within: others' pages are read-only to them), gives
    no permission or group beyond them, and makes nobody a superuser (its box read-only)."""

    within: Any = staticmethod(accounts_within)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._within(request, obj)  # type: ignore[misc]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._within(request, obj)  # type: ignore[misc]

    def _within(self, request: HttpRequest, obj: Any) -> bool:
        user: Any = request.user
        return obj is None or user.is_superuser or self.within(user).filter(pk=obj.pk).exists()

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)  # type: ignore[misc]
        if request.user.is_superuser:
            return form
        return type(form.__name__, (_GrantsChecked, form), {"editor": request.user})


def _token_name(token: Token) -> str:
    return f"API token of {token.user.get_username()}"


# DRF names a token by its key, and the admin writes an object's name in its page's title
# and breadcrumbs, its messages, a delete confirmation (a user's lists its token) and
# django_admin_log: each key, to whoever could open them, and whoever has it acts in the
# API as that staff member. A token is named by its user.
Token.__str__ = _token_name  # type: ignore[method-assign, assignment]

admin.site.unregister(User)
admin.site.unregister(Group)
admin.site.unregister(TokenProxy)
admin.site.unregister(AccessAttempt)


@admin.register(User)
class UserAdmin(RuleErrorsAsMessages, WithinRights, SavesRecorded, ListQueriesChecked, auth_admin.UserAdmin):
    secret_fields = ("auth_token__key",)  # ?auth_token__gte= compared users' keys
    change_password_form = PasswordSaved

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = super().get_readonly_fields(request, obj)
        return fields if request.user.is_superuser else (*fields, "is_superuser")  # WithinRights

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        """The password's own page, which saves the user without save_model: recorded as
        "password": "changed" (a password set, or its login disabled). A user a colleague
        deleted meanwhile is told, as on the user's own page."""
        try:
            with transaction.atomic():
                user = self.get_object(request, unquote(id))
                before = None if user is None else accounts.state(user)
                response = super().user_change_password(request, id, form_url)
                if user is not None and before is not None and request.method == "POST":
                    user.refresh_from_db()
                    accounts.record_saved(actor=staff_actor(request), now=timezone.now(), obj=user, before=before)
        except DomainError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:auth_user_changelist"))
        return response


@admin.register(Group)
class GroupAdmin(RuleErrorsAsMessages, WithinRights, SavesRecorded, auth_admin.GroupAdmin):
    within = staticmethod(groups_within)


@admin.register(TokenProxy)
class TokenAdmin(ListQueriesChecked, token_admin.TokenAdmin):
    """A token made or deleted is recorded on its user. A token's user is not changed: that
    moved its key, and every right it gives, to another user. The key is shown once, when
    the token is made (DRF's list showed every key, in full)."""

    list_display = ("user", "created")
    secret_fields = ("key",)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> Any:
        return token_admin.TokenChangeList  # DRF's: a row links to its user's id (Django's, to the key)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("user",) if obj is not None else ()

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        # A new token's user: one whose account the staff member may act on (its key is
        # shown to them, and acts in the API as that user, a superuser's too).
        if db_field.name == "user":
            kwargs["queryset"] = accounts_within(request.user).order_by(User.USERNAME_FIELD)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change:
            # Nothing on a token's page is staff's to change: Django's save wrote the token
            # back as the POST read it, unlocked, and made a token deleted meanwhile (a key
            # revoked) again.
            return
        super().save_model(request, obj, form, change)
        accounts.record_tokens(
            actor=staff_actor(request), now=timezone.now(), action="token.created", user_ids=[obj.user_id]
        )
        self.message_user(request, f"The token's key (shown once, keep it): {obj.key}")

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        accounts.record_tokens(
            actor=staff_actor(request), now=timezone.now(), action="token.deleted", user_ids=[obj.user_id]
        )
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        """(The page has no list actions; any other bulk delete is recorded too.)"""
        with transaction.atomic():
            ids = list(queryset.values_list("user_id", flat=True))
            accounts.record_tokens(actor=staff_actor(request), now=timezone.now(), action="token.deleted", user_ids=ids)
            super().delete_queryset(request, queryset)


@admin.register(AccessAttempt)
class AccessAttemptAdmin(axes_admin.AccessAttemptAdmin):
    """axes' list of admin login attempts. Its "Clean up expired attempts" deletes every
    attempt past the cool-off, whatever is selected: axes offered it to staff who may only
    view the list (and it failed with a 500 for everyone, reading the time of a login that
    the action's request never made)."""

    @admin.action(description="Clean up expired attempts", permissions=["delete"])
    def cleanup_expired_attempts(self, request: HttpRequest, queryset: QuerySet) -> None:
        request.axes_attempt_time = None  # type: ignore[attr-defined]  # axes then counts the cool-off from now
        super().cleanup_expired_attempts(request, queryset)
