from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from rest_framework.authtoken.models import Token


class Command(BaseCommand):
    help = (
        "Print the API token of a staff user (a box-office terminal or door scanner), making the user "
        "(staff, no password: it can't log in to the admin) and the token when missing. --reset replaces the token."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--reset", action="store_true", help="replace the token (a leaked key stops working)")

    def handle(self, *args: object, username: str, reset: bool, **options: object) -> None:
        with transaction.atomic():
            user, created = get_user_model().objects.get_or_create(username=username, defaults={"is_staff": True})
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            elif not user.is_staff:
                user.is_staff = True
                user.save(update_fields=["is_staff"])
            if reset:
                Token.objects.filter(user=user).delete()
            token, _ = Token.objects.get_or_create(user=user)
        # The key alone on stdout, for TOKEN=$(...); what happened on stderr.
        if created:
            self.stderr.write(f"Created the staff user {username}.")
        self.stdout.write(token.key)
