from typing import cast

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import models, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from api.services import accounts

ACTOR = "job:staff_token"  # the audit trail's name for a command, as for the cron jobs'


class Command(BaseCommand):
    help = (
        "Print the API token of a staff user (a box-office terminal or door scanner), making the user "
        "(staff, no password: it can't log in to the admin) and the token when missing. --reset replaces the token."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--reset", action="store_true", help="replace the token (a leaked key stops working)")
        parser.add_argument(
            "--make-staff",
            action="store_true",
            help="make an existing user that isn't staff staff (its token then has staff's rights)",
        )

    def handle(self, *args: object, username: str, reset: bool, make_staff: bool, **options: object) -> None:
        User = get_user_model()
        # The name as createsuperuser checks it: an empty name made a working staff token
        # whose audit actor was "staff:".
        username_field = cast(models.Field, User._meta.get_field(User.USERNAME_FIELD))
        try:
            username_field.clean(username, None)
        except ValidationError as error:
            raise CommandError(f"Invalid username {username!r}: {' '.join(error.messages)}") from error
        made_staff = False
        now = timezone.now()
        with transaction.atomic():
            user, created = User.objects.get_or_create(username=username, defaults={"is_staff": True})
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
                accounts.record_saved(actor=ACTOR, now=now, obj=user, before=None)
            elif not user.is_staff:
                if not make_staff:
                    raise CommandError(
                        f"The user {username} exists and is not staff: --make-staff makes it staff (its token then"
                        " has staff's rights)."
                    )
                before = accounts.state(user)
                user.is_staff = made_staff = True
                user.save(update_fields=["is_staff"])
                accounts.record_saved(actor=ACTOR, now=now, obj=user, before=before)
            if reset and Token.objects.filter(user=user).delete()[0]:
                accounts.record_tokens(actor=ACTOR, now=now, action="token.deleted", user_ids=[user.pk])
            token, made = Token.objects.get_or_create(user=user)
            if made:
                accounts.record_tokens(actor=ACTOR, now=now, action="token.created", user_ids=[user.pk])
        # The key alone on stdout, for TOKEN=$(...); what happened on stderr.
        if created:
            self.stderr.write(f"Created the staff user {username}.")
        if made_staff:
            self.stderr.write(f"Made the user {username} staff.")
        self.stdout.write(token.key)
